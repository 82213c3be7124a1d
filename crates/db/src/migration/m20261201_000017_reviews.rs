//! Product reviews: the reviews with their moderation state, every step of their history
//! (kept after a review is deleted, so a rejection's reason stays on record), helpful
//! votes and abuse reports (one per voter), the review requests sent after delivery, the
//! addresses that asked for no more of them, and on `products` the count of published
//! reviews per star, from which the average and distribution are exact.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STARS: [&str; 5] = ["rating_1", "rating_2", "rating_3", "rating_4", "rating_5"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in STARS {
            manager
                .alter_table(
                    Table::alter()
                        .table("products")
                        .add_column(big_integer(col).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("reviews")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("product_id"))
                    // `customer:<id>`, `order:<id>` (a guest's review link) or
                    // `import:<key>`: one review per author and product.
                    .col(string_len("author_key", 120))
                    .col(uuid_null("customer_id"))
                    .col(uuid_null("order_id"))
                    .col(small_integer("rating"))
                    .col(string_len("title", 200))
                    .col(text("body"))
                    .col(string_len("lang", 35))
                    .col(string_len("author_name", 100))
                    // Where a private reply goes; never shown.
                    .col(string_len_null("author_email", 320))
                    .col(boolean("verified"))
                    .col(string_len("source", 16))
                    .col(string_len("status", 16))
                    .col(string_len_null("held_for", 200))
                    .col(string_len_null("reject_reason", 32))
                    .col(text_null("reject_note"))
                    .col(uuid_null("moderated_by"))
                    .col(timestamp_with_time_zone_null("moderated_at"))
                    .col(text_null("reply"))
                    .col(timestamp_with_time_zone_null("replied_at"))
                    .col(text("photos"))
                    .col(integer("photo_count"))
                    .col(big_integer("helpful"))
                    .col(big_integer("unhelpful"))
                    .col(big_integer("reports"))
                    .col(string_len("body_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .foreign_key(&mut fk("reviews", "product_id", "products"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_reviews_author",
            "reviews",
            &["product_id", "author_key"],
            true,
        )
        .await?;
        // The shopper's sorts read one product's published reviews in order.
        for (name, cols) in [
            (
                "idx_reviews_newest",
                &["product_id", "status", "published_at", "id"][..],
            ),
            (
                "idx_reviews_helpful",
                &["product_id", "status", "helpful", "published_at", "id"][..],
            ),
            (
                "idx_reviews_rating",
                &["product_id", "status", "rating", "published_at", "id"][..],
            ),
            ("idx_reviews_queue", &["status", "created_at", "id"][..]),
            ("idx_reviews_body_hash", &["body_hash"][..]),
        ] {
            index(manager, name, "reviews", cols, false).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("review_history")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    // No foreign key: the history outlives a deleted review.
                    .col(uuid("review_id"))
                    .col(uuid("product_id"))
                    .col(string_len("action", 32))
                    .col(string_len_null("reason", 32))
                    .col(text_null("note"))
                    .col(uuid_null("actor_id"))
                    .col(string_len("actor", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_review_history_review",
            "review_history",
            &["review_id", "created_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("review_votes")
                    .if_not_exists()
                    .col(uuid("review_id"))
                    // `user:<id>` or `token:<sha256 of the browser token>`.
                    .col(string_len("voter", 80))
                    .col(boolean("helpful"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("review_id").col("voter"))
                    .foreign_key(&mut fk("review_votes", "review_id", "reviews"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("review_reports")
                    .if_not_exists()
                    .col(uuid("review_id"))
                    .col(string_len("reporter", 80))
                    .col(string_len("reason", 32))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("review_id").col("reporter"))
                    .foreign_key(&mut fk("review_reports", "review_id", "reviews"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("review_requests")
                    .if_not_exists()
                    .col(uuid("order_id").primary_key())
                    .col(string_len("email", 320))
                    .col(string_len("lang", 35))
                    .col(uuid_null("customer_id"))
                    // The delivered products: `[{"product_id", "title"}]`.
                    .col(text("products"))
                    // Milliseconds since the epoch, like the outbox's times.
                    .col(big_integer("due_at"))
                    .col(big_integer_null("sent_at"))
                    .col(big_integer_null("reminded_at"))
                    // The links' tokens, hashed; the reminder carries a second one.
                    .col(string_len_null("token_hash", 64))
                    .col(string_len_null("reminder_token_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_review_requests_due",
            "review_requests",
            &["sent_at", "due_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("review_opt_outs")
                    .if_not_exists()
                    .col(string_len("email", 320).primary_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "review_opt_outs",
            "review_requests",
            "review_reports",
            "review_votes",
            "review_history",
            "reviews",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for col in STARS {
            manager
                .alter_table(Table::alter().table("products").drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
