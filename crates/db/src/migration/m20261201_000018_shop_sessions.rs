//! Sessions of the storefront: a shopper's browser signed in, known by the hash of its
//! cookie, with the account's token version when it opened (a password change or "sign
//! out everywhere" bumps it, which ends the session) and when it was last used.

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
                    .table("shop_sessions")
                    .if_not_exists()
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(integer("token_version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .foreign_key(&mut fk("shop_sessions", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shop_sessions_user",
            "shop_sessions",
            &["user_id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("shop_sessions").to_owned())
            .await
    }
}
