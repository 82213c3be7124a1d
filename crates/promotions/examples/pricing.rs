//! Prices a 10-line cart against 1,000 active promotions, over and over, and prints the
//! latency distribution of one pricing (the engine alone: checkout adds the cart's
//! reads). Run: `cargo run --release -p emporium-promotions --example pricing`.

use emporium_promotions::engine::{
    Action, Cart, Class, Conditions, CustomerRule, Line, Promotion, Tier, evaluate,
};
use std::time::Instant;
use uuid::Uuid;

fn promotions(n: usize, products: &[Uuid]) -> Vec<Promotion> {
    (0..n)
        .map(|i| {
            let (class, action) = match i % 6 {
                0 => (
                    Class::Product,
                    Action::PercentOff {
                        ppm: 50_000 + (i as i64 % 10) * 10_000,
                    },
                ),
                1 => (Class::Order, Action::AmountOff { amount: 500 }),
                2 => (Class::Shipping, Action::FreeShipping),
                3 => (
                    Class::Product,
                    Action::BuyXGetY {
                        buy: 2,
                        get: 1,
                        ppm: 1_000_000,
                        max_per_order: Some(2),
                    },
                ),
                4 => (
                    Class::Order,
                    Action::Tiered {
                        tiers: vec![
                            Tier {
                                min_subtotal: 10_000,
                                ppm: 100_000,
                            },
                            Tier {
                                min_subtotal: 20_000,
                                ppm: 150_000,
                            },
                        ],
                    },
                ),
                _ => (Class::Order, Action::PercentOff { ppm: 70_000 }),
            };
            // Most promotions are about other products, as in a real shop's list.
            let mut conditions = Conditions::default();
            if i % 10 != 0 {
                conditions.products = vec![Uuid::now_v7(), Uuid::now_v7()];
            } else {
                conditions.products = vec![products[i % products.len()]];
            }
            if i % 7 == 0 {
                conditions.min_subtotal = Some(5_000);
            }
            if i % 11 == 0 {
                conditions.customer = CustomerRule::SignedIn;
            }
            Promotion {
                id: Uuid::now_v7(),
                name: format!("Promotion {i}"),
                class,
                action,
                conditions,
                priority: (i % 5) as i32,
                combines_with: match i % 3 {
                    0 => vec![Class::Shipping],
                    1 => vec![Class::Product, Class::Order, Class::Shipping],
                    _ => Vec::new(),
                },
                currency: Some("USD".into()),
                starts_at: None,
                ends_at: None,
                automatic: true,
                budget_left: None,
                limited: false,
            }
        })
        .collect()
}

fn main() {
    let products: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let lines: Vec<Line> = products
        .iter()
        .enumerate()
        .map(|(i, &product_id)| Line {
            key: Uuid::now_v7(),
            variant_id: Uuid::now_v7(),
            product_id,
            categories: vec![Uuid::now_v7()],
            collections: Vec::new(),
            unit_price: 999 + 250 * i as i64,
            quantity: 1 + (i as i64 % 3),
        })
        .collect();
    let set = promotions(1_000, &products);
    let cart = Cart {
        lines: &lines,
        currency: "USD",
        shipping: 590,
        country: Some("US"),
        signed_in: true,
        first_order: false,
        now_ms: 0,
        codes: &[],
    };
    let rounds = 20_000;
    let mut samples = Vec::with_capacity(rounds);
    let mut applied = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let outcome = evaluate(&set, &cart);
        samples.push(start.elapsed().as_nanos() as u64);
        applied = outcome.applied.len();
    }
    samples.sort_unstable();
    let at = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64 / 1000.0
    };
    println!(
        "10-line cart, 1000 active promotions ({applied} applied): p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs over {rounds} pricings",
        at(0.50),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}
