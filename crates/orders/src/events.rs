//! The domain events orders publish (see `emporium_core::events` for the payloads):
//! how an order row becomes the [`OrderRef`] every order event carries.

use emporium_core::events::{EventLine, Initiator, OrderRef};
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::{Currency, Money};
use emporium_db::entity::{order_lines, orders};

use crate::transition::Actor;
use emporium_core::address::Address;

/// The order as events name it.
pub fn order_ref(order: &orders::Model) -> OrderRef {
    let name = serde_json::from_str::<Address>(&order.shipping_address)
        .ok()
        .map(|a| a.name)
        .filter(|n| !n.trim().is_empty());
    OrderRef {
        order_id: OrderId(order.id),
        number: order.number,
        email: order.email.clone(),
        name,
        lang: order.lang.clone(),
        customer_id: order.customer_id.map(CustomerId),
    }
}

/// Order lines as events carry them.
pub fn event_lines(lines: &[order_lines::Model], currency: Currency) -> Vec<EventLine> {
    lines
        .iter()
        .map(|l| {
            let options: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&l.options).unwrap_or_default();
            EventLine {
                sku: l.sku.clone(),
                title: l.title.clone(),
                options: options.into_values().collect::<Vec<_>>().join(", "),
                quantity: l.quantity,
                total: Money::new(l.total, currency),
            }
        })
        .collect()
}

/// Who made a change, as events say it.
pub fn initiator(actor: &Actor) -> Initiator {
    if actor.staff {
        Initiator::Staff
    } else if actor.shopper {
        Initiator::Customer
    } else {
        Initiator::System
    }
}
