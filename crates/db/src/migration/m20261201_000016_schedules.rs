//! Recurring jobs that must run on one node at a time (scheduled backups first): when each
//! is next due, which node holds it and until when (a lease its runner renews, so a dead
//! node's run is taken over), and how the last runs went, which `/readyz` and `/metrics`
//! report on every node.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("schedules")
                    .if_not_exists()
                    .col(string_len("name", 64).primary_key())
                    // Milliseconds since the epoch, like the outbox's times.
                    .col(big_integer("due_at"))
                    .col(string_len_null("locked_by", 64))
                    .col(big_integer_null("locked_until"))
                    .col(big_integer_null("last_started_at"))
                    .col(big_integer_null("last_success_at"))
                    .col(big_integer_null("last_failure_at"))
                    .col(big_integer_null("last_duration_ms"))
                    .col(integer("failures").default(0))
                    .col(text_null("last_error"))
                    .col(text_null("last_location"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("schedules").to_owned())
            .await
    }
}
