//! The home page: the day's and the week's sales, orders waiting to ship or to be paid,
//! low stock and recent activity, each shown to those who may see it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, Utc};
use emporium_core::Currency;
use serde_json::json;

use crate::session::Console;
use crate::state::Admin;

/// `GET /admin`.
pub(crate) async fn home(State(admin): State<Admin>, console: Console) -> Response {
    let mut extra = json!({"title": "Home"});
    if console.may("orders.read") {
        let currency =
            Currency::parse(&admin.config.store.default_currency).unwrap_or(Currency::USD);
        let now = Utc::now();
        let day = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let week = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        match admin.orders.overview(currency, day, week).await {
            Ok(o) => {
                extra["overview"] = json!({
                    "today": o.today.to_string(), "today_orders": o.today_orders,
                    "week": o.week.to_string(), "week_orders": o.week_orders,
                    "to_ship": o.to_ship, "awaiting_payment": o.awaiting_payment,
                });
            }
            Err(err) => return err.into_response(),
        }
    }
    if console.may("products.read") {
        match admin.inventory.low_stock(10).await {
            Ok(low) => {
                let low: Vec<_> = low
                    .iter()
                    .map(|l| {
                        json!({"sku": l.sku, "available": l.available,
                               "threshold": l.threshold, "incoming": l.incoming})
                    })
                    .collect();
                extra["low_stock"] = json!(low);
            }
            Err(err) => return err.into_response(),
        }
    }
    if console.may("audit.read") {
        let recent = admin
            .accounts
            .audit_page(emporium_accounts::AuditFilter::default(), None, 8)
            .await;
        match recent {
            Ok(page) => extra["activity"] = json!(crate::audit::rows(&admin, &page.data).await),
            Err(err) => return err.into_response(),
        }
    }
    admin
        .render(
            StatusCode::OK,
            "home.html",
            console.context("/admin", extra),
        )
        .into_response()
}
