//! The order's rules that need no I/O: its state machine (one transition table), where
//! its money and its goods stand, and its totals.

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

/// A cart's or order's totals, each in minor units of one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
