//! Demo orders for benchmarks and trying the console on a big shop: `emporium seed
//! --orders N [--customers C] [--days D]` writes N guest orders by C customers over the
//! past D days (a year by default), in batches, from the catalog's
//! variants. Statuses follow a shop's usual mix (most delivered, some on their way, a
//! few unpaid or cancelled), each with the sales ledger rows it would have written
//! (`emporium seed` then rebuilds the report rollups).

use chrono::{Duration, Utc};
use emporium_core::AppResult;
use emporium_core::crypto::token_hash;
use emporium_db::Backend;
use emporium_db::entity::{order_lines, orders, sales_ledger, sales_ledger_lines};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};
use uuid::Uuid;

use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus};
use crate::state::Orders;

/// A variant an order line can be made of.
#[derive(Debug, Clone)]
pub struct SeedVariant {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    pub title: String,
    pub unit_price: i64,
}

const BATCH: usize = 500;

/// A small deterministic generator (xorshift): the same seed gives the same shop.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn state(roll: u64) -> (OrderStatus, PaymentStatus, FulfillmentStatus) {
    match roll {
        0..=64 => (
            OrderStatus::Delivered,
            PaymentStatus::Paid,
            FulfillmentStatus::Delivered,
        ),
        65..=77 => (
            OrderStatus::Shipped,
            PaymentStatus::Paid,
            FulfillmentStatus::Shipped,
        ),
        78..=87 => (
            OrderStatus::Paid,
            PaymentStatus::Paid,
            FulfillmentStatus::Unfulfilled,
        ),
        88..=91 => (
            OrderStatus::PendingPayment,
            PaymentStatus::Unpaid,
            FulfillmentStatus::Unfulfilled,
        ),
        92..=95 => (
            OrderStatus::Cancelled,
            PaymentStatus::Unpaid,
            FulfillmentStatus::Unfulfilled,
        ),
        _ => (
            OrderStatus::Refunded,
            PaymentStatus::Refunded,
            FulfillmentStatus::Delivered,
        ),
    }
}

/// Who orders the demo orders, and over how long.
#[derive(Debug, Clone, Copy)]
pub struct SeedShape {
    /// Distinct guest customers (by email).
    pub customers: u64,
    /// Days back the orders spread over.
    pub days: u64,
}

/// A seeded order, as its ledger rows need it.
struct SeedOrder<'a> {
    id: Uuid,
    email: &'a str,
    new_customer: bool,
    currency: &'a str,
    created: chrono::DateTime<Utc>,
    subtotal: i64,
    shipping: i64,
    status: OrderStatus,
}

/// The sales ledger rows of a batch of seeded orders: what checkout, payments and
/// cancellations would have written for them (demo orders carry no tax or discounts).
#[derive(Default)]
struct Ledger {
    rows: Vec<sales_ledger::ActiveModel>,
    lines: Vec<sales_ledger_lines::ActiveModel>,
}

impl Ledger {
    fn order(&mut self, order: &SeedOrder<'_>, lines: &[order_lines::ActiveModel]) {
        let total = order.subtotal + order.shipping;
        let mut row = |kind: &str, at, sign: i64, provider: Option<&str>| {
            let id = Uuid::now_v7();
            let payment = kind == "payment";
            let units: i32 = lines.iter().map(|l| l.quantity.clone().unwrap()).sum();
            self.rows.push(sales_ledger::ActiveModel {
                id: Set(id),
                order_id: Set(order.id),
                kind: Set(kind.into()),
                ref_id: Set(None),
                occurred_at: Set(at),
                currency: Set(order.currency.into()),
                rate_e9: Set(1_000_000_000),
                gross: Set(if sign > 0 && !payment {
                    order.subtotal
                } else {
                    0
                }),
                discounts: Set(0),
                returns: Set(if sign < 0 { order.subtotal } else { 0 }),
                shipping: Set(if payment { 0 } else { sign * order.shipping }),
                tax: Set(0),
                total: Set(sign * total),
                units: Set(if sign > 0 && !payment { units } else { 0 }),
                units_returned: Set(if sign < 0 { units } else { 0 }),
                country: Set(Some("US".into())),
                customer_type: Set(if order.new_customer {
                    "new"
                } else {
                    "returning"
                }
                .into()),
                customer_key: Set(crate::ledger::customer_key(None, order.email)),
                provider: Set(provider.map(str::to_string)),
                reason: Set(None),
                rolled_up: Set(false),
            });
            if payment {
                return;
            }
            for l in lines {
                let quantity = l.quantity.clone().unwrap();
                let value = l.total.clone().unwrap();
                self.lines.push(sales_ledger_lines::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    ledger_id: Set(id),
                    product_id: l.product_id.clone(),
                    variant_id: l.variant_id.clone(),
                    title: l.title.clone(),
                    sku: l.sku.clone(),
                    units: Set(if sign > 0 { quantity } else { 0 }),
                    units_returned: Set(if sign < 0 { quantity } else { 0 }),
                    gross: Set(if sign > 0 { value } else { 0 }),
                    discounts: Set(0),
                    returns: Set(if sign < 0 { value } else { 0 }),
                });
            }
        };
        row("order", order.created, 1, None);
        match order.status {
            OrderStatus::Cancelled => row(
                "cancellation",
                order.created + Duration::minutes(45),
                -1,
                None,
            ),
            OrderStatus::PendingPayment => {}
            OrderStatus::Refunded => {
                row(
                    "payment",
                    order.created + Duration::minutes(2),
                    1,
                    Some("manual"),
                );
                row("refund", order.created + Duration::days(5), -1, None);
            }
            _ => row(
                "payment",
                order.created + Duration::minutes(2),
                1,
                Some("manual"),
            ),
        }
    }

    async fn write<C: ConnectionTrait>(self, conn: &C) -> AppResult<()> {
        for chunk in self.rows.chunks(1_000) {
            sales_ledger::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(conn)
                .await?;
        }
        for chunk in self.lines.chunks(2_000) {
            sales_ledger_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(conn)
                .await?;
        }
        Ok(())
    }
}

impl Orders {
    /// Writes `count` demo orders of 1 to 3 lines each by `shape.customers` guests over
    /// the past `shape.days`; `progress` gets the count done.
    pub async fn seed(
        &self,
        count: u64,
        variants: &[SeedVariant],
        shape: SeedShape,
        progress: impl Fn(u64),
    ) -> AppResult<u64> {
        if variants.is_empty() || count == 0 {
            return Ok(0);
        }
        let conn = self.db.writer();
        let backend = conn.get_database_backend();
        let first = conn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COALESCE(MAX(number), 1000) AS n FROM orders",
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(1000);
        let currency = self.default_currency();
        let address = serde_json::json!({"name": "Demo Customer", "line1": "1 Demo Street",
            "city": "Springfield", "postal_code": "12345", "country": "US"})
        .to_string();
        let now = Utc::now();
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let mut done = 0u64;
        while done < count {
            let n = (count - done).min(BATCH as u64);
            let mut order_rows = Vec::with_capacity(n as usize);
            let mut line_rows = Vec::with_capacity(n as usize * 2);
            let mut ledger = Ledger::default();
            for i in 0..n {
                let number = first + done as i64 + i as i64 + 1;
                let id = Uuid::now_v7();
                let (status, payment, fulfillment) = state(dice.below(100));
                let created =
                    now - Duration::minutes(dice.below(shape.days.max(1) * 24 * 60) as i64);
                let mut subtotal = 0;
                let first_line = line_rows.len();
                for position in 0..=dice.below(3) {
                    let v = &variants[dice.below(variants.len() as u64) as usize];
                    let quantity = 1 + dice.below(3) as i32;
                    let total = v.unit_price * i64::from(quantity);
                    subtotal += total;
                    line_rows.push(order_lines::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        order_id: Set(id),
                        position: Set(position as i32),
                        product_id: Set(v.product_id),
                        variant_id: Set(v.variant_id),
                        sku: Set(v.sku.clone()),
                        title: Set(v.title.clone()),
                        options: Set("{}".into()),
                        quantity: Set(quantity),
                        unit_price: Set(v.unit_price),
                        discount: Set(0),
                        tax: Set(0),
                        tax_rate_ppm: Set(0),
                        total: Set(total),
                        backordered: Set(0),
                    });
                }
                let shipping = 500;
                let email = format!(
                    "customer{}@example.com",
                    number as u64 % shape.customers.max(1)
                );
                ledger.order(
                    &SeedOrder {
                        id,
                        email: &email,
                        new_customer: (number - first) as u64 <= shape.customers,
                        currency: currency.code(),
                        created,
                        subtotal,
                        shipping,
                        status,
                    },
                    &line_rows[first_line..],
                );
                order_rows.push(orders::ActiveModel {
                    id: Set(id),
                    number: Set(number),
                    customer_id: Set(None),
                    cart_id: Set(Uuid::now_v7()),
                    email: Set(email.clone()),
                    status: Set(status.as_str().into()),
                    currency: Set(currency.code().to_string()),
                    lang: Set("en".into()),
                    subtotal: Set(subtotal),
                    discount: Set(0),
                    shipping: Set(shipping),
                    tax: Set(0),
                    total: Set(subtotal + shipping),
                    tax_inclusive: Set(false),
                    shipping_address: Set(address.clone()),
                    billing_address: Set(address.clone()),
                    shipping_option: Set(Some("standard".into())),
                    payment_provider: Set("manual".into()),
                    access_hash: Set(token_hash(&id.to_string())),
                    carrier: Set(None),
                    tracking_number: Set(None),
                    backordered: Set(false),
                    payment_status: Set(payment.as_str().into()),
                    fulfillment_status: Set(fulfillment.as_str().into()),
                    created_at: Set(created),
                    updated_at: Set(created),
                });
            }
            let txn = self.db.begin().await?;
            orders::Entity::insert_many(order_rows)
                .exec_without_returning(&txn)
                .await?;
            order_lines::Entity::insert_many(line_rows)
                .exec_without_returning(&txn)
                .await?;
            ledger.write(&txn).await?;
            txn.commit().await?;
            done += n;
            progress(done);
        }
        if self.db.backend() == Backend::Postgres {
            // Checkouts take their numbers from the sequence: move it past the seeded ones.
            conn.execute_unprepared(
                "SELECT setval('order_numbers', (SELECT MAX(number) FROM orders))",
            )
            .await?;
        }
        Ok(done)
    }
}
