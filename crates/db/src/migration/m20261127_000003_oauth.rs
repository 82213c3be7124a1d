//! Social login: identities linked to users, and the short-lived state of a login in
//! progress (state, nonce, PKCE verifier).

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
                    .table("oauth_identities")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_len("provider", 64))
                    .col(string_len("subject", 255))
                    .col(string_len_null("email", 254))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("oauth_identities", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_oauth_identities_subject")
                    .table("oauth_identities")
                    .col("provider")
                    .col("subject")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("oauth_states")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("state_hash", 64))
                    .col(string_len("provider", 64))
                    .col(text("pkce_verifier"))
                    .col(string_len("nonce", 128))
                    .col(text_null("redirect_to"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["oauth_states", "oauth_identities"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
