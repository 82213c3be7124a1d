//! The console's menu: one table of pages with the permission each needs (the same named
//! permission as the API routes it stands for). A later domain's page is one more row.

use serde::Serialize;

/// One entry of the menu.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entry {
    pub label: &'static str,
    pub path: &'static str,
    /// `None`: every staff member.
    pub permission: Option<&'static str>,
}

pub const MENU: &[Entry] = &[
    Entry {
        label: "Home",
        path: "/admin",
        permission: None,
    },
    Entry {
        label: "Reports",
        path: "/admin/reports",
        permission: Some("reports.read"),
    },
    Entry {
        label: "Orders",
        path: "/admin/orders",
        permission: Some("orders.read"),
    },
    Entry {
        label: "Products",
        path: "/admin/products",
        permission: Some("products.read"),
    },
    Entry {
        label: "Categories",
        path: "/admin/categories",
        permission: Some("products.read"),
    },
    Entry {
        label: "Collections",
        path: "/admin/collections",
        permission: Some("products.read"),
    },
    Entry {
        label: "Inventory",
        path: "/admin/inventory",
        permission: Some("products.read"),
    },
    Entry {
        label: "Reviews",
        path: "/admin/reviews",
        permission: Some("reviews.moderate"),
    },
    Entry {
        label: "Tickets",
        path: "/admin/tickets",
        permission: Some("tickets.manage"),
    },
    Entry {
        label: "Discounts",
        path: "/admin/discounts",
        permission: Some("discounts.write"),
    },
    Entry {
        label: "Customers",
        path: "/admin/customers",
        permission: Some("users.read"),
    },
    Entry {
        label: "Staff",
        path: "/admin/staff",
        permission: Some("users.read"),
    },
    Entry {
        label: "Settings",
        path: "/admin/settings",
        permission: Some("settings.manage"),
    },
    Entry {
        label: "Webhooks",
        path: "/admin/webhooks",
        permission: Some("settings.manage"),
    },
    Entry {
        label: "API keys",
        path: "/admin/api-keys",
        permission: Some("settings.manage"),
    },
    Entry {
        label: "Audit log",
        path: "/admin/audit",
        permission: Some("audit.read"),
    },
];
