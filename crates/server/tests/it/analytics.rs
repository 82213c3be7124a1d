//! Sales reports over HTTP: for random sequences of orders (two currencies, a coupon, tax
//! added or included), payments, line and amount refunds and cancellations spread over
//! several days, every report's figures equal a direct computation from the order, event
//! and refund rows, to the minor unit, and `rebuild` yields the rollups the incremental
//! path kept; days are the shop's local days; the API's errors, CSV and the console page.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use emporium_db::entity::{
    order_events, order_lines, orders, payments, refunds, sales_ledger, sales_rollups,
};
use emporium_testkit::shop::Product;
use emporium_testkit::{Session, TestApp, TestOptions, json_of, problem};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One step of a shop's life; `back` hours is how long ago it happened.
#[derive(Debug, Clone)]
enum Op {
    Place {
        eur: bool,
        lines: Vec<(usize, i64)>,
        code: bool,
        /// Which of a few customers (by email) places it.
        who: usize,
    },
    Pay(usize),
    RefundLine {
        order: usize,
        line: usize,
        units: i64,
        shipping: bool,
    },
    RefundAmount {
        order: usize,
        permille: i64,
    },
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), prop::collection::vec((0usize..3, 1i64..4), 1..4), any::<bool>(), 0usize..3)
            .prop_map(|(eur, lines, code, who)| Op::Place { eur, lines, code, who }),
        3 => (0usize..64).prop_map(Op::Pay),
        2 => (0usize..64, 0usize..4, 1i64..3, any::<bool>())
            .prop_map(|(order, line, units, shipping)| Op::RefundLine { order, line, units, shipping }),
        1 => (0usize..64, 1i64..1000).prop_map(|(order, permille)| Op::RefundAmount { order, permille }),
        1 => (0usize..64).prop_map(Op::Cancel),
    ]
}

/// Random sequences drawn from the strategy (run one after another against one shop;
/// without shrinking, the failing sequence is printed whole).
fn sequences(cases: usize) -> Vec<Vec<(Op, i64)>> {
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec((op(), 0i64..120), 6..16);
    (0..cases)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("a sequence")
                .current()
        })
        .collect()
}

struct Placed {
    id: Uuid,
    payment: Value,
    lines: Vec<(String, i64)>,
}

struct Shop {
    app: TestApp,
    admin: Session,
    tz: Tz,
    products: Vec<Product>,
    orders: Vec<Placed>,
    keys: u64,
}

impl Shop {
    async fn open(time_zone: &'static str, inclusive: bool) -> Self {
        let app = TestApp::spawn_with(TestOptions {
            configure: Box::new(move |c| {
                c.store.time_zone = time_zone.into();
                c.checkout.prices_include_tax = inclusive;
            }),
            ..TestOptions::default()
        })
        .await;
        let admin = app.admin().await;
        for (path, body) in [
            (
                "/api/v1/admin/tax-rates",
                json!({"country": "US", "region": "CA", "rate": "7.25", "name": "CA"}),
            ),
            ("/api/v1/admin/exchange-rates/EUR", json!({"rate": "0.92"})),
        ] {
            let r = app
                .call(Method::PUT, path, Some(&admin.access_token), Some(&body))
                .await;
            assert_eq!(r.status(), 200, "{path}");
        }
        json_of(
            app.call(
                Method::POST,
                "/api/v1/admin/discounts",
                Some(&admin.access_token),
                Some(&json!({"name": "Ten off", "class": "order",
                    "action": {"type": "percent_off", "percent": "10"}, "code": "TEN"})),
            )
            .await,
            201,
        )
        .await;
        let mut products = Vec::new();
        for (title, price) in [("Shirt", 1999), ("Mug", 1250), ("Pin", 333)] {
            products.push(app.product(&admin, title, &["one"], price, 10_000).await);
        }
        Self {
            app,
            admin,
            tz: time_zone.parse().expect("a zone"),
            products,
            orders: Vec::new(),
            keys: 0,
        }
    }

    fn key(&mut self) -> String {
        self.keys += 1;
        format!("k-{}", self.keys)
    }

    fn order(&self, i: usize) -> Option<&Placed> {
        (!self.orders.is_empty()).then(|| &self.orders[i % self.orders.len()])
    }

    async fn staff(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.app
            .request(method, path)
            .bearer_auth(&self.admin.access_token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("sent")
    }

    /// Runs `op`, then moves what it wrote `back` hours into the past.
    async fn run(&mut self, op: &Op, back: i64) {
        let shift = Duration::hours(back);
        let key = self.key();
        let conn = self.app.db().writer();
        match op {
            Op::Place {
                eur,
                lines,
                code,
                who,
            } => {
                let cart = self
                    .app
                    .request(
                        Method::POST,
                        &format!(
                            "/api/v1/carts?currency={}",
                            if *eur { "EUR" } else { "USD" }
                        ),
                    )
                    .send()
                    .await
                    .expect("sent")
                    .json::<Value>()
                    .await
                    .expect("cart");
                let cart = emporium_testkit::GuestCart {
                    id: cart["id"].as_str().expect("id").into(),
                    token: cart["token"].as_str().expect("token").into(),
                };
                for (product, quantity) in lines {
                    json_of(
                        self.app
                            .add_to_cart(&cart, &self.products[*product].variants[0], *quantity)
                            .await,
                        200,
                    )
                    .await;
                }
                if *code {
                    json_of(
                        self.app
                            .cart_call(
                                &cart,
                                Method::POST,
                                &format!("/api/v1/carts/{}/coupons", cart.id),
                                Some(&json!({"code": "TEN"})),
                            )
                            .await,
                        200,
                    )
                    .await;
                }
                let placed = json_of(
                    self.app
                        .request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
                        .header("x-cart-token", &cart.token)
                        .header("idempotency-key", &key)
                        .json(&json!({"email": format!("buyer{who}@example.com"),
                            "shipping_address": emporium_testkit::address("US"),
                            "payment_provider": "manual"}))
                        .send()
                        .await
                        .expect("sent"),
                    201,
                )
                .await;
                let id: Uuid = placed["order"]["id"]
                    .as_str()
                    .expect("id")
                    .parse()
                    .expect("uuid");
                let order = orders::Entity::find_by_id(id)
                    .one(conn)
                    .await
                    .expect("read")
                    .expect("order");
                orders::Entity::update_many()
                    .col_expr(
                        orders::Column::CreatedAt,
                        Expr::value(order.created_at - shift),
                    )
                    .filter(orders::Column::Id.eq(id))
                    .exec(conn)
                    .await
                    .expect("moved");
                self.orders.push(Placed {
                    id,
                    payment: placed["payment"].clone(),
                    lines: placed["order"]["lines"]
                        .as_array()
                        .expect("lines")
                        .iter()
                        .map(|l| {
                            (
                                l["id"].as_str().expect("id").to_string(),
                                l["quantity"].as_i64().expect("qty"),
                            )
                        })
                        .collect(),
                });
            }
            Op::Pay(i) => {
                let Some(order) = self.order(*i) else { return };
                let response = self
                    .app
                    .request(
                        Method::POST,
                        &format!(
                            "/api/v1/payments/{}/pay",
                            order.payment["id"].as_str().expect("id")
                        ),
                    )
                    .form(&[
                        ("access", order.payment["access"].as_str().expect("access")),
                        ("card_number", "4242424242424242"),
                    ])
                    .send()
                    .await
                    .expect("sent");
                // Paying twice, or a cancelled order, is refused: nothing to record.
                let _ = response.status();
            }
            Op::RefundLine {
                order,
                line,
                units,
                shipping,
            } => {
                let Some(placed) = self.order(*order) else {
                    return;
                };
                let (line_id, _) = &placed.lines[line % placed.lines.len()];
                let path = format!("/api/v1/admin/orders/{}/refunds", placed.id);
                let body = json!({"lines": [{"line_id": line_id, "quantity": units}], "include_shipping": shipping});
                let response = self.staff(Method::POST, &path, &key, &body).await;
                if response.status() == 201 {
                    let refund: Value = response.json().await.expect("refund");
                    self.move_refund(&refund, shift).await;
                }
            }
            Op::RefundAmount { order, permille } => {
                let Some(placed) = self.order(*order) else {
                    return;
                };
                let total = orders::Entity::find_by_id(placed.id)
                    .one(conn)
                    .await
                    .expect("read")
                    .expect("order")
                    .total;
                let amount = (total * permille / 1000).max(1);
                let path = format!("/api/v1/admin/orders/{}/refunds", placed.id);
                let response = self
                    .staff(
                        Method::POST,
                        &path,
                        &key,
                        &json!({"amount": amount, "reason": "goodwill"}),
                    )
                    .await;
                if response.status() == 201 {
                    let refund: Value = response.json().await.expect("refund");
                    self.move_refund(&refund, shift).await;
                }
            }
            Op::Cancel(i) => {
                let Some(placed) = self.order(*i) else { return };
                let path = format!("/api/v1/admin/orders/{}/transitions", placed.id);
                let response = self
                    .staff(
                        Method::POST,
                        &path,
                        &key,
                        &json!({"to": "cancelled", "reason": "asked to"}),
                    )
                    .await;
                if response.status() == 200 {
                    let event = order_events::Entity::find()
                        .filter(order_events::Column::OrderId.eq(placed.id))
                        .filter(order_events::Column::ToStatus.eq("cancelled"))
                        .one(conn)
                        .await
                        .expect("read")
                        .expect("the cancellation");
                    order_events::Entity::update_many()
                        .col_expr(
                            order_events::Column::CreatedAt,
                            Expr::value(event.created_at - shift),
                        )
                        .filter(order_events::Column::Id.eq(event.id))
                        .exec(conn)
                        .await
                        .expect("moved");
                }
            }
        }
        // What the step wrote to the ledger happened `back` hours ago too.
        for row in sales_ledger::Entity::find()
            .filter(sales_ledger::Column::RolledUp.eq(false))
            .all(conn)
            .await
            .expect("ledger")
        {
            sales_ledger::Entity::update_many()
                .col_expr(
                    sales_ledger::Column::OccurredAt,
                    Expr::value(row.occurred_at - shift),
                )
                .filter(sales_ledger::Column::Id.eq(row.id))
                .exec(conn)
                .await
                .expect("moved");
        }
        self.app.drain_outbox().await;
    }

    async fn move_refund(&self, refund: &Value, shift: Duration) {
        let conn = self.app.db().writer();
        let id: Uuid = refund["id"].as_str().expect("id").parse().expect("uuid");
        let row = refunds::Entity::find_by_id(id)
            .one(conn)
            .await
            .expect("read")
            .expect("refund");
        refunds::Entity::update_many()
            .col_expr(
                refunds::Column::CreatedAt,
                Expr::value(row.created_at - shift),
            )
            .filter(refunds::Column::Id.eq(id))
            .exec(conn)
            .await
            .expect("moved");
    }

    fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The figures per currency and local day, straight from the order, event and refund
    /// rows, without the ledger.
    async fn expected(&self) -> BTreeMap<(String, NaiveDate), Day> {
        let conn = self.app.db().writer();
        let orders: Vec<orders::Model> = orders::Entity::find().all(conn).await.expect("orders");
        let mut days: BTreeMap<(String, NaiveDate), Day> = BTreeMap::new();
        for o in &orders {
            let d = days
                .entry((o.currency.clone(), self.day(o.created_at)))
                .or_default();
            d.orders += 1;
            d.gross += o.total - o.shipping - o.tax + o.discount;
            d.discounts += o.discount;
            d.total += o.total;
        }
        for e in order_events::Entity::find()
            .filter(order_events::Column::ToStatus.eq("cancelled"))
            .all(conn)
            .await
            .expect("events")
        {
            let o = orders
                .iter()
                .find(|o| o.id == e.order_id)
                .expect("its order");
            let d = days
                .entry((o.currency.clone(), self.day(e.created_at)))
                .or_default();
            d.cancelled += 1;
            if e.from_status.as_deref() == Some("pending_payment") {
                d.total -= o.total;
            }
        }
        for r in refunds::Entity::find()
            .filter(refunds::Column::Status.ne("failed"))
            .all(conn)
            .await
            .expect("refunds")
        {
            let d = days
                .entry((r.currency.clone(), self.day(r.created_at)))
                .or_default();
            d.total -= r.amount;
            d.refunded += r.amount;
        }
        days
    }

    async fn report(&self, kind: &str, currency: &str, from: NaiveDate, to: NaiveDate) -> Value {
        json_of(
            self.app
                .call(
                    Method::GET,
                    &format!("/api/v1/admin/reports/{kind}?from={from}&to={to}&currency={currency}&compare=none&limit=1000"),
                    Some(&self.admin.access_token),
                    None,
                )
                .await,
            200,
        )
        .await
    }

    /// Every figure the reports give equals the direct computation.
    async fn reconcile(&self, history: &[(Op, i64)]) {
        let today = Utc::now().with_timezone(&self.tz).date_naive();
        let (from, to) = (today - Duration::days(8), today + Duration::days(1));
        let expected = self.expected().await;
        let conn = self.app.db().writer();
        for currency in ["USD", "EUR"] {
            let report = self.report("sales", currency, from, to).await;
            for period in report["periods"].as_array().expect("periods") {
                let day: NaiveDate = period["period"]
                    .as_str()
                    .expect("day")
                    .parse()
                    .expect("date");
                let want = expected
                    .get(&(currency.to_string(), day))
                    .cloned()
                    .unwrap_or_default();
                let got = Day {
                    orders: period["orders"].as_i64().expect("n"),
                    cancelled: period["cancelled"].as_i64().expect("n"),
                    gross: period["gross"]["amount"].as_i64().expect("n"),
                    discounts: period["discounts"]["amount"].as_i64().expect("n"),
                    total: period["total"]["amount"].as_i64().expect("n"),
                    refunded: period["refunded"]["amount"].as_i64().expect("n"),
                };
                assert_eq!(got, want, "{currency} on {day} after {history:?}");
                let amount = |k: &str| period[k]["amount"].as_i64().expect("n");
                assert_eq!(
                    amount("total"),
                    amount("net") + amount("shipping") + amount("tax"),
                    "{currency} on {day}: total = net + shipping + tax"
                );
                assert_eq!(
                    amount("net"),
                    amount("gross") - amount("discounts") - amount("returns")
                );
            }
            // Money taken, over the whole range.
            let paid: i64 = payments::Entity::find()
                .filter(payments::Column::Currency.eq(currency))
                .all(conn)
                .await
                .expect("payments")
                .iter()
                .map(|p| p.captured)
                .sum();
            assert_eq!(
                report["totals"]["paid"]["amount"].as_i64(),
                Some(paid),
                "{currency} paid"
            );
            // Units sold, by product and in all, against the order lines.
            let orders_in: Vec<Uuid> = orders::Entity::find()
                .filter(orders::Column::Currency.eq(currency))
                .all(conn)
                .await
                .expect("orders")
                .iter()
                .map(|o| o.id)
                .collect();
            let lines = order_lines::Entity::find()
                .filter(order_lines::Column::OrderId.is_in(orders_in))
                .all(conn)
                .await
                .expect("lines");
            let products = self.report("products", currency, from, to).await;
            let units: i64 = products["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r["units"].as_i64().expect("n"))
                .sum();
            assert_eq!(
                units,
                lines.iter().map(|l| i64::from(l.quantity)).sum::<i64>(),
                "{currency} units"
            );
            assert_eq!(report["totals"]["units"].as_i64(), Some(units));
            // A range with whole months reads month rows for them: the same units.
            let wide = self
                .report("products", currency, today - Duration::days(70), to)
                .await;
            let wide_units: i64 = wide["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r["units"].as_i64().expect("n"))
                .sum();
            assert_eq!(wide_units, units, "{currency} units over whole months");
            let product_gross: i64 = products["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r["gross"]["amount"].as_i64().expect("n"))
                .sum();
            assert_eq!(
                product_gross,
                report["totals"]["gross"]["amount"].as_i64().expect("n"),
                "{currency} gross by product"
            );
            // Orders with the coupon, under the coupon.
            let coupons = self.report("coupons", currency, from, to).await;
            let with_code = emporium_db::entity::promotion_redemptions::Entity::find()
                .filter(emporium_db::entity::promotion_redemptions::Column::Currency.eq(currency))
                .all(conn)
                .await
                .expect("redemptions")
                .len() as i64;
            let counted: i64 = coupons["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r["orders"].as_i64().expect("n"))
                .sum();
            assert_eq!(counted, with_code, "{currency} coupon orders");
        }
        // Summing the whole ledger again gives the rollups the incremental path kept.
        let before = rollups(&self.app).await;
        self.app
            .state()
            .analytics
            .rebuild(|_, _| {})
            .await
            .expect("rebuilt");
        assert_eq!(rollups(&self.app).await, before, "rebuild = incremental");
    }
}

async fn rollups(app: &TestApp) -> Vec<sales_rollups::Model> {
    sales_rollups::Entity::find()
        .order_by_asc(sales_rollups::Column::Dim)
        .order_by_asc(sales_rollups::Column::Currency)
        .order_by_asc(sales_rollups::Column::Bucket)
        .order_by_asc(sales_rollups::Column::Key)
        .all(app.db().writer())
        .await
        .expect("rollups")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Day {
    orders: i64,
    cancelled: i64,
    gross: i64,
    discounts: i64,
    total: i64,
    refunded: i64,
}

async fn reconcile_random_histories(time_zone: &'static str, inclusive: bool, cases: usize) {
    let mut shop = Shop::open(time_zone, inclusive).await;
    for history in sequences(cases) {
        for (op, back) in &history {
            shop.run(op, *back).await;
        }
        shop.reconcile(&history).await;
    }
    // The histories did reach every kind of row.
    let conn = shop.app.db().writer();
    let kinds: Vec<String> = sales_ledger::Entity::find()
        .all(conn)
        .await
        .expect("ledger")
        .into_iter()
        .map(|r| format!("{} {}", r.kind, r.currency))
        .collect();
    for kind in [
        "order USD",
        "order EUR",
        "payment",
        "refund",
        "cancellation",
    ] {
        assert!(
            kinds.iter().any(|k| k.starts_with(kind)),
            "no {kind} in {kinds:?}"
        );
    }
}

#[tokio::test]
async fn reports_equal_the_orders_and_refunds_they_sum_with_tax_added() {
    reconcile_random_histories("America/Los_Angeles", false, 3).await;
}

#[tokio::test]
async fn reports_equal_the_orders_and_refunds_they_sum_with_tax_included() {
    reconcile_random_histories("Europe/Berlin", true, 2).await;
}

#[tokio::test]
async fn an_order_at_half_past_eleven_at_night_counts_on_the_shops_local_day() {
    let shop = Shop::open("America/New_York", false).await;
    let mut shop = shop;
    shop.run(
        &Op::Place {
            eur: false,
            lines: vec![(0, 1)],
            code: false,
            who: 0,
        },
        0,
    )
    .await;
    let today = Utc::now().with_timezone(&shop.tz).date_naive();
    let day = today - Duration::days(2);
    // 23:30 in New York is 04:30 (or 03:30) UTC the next day.
    let late = shop
        .tz
        .from_local_datetime(&day.and_hms_opt(23, 30, 0).expect("a time"))
        .single()
        .expect("one instant")
        .to_utc();
    assert_eq!(late.date_naive(), day + Duration::days(1));
    let conn = shop.app.db().writer();
    sales_ledger::Entity::update_many()
        .col_expr(sales_ledger::Column::OccurredAt, Expr::value(late))
        .exec(conn)
        .await
        .expect("moved");
    shop.app
        .state()
        .analytics
        .rebuild(|_, _| {})
        .await
        .expect("rebuilt");
    let report = shop
        .report(
            "sales",
            "USD",
            day - Duration::days(1),
            day + Duration::days(1),
        )
        .await;
    let orders: Vec<(String, i64)> = report["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                p["period"].as_str().expect("day").to_string(),
                p["orders"].as_i64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        orders,
        vec![
            ((day - Duration::days(1)).to_string(), 0),
            (day.to_string(), 1),
            ((day + Duration::days(1)).to_string(), 0),
        ]
    );
    assert_eq!(report["time_zone"], "America/New_York");
}

#[tokio::test]
async fn reports_answer_by_week_and_month_as_csv_and_refuse_what_they_cannot() {
    let mut shop = Shop::open("UTC", false).await;
    for (op, back) in [
        (
            Op::Place {
                eur: false,
                lines: vec![(0, 2), (1, 1)],
                code: true,
                who: 0,
            },
            0,
        ),
        (Op::Pay(0), 0),
        (
            Op::Place {
                eur: false,
                lines: vec![(2, 3)],
                code: false,
                who: 0,
            },
            30,
        ),
        (
            Op::RefundLine {
                order: 0,
                line: 0,
                units: 1,
                shipping: true,
            },
            0,
        ),
    ] {
        shop.run(&op, back).await;
    }
    let token = shop.admin.access_token.clone();
    let get = |path: String| {
        let app = &shop.app;
        let token = token.clone();
        async move { app.call(Method::GET, &path, Some(&token), None).await }
    };
    let today = Utc::now().date_naive();
    let month = json_of(
        get(format!(
            "/api/v1/admin/reports/sales?group=month&from={}&to={today}",
            today - Duration::days(70)
        ))
        .await,
        200,
    )
    .await;
    let periods = month["periods"].as_array().expect("periods");
    assert!(periods.len() >= 3 && periods.len() <= 4, "{month}");
    let orders: i64 = periods
        .iter()
        .map(|p| p["orders"].as_i64().expect("n"))
        .sum();
    assert_eq!(orders, 2);
    assert!(
        month["compare"]["totals"].is_object(),
        "the period before is compared"
    );
    let week = json_of(
        get(format!(
            "/api/v1/admin/reports/sales?group=week&from={}&to={today}",
            today - Duration::days(13)
        ))
        .await,
        200,
    )
    .await;
    assert!(
        week["periods"][0]["period"]
            .as_str()
            .expect("name")
            .contains("-W"),
        "{week}"
    );

    let csv = get("/api/v1/admin/reports/sales?format=csv".into()).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("body");
    assert!(
        text.starts_with("period,from,to,currency,orders,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 31, "a header and 30 days");
    let ledger = get(format!(
        "/api/v1/admin/reports/ledger?from={}&to={today}",
        today - Duration::days(3)
    ))
    .await;
    assert_eq!(ledger.status(), 200);
    let text = ledger.text().await.expect("body");
    // Two orders, a payment and a refund.
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().any(|l| l.contains(",refund,")));
    let products = json_of(get("/api/v1/admin/reports/products".into()).await, 200).await;
    assert_eq!(products["rows"][0]["label"], "Shirt", "{products}");
    let customers = json_of(get("/api/v1/admin/reports/customers".into()).await, 200).await;
    assert_eq!(customers["rows"][0]["key"], "new");
    let dashboard = json_of(get("/api/v1/admin/dashboard".into()).await, 200).await;
    assert_eq!(dashboard["today_figures"]["orders"], 1);
    assert_eq!(dashboard["last_30_days"]["orders"], 2);

    assert_eq!(
        problem(get("/api/v1/admin/reports/nonsense".into()).await, 404).await["status"],
        404
    );
    let bad = problem(
        get("/api/v1/admin/reports/sales?from=2026-13-01&currency=XXX&limit=0".into()).await,
        422,
    )
    .await;
    let fields: Vec<String> = emporium_testkit::fields(&bad);
    assert!(
        fields.contains(&"from".to_string())
            && fields.contains(&"currency".to_string())
            && fields.contains(&"limit".to_string()),
        "{bad}"
    );
    problem(
        get("/api/v1/admin/reports/sales?from=2026-12-07&to=2026-12-01".into()).await,
        422,
    )
    .await;
    problem(
        get("/api/v1/admin/reports/sales?format=xml".into()).await,
        422,
    )
    .await;
    let clerk = shop.app.staff(&["orders.read"]).await;
    problem(
        shop.app
            .call(
                Method::GET,
                "/api/v1/admin/dashboard",
                Some(&clerk.access_token),
                None,
            )
            .await,
        403,
    )
    .await;
    problem(shop.app.get("/api/v1/admin/reports/sales").await, 401).await;
}

#[tokio::test]
async fn staff_read_sales_in_the_console_with_a_chart_and_breakdowns() {
    use crate::admin::{screenshot, sign_in};
    use emporium_testkit::browser::{Browser, click, text_of};
    use fantoccini::Locator;
    let mut shop = Shop::open("UTC", false).await;
    for (op, back) in [
        (
            Op::Place {
                eur: false,
                lines: vec![(0, 2), (1, 1)],
                code: true,
                who: 0,
            },
            0,
        ),
        (Op::Pay(0), 0),
        (
            Op::Place {
                eur: false,
                lines: vec![(2, 3)],
                code: false,
                who: 0,
            },
            50,
        ),
        (Op::Pay(1), 0),
        (
            Op::Place {
                eur: false,
                lines: vec![(1, 1)],
                code: false,
                who: 0,
            },
            100,
        ),
        (Op::Cancel(2), 0),
    ] {
        shop.run(&op, back).await;
    }
    let Shop { app, admin, .. } = shop;
    Browser::run(|b| async move {
        sign_in(&b, &app, &admin, "/admin/reports").await;
        assert_eq!(text_of(&b, "h1").await, "Reports");
        let tiles = text_of(&b, "#tiles").await;
        assert!(
            tiles.contains("Orders") && tiles.contains("Net sales"),
            "{tiles}"
        );
        assert_eq!(text_of(&b, "#tile-orders .big").await, "3");
        let bars = b
            .find_all(Locator::Css("#sales-chart svg rect.bar"))
            .await
            .expect("bars");
        assert_eq!(bars.len(), 30, "a bar per day");
        let products = text_of(&b, "#report-products").await;
        assert!(
            products.contains("Shirt") && products.contains("Pin"),
            "{products}"
        );
        assert!(text_of(&b, "#report-coupons").await.contains("TEN"));
        assert!(
            text_of(&b, "#cohorts").await.contains("100%"),
            "the cohorts table"
        );
        screenshot(&b, "console-reports.png").await;
        b.find(Locator::Css("#group"))
            .await
            .expect("group")
            .select_by_value("week")
            .await
            .expect("chosen");
        click(&b, "#show").await;
        let periods = text_of(&b, "#periods").await;
        assert!(periods.contains("-W"), "{periods}");
        let href = b
            .find(Locator::Css("#sales-csv"))
            .await
            .expect("link")
            .attr("href")
            .await
            .expect("attr")
            .expect("href");
        assert!(href.contains("group=week"), "{href}");
        b.goto(&app.url("/admin/reports?from=yesterday"))
            .await
            .expect("bad range");
        assert!(text_of(&b, "#error").await.contains("from"));
    })
    .await;
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

async fn event(app: &TestApp, agent: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app.request(Method::POST, "/api/v1/events").json(&body);
    if let Some(agent) = agent {
        request = request.header("user-agent", agent);
    }
    request.send().await.expect("sent")
}

async fn funnel(app: &TestApp, admin: &Session) -> Vec<(String, i64)> {
    app.state().analytics.flush_events().await.expect("flushed");
    let report = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/reports/funnel",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().expect("name").to_string(),
                s["count"].as_i64().expect("n"),
            )
        })
        .collect()
}

fn counts(steps: &[(String, i64)]) -> Vec<i64> {
    steps.iter().map(|(_, n)| *n).collect()
}

#[tokio::test]
async fn the_funnel_counts_each_session_once_a_day_per_step_and_ignores_bots() {
    let mut shop = Shop::open("UTC", false).await;
    let app = &shop.app;
    for (session, kind) in [
        ("s1", "product_viewed"),
        ("s1", "product_viewed"),
        ("s2", "product_viewed"),
        ("s1", "added_to_cart"),
        ("s1", "checkout_started"),
    ] {
        let r = event(
            app,
            Some(BROWSER),
            json!({"type": kind, "session": session}),
        )
        .await;
        assert_eq!(r.status(), 204);
    }
    // Bots are answered the same and not counted.
    for agent in [
        Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
        Some("curl/8.5.0"),
        None,
    ] {
        let r = event(
            app,
            agent,
            json!({"type": "product_viewed", "session": "s3"}),
        )
        .await;
        assert_eq!(r.status(), 204);
    }
    // A headless storefront without its own session id: the cart token stands for it.
    let r = app
        .request(Method::POST, "/api/v1/events")
        .header("user-agent", BROWSER)
        .header("x-cart-token", "a-cart-token")
        .json(&json!({"type": "added_to_cart"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 204);
    let missing = problem(
        event(app, Some(BROWSER), json!({"type": "product_viewed"})).await,
        422,
    )
    .await;
    assert_eq!(emporium_testkit::fields(&missing), vec!["session"]);
    problem(
        event(
            app,
            Some(BROWSER),
            json!({"type": "purchase", "session": "s1"}),
        )
        .await,
        422,
    )
    .await;
    problem(
        event(
            app,
            Some(BROWSER),
            json!({"type": "product_viewed", "session": "x".repeat(129)}),
        )
        .await,
        422,
    )
    .await;

    shop.run(
        &Op::Place {
            eur: true,
            lines: vec![(0, 1)],
            code: false,
            who: 0,
        },
        0,
    )
    .await;
    shop.run(&Op::Pay(0), 0).await;
    let steps = funnel(&shop.app, &shop.admin).await;
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "sessions",
            "product_viewed",
            "added_to_cart",
            "checkout_started",
            "orders",
            "paid"
        ]
    );
    assert_eq!(counts(&steps), vec![3, 2, 2, 1, 1, 1], "{steps:?}");
    // Sending the same again the same day changes no session count.
    event(
        &shop.app,
        Some(BROWSER),
        json!({"type": "product_viewed", "session": "s2"}),
    )
    .await;
    assert_eq!(
        counts(&funnel(&shop.app, &shop.admin).await),
        vec![3, 2, 2, 1, 1, 1]
    );
    let report = json_of(
        shop.app
            .call(
                Method::GET,
                "/api/v1/admin/reports/funnel",
                Some(&shop.admin.access_token),
                None,
            )
            .await,
        200,
    )
    .await;
    assert_eq!(
        report["steps"][4]["of_sessions"], 33.33,
        "the conversion rate"
    );
    assert_eq!(report["steps"][2]["of_previous"], 100.0);

    // 600 events a minute per client IP, then 429.
    let mut limited = false;
    for i in 0..700 {
        let r = event(
            &shop.app,
            Some(BROWSER),
            json!({"type": "product_viewed", "session": format!("flood-{i}")}),
        )
        .await;
        if r.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "a flood is cut off");
}

#[tokio::test]
async fn a_shoppers_visit_to_the_storefront_walks_down_the_funnel() {
    use emporium_testkit::browser::{Browser, click, text_of};
    let shop = Shop::open("UTC", false).await;
    let slug = shop.products[0].slug.clone();
    // A crawler's page view is served and not counted.
    let crawled = shop
        .app
        .request(Method::GET, &format!("/products/{slug}"))
        .header("user-agent", "Mozilla/5.0 (compatible; bingbot/2.0)")
        .send()
        .await
        .expect("sent");
    assert_eq!(crawled.status(), 200);
    assert!(crawled.headers().get("set-cookie").is_none());
    // A first visit opens a visit: the cookie, and this one response kept private.
    let first = shop
        .app
        .request(Method::GET, &format!("/products/{slug}"))
        .header("user-agent", BROWSER)
        .send()
        .await
        .expect("sent");
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(
        cookie.starts_with("emporium_visit=")
            && cookie.contains("Max-Age=1800")
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert_eq!(first.headers()["cache-control"], "private, no-store");
    let visit = cookie.split(';').next().expect("pair").to_string();
    let again = shop
        .app
        .request(Method::GET, &format!("/products/{slug}"))
        .header("user-agent", BROWSER)
        .header("cookie", &visit)
        .send()
        .await
        .expect("sent");
    assert!(again.headers().get("set-cookie").is_none());
    assert!(
        again.headers()["cache-control"]
            .to_str()
            .expect("text")
            .starts_with("public")
    );
    assert_eq!(
        counts(&funnel(&shop.app, &shop.admin).await),
        vec![1, 1, 0, 0, 0, 0]
    );

    let Shop { app, admin, .. } = shop;
    Browser::run(|b| async move {
        b.goto(&app.url(&format!("/products/{slug}")))
            .await
            .expect("product page");
        click(&b, "#add-to-cart").await;
        assert!(text_of(&b, "h1").await.len() > 1);
        b.goto(&app.url("/checkout")).await.expect("checkout");
        assert_eq!(
            counts(&funnel(&app, &admin).await),
            vec![2, 2, 1, 1, 0, 0],
            "the browser's visit: viewed, added, started checkout"
        );
    })
    .await;
}

#[tokio::test]
async fn cohorts_follow_each_customers_first_month_and_their_returns() {
    let mut shop = Shop::open("UTC", false).await;
    // (customer, hours ago), in the order they happen; then the third customer's order
    // is cancelled unpaid.
    let placements = [(0usize, 40 * 24), (1, 0), (2, 10 * 24), (0, 0), (1, 2)];
    for (who, back) in placements {
        shop.run(
            &Op::Place {
                eur: false,
                lines: vec![(0, 1)],
                code: false,
                who,
            },
            back,
        )
        .await;
    }
    shop.run(&Op::Cancel(2), 0).await;
    let now = Utc::now();
    let month = |back: i64| (now - Duration::hours(back)).format("%Y-%m").to_string();
    let mut cohort_of: BTreeMap<usize, String> = BTreeMap::new();
    let mut active: BTreeMap<(String, String), std::collections::BTreeSet<usize>> = BTreeMap::new();
    for (who, back) in placements {
        let cohort = cohort_of.entry(who).or_insert_with(|| month(back)).clone();
        active.entry((cohort, month(back))).or_default().insert(who);
    }
    let today = now.date_naive();
    let from = today - Duration::days(45);
    let report = json_of(
        shop.app
            .call(
                Method::GET,
                &format!("/api/v1/admin/reports/cohorts?from={from}&to={today}"),
                Some(&shop.admin.access_token),
                None,
            )
            .await,
        200,
    )
    .await;
    let mut sum_net = 0;
    for c in report["cohorts"].as_array().expect("cohorts") {
        let cohort = c["cohort"].as_str().expect("month").to_string();
        let size = cohort_of.values().filter(|m| **m == cohort).count() as i64;
        assert_eq!(c["customers"].as_i64(), Some(size), "{cohort}: {report}");
        for cell in c["months"].as_array().expect("months") {
            let m = cell["month"].as_str().expect("month").to_string();
            let want = active
                .get(&(cohort.clone(), m.clone()))
                .map_or(0, |s| s.len()) as i64;
            assert_eq!(
                cell["customers"].as_i64(),
                Some(want),
                "{cohort} in {m}: {report}"
            );
            if size > 0 && cell["offset"] == 0 {
                assert_eq!(cell["retention"], 100.0);
            }
            sum_net += cell["net"]["amount"].as_i64().expect("n");
        }
    }
    // Every sale and return of these customers is in some cohort's cell.
    let sales = shop.report("sales", "USD", from, today).await;
    assert_eq!(
        sum_net,
        sales["totals"]["net"]["amount"].as_i64().expect("n")
    );
    let csv = shop
        .app
        .call(
            Method::GET,
            &format!("/api/v1/admin/reports/cohorts?from={from}&to={today}&format=csv"),
            Some(&shop.admin.access_token),
            None,
        )
        .await
        .text()
        .await
        .expect("csv");
    assert!(
        csv.starts_with(
            "cohort,cohort_customers,offset,month,customers,retention_percent,net,currency"
        ),
        "{csv}"
    );
    let before = rollups(&shop.app).await;
    shop.app
        .state()
        .analytics
        .rebuild(|_, _| {})
        .await
        .expect("rebuilt");
    assert_eq!(rollups(&shop.app).await, before, "rebuild = incremental");
}
