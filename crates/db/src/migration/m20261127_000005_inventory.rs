//! Inventory: stock locations, stock levels per variant and location, each variant's
//! backorder policy, and the ledger that explains every level.

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
                    .table("stock_locations")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("code", 64))
                    .col(string_len("name", 200))
                    .col(integer("priority"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        // Every store has somewhere to keep stock from the first start.
        let default_location = Query::insert()
            .into_table("stock_locations")
            .columns(["id", "code", "name", "priority", "created_at"])
            .values_panic([
                uuid::Uuid::now_v7().into(),
                "default".into(),
                "Default warehouse".into(),
                0i32.into(),
                chrono::Utc::now().into(),
            ])
            .to_owned();
        manager.exec_stmt(default_location).await?;
        manager
            .create_table(
                Table::create()
                    .table("stock_levels")
                    .if_not_exists()
                    .col(uuid("variant_id"))
                    .col(uuid("location_id"))
                    .col(big_integer("on_hand"))
                    .col(big_integer("reserved"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("variant_id").col("location_id"))
                    .foreign_key(&mut fk("stock_levels", "variant_id", "variants"))
                    .foreign_key(&mut fk("stock_levels", "location_id", "stock_locations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stock_policies")
                    .if_not_exists()
                    .col(uuid("variant_id").primary_key())
                    .col(boolean("allow_backorder"))
                    .col(big_integer_null("backorder_limit"))
                    .col(big_integer_null("low_stock_threshold"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("stock_policies", "variant_id", "variants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stock_ledger")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(uuid("variant_id"))
                    .col(uuid("location_id"))
                    .col(big_integer("on_hand_delta"))
                    .col(big_integer("reserved_delta"))
                    .col(string_len("reason", 32))
                    .col(string_len_null("note", 500))
                    .col(uuid_null("order_id"))
                    .col(uuid_null("actor_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_stock_ledger_variant",
            "stock_ledger",
            &["variant_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_stock_ledger_order",
            "stock_ledger",
            &["order_id"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "stock_ledger",
            "stock_policies",
            "stock_levels",
            "stock_locations",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
