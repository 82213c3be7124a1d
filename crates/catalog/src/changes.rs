//! The catalog change log: one row per change, in the change's own transaction. The
//! log, not the outbox, is the catalog's event stream to nodes: every node must see every
//! change (to refresh its search replica and its cache of reads), while an outbox job
//! runs on one node only.

use emporium_core::AppResult;
use emporium_core::outbox;
use emporium_db::entity::catalog_changes;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

/// What changed. A product change refreshes that product; the others change what many
/// products show (a category's names, a conversion rate), so followers refresh widely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Product,
    Category,
    Collection,
    ExchangeRate,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Category => "category",
            Self::Collection => "collection",
            Self::ExchangeRate => "exchange_rate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Product,
            Self::Category,
            Self::Collection,
            Self::ExchangeRate,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether a change of this kind alters the documents of products other than its own.
    pub fn touches_many(self) -> bool {
        matches!(self, Self::Category | Self::ExchangeRate)
    }
}

/// Appends a change of `kind` to `id` to the log, inside the caller's transaction.
pub(crate) async fn record<C: ConnectionTrait>(
    conn: &C,
    kind: ChangeKind,
    id: Uuid,
) -> AppResult<()> {
    catalog_changes::Entity::insert(catalog_changes::ActiveModel {
        entity: Set(kind.as_str().to_string()),
        entity_id: Set(id),
        created_at: Set(outbox::now_ms()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [
            ChangeKind::Product,
            ChangeKind::Category,
            ChangeKind::Collection,
            ChangeKind::ExchangeRate,
        ] {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("variant"), None);
    }
}
