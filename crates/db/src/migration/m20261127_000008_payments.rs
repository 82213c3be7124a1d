//! Payments: one row per attempt to pay an order, refunds against a payment, every
//! gateway event received (its id makes replays no-ops), and gateway keys set by staff
//! (sealed with the master key).

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
                    .table("payments")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(string_len("provider", 16))
                    .col(string_len("status", 24))
                    .col(big_integer("amount"))
                    .col(string_len("currency", 3))
                    .col(big_integer("captured"))
                    .col(big_integer("refunded"))
                    .col(string_len_null("provider_ref", 255))
                    .col(string_len_null("capture_ref", 255))
                    .col(text("session"))
                    .col(string_len("access_hash", 64))
                    .col(text_null("failure"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("payments", "order_id", "orders"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_payments_order",
            "payments",
            &["order_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_payments_provider_ref",
            "payments",
            &["provider", "provider_ref"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("refunds")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("payment_id"))
                    .col(uuid("order_id"))
                    .col(big_integer("amount"))
                    .col(string_len("currency", 3))
                    .col(string_len("status", 16))
                    .col(text_null("reason"))
                    .col(boolean("restock"))
                    .col(text("lines"))
                    .col(string_len_null("provider_ref", 255))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("refunds", "payment_id", "payments"))
                    .foreign_key(&mut fk("refunds", "order_id", "orders"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_refunds_payment",
            "refunds",
            &["payment_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_refunds_order",
            "refunds",
            &["order_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("payment_events")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("provider", 16))
                    .col(string_len("event_id", 255))
                    .col(string_len("kind", 64))
                    .col(uuid_null("payment_id"))
                    .col(string_len("outcome", 16))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_payment_events_event",
            "payment_events",
            &["provider", "event_id"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_payment_events_payment",
            "payment_events",
            &["payment_id", "outcome"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("payment_gateways")
                    .if_not_exists()
                    .col(string_len("provider", 16).primary_key())
                    .col(boolean("enabled"))
                    .col(text("settings"))
                    .col(text("sealed_secrets"))
                    .col(uuid_null("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["payment_gateways", "payment_events", "refunds", "payments"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
