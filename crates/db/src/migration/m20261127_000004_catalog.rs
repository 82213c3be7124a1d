//! The catalog: categories, products with translations, options and variants, prices per
//! currency, exchange rates, slug redirects, and the change log the search replicas follow.

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
                    .table("categories")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid_null("parent_id"))
                    .col(string_len_uniq("slug", 200))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("category_translations")
                    .if_not_exists()
                    .col(uuid("category_id"))
                    .col(string_len("lang", 8))
                    .col(string_len("name", 200))
                    .col(text_null("description"))
                    .primary_key(Index::create().col("category_id").col("lang"))
                    .foreign_key(&mut fk(
                        "category_translations",
                        "category_id",
                        "categories",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("products")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("slug", 200))
                    .col(string_len("status", 16))
                    .col(string_len_null("brand", 200))
                    .col(text("tags"))
                    .col(text("attributes"))
                    .col(string_len("tax_class", 32))
                    .col(big_integer_null("price_min"))
                    .col(string_len("title_sort", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_products_status_created",
            "products",
            &["status", "created_at", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_products_status_price",
            "products",
            &["status", "price_min", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_products_status_title",
            "products",
            &["status", "title_sort", "id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("product_translations")
                    .if_not_exists()
                    .col(uuid("product_id"))
                    .col(string_len("lang", 8))
                    .col(string_len("title", 300))
                    .col(text("description"))
                    .col(string_len_null("meta_title", 300))
                    .col(string_len_null("meta_description", 500))
                    .primary_key(Index::create().col("product_id").col("lang"))
                    .foreign_key(&mut fk("product_translations", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("product_slug_redirects")
                    .if_not_exists()
                    .col(string_len("old_slug", 200).primary_key())
                    .col(uuid("product_id"))
                    .foreign_key(&mut fk("product_slug_redirects", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("product_options")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("product_id"))
                    .col(string_len("name", 64))
                    .col(integer("position"))
                    .col(text("option_values"))
                    .foreign_key(&mut fk("product_options", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_product_options_product",
            "product_options",
            &["product_id", "position"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("product_categories")
                    .if_not_exists()
                    .col(uuid("product_id"))
                    .col(uuid("category_id"))
                    .primary_key(Index::create().col("product_id").col("category_id"))
                    .foreign_key(&mut fk("product_categories", "product_id", "products"))
                    .foreign_key(&mut fk("product_categories", "category_id", "categories"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_product_categories_category",
            "product_categories",
            &["category_id", "product_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("variants")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("product_id"))
                    .col(string_len_uniq("sku", 100))
                    .col(string_len_null("barcode", 64))
                    .col(text("options"))
                    .col(string_len("options_key", 500))
                    .col(integer_null("weight_grams"))
                    .col(integer_null("length_mm"))
                    .col(integer_null("width_mm"))
                    .col(integer_null("height_mm"))
                    .col(string_len_null("tax_class", 32))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("variants", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_variants_product_options",
            "variants",
            &["product_id", "options_key"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("variant_prices")
                    .if_not_exists()
                    .col(uuid("variant_id"))
                    .col(string_len("currency", 3))
                    .col(big_integer("amount"))
                    .col(big_integer_null("compare_at"))
                    .primary_key(Index::create().col("variant_id").col("currency"))
                    .foreign_key(&mut fk("variant_prices", "variant_id", "variants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("exchange_rates")
                    .if_not_exists()
                    .col(string_len("currency", 3).primary_key())
                    .col(big_integer("rate_e9"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("catalog_changes")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_len("entity", 32))
                    .col(uuid("entity_id"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "catalog_changes",
            "exchange_rates",
            "variant_prices",
            "variants",
            "product_categories",
            "product_options",
            "product_slug_redirects",
            "product_translations",
            "products",
            "category_translations",
            "categories",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
