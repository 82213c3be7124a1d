//! Product images: content-addressed files with their size, order, the variants they
//! show, thumbnails made after upload, and alt text per language.

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
                    .table("product_images")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("product_id"))
                    .col(string_len("key", 200))
                    .col(string_len("content_type", 32))
                    .col(integer("width"))
                    .col(integer("height"))
                    .col(big_integer("bytes"))
                    .col(integer("position"))
                    .col(text("variant_ids"))
                    .col(text("thumbnails"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("product_images", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_product_images_product",
            "product_images",
            &["product_id", "position"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("product_image_alts")
                    .if_not_exists()
                    .col(uuid("image_id"))
                    .col(string_len("lang", 8))
                    .col(string_len("alt", 500))
                    .primary_key(Index::create().col("image_id").col("lang"))
                    .foreign_key(&mut fk("product_image_alts", "image_id", "product_images"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["product_image_alts", "product_images"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
