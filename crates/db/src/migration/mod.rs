//! The one migration set, run on both backends. Migrations are append-only: once landed,
//! a migration is never edited; a change is a new migration.

use sea_orm_migration::prelude::*;

mod m20261127_000001_outbox;
mod m20261127_000002_accounts;
mod m20261127_000003_oauth;
mod m20261127_000004_catalog;

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
        ]
    }
}
