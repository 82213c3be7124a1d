//! Rollups: the sales ledger summed per dimension, currency and local day. Each ledger
//! row is added exactly once: the transaction that adds it first flips its `rolled_up`
//! flag with a guarded update (so two nodes' workers never both count it), then adds to
//! the rollup rows with `INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x`, keys in
//! a fixed order so concurrent appliers cannot deadlock. `rebuild` throws the rollups away
//! and sums the whole ledger again with the same code, so both paths agree by
//! construction (and a test checks it).

use chrono_tz::Tz;
use emporium_core::AppResult;
use emporium_db::entity::{
    cohort_activity, customer_cohorts, promotion_redemptions, sales_ledger, sales_ledger_lines,
    sales_rollups,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::state::Analytics;

/// The rollup columns that hold sums: written by adding, read by summing.
pub(crate) const SUMMED: [sales_rollups::Column; 13] = [
    sales_rollups::Column::Orders,
    sales_rollups::Column::Cancelled,
    sales_rollups::Column::Units,
    sales_rollups::Column::UnitsReturned,
    sales_rollups::Column::Gross,
    sales_rollups::Column::Discounts,
    sales_rollups::Column::Returns,
    sales_rollups::Column::Shipping,
    sales_rollups::Column::Tax,
    sales_rollups::Column::Total,
    sales_rollups::Column::Payments,
    sales_rollups::Column::Paid,
    sales_rollups::Column::Refunded,
];

/// Rows of the ledger applied per transaction.
const BATCH: u64 = 500;
/// Rollup rows kept in memory by a rebuild before they are written.
const FLUSH_AT: usize = 100_000;

/// The summed figures of a rollup row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    pub orders: i64,
    pub cancelled: i64,
    pub units: i64,
    pub units_returned: i64,
    pub gross: i64,
    pub discounts: i64,
    pub returns: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub payments: i64,
    pub paid: i64,
    pub refunded: i64,
}

impl Measures {
    pub fn add(&mut self, o: &Measures) {
        self.orders += o.orders;
        self.cancelled += o.cancelled;
        self.units += o.units;
        self.units_returned += o.units_returned;
        self.gross += o.gross;
        self.discounts += o.discounts;
        self.returns += o.returns;
        self.shipping += o.shipping;
        self.tax += o.tax;
        self.total += o.total;
        self.payments += o.payments;
        self.paid += o.paid;
        self.refunded += o.refunded;
    }

    /// Gross less discounts less returns.
    pub fn net(&self) -> i64 {
        self.gross - self.discounts - self.returns
    }

    pub(crate) fn of_rollup(r: &sales_rollups::Model) -> Self {
        Self {
            orders: r.orders,
            cancelled: r.cancelled,
            units: r.units,
            units_returned: r.units_returned,
            gross: r.gross,
            discounts: r.discounts,
            returns: r.returns,
            shipping: r.shipping,
            tax: r.tax,
            total: r.total,
            payments: r.payments,
            paid: r.paid,
            refunded: r.refunded,
        }
    }

    /// What a ledger row adds to the shop's figures.
    fn of_row(row: &sales_ledger::Model) -> Self {
        let mut m = Self::default();
        match row.kind.as_str() {
            "payment" => {
                m.payments = 1;
                m.paid = row.total;
                return m;
            }
            "order" => m.orders = 1,
            "cancellation" => m.cancelled = 1,
            "refund" => m.refunded = -row.total,
            _ => {}
        }
        m.units = i64::from(row.units);
        m.units_returned = i64::from(row.units_returned);
        m.gross = row.gross;
        m.discounts = row.discounts;
        m.returns = row.returns;
        m.shipping = row.shipping;
        m.tax = row.tax;
        m.total = row.total;
        m
    }

    fn of_line(row: &sales_ledger::Model, line: &sales_ledger_lines::Model) -> Self {
        Self {
            orders: i64::from(row.kind == "order"),
            units: i64::from(line.units),
            units_returned: i64::from(line.units_returned),
            gross: line.gross,
            discounts: line.discounts,
            returns: line.returns,
            total: line.gross - line.discounts - line.returns,
            ..Self::default()
        }
    }
}

/// The dimension that also keeps a breakdown per month (`YYYY-MM`): a year's top products
/// read 12 month rows per product and the odd days at the ends, not 365 day rows.
pub(crate) fn monthly(dim: &str) -> Option<&'static str> {
    Some(match dim {
        "product" => "product@month",
        "variant" => "variant@month",
        "country" => "country@month",
        "coupon" => "coupon@month",
        "customer_type" => "customer_type@month",
        "provider" => "provider@month",
        _ => return None,
    })
}

/// A rollup row's key: dimension, currency, bucket, key.
type Key = (&'static str, String, String, String);

/// Rollup increments being gathered, with each key's label.
#[derive(Default)]
pub(crate) struct Sums(BTreeMap<Key, (String, Measures)>);

impl Sums {
    fn add(&mut self, key: Key, label: &str, m: Measures) {
        if let Some(dim) = monthly(key.0) {
            let month = key.2.get(..7).unwrap_or(&key.2).to_string();
            self.add_one((dim, key.1.clone(), month, key.3.clone()), label, m);
        }
        self.add_one(key, label, m);
    }

    fn add_one(&mut self, key: Key, label: &str, m: Measures) {
        let slot = self
            .0
            .entry(key)
            .or_insert_with(|| (String::new(), Measures::default()));
        if slot.0.is_empty() || !label.is_empty() {
            slot.0 = label.to_string();
        }
        slot.1.add(&m);
    }

    /// Adds what one ledger row contributes to every dimension.
    fn row(
        &mut self,
        tz: Tz,
        row: &sales_ledger::Model,
        lines: &[&sales_ledger_lines::Model],
        codes: &[&str],
        cohort: Option<&str>,
    ) {
        let local = row.occurred_at.with_timezone(&tz);
        let day = local.format("%Y-%m-%d").to_string();
        let hour = local.format("%Y-%m-%dT%H").to_string();
        let cur = row.currency.clone();
        let m = Measures::of_row(row);
        self.add(("all", cur.clone(), day.clone(), String::new()), "", m);
        self.add(("hour", cur.clone(), hour, String::new()), "", m);
        if row.kind == "payment" {
            let provider = row.provider.clone().unwrap_or_default();
            self.add(("provider", cur, day, provider.clone()), &provider, m);
            return;
        }
        let country = row.country.clone().unwrap_or_default();
        self.add(
            ("country", cur.clone(), day.clone(), country.clone()),
            &country,
            m,
        );
        self.add(
            (
                "customer_type",
                cur.clone(),
                day.clone(),
                row.customer_type.clone(),
            ),
            &row.customer_type,
            m,
        );
        if let Some(cohort) = cohort {
            let month = local.format("%Y-%m").to_string();
            self.add(
                ("cohort", cur.clone(), month, cohort.to_string()),
                cohort,
                m,
            );
        }
        for code in codes {
            self.add(
                ("coupon", cur.clone(), day.clone(), (*code).to_string()),
                code,
                m,
            );
        }
        for line in lines {
            let lm = Measures::of_line(row, line);
            self.add(
                (
                    "product",
                    cur.clone(),
                    day.clone(),
                    line.product_id.to_string(),
                ),
                &line.title,
                lm,
            );
            self.add(
                (
                    "variant",
                    cur.clone(),
                    day.clone(),
                    line.variant_id.to_string(),
                ),
                &format!("{} ({})", line.title, line.sku),
                lm,
            );
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds the gathered sums to the rollup rows, in key order.
    async fn write<C: ConnectionTrait>(self, conn: &C) -> AppResult<()> {
        let rows: Vec<sales_rollups::ActiveModel> = self
            .0
            .into_iter()
            .map(
                |((dim, currency, bucket, key), (label, m))| sales_rollups::ActiveModel {
                    dim: Set(dim.to_string()),
                    currency: Set(currency),
                    bucket: Set(bucket),
                    key: Set(key),
                    label: Set(label.chars().take(300).collect()),
                    orders: Set(m.orders),
                    cancelled: Set(m.cancelled),
                    units: Set(m.units),
                    units_returned: Set(m.units_returned),
                    gross: Set(m.gross),
                    discounts: Set(m.discounts),
                    returns: Set(m.returns),
                    shipping: Set(m.shipping),
                    tax: Set(m.tax),
                    total: Set(m.total),
                    payments: Set(m.payments),
                    paid: Set(m.paid),
                    refunded: Set(m.refunded),
                },
            )
            .collect();
        use sales_rollups::Column as C;

        for chunk in rows.chunks(1_000) {
            let mut on_conflict =
                OnConflict::columns([C::Dim, C::Currency, C::Bucket, C::Key]).to_owned();
            on_conflict.value(C::Label, Expr::col((Alias::new("excluded"), C::Label)));
            for col in SUMMED {
                on_conflict.value(
                    col,
                    Expr::col((sales_rollups::Entity, col))
                        .add(Expr::col((Alias::new("excluded"), col))),
                );
            }
            sales_rollups::Entity::insert_many(chunk.to_vec())
                .on_conflict(on_conflict)
                .exec_without_returning(conn)
                .await?;
        }
        Ok(())
    }
}

/// What ledger rows are added with: their lines, their orders' coupon codes, and their
/// customers' cohorts.
type Particulars = (
    Vec<sales_ledger_lines::Model>,
    HashMap<Uuid, Vec<String>>,
    HashMap<String, String>,
);

/// The ledger lines, coupon codes and cohorts of `rows`, to add them with. Customers whose
/// first order is among `rows` get their cohort here (the month of their first order
/// written; one who has a cohort keeps it), and each order notes the month its customer
/// was active in.
async fn particulars<C: ConnectionTrait>(
    conn: &C,
    tz: Tz,
    rows: &[sales_ledger::Model],
) -> AppResult<Particulars> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines = Vec::new();
    for chunk in ids.chunks(1_000) {
        lines.extend(
            sales_ledger_lines::Entity::find()
                .filter(sales_ledger_lines::Column::LedgerId.is_in(chunk.to_vec()))
                .all(conn)
                .await?,
        );
    }
    let mut orders: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.kind != "payment")
        .map(|r| r.order_id)
        .collect();
    orders.sort_unstable();
    orders.dedup();
    let mut codes: HashMap<Uuid, Vec<String>> = HashMap::new();
    for chunk in orders.chunks(1_000) {
        let found: Vec<(Uuid, Option<String>)> = promotion_redemptions::Entity::find()
            .select_only()
            .column(promotion_redemptions::Column::OrderId)
            .column(promotion_redemptions::Column::Code)
            .filter(promotion_redemptions::Column::OrderId.is_in(chunk.to_vec()))
            .filter(promotion_redemptions::Column::Code.is_not_null())
            .order_by_asc(promotion_redemptions::Column::Code)
            .into_tuple()
            .all(conn)
            .await?;
        for (order, code) in found {
            if let Some(code) = code {
                codes.entry(order).or_default().push(code);
            }
        }
    }
    let cohorts = cohorts(conn, tz, rows).await?;
    Ok((lines, codes, cohorts))
}

async fn cohorts<C: ConnectionTrait>(
    conn: &C,
    tz: Tz,
    rows: &[sales_ledger::Model],
) -> AppResult<HashMap<String, String>> {
    let month =
        |r: &sales_ledger::Model| r.occurred_at.with_timezone(&tz).format("%Y-%m").to_string();
    let mut orders: Vec<&sales_ledger::Model> = rows.iter().filter(|r| r.kind == "order").collect();
    orders.sort_by_key(|r| r.id);
    let mut firsts: Vec<customer_cohorts::ActiveModel> = Vec::new();
    let mut named = std::collections::HashSet::new();
    for r in &orders {
        if named.insert(r.customer_key.clone()) {
            firsts.push(customer_cohorts::ActiveModel {
                customer_key: Set(r.customer_key.clone()),
                cohort: Set(month(r)),
            });
        }
    }
    for chunk in firsts.chunks(1_000) {
        customer_cohorts::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(customer_cohorts::Column::CustomerKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    let mut keys: Vec<String> = rows
        .iter()
        .filter(|r| r.kind != "payment")
        .map(|r| r.customer_key.clone())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut found = HashMap::new();
    for chunk in keys.chunks(1_000) {
        let pairs: Vec<(String, String)> = customer_cohorts::Entity::find()
            .select_only()
            .column(customer_cohorts::Column::CustomerKey)
            .column(customer_cohorts::Column::Cohort)
            .filter(customer_cohorts::Column::CustomerKey.is_in(chunk.to_vec()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(pairs);
    }
    let active: std::collections::BTreeSet<(String, String, String)> = orders
        .iter()
        .filter_map(|r| {
            let cohort = found.get(&r.customer_key)?;
            Some((cohort.clone(), month(r), r.customer_key.clone()))
        })
        .collect();
    let active: Vec<cohort_activity::ActiveModel> = active
        .into_iter()
        .map(|(cohort, month, key)| cohort_activity::ActiveModel {
            cohort: Set(cohort),
            month: Set(month),
            customer_key: Set(key),
        })
        .collect();
    for chunk in active.chunks(1_000) {
        cohort_activity::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    cohort_activity::Column::Cohort,
                    cohort_activity::Column::Month,
                    cohort_activity::Column::CustomerKey,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(found)
}

fn gather(
    tz: Tz,
    sums: &mut Sums,
    rows: &[sales_ledger::Model],
    (lines, codes, cohorts): &Particulars,
) {
    let mut by_row: HashMap<Uuid, Vec<&sales_ledger_lines::Model>> = HashMap::new();
    for line in lines {
        by_row.entry(line.ledger_id).or_default().push(line);
    }
    for row in rows {
        let row_codes: Vec<&str> = codes
            .get(&row.order_id)
            .map(|c| c.iter().map(String::as_str).collect())
            .unwrap_or_default();
        sums.row(
            tz,
            row,
            by_row.get(&row.id).map(Vec::as_slice).unwrap_or(&[]),
            &row_codes,
            cohorts.get(&row.customer_key).map(String::as_str),
        );
    }
}

impl Analytics {
    /// Adds every ledger row not yet counted to the rollups; answers how many it added.
    pub async fn apply_pending(&self) -> AppResult<u64> {
        let mut applied = 0;
        loop {
            let n = self.apply_batch().await?;
            applied += n.1;
            if n.0 < BATCH {
                return Ok(applied);
            }
        }
    }

    /// One batch: (rows looked at, rows this call counted).
    async fn apply_batch(&self) -> AppResult<(u64, u64)> {
        let txn = self.db.begin().await?;
        let pending = sales_ledger::Entity::find()
            .filter(sales_ledger::Column::RolledUp.eq(false))
            // In the order they were written, as a rebuild takes them: a customer's
            // cohort is the month of their first order written.
            .order_by_asc(sales_ledger::Column::Id)
            .limit(BATCH)
            .all(&txn)
            .await?;
        let seen = pending.len() as u64;
        let mut claimed = Vec::with_capacity(pending.len());
        for row in pending {
            let update = sales_ledger::Entity::update_many()
                .col_expr(sales_ledger::Column::RolledUp, Expr::value(true))
                .filter(sales_ledger::Column::Id.eq(row.id))
                .filter(sales_ledger::Column::RolledUp.eq(false))
                .exec(&txn)
                .await?;
            if update.rows_affected == 1 {
                claimed.push(row);
            }
        }
        if claimed.is_empty() {
            txn.commit().await?;
            return Ok((seen, 0));
        }
        let particulars = particulars(&txn, self.tz(), &claimed).await?;
        let mut sums = Sums::default();
        gather(self.tz(), &mut sums, &claimed, &particulars);
        sums.write(&txn).await?;
        txn.commit().await?;
        Ok((seen, claimed.len() as u64))
    }

    /// Throws the rollups away and sums the whole ledger again, in one transaction (the
    /// reports show the old figures until it commits); `progress(done, of)` follows it.
    pub async fn rebuild(&self, progress: impl Fn(u64, u64)) -> AppResult<u64> {
        let txn = self.db.begin().await?;
        sales_ledger::Entity::update_many()
            .col_expr(sales_ledger::Column::RolledUp, Expr::value(true))
            .exec(&txn)
            .await?;
        sales_rollups::Entity::delete_many().exec(&txn).await?;
        cohort_activity::Entity::delete_many().exec(&txn).await?;
        customer_cohorts::Entity::delete_many().exec(&txn).await?;
        let of = sales_ledger::Entity::find()
            .filter(sales_ledger::Column::RolledUp.eq(true))
            .count(&txn)
            .await?;
        let tz = self.tz();
        let mut sums = Sums::default();
        let mut done = 0u64;
        let mut after: Option<Uuid> = None;
        loop {
            let mut page = sales_ledger::Entity::find()
                .filter(sales_ledger::Column::RolledUp.eq(true))
                .order_by_asc(sales_ledger::Column::Id)
                .limit(5_000);
            if let Some(id) = after {
                page = page.filter(sales_ledger::Column::Id.gt(id));
            }
            let rows = page.all(&txn).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            let particulars = particulars(&txn, tz, &rows).await?;
            gather(tz, &mut sums, &rows, &particulars);
            done += rows.len() as u64;
            if sums.len() >= FLUSH_AT {
                std::mem::take(&mut sums).write(&txn).await?;
            }
            progress(done, of);
        }
        sums.write(&txn).await?;
        txn.commit().await?;
        Ok(done)
    }
}
