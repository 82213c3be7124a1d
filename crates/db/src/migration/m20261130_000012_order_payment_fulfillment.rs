//! Orders keep where their money and their goods stand beside their status, so that a
//! partial refund never stops a shipment or a return. Existing rows are filled in from
//! their status; an order that was `partially_refunded` goes back to `paid`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(string_len("payment_status", 24).default("unpaid"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(string_len("fulfillment_status", 24).default("unfulfilled"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE orders SET payment_status = CASE \
               WHEN status = 'refunded' THEN 'refunded' \
               WHEN status = 'partially_refunded' THEN 'partially_refunded' \
               WHEN status IN ('pending_payment', 'cancelled') THEN 'unpaid' \
               ELSE 'paid' END, \
             fulfillment_status = CASE \
               WHEN status = 'processing' THEN 'partially_shipped' \
               WHEN status = 'shipped' THEN 'shipped' \
               WHEN status IN ('delivered', 'return_requested') THEN 'delivered' \
               WHEN status = 'returned' THEN 'returned' \
               ELSE 'unfulfilled' END",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE orders SET status = 'paid' WHERE status = 'partially_refunded'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["fulfillment_status", "payment_status"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("orders")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
