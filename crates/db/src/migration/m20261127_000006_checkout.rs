//! Checkout: carts and their lines, tax rates, orders with line snapshots and their event
//! history, and the idempotency keys that make placing an order safe to retry.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("carts")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_null("token_hash", 64).unique_key())
                    .col(uuid_null("customer_id"))
                    .col(string_len("currency", 3))
                    .col(string_len("lang", 8))
                    .col(string_len_null("email", 320))
                    .col(text_null("shipping_address"))
                    .col(text_null("billing_address"))
                    .col(string_len_null("shipping_option", 64))
                    .col(string_len("status", 16))
                    .col(uuid_null("order_id"))
                    .col(string_len_null("recovery_hash", 64).unique_key())
                    .col(big_integer("last_active_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_carts_customer",
            "carts",
            &["customer_id", "status"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_carts_status_active",
            "carts",
            &["status", "last_active_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("cart_lines")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("cart_id"))
                    .col(uuid("variant_id"))
                    .col(integer("quantity"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("cart_lines", "cart_id", "carts"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_cart_lines_cart_variant",
            "cart_lines",
            &["cart_id", "variant_id"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("tax_rates")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("country", 2))
                    .col(string_len("region", 32))
                    .col(string_len("tax_class", 32))
                    .col(integer("rate_ppm"))
                    .col(string_len("name", 100))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_tax_rates_place_class",
            "tax_rates",
            &["country", "region", "tax_class"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(big_integer_uniq("number"))
                    .col(uuid_null("customer_id"))
                    .col(uuid("cart_id"))
                    .col(string_len("email", 320))
                    .col(string_len("status", 24))
                    .col(string_len("currency", 3))
                    .col(string_len("lang", 8))
                    .col(big_integer("subtotal"))
                    .col(big_integer("discount"))
                    .col(big_integer("shipping"))
                    .col(big_integer("tax"))
                    .col(big_integer("total"))
                    .col(boolean("tax_inclusive"))
                    .col(text("shipping_address"))
                    .col(text("billing_address"))
                    .col(string_len_null("shipping_option", 64))
                    .col(string_len("payment_provider", 32))
                    .col(string_len("access_hash", 64))
                    .col(string_len_null("carrier", 64))
                    .col(string_len_null("tracking_number", 100))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_orders_customer",
            "orders",
            &["customer_id", "created_at", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_orders_status",
            "orders",
            &["status", "created_at"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_orders_created",
            "orders",
            &["created_at", "id"],
            false,
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // SQLite numbers orders with MAX + 1 under its single writer; PostgreSQL's
            // concurrent checkouts need a sequence, which never blocks them.
            manager
                .get_connection()
                .execute_unprepared("CREATE SEQUENCE IF NOT EXISTS order_numbers START 1001")
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("order_lines")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(integer("position"))
                    .col(uuid("product_id"))
                    .col(uuid("variant_id"))
                    .col(string_len("sku", 100))
                    .col(string_len("title", 300))
                    .col(text("options"))
                    .col(integer("quantity"))
                    .col(big_integer("unit_price"))
                    .col(big_integer("discount"))
                    .col(big_integer("tax"))
                    .col(integer("tax_rate_ppm"))
                    .col(big_integer("total"))
                    .col(integer("backordered"))
                    .foreign_key(&mut fk("order_lines", "order_id", "orders"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_order_lines_order",
            "order_lines",
            &["order_id", "position"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("order_events")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(string_len_null("from_status", 24))
                    .col(string_len("to_status", 24))
                    .col(uuid_null("actor_id"))
                    .col(string_len_null("reason", 500))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("order_events", "order_id", "orders"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_order_events_order",
            "order_events",
            &["order_id", "id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .if_not_exists()
                    .col(string_len("scope", 80))
                    .col(string_len("key", 255))
                    .col(string_len("request_hash", 64))
                    .col(integer("status_code"))
                    .col(text("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("scope").col("key"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "order_events",
            "order_lines",
            "orders",
            "tax_rates",
            "cart_lines",
            "carts",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP SEQUENCE IF EXISTS order_numbers")
                .await?;
        }
        Ok(())
    }
}
