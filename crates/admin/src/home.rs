//! The home page: the day's and the week's sales, orders waiting to ship or to be paid,
//! low stock and recent activity, each shown to those who may see it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, Utc};
use emporium_core::{AppResult, Currency};
use emporium_orders::Overview;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::session::Console;
use crate::state::Admin;

/// How long the sales figures are served without a second look.
const FRESH: std::time::Duration = std::time::Duration::from_secs(10);
/// How long stale figures may still be shown while fresh ones are summed.
const USABLE: std::time::Duration = std::time::Duration::from_secs(300);

/// The home page's sales figures, kept per node: at a million orders the week's sums
/// take tens of milliseconds, and figures a few seconds old serve the page as well. After
/// [`FRESH`] they are summed again in the background while the page shows the last ones
/// (with their time); a change made in this console drops them at once.
#[derive(Clone, Default)]
pub(crate) struct Figures {
    last: Arc<Mutex<Option<Taken>>>,
    refreshing: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Taken {
    day: DateTime<Utc>,
    at: DateTime<Utc>,
    clock: Instant,
    overview: Overview,
}

impl Figures {
    /// Forgets the figures: the next home page sums them again.
    pub(crate) fn clear(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = None;
        }
    }

    fn keep(&self, day: DateTime<Utc>, overview: Overview) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Taken {
                day,
                at: Utc::now(),
                clock: Instant::now(),
                overview,
            });
        }
    }

    /// The figures for `day` and `week` and when they were summed.
    async fn get(
        &self,
        admin: &Admin,
        currency: Currency,
        day: DateTime<Utc>,
        week: DateTime<Utc>,
    ) -> AppResult<(Overview, DateTime<Utc>)> {
        let last = self.last.lock().ok().and_then(|l| l.clone());
        if let Some(taken) = last.filter(|t| t.day == day && t.clock.elapsed() < USABLE) {
            if taken.clock.elapsed() >= FRESH && !self.refreshing.swap(true, Ordering::AcqRel) {
                let (figures, orders) = (self.clone(), admin.orders.clone());
                tokio::spawn(async move {
                    match orders.overview(currency, day, week).await {
                        Ok(overview) => figures.keep(day, overview),
                        Err(err) => tracing::warn!(error = %err, "home figures not refreshed"),
                    }
                    figures.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok((taken.overview, taken.at));
        }
        let overview = admin.orders.overview(currency, day, week).await?;
        self.keep(day, overview.clone());
        Ok((overview, Utc::now()))
    }
}

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
        match admin.figures.get(&admin, currency, day, week).await {
            Ok((o, at)) => {
                extra["overview"] = json!({
                    "today": o.today.to_string(), "today_orders": o.today_orders,
                    "week": o.week.to_string(), "week_orders": o.week_orders,
                    "to_ship": o.to_ship, "awaiting_payment": o.awaiting_payment,
                    "as_of": crate::when(at),
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
