//! Checkout rules that need no I/O: the order state machine, address checks per country,
//! and tax and totals with per-line rounding.

use emporium_core::{FieldError, apply_ppm, div_round};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an order is in its life. One transition table ([`OrderStatus::can_transition_to`])
/// decides every move; anything else is 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    /// Closed with all its money back. A partial refund leaves the order where it was:
    /// it shows in [`PaymentStatus`], so it never blocks shipping or a return.
    Refunded,
    ReturnRequested,
    Returned,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Processing,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Refunded,
        Self::ReturnRequested,
        Self::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Processing => "processing",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
            Self::ReturnRequested => "return_requested",
            Self::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The transition table of ARCHITECTURE.md.
    pub fn can_transition_to(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (PendingPayment, Paid | Cancelled)
                | (Paid, Processing | Shipped | Cancelled | Refunded)
                | (Processing, Shipped | Cancelled | Refunded)
                | (Shipped, Delivered | ReturnRequested | Refunded)
                | (Delivered, ReturnRequested | Refunded)
                | (ReturnRequested, Returned | Delivered | Refunded)
                | (Returned, Refunded)
        )
    }

    /// Whether the customer may still cancel (nothing has shipped).
    pub fn customer_may_cancel(self) -> bool {
        matches!(self, Self::PendingPayment | Self::Paid | Self::Processing)
    }

    /// The refunded state is reached only through the refunds API, which moves money.
    pub fn needs_refund(self) -> bool {
        self == Self::Refunded
    }

    /// Whether money captured for an order in this state may be given back.
    pub fn refundable(self) -> bool {
        !matches!(self, Self::PendingPayment | Self::Refunded)
    }
}

/// Where an order's money stands, beside its status (as every major platform keeps it):
/// refunds move this, never the order's place in fulfilment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Unpaid,
    Paid,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "unpaid",
            Self::Paid => "paid",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Unpaid,
            Self::Paid,
            Self::PartiallyRefunded,
            Self::Refunded,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// From what a payment captured and what went back.
    pub fn of(captured: i64, refunded: i64) -> Self {
        if captured <= 0 {
            Self::Unpaid
        } else if refunded >= captured {
            Self::Refunded
        } else if refunded > 0 {
            Self::PartiallyRefunded
        } else {
            Self::Paid
        }
    }
}

/// Where an order's goods stand, beside its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentStatus {
    Unfulfilled,
    PartiallyShipped,
    Shipped,
    Delivered,
    Returned,
}

impl FulfillmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unfulfilled => "unfulfilled",
            Self::PartiallyShipped => "partially_shipped",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Unfulfilled,
            Self::PartiallyShipped,
            Self::Shipped,
            Self::Delivered,
            Self::Returned,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

/// A cart's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Active,
    /// It became an order; read-only from then on.
    Converted,
    /// Its lines were merged into the customer's cart at sign-in.
    Merged,
    /// Idle too long; a recovery link can bring it back.
    Abandoned,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Converted => "converted",
            Self::Merged => "merged",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Converted, Self::Merged, Self::Abandoned]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

pub use emporium_core::address::Address;

/// One line's amounts: `total` is unit price times quantity as shown (tax included when
/// prices include tax), `tax` the tax in or on it, rounded once for the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub total: i64,
    pub tax: i64,
}

/// Tax of one line, rounded half away from zero per line (the rule most tax authorities
/// accept, and the one that makes a receipt's lines add up to its total).
pub fn line_amounts(unit_price: i64, quantity: i64, rate_ppm: i64, inclusive: bool) -> LineAmounts {
    let total = unit_price.saturating_mul(quantity);
    let tax = if inclusive {
        total - div_round(total as i128 * 1_000_000, 1_000_000 + rate_ppm as i128)
    } else {
        apply_ppm(total, rate_ppm)
    };
    LineAmounts { total, tax }
}

/// A cart's or order's totals, each in minor units of one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
}

/// Adds up lines: with inclusive prices the tax is already inside the subtotal.
pub fn totals(lines: &[LineAmounts], discount: i64, shipping: i64, inclusive: bool) -> Totals {
    let subtotal: i64 = lines.iter().map(|l| l.total).sum();
    let tax: i64 = lines.iter().map(|l| l.tax).sum();
    let total = subtotal - discount + shipping + if inclusive { 0 } else { tax };
    Totals {
        subtotal,
        discount,
        shipping,
        tax,
        total,
    }
}

/// The address normalised by the one rule ([`emporium_core::email::Email`]), or the input
/// as given with the problem recorded.
pub fn check_email(email: &str, errors: &mut Vec<FieldError>) -> String {
    match emporium_core::email::Email::parse(email) {
        Ok(email) => email.as_str().to_string(),
        Err(e) => {
            errors.push(e);
            email.trim().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn transitions_follow_the_table() {
        use OrderStatus::*;
        assert!(PendingPayment.can_transition_to(Paid));
        assert!(PendingPayment.can_transition_to(Cancelled));
        assert!(!PendingPayment.can_transition_to(Shipped));
        assert!(!Cancelled.can_transition_to(Paid));
        assert!(!Delivered.can_transition_to(Cancelled));
        assert!(ReturnRequested.can_transition_to(Returned));
        assert!(!PendingPayment.refundable() && !Refunded.refundable());
        assert!(Cancelled.refundable() && Delivered.refundable());
        for s in OrderStatus::ALL {
            assert!(!s.can_transition_to(PendingPayment));
            assert!(!Refunded.can_transition_to(s));
            assert!(!Cancelled.can_transition_to(s));
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn payment_status_follows_the_money() {
        assert_eq!(PaymentStatus::of(0, 0), PaymentStatus::Unpaid);
        assert_eq!(PaymentStatus::of(5500, 0), PaymentStatus::Paid);
        assert_eq!(
            PaymentStatus::of(5500, 100),
            PaymentStatus::PartiallyRefunded
        );
        assert_eq!(PaymentStatus::of(5500, 5500), PaymentStatus::Refunded);
        for p in [PaymentStatus::Unpaid, PaymentStatus::Refunded] {
            assert_eq!(PaymentStatus::parse(p.as_str()), Some(p));
        }
        let f = FulfillmentStatus::PartiallyShipped;
        assert_eq!(FulfillmentStatus::parse(f.as_str()), Some(f));
    }

    #[test]
    fn tax_is_rounded_once_per_line() {
        // 3 x 3.33 at 7.25%: 9.99 * 0.0725 = 0.724275 -> 0.72
        assert_eq!(
            line_amounts(333, 3, 72_500, false),
            LineAmounts {
                total: 999,
                tax: 72
            }
        );
        // 19.99 incl. 20% VAT: net 16.658.. -> 16.66, tax 3.33
        assert_eq!(
            line_amounts(1999, 1, 200_000, true),
            LineAmounts {
                total: 1999,
                tax: 333
            }
        );
        let t = totals(&[line_amounts(1000, 2, 100_000, false)], 0, 500, false);
        assert_eq!(
            t,
            Totals {
                subtotal: 2000,
                discount: 0,
                shipping: 500,
                tax: 200,
                total: 2700
            }
        );
        let t = totals(&[line_amounts(1200, 1, 200_000, true)], 0, 0, true);
        assert_eq!(
            t,
            Totals {
                subtotal: 1200,
                discount: 0,
                shipping: 0,
                tax: 200,
                total: 1200
            }
        );
    }

    proptest! {
        #[test]
        fn inclusive_tax_plus_net_is_the_total(price in 0i64..10_000_000, qty in 1i64..100, rate in 0i64..300_000) {
            let line = line_amounts(price, qty, rate, true);
            let net = line.total - line.tax;
            // The net, taxed exclusively, lands within a unit of the inclusive tax.
            prop_assert!((apply_ppm(net, rate) - line.tax).abs() <= 1);
            prop_assert!(line.tax >= 0 && line.tax <= line.total);
        }
    }
}
