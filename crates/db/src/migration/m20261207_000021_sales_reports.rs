//! The sales ledger and its rollups. Orders write one ledger row per order placed,
//! payment taken, refund made and order cancelled (with its lines), in the transaction of
//! the change; analytics adds each row once to the rollups (`rolled_up` is the claim) and
//! can throw them away and rebuild them from the ledger at any time. The shopping
//! funnel's distinct sessions per day and step, and its daily counts. Customers' first-order
//! month (their cohort) and the months each was active in.

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
                    .table("sales_ledger")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(string_len("kind", 16))
                    .col(uuid_null("ref_id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(string_len("currency", 3))
                    // Units of `currency` per unit of the store's currency, times 10^9,
                    // when the row was written.
                    .col(big_integer("rate_e9"))
                    .col(big_integer("gross"))
                    .col(big_integer("discounts"))
                    .col(big_integer("returns"))
                    .col(big_integer("shipping"))
                    .col(big_integer("tax"))
                    .col(big_integer("total"))
                    .col(integer("units"))
                    .col(integer("units_returned"))
                    .col(string_len_null("country", 2))
                    .col(string_len("customer_type", 16))
                    // A hash of the customer's account id, or a guest's email: cohorts
                    // follow customers without the ledger holding who they are.
                    .col(string_len("customer_key", 32))
                    .col(string_len_null("provider", 64))
                    .col(string_len_null("reason", 500))
                    .col(boolean("rolled_up"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_sales_ledger_pending",
            "sales_ledger",
            &["rolled_up", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_sales_ledger_order",
            "sales_ledger",
            &["order_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_sales_ledger_time",
            "sales_ledger",
            &["occurred_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("sales_ledger_lines")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("ledger_id"))
                    .col(uuid("product_id"))
                    .col(uuid("variant_id"))
                    .col(string_len("title", 300))
                    .col(string_len("sku", 200))
                    .col(integer("units"))
                    .col(integer("units_returned"))
                    .col(big_integer("gross"))
                    .col(big_integer("discounts"))
                    .col(big_integer("returns"))
                    .foreign_key(&mut fk("sales_ledger_lines", "ledger_id", "sales_ledger"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_sales_ledger_lines_ledger",
            "sales_ledger_lines",
            &["ledger_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("sales_rollups")
                    .if_not_exists()
                    .col(string_len("dim", 32))
                    .col(string_len("key", 64))
                    .col(string_len("currency", 3))
                    // The shop's local day `YYYY-MM-DD` (or hour `YYYY-MM-DDTHH` for
                    // the `hour` dimension).
                    .col(string_len("bucket", 13))
                    .col(string_len("label", 300))
                    .col(big_integer("orders"))
                    .col(big_integer("cancelled"))
                    .col(big_integer("units"))
                    .col(big_integer("units_returned"))
                    .col(big_integer("gross"))
                    .col(big_integer("discounts"))
                    .col(big_integer("returns"))
                    .col(big_integer("shipping"))
                    .col(big_integer("tax"))
                    .col(big_integer("total"))
                    .col(big_integer("payments"))
                    .col(big_integer("paid"))
                    .col(big_integer("refunded"))
                    .primary_key(
                        Index::create()
                            .col("dim")
                            .col("currency")
                            .col("bucket")
                            .col("key"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_cohorts")
                    .if_not_exists()
                    .col(string_len("customer_key", 32).primary_key())
                    // The local month of the customer's first order, `YYYY-MM`.
                    .col(string_len("cohort", 7))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_customer_cohorts_cohort",
            "customer_cohorts",
            &["cohort"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("cohort_activity")
                    .if_not_exists()
                    .col(string_len("cohort", 7))
                    .col(string_len("month", 7))
                    .col(string_len("customer_key", 32))
                    .primary_key(
                        Index::create()
                            .col("cohort")
                            .col("month")
                            .col("customer_key"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("funnel_seen")
                    .if_not_exists()
                    .col(string_len("day", 10))
                    .col(string_len("step", 24))
                    // A hash of the session's key, never the key.
                    .col(string_len("session", 32))
                    .primary_key(Index::create().col("day").col("step").col("session"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("funnel_daily")
                    .if_not_exists()
                    .col(string_len("day", 10))
                    .col(string_len("step", 24))
                    .col(big_integer("sessions"))
                    .col(big_integer("events"))
                    .primary_key(Index::create().col("day").col("step"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "cohort_activity",
            "customer_cohorts",
            "funnel_daily",
            "funnel_seen",
            "sales_rollups",
            "sales_ledger_lines",
            "sales_ledger",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
