//! The one migration set, run on both backends. Migrations are append-only: once landed,
//! a migration is never edited; a change is a new migration.

use sea_orm_migration::prelude::*;

mod m20261127_000001_outbox;
mod m20261127_000002_accounts;
mod m20261127_000003_oauth;
mod m20261127_000004_catalog;
mod m20261127_000005_inventory;
mod m20261127_000006_checkout;
mod m20261127_000007_collections;
mod m20261127_000008_payments;
mod m20261127_000009_shipping;
mod m20261127_000010_media;
mod m20261130_000011_account_changes;
mod m20261130_000012_order_payment_fulfillment;
mod m20261130_000013_user_language;
mod m20261130_000014_admin_sessions;
mod m20261130_000015_console_indexes;
mod m20261201_000016_schedules;
mod m20261201_000017_reviews;
mod m20261201_000018_shop_sessions;
mod m20261201_000019_integrations;
mod m20261207_000020_promotions;
mod m20261207_000021_sales_reports;
mod m20261208_000022_support;

/// Runs every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_outbox::Migration),
            Box::new(m20261127_000002_accounts::Migration),
            Box::new(m20261127_000003_oauth::Migration),
            Box::new(m20261127_000004_catalog::Migration),
            Box::new(m20261127_000005_inventory::Migration),
            Box::new(m20261127_000006_checkout::Migration),
            Box::new(m20261127_000007_collections::Migration),
            Box::new(m20261127_000008_payments::Migration),
            Box::new(m20261127_000009_shipping::Migration),
            Box::new(m20261127_000010_media::Migration),
            Box::new(m20261130_000011_account_changes::Migration),
            Box::new(m20261130_000012_order_payment_fulfillment::Migration),
            Box::new(m20261130_000013_user_language::Migration),
            Box::new(m20261130_000014_admin_sessions::Migration),
            Box::new(m20261130_000015_console_indexes::Migration),
            Box::new(m20261201_000016_schedules::Migration),
            Box::new(m20261201_000017_reviews::Migration),
            Box::new(m20261201_000018_shop_sessions::Migration),
            Box::new(m20261201_000019_integrations::Migration),
            Box::new(m20261207_000020_promotions::Migration),
            Box::new(m20261207_000021_sales_reports::Migration),
            Box::new(m20261208_000022_support::Migration),
        ]
    }
}

/// A foreign key from `from.col` to `to.id` that cascades deletes.
pub(crate) fn fk(
    from: &'static str,
    col: &'static str,
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Creates index `name` on `table(cols)`.
pub(crate) async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}
