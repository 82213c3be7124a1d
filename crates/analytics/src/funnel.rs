//! The shopping funnel: how many sessions a day viewed a product, added to the cart and
//! started a checkout, next to the orders placed and paid (from the sales ledger).
//!
//! A session is an opaque key: the storefront's first-party visit cookie (a random id
//! that lives 30 minutes past the last page), or what a headless storefront sends to
//! `POST /events` (its own session id, or else its cart token). Only a hash of the key is
//! stored, and nothing about the person. Requests from bots (no user agent, or one that
//! names itself a crawler) are not counted.
//!
//! Events are gathered in memory and written once a second per node, so a product page
//! costs no database write; a node that dies loses at most that second of counts. Each
//! write adds the day's distinct (step, session) pairs to `funnel_seen` (a repeat is a
//! no-op), then sets the day's count from them under the count row's lock, so nodes
//! writing at once never lose each other's sessions. Seen pairs older than two days are
//! dropped; the daily counts stay.

use chrono::{Duration, NaiveDate, Utc};
use emporium_core::AppResult;
use emporium_core::crypto::token_hash;
use emporium_db::entity::{funnel_daily, funnel_seen};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use utoipa::ToSchema;

use crate::state::Analytics;

/// A step of the funnel a client reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    ProductViewed,
    AddedToCart,
    CheckoutStarted,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductViewed => "product_viewed",
            Self::AddedToCart => "added_to_cart",
            Self::CheckoutStarted => "checkout_started",
        }
    }
}

/// The row every event also counts: the session itself.
pub(crate) const SESSION: &str = "session";

/// Substrings of user agents that are not shoppers (lower case).
const BOTS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "bingpreview",
    "facebookexternalhit",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "httpclient",
    "lighthouse",
    "pingdom",
    "uptime",
    "monitor",
    "preview",
    "scrapy",
];

/// Whether a user agent is a bot's (or missing).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    match user_agent.map(str::trim) {
        None | Some("") => true,
        Some(ua) => {
            let ua = ua.to_ascii_lowercase();
            BOTS.iter().any(|b| ua.contains(b))
        }
    }
}

/// Events gathered since the last write.
#[derive(Default)]
pub(crate) struct Pending {
    /// (day, step) -> hashed sessions.
    seen: BTreeMap<(String, &'static str), BTreeSet<String>>,
    /// (day, step) -> events.
    events: BTreeMap<(String, &'static str), i64>,
}

impl Pending {
    fn add(&mut self, day: &str, step: &'static str, session: &str) {
        self.seen
            .entry((day.to_string(), step))
            .or_default()
            .insert(session.to_string());
        *self.events.entry((day.to_string(), step)).or_default() += 1;
    }
}

/// The funnel buffer each node keeps.
#[derive(Default)]
pub(crate) struct Buffer(Mutex<Pending>);

impl Analytics {
    /// Counts `step` for `session` now, unless the user agent is a bot's; answers whether
    /// it was counted.
    pub fn record(&self, step: Step, session: &str, user_agent: Option<&str>) -> bool {
        if is_bot(user_agent) || session.is_empty() {
            return false;
        }
        let day = Utc::now()
            .with_timezone(&self.tz())
            .date_naive()
            .to_string();
        // The key is hashed: the cookie or cart token never reaches the database.
        let hashed: String = token_hash(session).chars().take(32).collect();
        if let Ok(mut pending) = self.funnel.0.lock() {
            pending.add(&day, SESSION, &hashed);
            pending.add(&day, step.as_str(), &hashed);
        }
        true
    }

    /// Writes what was gathered (the node's flusher calls it every second).
    pub async fn flush_events(&self) -> AppResult<()> {
        let pending = match self.funnel.0.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        if pending.events.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin().await?;
        for ((day, step), sessions) in &pending.seen {
            let rows: Vec<funnel_seen::ActiveModel> = sessions
                .iter()
                .map(|s| funnel_seen::ActiveModel {
                    day: Set(day.clone()),
                    step: Set((*step).to_string()),
                    session: Set(s.clone()),
                })
                .collect();
            for chunk in rows.chunks(1_000) {
                funnel_seen::Entity::insert_many(chunk.to_vec())
                    .on_conflict(
                        OnConflict::columns([
                            funnel_seen::Column::Day,
                            funnel_seen::Column::Step,
                            funnel_seen::Column::Session,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
            }
            let events = pending
                .events
                .get(&(day.clone(), *step))
                .copied()
                .unwrap_or(0);
            // Taking the count row's lock first makes a concurrent writer count after us.
            funnel_daily::Entity::insert(funnel_daily::ActiveModel {
                day: Set(day.clone()),
                step: Set((*step).to_string()),
                sessions: Set(0),
                events: Set(events),
            })
            .on_conflict(
                OnConflict::columns([funnel_daily::Column::Day, funnel_daily::Column::Step])
                    .value(
                        funnel_daily::Column::Events,
                        Expr::col((funnel_daily::Entity, funnel_daily::Column::Events)).add(
                            Expr::col((Alias::new("excluded"), funnel_daily::Column::Events)),
                        ),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            let count = funnel_seen::Entity::find()
                .filter(funnel_seen::Column::Day.eq(day.clone()))
                .filter(funnel_seen::Column::Step.eq(*step))
                .count(&txn)
                .await?;
            funnel_daily::Entity::update_many()
                .col_expr(funnel_daily::Column::Sessions, Expr::value(count as i64))
                .filter(funnel_daily::Column::Day.eq(day.clone()))
                .filter(funnel_daily::Column::Step.eq(*step))
                .exec(&txn)
                .await?;
        }
        let old =
            (Utc::now().with_timezone(&self.tz()).date_naive() - Duration::days(2)).to_string();
        funnel_seen::Entity::delete_many()
            .filter(funnel_seen::Column::Day.lt(old))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sessions per step and local day of `from..=to`.
    pub(crate) async fn funnel_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<BTreeMap<(String, String), i64>> {
        Ok(funnel_daily::Entity::find()
            .filter(funnel_daily::Column::Day.between(from.to_string(), to.to_string()))
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(|r| ((r.day, r.step), r.sessions))
            .collect())
    }

    /// Writes the gathered events every second until `shutdown`, and once more then.
    pub async fn flush_every_second(self, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stop = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = tick.tick() => false,
            };
            if let Err(err) = self.flush_events().await {
                tracing::warn!(error = %err, "writing funnel events failed");
            }
            if stop {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_and_missing_agents_are_not_shoppers() {
        assert!(is_bot(None));
        assert!(is_bot(Some("")));
        assert!(is_bot(Some("Mozilla/5.0 (compatible; Googlebot/2.1)")));
        assert!(is_bot(Some("curl/8.5.0")));
        assert!(is_bot(Some("facebookexternalhit/1.1")));
        assert!(!is_bot(Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
        )));
    }
}
