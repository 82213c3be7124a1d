//! Roles and named permissions: what a user is and what a staff member may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What kind of user someone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "staff" => Some(Self::Staff),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Every named permission a staff member can be given. Admins hold all of them.
pub const PERMISSIONS: &[&str] = &[
    "products.read",
    "products.write",
    "orders.read",
    "orders.write",
    "orders.refund",
    "inventory.write",
    "users.read",
    "users.manage",
    "reviews.moderate",
    "discounts.write",
    "tickets.manage",
    "reports.read",
    "settings.manage",
    "audit.read",
];

/// Whether `role` with `granted` may do what `permission` names.
pub fn allows(role: Role, granted: &[String], permission: &str) -> bool {
    match role {
        Role::Admin => true,
        Role::Staff => granted.iter().any(|p| p == permission),
        Role::Customer => false,
    }
}
