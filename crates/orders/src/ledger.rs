//! The sales ledger: what each order, payment, refund and cancellation did to the shop's
//! sales, one row each (with a row per order line it touches), written in the transaction
//! of the change so the ledger can never disagree with the orders it describes.
//!
//! The arithmetic follows Shopify's sales model, in the order's currency and minor units:
//!
//! - `gross` is what the lines were worth before discounts, without tax;
//! - `discounts` what promotions took off the lines;
//! - `returns` what was given back for goods (a refund's goods, an unpaid order cancelled);
//! - `shipping` and `tax` as charged (negative when given back);
//! - `total = gross - discounts - returns + shipping + tax`, exactly, on every row: what
//!   the shopper paid (or was given back).
//!
//! A sale counts when the order is placed. An unpaid order that is cancelled (or expires)
//! is returned in full on the day of the cancellation; a paid order that is cancelled is
//! only counted as cancelled, because its money goes back through refunds, each of which
//! is a row on its own day. A refund of lines splits into their goods and tax shares and
//! the shipping that falls on them; a refund of an amount (goodwill, or made in the
//! gateway's dashboard) splits over the order's goods, shipping and tax in proportion.
//! Payment rows carry the captured amount in `total` and nothing else: they feed the
//! payments-by-provider figures, not sales.

use chrono::Utc;
use emporium_core::crypto::token_hash;
use emporium_core::id::OrderId;
use emporium_core::order_line::LineQuantity;
use emporium_core::{AppResult, FieldError, allocate, div_round};
use emporium_db::entity::{exchange_rates, order_lines, orders, sales_ledger, sales_ledger_lines};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::HashMap;
use uuid::Uuid;

use crate::model::OrderStatus;
use crate::state::Orders;

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Order,
    Payment,
    Refund,
    Cancellation,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Payment => "payment",
            Self::Refund => "refund",
            Self::Cancellation => "cancellation",
        }
    }
}

/// What `units` of `of` are worth when all of them cost `total`, rounded half away from
/// zero: the first k units of a line, or the shipping on the first `units` of value.
/// Values are cumulative, so parts taken one after another add up to the whole.
pub fn units_value(total: i64, of: impl Into<i64>, units: impl Into<i64>) -> i64 {
    let of = Ord::max(of.into(), 1);
    div_round(i128::from(total) * i128::from(units.into()), i128::from(of))
}

/// What the shopper paid for a whole order line: its price less its discount, plus its
/// tax when prices were shown without tax.
pub fn line_paid(line: &order_lines::Model, tax_inclusive: bool) -> i64 {
    line.total - line.discount + if tax_inclusive { 0 } else { line.tax }
}

/// The ledger's key for a customer: a hash of the account id, or of a guest's email, so
/// cohorts can follow customers without analytics holding who they are.
pub fn customer_key(customer_id: Option<Uuid>, email: &str) -> String {
    let key = match customer_id {
        Some(id) => format!("customer:{id}"),
        None => format!("email:{}", email.trim().to_lowercase()),
    };
    token_hash(&key).chars().take(32).collect()
}

/// A line's sale without tax before its discount: what the ledger calls gross.
fn line_gross(line: &order_lines::Model, tax_inclusive: bool) -> i64 {
    line_paid(line, tax_inclusive) - line.tax + line.discount
}

/// Part of a refund that covers units of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundedUnits {
    pub line_id: Uuid,
    pub units: i32,
    /// What the shopper paid for them, tax included.
    pub paid: i64,
    /// The tax in `paid`.
    pub tax: i64,
}

/// How a refund of lines splits: the units of each line, and the shipping on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundSplit {
    pub lines: Vec<RefundedUnits>,
    pub shipping: i64,
}

impl RefundSplit {
    /// What the refund gives back.
    pub fn amount(&self) -> i64 {
        self.lines.iter().map(|l| l.paid).sum::<i64>() + self.shipping
    }

    /// Prices `wanted` units of `lines`, given the units earlier refunds covered
    /// (`already`), plus with `include_shipping` the shipping in proportion to what was
    /// paid for them; errors name each line that is not the order's or has fewer units
    /// left.
    pub fn of_lines(
        order: &orders::Model,
        lines: &[order_lines::Model],
        mut already: HashMap<Uuid, i32>,
        wanted: &[LineQuantity],
        include_shipping: bool,
    ) -> Result<Self, Vec<FieldError>> {
        let inclusive = order.tax_inclusive;
        let paid_for = |line: &order_lines::Model, units: i32| {
            units_value(line_paid(line, inclusive), line.quantity, units)
        };
        let refunded_before: i64 = lines
            .iter()
            .map(|l| paid_for(l, already.get(&l.id).copied().unwrap_or(0)))
            .sum();
        let mut errors = Vec::new();
        let mut split = Self::default();
        for (i, want) in wanted.iter().enumerate() {
            let Some(line) = lines.iter().find(|l| l.id == want.line_id) else {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    "is not a line of this order",
                ));
                continue;
            };
            let done = already.get(&line.id).copied().unwrap_or(0);
            let left = line.quantity - done;
            if want.quantity > left {
                errors.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    format!("only {left} of this line are left to refund"),
                ));
                continue;
            }
            let upto = done + want.quantity;
            split.lines.push(RefundedUnits {
                line_id: line.id,
                units: want.quantity,
                paid: paid_for(line, upto) - paid_for(line, done),
                tax: units_value(line.tax, line.quantity, upto)
                    - units_value(line.tax, line.quantity, done),
            });
            // The same line named twice counts its units once each.
            *already.entry(line.id).or_default() += want.quantity;
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if include_shipping {
            let all_lines: i64 = lines.iter().map(|l| paid_for(l, l.quantity)).sum();
            let share = |value: i64| units_value(order.shipping, all_lines, value);
            let goods: i64 = split.lines.iter().map(|l| l.paid).sum();
            split.shipping = share(refunded_before + goods) - share(refunded_before);
        }
        Ok(split)
    }
}

/// One ledger row before it is written.
struct Entry {
    kind: LedgerKind,
    ref_id: Option<Uuid>,
    gross: i64,
    discounts: i64,
    returns: i64,
    shipping: i64,
    tax: i64,
    total: i64,
    units: i32,
    units_returned: i32,
    provider: Option<String>,
    reason: Option<String>,
    lines: Vec<LineEntry>,
}

struct LineEntry {
    line: order_lines::Model,
    units: i32,
    units_returned: i32,
    gross: i64,
    discounts: i64,
    returns: i64,
}

impl Entry {
    fn new(kind: LedgerKind) -> Self {
        Self {
            kind,
            ref_id: None,
            gross: 0,
            discounts: 0,
            returns: 0,
            shipping: 0,
            tax: 0,
            total: 0,
            units: 0,
            units_returned: 0,
            provider: None,
            reason: None,
            lines: Vec::new(),
        }
    }
}

impl Orders {
    /// Records a placed order: its lines' gross, discounts and tax, its shipping and total.
    pub(crate) async fn ledger_order<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        lines: &[order_lines::Model],
    ) -> AppResult<()> {
        let mut entry = Entry::new(LedgerKind::Order);
        // The order's own figures, so that the row adds up to what was charged even if
        // a line's rounding differs from the order's.
        entry.gross = order.total - order.shipping - order.tax + order.discount;
        entry.discounts = order.discount;
        entry.shipping = order.shipping;
        entry.tax = order.tax;
        entry.total = order.total;
        entry.units = lines.iter().map(|l| l.quantity).sum();
        entry.lines = lines
            .iter()
            .map(|l| LineEntry {
                line: l.clone(),
                units: l.quantity,
                units_returned: 0,
                gross: line_gross(l, order.tax_inclusive),
                discounts: l.discount,
                returns: 0,
            })
            .collect();
        let first = !self.ordered_before(conn, order).await?;
        self.write_entry(conn, order, entry, Some(first)).await
    }

    /// Records a cancellation: an unpaid order is given back whole; a paid one only counts
    /// as cancelled (its refunds give the money back).
    pub(crate) async fn ledger_cancellation<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        paid: bool,
        reason: Option<String>,
    ) -> AppResult<()> {
        let mut entry = Entry::new(LedgerKind::Cancellation);
        entry.reason = reason;
        if !paid {
            let lines = self.lines_of(conn, OrderId(order.id)).await?;
            let gross = order.total - order.shipping - order.tax + order.discount;
            entry.returns = gross - order.discount;
            entry.shipping = -order.shipping;
            entry.tax = -order.tax;
            entry.total = -order.total;
            entry.units_returned = lines.iter().map(|l| l.quantity).sum();
            entry.lines = lines
                .into_iter()
                .map(|l| LineEntry {
                    units: 0,
                    units_returned: l.quantity,
                    gross: 0,
                    discounts: 0,
                    returns: line_gross(&l, order.tax_inclusive) - l.discount,
                    line: l,
                })
                .collect();
        }
        self.write_entry(conn, order, entry, None).await
    }

    /// Records money captured for an order (by a gateway, or taken by staff).
    pub async fn ledger_payment<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        payment_id: Option<Uuid>,
        amount: i64,
        provider: &str,
    ) -> AppResult<()> {
        let mut entry = Entry::new(LedgerKind::Payment);
        entry.ref_id = payment_id;
        entry.total = amount;
        entry.provider = Some(provider.to_string());
        self.write_entry(conn, order, entry, None).await
    }

    /// Records a refund of `amount`: by `split` when it covers lines, else spread over
    /// the order's goods, shipping and tax in proportion.
    pub async fn ledger_refund<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        refund_id: Uuid,
        amount: i64,
        split: Option<&RefundSplit>,
        reason: Option<String>,
    ) -> AppResult<()> {
        let mut entry = Entry::new(LedgerKind::Refund);
        entry.ref_id = Some(refund_id);
        entry.reason = reason;
        entry.total = -amount;
        match split.filter(|s| s.amount() == amount) {
            Some(split) => {
                let lines = self.lines_of(conn, OrderId(order.id)).await?;
                entry.shipping = -split.shipping;
                entry.tax = -split.lines.iter().map(|l| l.tax).sum::<i64>();
                for part in &split.lines {
                    if let Some(line) = lines.iter().find(|l| l.id == part.line_id) {
                        entry.units_returned += part.units;
                        entry.lines.push(LineEntry {
                            line: line.clone(),
                            units: 0,
                            units_returned: part.units,
                            gross: 0,
                            discounts: 0,
                            returns: part.paid - part.tax,
                        });
                    }
                }
            }
            None => {
                let goods = order.total - order.shipping - order.tax;
                let shares = allocate(amount, &[goods, order.shipping, order.tax]);
                entry.shipping = -shares[1];
                entry.tax = -shares[2];
            }
        }
        entry.returns = amount + entry.shipping + entry.tax;
        self.write_entry(conn, order, entry, None).await
    }

    /// Takes back what a refund recorded, when the gateway reports it failed after all.
    pub async fn ledger_refund_reversed<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        refund_id: Uuid,
    ) -> AppResult<()> {
        let rows = sales_ledger::Entity::find()
            .filter(sales_ledger::Column::RefId.eq(refund_id))
            .filter(sales_ledger::Column::Kind.eq(LedgerKind::Refund.as_str()))
            .all(conn)
            .await?;
        let mut entry = Entry::new(LedgerKind::Refund);
        entry.ref_id = Some(refund_id);
        entry.reason = Some("refund failed".into());
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        for row in &rows {
            entry.returns -= row.returns;
            entry.shipping -= row.shipping;
            entry.tax -= row.tax;
            entry.total -= row.total;
            entry.units_returned -= row.units_returned;
        }
        if entry.total == 0 {
            return Ok(());
        }
        let lines = self.lines_of(conn, OrderId(order.id)).await?;
        for part in sales_ledger_lines::Entity::find()
            .filter(sales_ledger_lines::Column::LedgerId.is_in(ids))
            .all(conn)
            .await?
        {
            if let Some(line) = lines.iter().find(|l| l.variant_id == part.variant_id) {
                entry.lines.push(LineEntry {
                    line: line.clone(),
                    units: 0,
                    units_returned: -part.units_returned,
                    gross: 0,
                    discounts: 0,
                    returns: -part.returns,
                });
            }
        }
        self.write_entry(conn, order, entry, None).await
    }

    /// Whether the order's shopper (account, or email for a guest) has an earlier order
    /// that was not cancelled.
    async fn ordered_before<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
    ) -> AppResult<bool> {
        let mut find = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(orders::Column::Id.ne(order.id))
            .filter(orders::Column::CreatedAt.lte(order.created_at))
            .filter(orders::Column::Status.ne(OrderStatus::Cancelled.as_str()));
        find = match order.customer_id {
            Some(c) => find.filter(orders::Column::CustomerId.eq(c)),
            None => find.filter(orders::Column::Email.eq(order.email.clone())),
        };
        Ok(find
            .limit(1)
            .into_tuple::<Uuid>()
            .one(conn)
            .await?
            .is_some())
    }

    async fn write_entry<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: &orders::Model,
        entry: Entry,
        first_order: Option<bool>,
    ) -> AppResult<()> {
        let customer_type = match first_order {
            Some(true) => "new".to_string(),
            Some(false) => "returning".to_string(),
            None => sales_ledger::Entity::find()
                .select_only()
                .column(sales_ledger::Column::CustomerType)
                .filter(sales_ledger::Column::OrderId.eq(order.id))
                .filter(sales_ledger::Column::Kind.eq(LedgerKind::Order.as_str()))
                .into_tuple::<String>()
                .one(conn)
                .await?
                .unwrap_or_else(|| "new".into()),
        };
        let rate_e9 = if order.currency == self.default_currency().code() {
            1_000_000_000
        } else {
            exchange_rates::Entity::find_by_id(order.currency.clone())
                .select_only()
                .column(exchange_rates::Column::RateE9)
                .into_tuple::<i64>()
                .one(conn)
                .await?
                .unwrap_or(1_000_000_000)
        };
        let country = serde_json::from_str::<serde_json::Value>(&order.shipping_address)
            .ok()
            .and_then(|a| a["country"].as_str().map(str::to_string))
            .filter(|c| c.len() == 2);
        let id = Uuid::now_v7();
        debug_assert!(
            entry.kind == LedgerKind::Payment
                || entry.total
                    == entry.gross - entry.discounts - entry.returns + entry.shipping + entry.tax
        );
        sales_ledger::Entity::insert(sales_ledger::ActiveModel {
            id: Set(id),
            order_id: Set(order.id),
            kind: Set(entry.kind.as_str().into()),
            ref_id: Set(entry.ref_id),
            occurred_at: Set(Utc::now()),
            currency: Set(order.currency.clone()),
            rate_e9: Set(rate_e9),
            gross: Set(entry.gross),
            discounts: Set(entry.discounts),
            returns: Set(entry.returns),
            shipping: Set(entry.shipping),
            tax: Set(entry.tax),
            total: Set(entry.total),
            units: Set(entry.units),
            units_returned: Set(entry.units_returned),
            country: Set(country),
            customer_type: Set(customer_type),
            customer_key: Set(customer_key(order.customer_id, &order.email)),
            provider: Set(entry.provider),
            reason: Set(entry.reason.map(|r| r.chars().take(500).collect())),
            rolled_up: Set(false),
        })
        .exec_without_returning(conn)
        .await?;
        if !entry.lines.is_empty() {
            sales_ledger_lines::Entity::insert_many(entry.lines.into_iter().map(|l| {
                sales_ledger_lines::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    ledger_id: Set(id),
                    product_id: Set(l.line.product_id),
                    variant_id: Set(l.line.variant_id),
                    title: Set(l.line.title.chars().take(300).collect()),
                    sku: Set(l.line.sku.chars().take(200).collect()),
                    units: Set(l.units),
                    units_returned: Set(l.units_returned),
                    gross: Set(l.gross),
                    discounts: Set(l.discounts),
                    returns: Set(l.returns),
                }
            }))
            .exec_without_returning(conn)
            .await?;
        }
        Ok(())
    }
}
