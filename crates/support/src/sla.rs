//! Service levels: per priority, how long the shop may take to answer first, to answer
//! each next message, and to resolve, around the clock or in business hours (the store's
//! days and hours, in its time zone). A ticket carries the instant of its next due answer
//! and of its resolution; the worker's sweep flags a missed one once, in the ticket's
//! history, and emails the team.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use emporium_core::{AppError, AppResult, Config};
use emporium_db::entity::{sla_policies, tickets};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{Priority, TicketStatus};
use crate::service::{Actor, history};
use crate::state::Support;

/// A priority's service level; absent targets are not promised.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"first_response_minutes": 120, "next_response_minutes": 240,
    "resolution_minutes": 2880, "business_hours": true})))]
pub struct SlaBody {
    pub first_response_minutes: Option<u32>,
    pub next_response_minutes: Option<u32>,
    pub resolution_minutes: Option<u32>,
    /// Count only the helpdesk's working hours (`[support] business_days`,
    /// `business_open`, `business_close`, in the store's time zone); default true.
    #[serde(default = "yes")]
    pub business_hours: bool,
}

fn yes() -> bool {
    true
}

/// A priority's service level as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaView {
    pub priority: Priority,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub business_hours: bool,
}

/// The helpdesk's working week.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    days: Vec<Weekday>,
    open: NaiveTime,
    close: NaiveTime,
}

impl Calendar {
    pub fn from_config(config: &Config) -> Self {
        let s = &config.support;
        let days: Vec<Weekday> = s
            .business_days
            .iter()
            .filter_map(|d| d.trim().parse::<Weekday>().ok())
            .collect();
        let time = |t: &str, default: (u32, u32)| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M").unwrap_or_else(|_| {
                NaiveTime::from_hms_opt(default.0, default.1, 0).unwrap_or_default()
            })
        };
        let open = time(&s.business_open, (9, 0));
        let close = time(&s.business_close, (17, 0));
        Self {
            tz: config.store.tz(),
            days,
            open,
            close: if close > open {
                close
            } else {
                open + Duration::hours(8)
            },
        }
    }

    /// `minutes` of working time after `start`: the instant the last of them ends.
    /// Around the clock when the calendar has no working day.
    pub fn add(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if self.days.is_empty() {
            return start + Duration::minutes(minutes);
        }
        let mut left = Duration::minutes(minutes.max(0));
        let mut at = start.with_timezone(&self.tz);
        // A year of days at most: a promise longer than that is not a promise.
        for _ in 0..366 {
            let date = at.date_naive();
            let local = |t: NaiveTime| {
                self.tz
                    .from_local_datetime(&date.and_time(t))
                    .earliest()
                    .unwrap_or(at)
            };
            let (open, close) = (local(self.open), local(self.close));
            if self.days.contains(&date.weekday()) && at < close {
                let from = at.max(open);
                if from + left <= close {
                    return (from + left).with_timezone(&Utc);
                }
                left -= close - from;
            }
            let next = date.succ_opt().unwrap_or(date).and_time(NaiveTime::MIN);
            at = self
                .tz
                .from_local_datetime(&next)
                .earliest()
                .unwrap_or(at + Duration::days(1));
        }
        (at + left).with_timezone(&Utc)
    }
}

/// Which target a breach missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Response,
    Resolution,
}

impl Target {
    fn as_str(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Resolution => "resolution",
        }
    }
}

impl Support {
    async fn policy<C: ConnectionTrait>(
        &self,
        conn: &C,
        priority: &str,
    ) -> AppResult<Option<sla_policies::Model>> {
        Ok(sla_policies::Entity::find_by_id(priority.to_string())
            .one(conn)
            .await?)
    }

    fn due(
        &self,
        policy: &sla_policies::Model,
        from: DateTime<Utc>,
        minutes: Option<i32>,
    ) -> Option<DateTime<Utc>> {
        let minutes = i64::from(minutes?);
        Some(if policy.business_hours {
            Calendar::from_config(&self.config).add(from, minutes)
        } else {
            from + Duration::minutes(minutes)
        })
    }

    /// Sets the ticket's due instants from its policy and state: the next answer (first
    /// or next, from when the customer began to wait) and the resolution (from when it
    /// was opened), none for what is done. Called after every change that moves them.
    pub(crate) async fn schedule<C: ConnectionTrait>(
        &self,
        conn: &C,
        t: &tickets::Model,
    ) -> AppResult<tickets::Model> {
        let policy = self.policy(conn, &t.priority).await?;
        let status = TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Open);
        let (response, resolution) = match &policy {
            None => (None, None),
            Some(_) if status.is_done() => (None, None),
            Some(p) => {
                let response = match t.waiting_since {
                    Some(since) if t.first_response_at.is_none() => {
                        self.due(p, since, p.first_response_minutes)
                    }
                    Some(since) => self.due(p, since, p.next_response_minutes),
                    None => None,
                };
                (response, self.due(p, t.created_at, p.resolution_minutes))
            }
        };
        if response == t.response_due && resolution == t.resolution_due {
            return Ok(t.clone());
        }
        let mut row: tickets::ActiveModel = t.clone().into();
        row.response_due = Set(response);
        row.resolution_due = Set(resolution);
        Ok(row.update(conn).await?)
    }

    /// The service levels, one per priority that has one.
    pub async fn sla_policies(&self) -> AppResult<Vec<SlaView>> {
        Ok(sla_policies::Entity::find()
            .all(self.db.writer())
            .await?
            .into_iter()
            .filter_map(|p| {
                Some(SlaView {
                    priority: Priority::parse(&p.priority)?,
                    first_response_minutes: p.first_response_minutes,
                    next_response_minutes: p.next_response_minutes,
                    resolution_minutes: p.resolution_minutes,
                    business_hours: p.business_hours,
                })
            })
            .collect())
    }

    /// Sets a priority's service level; open tickets of that priority are rescheduled.
    pub async fn put_sla(&self, priority: Priority, body: SlaBody) -> AppResult<SlaView> {
        let limit = 60 * 24 * 365;
        for (field, v) in [
            ("first_response_minutes", body.first_response_minutes),
            ("next_response_minutes", body.next_response_minutes),
            ("resolution_minutes", body.resolution_minutes),
        ] {
            if v.is_some_and(|m| m == 0 || m > limit) {
                return Err(AppError::invalid(field, "must be 1 minute to a year"));
            }
        }
        let as_i32 = |v: Option<u32>| v.map(|m| m as i32);
        let txn = self.db.begin().await?;
        let row = sla_policies::ActiveModel {
            priority: Set(priority.as_str().into()),
            first_response_minutes: Set(as_i32(body.first_response_minutes)),
            next_response_minutes: Set(as_i32(body.next_response_minutes)),
            resolution_minutes: Set(as_i32(body.resolution_minutes)),
            business_hours: Set(body.business_hours),
            updated_at: Set(Utc::now()),
        };
        match sla_policies::Entity::find_by_id(priority.as_str().to_string())
            .one(&txn)
            .await?
        {
            Some(_) => {
                row.update(&txn).await?;
            }
            None => {
                row.insert(&txn).await?;
            }
        }
        let open = tickets::Entity::find()
            .filter(tickets::Column::Priority.eq(priority.as_str()))
            .filter(tickets::Column::Status.is_in(["new", "open", "pending", "snoozed"]))
            .filter(tickets::Column::MergedInto.is_null())
            .all(&txn)
            .await?;
        for t in open {
            self.schedule(&txn, &t).await?;
        }
        txn.commit().await?;
        Ok(SlaView {
            priority,
            first_response_minutes: as_i32(body.first_response_minutes),
            next_response_minutes: as_i32(body.next_response_minutes),
            resolution_minutes: as_i32(body.resolution_minutes),
            business_hours: body.business_hours,
        })
    }

    /// Flags the targets missed by `now`, each once per ticket, with a history row and an
    /// email to the team (`store.staff_email`). Answers how many breaches were flagged.
    pub async fn check_sla(&self, now: DateTime<Utc>) -> AppResult<u64> {
        let late = tickets::Entity::find()
            .filter(tickets::Column::MergedInto.is_null())
            .filter(
                Condition::any()
                    .add(tickets::Column::ResponseDue.lte(now))
                    .add(tickets::Column::ResolutionDue.lte(now)),
            )
            .order_by_asc(tickets::Column::Id)
            .limit(500)
            .all(self.db.writer())
            .await?;
        let mut flagged = 0;
        for mut t in late {
            for target in [Target::Response, Target::Resolution] {
                let due = match target {
                    Target::Response => t.response_due,
                    Target::Resolution => t.resolution_due,
                };
                let Some(due) = due.filter(|d| *d <= now) else {
                    continue;
                };
                // One flag per target and due instant: a new due (the next answer) can be
                // missed again.
                let mark = format!("{}@{}", target.as_str(), due.timestamp());
                if self.flag_breach(&t, target, &mark, due).await? {
                    flagged += 1;
                    // The breach list changed: the next target's guard reads it anew.
                    t = self.find(self.db.writer(), t.id).await?;
                }
            }
        }
        Ok(flagged)
    }

    /// Flags one breach, once: a guarded update of the ticket's breach list decides which
    /// node (or which sweep) does it.
    async fn flag_breach(
        &self,
        t: &tickets::Model,
        target: Target,
        mark: &str,
        due: DateTime<Utc>,
    ) -> AppResult<bool> {
        if t.sla_breaches.contains(&format!(",{mark},")) {
            return Ok(false);
        }
        let mut marks: Vec<&str> = t
            .sla_breaches
            .split(',')
            .filter(|m| !m.is_empty())
            .collect();
        marks.push(mark);
        // The column holds the latest few: enough to never flag one twice.
        let keep = marks.len().saturating_sub(3);
        let next = format!(",{},", marks[keep..].join(","));
        let txn = self.db.begin().await?;
        let taken = tickets::Entity::update_many()
            .col_expr(
                tickets::Column::SlaBreaches,
                sea_orm::sea_query::Expr::value(next),
            )
            .filter(tickets::Column::Id.eq(t.id))
            .filter(tickets::Column::SlaBreaches.eq(t.sla_breaches.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        if taken != 1 {
            return Ok(false);
        }
        let what = match target {
            Target::Response if t.first_response_at.is_none() => "first response",
            Target::Response => "next response",
            Target::Resolution => "resolution",
        };
        history(
            &txn,
            t.id,
            "sla_breached",
            Some(format!("{what} was due {}", due.to_rfc3339())),
            Actor::System,
        )
        .await?;
        if let Some(team) = self.config.store.staff_email.clone() {
            enqueue_email(
                &txn,
                &EmailJob {
                    to: team,
                    template: "staff_sla_breach".into(),
                    context: serde_json::json!({
                        "number": t.number, "subject": t.subject, "what": what,
                        "due": due.to_rfc3339(), "priority": t.priority,
                        "link": format!("{}/admin/tickets/{}", self.config.store_url(), t.id),
                    }),
                    lang: None,
                    thread: None,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        Calendar {
            tz: chrono_tz::Europe::Berlin,
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn business_minutes_skip_nights_and_weekends() {
        let c = calendar();
        // Friday 16:00 in Berlin (15:00 UTC in winter) + 2 h: Monday 10:00 Berlin.
        assert_eq!(
            c.add(at("2026-12-04T15:00:00Z"), 120),
            at("2026-12-07T09:00:00Z")
        );
        // Saturday: counting starts Monday 09:00.
        assert_eq!(
            c.add(at("2026-12-05T12:00:00Z"), 30),
            at("2026-12-07T08:30:00Z")
        );
        // Within the day.
        assert_eq!(
            c.add(at("2026-12-08T09:00:00Z"), 60),
            at("2026-12-08T10:00:00Z")
        );
        // Two full working days.
        assert_eq!(
            c.add(at("2026-12-08T08:00:00Z"), 16 * 60),
            at("2026-12-09T16:00:00Z")
        );
    }
}
