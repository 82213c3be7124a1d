//! Accounts: users, refresh-token families, single-use emailed tokens, 2FA recovery
//! codes and the audit log.

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
                    .table("users")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("email", 254))
                    .col(string_len_null("name", 200))
                    .col(string_len_null("phone", 32))
                    .col(text_null("password_hash"))
                    .col(timestamp_with_time_zone_null("email_verified_at"))
                    .col(string_len("role", 16))
                    .col(text("permissions"))
                    .col(string_len("status", 16))
                    .col(text_null("totp_secret"))
                    .col(timestamp_with_time_zone_null("totp_enabled_at"))
                    .col(big_integer_null("totp_last_step"))
                    .col(integer("failed_logins"))
                    .col(integer("lockouts"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(integer("token_version"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_created")
                    .table("users")
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("family_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("rotated_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(string_len_null("ip", 64))
                    .col(string_len_null("user_agent", 300))
                    .foreign_key(
                        ForeignKey::create()
                            .from("refresh_tokens", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_refresh_tokens_user", "user_id"),
            ("idx_refresh_tokens_family", "family_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("refresh_tokens")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("one_time_tokens")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_len("purpose", 32))
                    .col(string_len_uniq("token_hash", 64))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("one_time_tokens", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_one_time_tokens_user")
                    .table("one_time_tokens")
                    .col("user_id")
                    .col("purpose")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("recovery_codes")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string_len("code_hash", 64))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("recovery_codes", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_user")
                    .table("recovery_codes")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid_null("actor_id"))
                    .col(string_len("action", 64))
                    .col(string_len_null("target_type", 32))
                    .col(string_len_null("target_id", 64))
                    .col(string_len_null("ip", 64))
                    .col(text("detail"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_log_created", vec!["created_at", "id"]),
            ("idx_audit_log_target", vec!["target_type", "target_id"]),
        ] {
            let mut index = Index::create();
            index.name(name).table("audit_log");
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_log",
            "recovery_codes",
            "one_time_tokens",
            "refresh_tokens",
            "users",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
