//! Promotions: each with its class, action and conditions (JSON the promotions domain
//! reads), window, priority, what it combines with, and its usage counters kept by
//! guarded updates inside checkout's transaction; coupon codes (one or a generated
//! batch) with their own limits; per-customer use counts; one redemption row per order
//! and promotion, released when an unpaid order is cancelled or expires. Carts keep the
//! codes their shopper entered.

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
                    .table("promotions")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("name", 200))
                    .col(string_len("description", 1000))
                    .col(string_len("class", 16))
                    .col(text("action"))
                    .col(text("conditions"))
                    .col(string_len_null("currency", 3))
                    .col(boolean("automatic"))
                    .col(boolean("enabled"))
                    .col(timestamp_with_time_zone_null("starts_at"))
                    .col(timestamp_with_time_zone_null("ends_at"))
                    .col(integer("priority"))
                    // A JSON array of the classes it combines with.
                    .col(text("combines_with"))
                    .col(integer_null("usage_limit"))
                    .col(integer_null("per_customer_limit"))
                    .col(big_integer_null("budget"))
                    .col(integer("used"))
                    .col(big_integer("discount_given"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_promotions_enabled",
            "promotions",
            &["enabled", "created_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("promotion_codes")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("promotion_id"))
                    // Upper case: codes are matched whatever case the shopper types.
                    .col(string_len("code", 64))
                    .col(integer_null("usage_limit"))
                    .col(integer("used"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("promotion_codes", "promotion_id", "promotions"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_promotion_codes_code",
            "promotion_codes",
            &["code"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_promotion_codes_promotion",
            "promotion_codes",
            &["promotion_id", "code"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("promotion_customer_uses")
                    .if_not_exists()
                    .col(uuid("promotion_id"))
                    // `c:<customer id>` for accounts, `e:<email>` for guests.
                    .col(string_len("customer_key", 330))
                    .col(integer("used"))
                    .primary_key(Index::create().col("promotion_id").col("customer_key"))
                    .foreign_key(&mut fk(
                        "promotion_customer_uses",
                        "promotion_id",
                        "promotions",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("promotion_redemptions")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("promotion_id"))
                    .col(uuid_null("code_id"))
                    .col(string_len_null("code", 64))
                    .col(uuid("order_id"))
                    .col(string_len("customer_key", 330))
                    .col(big_integer("amount"))
                    .col(string_len("currency", 3))
                    .col(big_integer("order_total"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("released_at"))
                    .foreign_key(&mut fk(
                        "promotion_redemptions",
                        "promotion_id",
                        "promotions",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_promotion_redemptions_order",
            "promotion_redemptions",
            &["order_id", "promotion_id"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_promotion_redemptions_promotion",
            "promotion_redemptions",
            &["promotion_id", "created_at", "id"],
            false,
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("carts")
                    .add_column(text_null("coupons"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("carts")
                    .drop_column("coupons")
                    .to_owned(),
            )
            .await?;
        for table in [
            "promotion_redemptions",
            "promotion_customer_uses",
            "promotion_codes",
            "promotions",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
