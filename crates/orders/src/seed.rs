//! Demo orders for benchmarks and trying the console on a big shop: `emporium seed
//! --orders N` writes N guest orders over the past year, in batches, from the catalog's
//! variants. Statuses follow a shop's usual mix (most delivered, some on their way, a
//! few unpaid or cancelled).

use chrono::{Duration, Utc};
use emporium_core::AppResult;
use emporium_core::crypto::token_hash;
use emporium_db::Backend;
use emporium_db::entity::{order_lines, orders};
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

impl Orders {
    /// Writes `count` demo orders of 1 to 3 lines each; `progress` gets the count done.
    pub async fn seed(
        &self,
        count: u64,
        variants: &[SeedVariant],
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
            for i in 0..n {
                let number = first + done as i64 + i as i64 + 1;
                let id = Uuid::now_v7();
                let (status, payment, fulfillment) = state(dice.below(100));
                let created = now - Duration::minutes(dice.below(365 * 24 * 60) as i64);
                let mut subtotal = 0;
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
                order_rows.push(orders::ActiveModel {
                    id: Set(id),
                    number: Set(number),
                    customer_id: Set(None),
                    cart_id: Set(Uuid::now_v7()),
                    email: Set(format!("customer{}@example.com", number % 50_000)),
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
