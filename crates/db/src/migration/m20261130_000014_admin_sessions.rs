//! Sessions of the admin console: a browser signed in as a staff member, known by the hash
//! of its cookie, with the CSRF token its forms carry and when it was last used (for the
//! idle timeout).

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
                    .table("admin_sessions")
                    .if_not_exists()
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(string_len("csrf", 64))
                    .col(string_len_null("ip", 64))
                    .col(string_len_null("user_agent", 256))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("admin_sessions", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_admin_sessions_user")
                    .table("admin_sessions")
                    .col("user_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("admin_sessions").to_owned())
            .await
    }
}
