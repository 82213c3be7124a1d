//! Stock rules that need no I/O: why a level changed, and how much of a wanted quantity a
//! level can give.

/// Why a stock level changed; stored on each ledger row.
pub mod reason {
    /// Checkout set units aside for an unpaid order.
    pub const ORDER_RESERVED: &str = "order_reserved";
    /// Payment arrived: reserved units left the building's books.
    pub const ORDER_COMMITTED: &str = "order_committed";
    /// The order was cancelled or expired before payment: its reservation ended.
    pub const ORDER_RELEASED: &str = "order_released";
    /// A paid order was cancelled before shipment: its units went back on the shelf.
    pub const ORDER_RESTOCKED: &str = "order_restocked";
    /// Refunded units came back and went on the shelf again.
    pub const RETURN_RESTOCKED: &str = "return_restocked";
    /// Staff counted, received or wrote off stock.
    pub const ADJUSTMENT: &str = "adjustment";
}

/// Units a level can give now: on hand minus reserved, never negative.
pub fn available(on_hand: i64, reserved: i64) -> i64 {
    (on_hand - reserved).max(0)
}

/// How much to take from each level, in priority order, to cover `wanted`: `(index,
/// units)` pairs and what is still missing.
pub fn plan_takes(available_by_level: &[i64], wanted: i64) -> (Vec<(usize, i64)>, i64) {
    let mut remaining = wanted;
    let mut takes = Vec::new();
    for (i, &avail) in available_by_level.iter().enumerate() {
        if remaining == 0 {
            break;
        }
        let take = avail.min(remaining);
        if take > 0 {
            takes.push((i, take));
            remaining -= take;
        }
    }
    (takes, remaining)
}

/// How many units of a variant can be sold now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Availability {
    /// On hand minus reserved over all locations (negative when backordered).
    pub net: i64,
    pub allow_backorder: bool,
    pub backorder_limit: Option<i64>,
}

impl Availability {
    /// Units in stock now.
    pub fn in_stock(&self) -> i64 {
        self.net.max(0)
    }

    /// Whether `quantity` more units can be sold (from stock or as a backorder).
    pub fn can_sell(&self, quantity: i64) -> bool {
        self.net >= quantity
            || (self.allow_backorder
                && self
                    .backorder_limit
                    .is_none_or(|limit| self.net + limit >= quantity))
    }

    /// The most units that can be sold now (`None`: no limit).
    pub fn sellable(&self) -> Option<i64> {
        match (self.allow_backorder, self.backorder_limit) {
            (false, _) => Some(self.in_stock()),
            (true, Some(limit)) => Some((self.net + limit).max(0)),
            (true, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_follow_priority_and_report_the_shortfall() {
        assert_eq!(plan_takes(&[2, 5], 4), (vec![(0, 2), (1, 2)], 0));
        assert_eq!(plan_takes(&[0, 5], 4), (vec![(1, 4)], 0));
        assert_eq!(plan_takes(&[1, 1], 4), (vec![(0, 1), (1, 1)], 2));
        assert_eq!(plan_takes(&[], 1), (vec![], 1));
    }

    #[test]
    fn backorder_policy_bounds_what_can_be_sold() {
        let deny = Availability {
            net: 2,
            allow_backorder: false,
            backorder_limit: None,
        };
        assert!(deny.can_sell(2) && !deny.can_sell(3));
        assert_eq!(deny.sellable(), Some(2));
        let limited = Availability {
            net: 1,
            allow_backorder: true,
            backorder_limit: Some(2),
        };
        assert!(limited.can_sell(3) && !limited.can_sell(4));
        assert_eq!(limited.sellable(), Some(3));
        let open = Availability {
            net: -5,
            allow_backorder: true,
            backorder_limit: None,
        };
        assert!(open.can_sell(100));
        assert_eq!(open.in_stock(), 0);
    }

    #[test]
    fn available_is_never_negative() {
        assert_eq!(available(3, 5), 0);
        assert_eq!(available(5, 3), 2);
    }
}
