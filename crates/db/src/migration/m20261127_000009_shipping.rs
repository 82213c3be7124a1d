//! Inventory and shipping: where each location ships, restock dates and incoming units,
//! low-stock alert subscribers, back-in-stock requests, the customer's address book,
//! shipping zones with their methods and rates, a carrier quote held on the cart, and
//! shipments with their tracking events.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add_column(
    manager: &SchemaManager<'_>,
    table: &'static str,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // JSON list of ISO country codes a location ships to; empty means anywhere.
        add_column(
            manager,
            "stock_locations",
            text("countries").default("[]").take(),
        )
        .await?;
        add_column(
            manager,
            "stock_policies",
            timestamp_with_time_zone_null("restock_expected_at").take(),
        )
        .await?;
        add_column(
            manager,
            "stock_policies",
            big_integer("incoming").default(0).take(),
        )
        .await?;
        add_column(
            manager,
            "orders",
            boolean("backordered").default(false).take(),
        )
        .await?;
        add_column(manager, "carts", big_integer_null("shipping_quote").take()).await?;
        add_column(
            manager,
            "carts",
            string_len_null("shipping_quote_key", 64).take(),
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("stock_alert_subscribers")
                    .if_not_exists()
                    .col(uuid("user_id").primary_key())
                    .col(string_len("email", 320))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stock_notifications")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("variant_id"))
                    .col(string_len("email", 320))
                    .col(string_len("lang", 8))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("notified_at"))
                    .foreign_key(&mut fk("stock_notifications", "variant_id", "variants"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_stock_notifications_variant_email",
            "stock_notifications",
            &["variant_id", "email"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_addresses")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_len_null("label", 100))
                    .col(text("address"))
                    .col(boolean("default_shipping"))
                    .col(boolean("default_billing"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("customer_addresses", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_customer_addresses_user",
            "customer_addresses",
            &["user_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipping_zones")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("name", 200))
                    .col(text("countries"))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipping_methods")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("zone_id"))
                    .col(string_len("name", 200))
                    .col(string_len("kind", 16))
                    .col(text("rates"))
                    .col(big_integer_null("free_over"))
                    .col(integer_null("min_days"))
                    .col(integer_null("max_days"))
                    .col(string_len_null("carrier", 16))
                    .col(string_len_null("service", 64))
                    .col(integer("position"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("shipping_methods", "zone_id", "shipping_zones"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shipping_methods_zone",
            "shipping_methods",
            &["zone_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipments")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(string_len("carrier", 32))
                    .col(string_len("tracking_number", 100))
                    .col(string_len_null("tracking_url", 500))
                    .col(string_len("status", 24))
                    .col(text("lines"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("shipments", "order_id", "orders"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shipments_order",
            "shipments",
            &["order_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_shipments_tracking",
            "shipments",
            &["carrier", "tracking_number"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipment_events")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("shipment_id"))
                    .col(string_len("status", 24))
                    .col(text_null("note"))
                    .col(string_len("source", 16))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .foreign_key(&mut fk("shipment_events", "shipment_id", "shipments"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shipment_events_shipment",
            "shipment_events",
            &["shipment_id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "shipment_events",
            "shipments",
            "shipping_methods",
            "shipping_zones",
            "customer_addresses",
            "stock_notifications",
            "stock_alert_subscribers",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
