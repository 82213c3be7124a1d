//! Stock operations. Reservation, commit and release run inside the caller's (checkout's)
//! transaction; each level changes only through a conditional update, and each change
//! writes its ledger row in the same transaction, so the ledger always explains the level.

use chrono::Utc;
use emporium_core::audit::{self, AuditEntry};
use emporium_core::error::ErrorCode;
use emporium_core::id::OrderId;
use emporium_core::{AppError, AppResult};
use emporium_db::entity::{stock_ledger, stock_levels, stock_locations, stock_policies};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::model::{self, Availability, reason};
use crate::state::Inventory;

/// Units of one variant an order line needs.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    pub variant_id: Uuid,
    pub quantity: i64,
}

/// What was reserved for one variant; `backordered` units were not in stock.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    pub variant_id: Uuid,
    pub backordered: i64,
}

/// A variant that cannot cover its want.
#[derive(Debug, Clone, Copy)]
pub struct Shortage {
    pub variant_id: Uuid,
    pub wanted: i64,
    pub available: i64,
}

/// Locations in the order stock is taken from.
pub(crate) async fn locations<C: ConnectionTrait>(
    conn: &C,
) -> AppResult<Vec<stock_locations::Model>> {
    Ok(stock_locations::Entity::find()
        .order_by_asc(stock_locations::Column::Priority)
        .order_by_asc(stock_locations::Column::Id)
        .all(conn)
        .await?)
}

/// Whether a location ships to `country` (one with no list ships anywhere).
pub(crate) fn ships_to(location: &stock_locations::Model, country: Option<&str>) -> bool {
    let countries: Vec<String> = serde_json::from_str(&location.countries).unwrap_or_default();
    match country {
        _ if countries.is_empty() => true,
        Some(c) => countries.iter().any(|x| x.eq_ignore_ascii_case(c)),
        None => false,
    }
}

/// A variant's levels at the `order` locations, in that order.
async fn levels_in_order<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
    order: &[stock_locations::Model],
) -> AppResult<Vec<stock_levels::Model>> {
    let mut rows = stock_levels::Entity::find()
        .filter(stock_levels::Column::VariantId.eq(variant_id))
        .all(conn)
        .await?;
    let rank: HashMap<Uuid, usize> = order.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
    // Only the locations asked for (those that ship to the address).
    rows.retain(|r| rank.contains_key(&r.location_id));
    rows.sort_by_key(|r| rank.get(&r.location_id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

async fn ensure_level<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
    location_id: Uuid,
) -> AppResult<()> {
    stock_levels::Entity::insert(stock_levels::ActiveModel {
        variant_id: Set(variant_id),
        location_id: Set(location_id),
        on_hand: Set(0),
        reserved: Set(0),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            stock_levels::Column::VariantId,
            stock_levels::Column::LocationId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Adds to a level's on-hand and reserved counts only if `guard` holds on the row;
/// returns whether it did.
async fn shift_level<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
    location_id: Uuid,
    on_hand_delta: i64,
    reserved_delta: i64,
    guard: Option<sea_orm::sea_query::SimpleExpr>,
) -> AppResult<bool> {
    let mut update = stock_levels::Entity::update_many()
        .col_expr(
            stock_levels::Column::OnHand,
            Expr::col(stock_levels::Column::OnHand).add(on_hand_delta),
        )
        .col_expr(
            stock_levels::Column::Reserved,
            Expr::col(stock_levels::Column::Reserved).add(reserved_delta),
        )
        .col_expr(stock_levels::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(stock_levels::Column::VariantId.eq(variant_id))
        .filter(stock_levels::Column::LocationId.eq(location_id));
    if let Some(guard) = guard {
        update = update.filter(guard);
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// `on_hand - reserved >= n`
fn free_at_least(n: i64) -> sea_orm::sea_query::SimpleExpr {
    Expr::col(stock_levels::Column::OnHand)
        .sub(Expr::col(stock_levels::Column::Reserved))
        .gte(n)
}

/// One ledger row.
struct Entry<'a> {
    variant_id: Uuid,
    location_id: Uuid,
    on_hand_delta: i64,
    reserved_delta: i64,
    reason: &'a str,
    note: Option<String>,
    order_id: Option<Uuid>,
    actor_id: Option<Uuid>,
}

async fn record<C: ConnectionTrait>(conn: &C, e: Entry<'_>) -> AppResult<()> {
    stock_ledger::Entity::insert(stock_ledger::ActiveModel {
        variant_id: Set(e.variant_id),
        location_id: Set(e.location_id),
        on_hand_delta: Set(e.on_hand_delta),
        reserved_delta: Set(e.reserved_delta),
        reason: Set(e.reason.to_string()),
        note: Set(e.note),
        order_id: Set(e.order_id),
        actor_id: Set(e.actor_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// On hand minus reserved over all of a variant's levels.
pub(crate) async fn net_of<C: ConnectionTrait>(conn: &C, variant_id: Uuid) -> AppResult<i64> {
    Ok(stock_levels::Entity::find()
        .filter(stock_levels::Column::VariantId.eq(variant_id))
        .all(conn)
        .await?
        .iter()
        .map(|l| l.on_hand - l.reserved)
        .sum())
}

/// Reads a level again (after a guarded update lost a race).
async fn free_now<C: ConnectionTrait>(
    conn: &C,
    variant_id: Uuid,
    location_id: Uuid,
) -> AppResult<i64> {
    Ok(stock_levels::Entity::find_by_id((variant_id, location_id))
        .one(conn)
        .await?
        .map(|l| model::available(l.on_hand, l.reserved))
        .unwrap_or(0))
}

impl Inventory {
    /// Availability of each of `ids` (variants with no stock rows count as zero).
    pub async fn availability<C: ConnectionTrait>(
        &self,
        conn: &C,
        ids: &[Uuid],
    ) -> AppResult<HashMap<Uuid, Availability>> {
        let mut out: HashMap<Uuid, Availability> = ids
            .iter()
            .map(|id| (*id, Availability::default()))
            .collect();
        if ids.is_empty() {
            return Ok(out);
        }
        for level in stock_levels::Entity::find()
            .filter(stock_levels::Column::VariantId.is_in(ids.to_vec()))
            .all(conn)
            .await?
        {
            if let Some(a) = out.get_mut(&level.variant_id) {
                a.net += level.on_hand - level.reserved;
            }
        }
        for policy in stock_policies::Entity::find()
            .filter(stock_policies::Column::VariantId.is_in(ids.to_vec()))
            .all(conn)
            .await?
        {
            if let Some(a) = out.get_mut(&policy.variant_id) {
                a.allow_backorder = policy.allow_backorder;
                a.backorder_limit = policy.backorder_limit;
            }
        }
        Ok(out)
    }

    /// Reserves every want for `order_id` inside `conn` (the order's transaction), taking
    /// from the locations that ship to `ship_to` in priority order, in variant-id order so
    /// that concurrent checkouts lock rows in the same order and never deadlock. On any
    /// shortage it returns them all and the caller rolls back, which undoes the
    /// reservations already made.
    pub async fn reserve<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        wants: &[Want],
        ship_to: Option<&str>,
    ) -> AppResult<Result<Vec<Reservation>, Vec<Shortage>>> {
        let mut sorted = wants.to_vec();
        sorted.sort_by_key(|w| w.variant_id);
        let order: Vec<_> = locations(conn)
            .await?
            .into_iter()
            .filter(|l| ships_to(l, ship_to))
            .collect();
        let mut reserved = Vec::with_capacity(sorted.len());
        let mut shortages = Vec::new();
        for want in sorted {
            let (got, in_stock) = self
                .reserve_from_stock(conn, order_id, want, &order)
                .await?;
            let missing = want.quantity - got;
            if missing == 0 {
                self.stock_moved(conn, want.variant_id, -want.quantity)
                    .await?;
                reserved.push(Reservation {
                    variant_id: want.variant_id,
                    backordered: 0,
                });
                continue;
            }
            if self
                .reserve_backorder(conn, order_id, want.variant_id, missing, &order)
                .await?
            {
                self.stock_moved(conn, want.variant_id, -want.quantity)
                    .await?;
                reserved.push(Reservation {
                    variant_id: want.variant_id,
                    backordered: missing,
                });
            } else {
                shortages.push(Shortage {
                    variant_id: want.variant_id,
                    wanted: want.quantity,
                    available: in_stock,
                });
            }
        }
        Ok(if shortages.is_empty() {
            Ok(reserved)
        } else {
            Err(shortages)
        })
    }

    /// Takes what stock there is for `want`; returns units taken and units seen free.
    async fn reserve_from_stock<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        want: Want,
        order: &[stock_locations::Model],
    ) -> AppResult<(i64, i64)> {
        let levels = levels_in_order(conn, want.variant_id, order).await?;
        let mut remaining = want.quantity;
        let mut seen_free = 0;
        for level in levels {
            if remaining == 0 {
                break;
            }
            let mut free = model::available(level.on_hand, level.reserved);
            // A guarded update fails only when another checkout took units between our
            // read and our write; re-read and try with what is left.
            for _ in 0..3 {
                let (takes, _) = model::plan_takes(&[free], remaining);
                let Some(&(_, take)) = takes.first() else {
                    break;
                };
                if shift_level(
                    conn,
                    want.variant_id,
                    level.location_id,
                    0,
                    take,
                    Some(free_at_least(take)),
                )
                .await?
                {
                    record(
                        conn,
                        Entry {
                            variant_id: want.variant_id,
                            location_id: level.location_id,
                            on_hand_delta: 0,
                            reserved_delta: take,
                            reason: reason::ORDER_RESERVED,
                            note: None,
                            order_id: Some(order_id.uuid()),
                            actor_id: None,
                        },
                    )
                    .await?;
                    remaining -= take;
                    break;
                }
                free = free_now(conn, want.variant_id, level.location_id).await?;
            }
            seen_free += free;
        }
        Ok((want.quantity - remaining, seen_free))
    }

    /// Reserves `missing` units beyond stock when the variant's policy allows backorders,
    /// at its first location (the limit counts against that level).
    async fn reserve_backorder<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        variant_id: Uuid,
        missing: i64,
        order: &[stock_locations::Model],
    ) -> AppResult<bool> {
        let Some(policy) = stock_policies::Entity::find_by_id(variant_id)
            .one(conn)
            .await?
            .filter(|p| p.allow_backorder)
        else {
            return Ok(false);
        };
        let levels = levels_in_order(conn, variant_id, order).await?;
        let location_id = match levels.first() {
            Some(level) => level.location_id,
            None => {
                let Some(first) = order.first() else {
                    return Ok(false);
                };
                ensure_level(conn, variant_id, first.id).await?;
                first.id
            }
        };
        let guard = policy
            .backorder_limit
            .map(|limit| free_at_least(missing - limit));
        if !shift_level(conn, variant_id, location_id, 0, missing, guard).await? {
            return Ok(false);
        }
        record(
            conn,
            Entry {
                variant_id,
                location_id,
                on_hand_delta: 0,
                reserved_delta: missing,
                reason: reason::ORDER_RESERVED,
                note: Some("backorder".into()),
                order_id: Some(order_id.uuid()),
                actor_id: None,
            },
        )
        .await?;
        Ok(true)
    }

    /// What the ledger says `order_id` still holds, per (variant, location): units
    /// reserved and units taken off the shelf.
    async fn held_by_order<C: ConnectionTrait>(
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<BTreeMap<(Uuid, Uuid), (i64, i64)>> {
        let mut held: BTreeMap<(Uuid, Uuid), (i64, i64)> = BTreeMap::new();
        for row in stock_ledger::Entity::find()
            .filter(stock_ledger::Column::OrderId.eq(order_id))
            .all(conn)
            .await?
        {
            let entry = held.entry((row.variant_id, row.location_id)).or_default();
            entry.0 += row.reserved_delta;
            entry.1 -= row.on_hand_delta;
        }
        Ok(held)
    }

    /// Payment arrived: the order's reserved units leave on-hand stock. Idempotent (what
    /// is committed is no longer reserved).
    pub async fn commit_order<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<()> {
        for ((variant_id, location_id), (reserved, _)) in
            Self::held_by_order(conn, order_id).await?
        {
            if reserved > 0 {
                shift_level(conn, variant_id, location_id, -reserved, -reserved, None).await?;
                record(
                    conn,
                    Entry {
                        variant_id,
                        location_id,
                        on_hand_delta: -reserved,
                        reserved_delta: -reserved,
                        reason: reason::ORDER_COMMITTED,
                        note: None,
                        order_id: Some(order_id.uuid()),
                        actor_id: None,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The order was cancelled: reservations end and committed units go back on the
    /// shelf. Idempotent (the ledger then shows the order holding nothing).
    pub async fn release_order<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        actor_id: Option<Uuid>,
    ) -> AppResult<()> {
        for ((variant_id, location_id), (reserved, taken)) in
            Self::held_by_order(conn, order_id).await?
        {
            if reserved > 0 {
                shift_level(conn, variant_id, location_id, 0, -reserved, None).await?;
                record(
                    conn,
                    Entry {
                        variant_id,
                        location_id,
                        on_hand_delta: 0,
                        reserved_delta: -reserved,
                        reason: reason::ORDER_RELEASED,
                        note: None,
                        order_id: Some(order_id.uuid()),
                        actor_id,
                    },
                )
                .await?;
            }
            if taken > 0 {
                shift_level(conn, variant_id, location_id, taken, 0, None).await?;
                record(
                    conn,
                    Entry {
                        variant_id,
                        location_id,
                        on_hand_delta: taken,
                        reserved_delta: 0,
                        reason: reason::ORDER_RESTOCKED,
                        note: None,
                        order_id: Some(order_id.uuid()),
                        actor_id,
                    },
                )
                .await?;
            }
            self.stock_moved(conn, variant_id, Ord::max(reserved, 0) + Ord::max(taken, 0))
                .await?;
        }
        Ok(())
    }

    /// Up to `quantity` units of `variant_id` that `order_id` took off the shelf come back
    /// (a refund with restock). Only what the order still holds by the ledger is put
    /// back, so a repeat, or a cancel after it, never counts a unit twice. Answers how
    /// many units came back.
    pub async fn restock_units<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        variant_id: Uuid,
        quantity: i64,
        actor_id: Option<Uuid>,
    ) -> AppResult<i64> {
        let mut left = quantity;
        for ((variant, location_id), (_, taken)) in Self::held_by_order(conn, order_id).await? {
            if variant != variant_id || taken <= 0 || left == 0 {
                continue;
            }
            let back = Ord::min(taken, left);
            shift_level(conn, variant_id, location_id, back, 0, None).await?;
            self.stock_moved(conn, variant_id, back).await?;
            record(
                conn,
                Entry {
                    variant_id,
                    location_id,
                    on_hand_delta: back,
                    reserved_delta: 0,
                    reason: reason::RETURN_RESTOCKED,
                    note: None,
                    order_id: Some(order_id.uuid()),
                    actor_id,
                },
            )
            .await?;
            left -= back;
        }
        Ok(quantity - left)
    }

    /// A variant's levels at every location that holds any.
    pub async fn levels<C: ConnectionTrait>(
        &self,
        conn: &C,
        variant_id: Uuid,
    ) -> AppResult<Vec<stock_levels::Model>> {
        let order = locations(conn).await?;
        levels_in_order(conn, variant_id, &order).await
    }

    /// Adds `delta` units on hand at a location (the first by priority when `None`).
    /// Refuses (409) to take on-hand stock below zero, and 404s an unknown variant or
    /// location.
    #[tracing::instrument(skip_all, fields(variant_id = %variant_id, delta = delta))]
    pub async fn adjust(
        &self,
        variant_id: Uuid,
        location_id: Option<Uuid>,
        delta: i64,
        why: &str,
        actor_id: Uuid,
    ) -> AppResult<()> {
        let txn = self.db.begin().await?;
        if !emporium_catalog::variant_exists(&txn, variant_id).await? {
            return Err(AppError::not_found("no such variant"));
        }
        let location_id = match location_id {
            Some(id) => {
                stock_locations::Entity::find_by_id(id)
                    .one(&txn)
                    .await?
                    .ok_or_else(|| AppError::not_found("no such stock location"))?
                    .id
            }
            None => {
                locations(&txn)
                    .await?
                    .first()
                    .ok_or_else(|| AppError::not_found("no stock location is set up"))?
                    .id
            }
        };
        ensure_level(&txn, variant_id, location_id).await?;
        let guard = Expr::col(stock_levels::Column::OnHand).add(delta).gte(0);
        if !shift_level(&txn, variant_id, location_id, delta, 0, Some(guard)).await? {
            return Err(AppError::conflict(
                ErrorCode::InsufficientStock,
                "the adjustment would take on-hand stock below zero",
            ));
        }
        self.stock_moved(&txn, variant_id, delta).await?;
        record(
            &txn,
            Entry {
                variant_id,
                location_id,
                on_hand_delta: delta,
                reserved_delta: 0,
                reason: reason::ADJUSTMENT,
                note: Some(why.to_string()),
                order_id: None,
                actor_id: Some(actor_id),
            },
        )
        .await?;
        audit::record(
            &txn,
            AuditEntry {
                actor: Some(actor_id),
                action: "inventory.adjust",
                target_type: Some("variant"),
                target_id: Some(variant_id.to_string()),
                detail: serde_json::json!({"location_id": location_id, "delta": delta, "reason": why}),
                ..Default::default()
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Gives every variant that has no stock yet `units` on hand at the first location,
    /// with its ledger rows, in batches (the demo seed; `progress` gets the count done).
    pub async fn seed_stock(&self, units: i64, progress: impl Fn(u64)) -> AppResult<u64> {
        let conn = self.db.writer();
        let location = locations(conn)
            .await?
            .first()
            .ok_or_else(|| AppError::not_found("no stock location is set up"))?
            .id;
        let stocked: std::collections::HashSet<Uuid> = stock_levels::Entity::find()
            .select_only()
            .column(stock_levels::Column::VariantId)
            .into_tuple()
            .all(conn)
            .await?
            .into_iter()
            .collect();
        let ids: Vec<Uuid> = emporium_catalog::variant_ids(conn)
            .await?
            .into_iter()
            .filter(|id| !stocked.contains(id))
            .collect();
        let mut done = 0;
        for batch in ids.chunks(500) {
            let txn = self.db.begin().await?;
            let now = Utc::now();
            stock_levels::Entity::insert_many(batch.iter().map(|&id| stock_levels::ActiveModel {
                variant_id: Set(id),
                location_id: Set(location),
                on_hand: Set(units),
                reserved: Set(0),
                updated_at: Set(now),
            }))
            .exec_without_returning(&txn)
            .await?;
            stock_ledger::Entity::insert_many(batch.iter().map(|&id| stock_ledger::ActiveModel {
                variant_id: Set(id),
                location_id: Set(location),
                on_hand_delta: Set(units),
                reserved_delta: Set(0),
                reason: Set(reason::ADJUSTMENT.to_string()),
                note: Set(Some("demo seed".into())),
                created_at: Set(now),
                ..Default::default()
            }))
            .exec_without_returning(&txn)
            .await?;
            txn.commit().await?;
            done += batch.len() as u64;
            progress(done);
        }
        Ok(done)
    }

    /// Sets a variant's backorder policy.
    pub async fn set_policy(
        &self,
        variant_id: Uuid,
        allow_backorder: bool,
        backorder_limit: Option<i64>,
        low_stock_threshold: Option<i64>,
    ) -> AppResult<()> {
        let txn = self.db.begin().await?;
        if !emporium_catalog::variant_exists(&txn, variant_id).await? {
            return Err(AppError::not_found("no such variant"));
        }
        stock_policies::Entity::insert(stock_policies::ActiveModel {
            variant_id: Set(variant_id),
            allow_backorder: Set(allow_backorder),
            backorder_limit: Set(backorder_limit),
            low_stock_threshold: Set(low_stock_threshold),
            restock_expected_at: Set(None),
            incoming: Set(0),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(stock_policies::Column::VariantId)
                .update_columns([
                    stock_policies::Column::AllowBackorder,
                    stock_policies::Column::BackorderLimit,
                    stock_policies::Column::LowStockThreshold,
                    stock_policies::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A variant's policy (the default: backorders denied).
    pub async fn policy<C: ConnectionTrait>(
        &self,
        conn: &C,
        variant_id: Uuid,
    ) -> AppResult<Option<stock_policies::Model>> {
        Ok(stock_policies::Entity::find_by_id(variant_id)
            .one(conn)
            .await?)
    }

    /// The newest ledger rows of a variant, before `before` (an id) when paging.
    pub async fn ledger<C: ConnectionTrait>(
        &self,
        conn: &C,
        variant_id: Uuid,
        before: Option<i64>,
        limit: u64,
    ) -> AppResult<Vec<stock_ledger::Model>> {
        let mut query = stock_ledger::Entity::find()
            .filter(stock_ledger::Column::VariantId.eq(variant_id))
            .order_by_desc(stock_ledger::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(stock_ledger::Column::Id.lt(before));
        }
        Ok(query.all(conn).await?)
    }

    pub(crate) fn db(&self) -> &emporium_db::Db {
        &self.db
    }
}
