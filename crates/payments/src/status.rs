//! Where a payment attempt stands in our books (not the order's money status, which is
//! `emporium_orders::PaymentStatus`, nor the gateway's report, [`crate::PaymentState`]).

/// A payment attempt's state, as stored and as `PaymentView.status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    RequiresAction,
    /// The manual provider's extra authentication step is showing.
    Authenticating,
    Authorized,
    Succeeded,
    /// Declined; the shopper may try again until the order expires.
    Failed,
    Cancelled,
    Expired,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        Self::RequiresAction,
        Self::Authenticating,
        Self::Authorized,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Expired,
    ];

    /// States in which the payment can still be completed.
    pub const OPEN: [PaymentStatus; 4] = [
        Self::RequiresAction,
        Self::Authenticating,
        Self::Authorized,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresAction => "requires_action",
            Self::Authenticating => "authenticating",
            Self::Authorized => "authorized",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The open states as stored, for a query filter.
    pub fn open() -> [&'static str; 4] {
        Self::OPEN.map(Self::as_str)
    }

    /// Whether a stored status is open.
    pub fn is_open(status: &str) -> bool {
        Self::parse(status).is_some_and(|s| Self::OPEN.contains(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert!(PaymentStatus::is_open("failed"));
        assert!(!PaymentStatus::is_open("succeeded"));
        assert!(!PaymentStatus::is_open("bogus"));
    }
}
