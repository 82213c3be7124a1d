//! Collections: hand-picked lists of products, or rules (a tag, a price range) that pick
//! them, with translated names.

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
                    .table("collections")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("slug", 200))
                    .col(string_len("kind", 16))
                    .col(string_len_null("rule_tag", 100))
                    .col(big_integer_null("rule_price_min"))
                    .col(big_integer_null("rule_price_max"))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("collection_translations")
                    .if_not_exists()
                    .col(uuid("collection_id"))
                    .col(string_len("lang", 8))
                    .col(string_len("name", 200))
                    .col(text_null("description"))
                    .primary_key(Index::create().col("collection_id").col("lang"))
                    .foreign_key(&mut fk(
                        "collection_translations",
                        "collection_id",
                        "collections",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("collection_products")
                    .if_not_exists()
                    .col(uuid("collection_id"))
                    .col(uuid("product_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("collection_id").col("product_id"))
                    .foreign_key(&mut fk(
                        "collection_products",
                        "collection_id",
                        "collections",
                    ))
                    .foreign_key(&mut fk("collection_products", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_collection_products_product",
            "collection_products",
            &["product_id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "collection_products",
            "collection_translations",
            "collections",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
