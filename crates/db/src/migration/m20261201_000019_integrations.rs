//! Integrations: outgoing webhook endpoints (each with its signing secret sealed by the
//! master key, and the previous one while a rotation is under way), one delivery per
//! event and endpoint with its retry state, every attempt's request and answer for the
//! delivery log, and the API keys integrations call the admin API with (only a hash of
//! each key is kept, with a short visible prefix to recognise it by).

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
                    .table("webhook_endpoints")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("url", 2048))
                    .col(string_len("description", 500))
                    // A JSON array of event names; empty means every event.
                    .col(text("event_types"))
                    .col(boolean("enabled"))
                    .col(string_len_null("disabled_reason", 500))
                    .col(text("secret"))
                    .col(text_null("previous_secret"))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("endpoint_id"))
                    // `msg_` and the event's id: the `webhook-id` a receiver dedupes by.
                    .col(string_len("message_id", 64))
                    .col(string_len("event_type", 64))
                    .col(text("payload"))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(big_integer_null("next_attempt_at"))
                    .col(integer_null("last_status"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(&mut fk(
                        "webhook_deliveries",
                        "endpoint_id",
                        "webhook_endpoints",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_webhook_deliveries_message",
            "webhook_deliveries",
            &["endpoint_id", "message_id"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_webhook_deliveries_endpoint",
            "webhook_deliveries",
            &["endpoint_id", "created_at", "id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_attempts")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("delivery_id"))
                    .col(uuid("endpoint_id"))
                    .col(integer("attempt"))
                    .col(timestamp_with_time_zone("attempted_at"))
                    .col(text("request_headers"))
                    .col(integer_null("status_code"))
                    .col(text("response_excerpt"))
                    .col(text_null("error"))
                    .col(integer("duration_ms"))
                    .foreign_key(&mut fk(
                        "webhook_attempts",
                        "delivery_id",
                        "webhook_deliveries",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_webhook_attempts_delivery",
            "webhook_attempts",
            &["delivery_id", "attempt"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("name", 100))
                    .col(string_len("prefix", 16))
                    .col(string_len("key_hash", 64))
                    // A JSON array of permission names.
                    .col(text("permissions"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("api_keys", "created_by", "users"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_api_keys_hash",
            "api_keys",
            &["key_hash"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_api_keys_prefix",
            "api_keys",
            &["prefix"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "api_keys",
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_endpoints",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
