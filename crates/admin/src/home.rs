//! The home page: the day's and the week's sales, orders waiting to ship or to be paid.

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
    admin
        .render(
            StatusCode::OK,
            "home.html",
            console.context("/admin", extra),
        )
        .into_response()
}
