//! Indexes the admin console's lists need to stay fast on a big shop: orders filtered by
//! a status and read newest first (by number), products newest first without a status
//! filter, and stock levels by what is available (the low-stock list reads only the
//! variants that have a low row, not every variant).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 5] = [
    (
        "idx_orders_status_number",
        "CREATE INDEX IF NOT EXISTS idx_orders_status_number ON orders (status, number)",
    ),
    (
        "idx_orders_payment_number",
        "CREATE INDEX IF NOT EXISTS idx_orders_payment_number ON orders (payment_status, number)",
    ),
    (
        "idx_orders_fulfillment_number",
        "CREATE INDEX IF NOT EXISTS idx_orders_fulfillment_number ON orders (fulfillment_status, number)",
    ),
    (
        "idx_products_created",
        "CREATE INDEX IF NOT EXISTS idx_products_created ON products (created_at, id)",
    ),
    (
        "idx_stock_levels_available",
        "CREATE INDEX IF NOT EXISTS idx_stock_levels_available ON stock_levels ((on_hand - reserved))",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (_, sql) in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
