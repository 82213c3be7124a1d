//! Reading the audit log: who did what to which record, when, from where; newest first,
//! filtered by actor, action, target and time. Every service writes to it in its own
//! transaction (`emporium_core::audit`), and every staff write through the admin API is
//! recorded there as well.

use axum::extract::State;
use chrono::{DateTime, Utc};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::extract::Query;
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult};
use emporium_db::entity::audit_log;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::state::Accounts;

type Problem = emporium_core::error::Problem;

/// `GET /admin/audit-log` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// The acting user's id.
    actor: Option<Uuid>,
    /// An action (`auth.login`), or a prefix ending in `.` (`admin.products.`).
    action: Option<String>,
    /// `user`, `order`, `products`, ...
    target_type: Option<String>,
    target_id: Option<String>,
    /// RFC 3339; entries at or after.
    from: Option<String>,
    /// RFC 3339; entries before.
    to: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A page of audit entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    pub data: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

pub(crate) fn router<S>() -> OpenApiRouter<S>
where
    Accounts: axum::extract::FromRef<S>,
    Auth: axum::extract::FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

fn time(field: &str, value: Option<String>) -> AppResult<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time"))
        })
        .transpose()
}

/// The audit log, newest first (needs `audit.read`).
#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPageView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_audit_log(
    State(accounts): State<Accounts>,
    _staff: Staff<perm::AuditRead>,
    Query(q): Query<AuditQuery>,
) -> AppResult<axum::Json<AuditPageView>> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let cursor = q
        .cursor
        .map(|c| {
            c.parse::<Uuid>()
                .map_err(|_| AppError::invalid("cursor", "is not a cursor from this list"))
        })
        .transpose()?;
    let filter = AuditFilter {
        actor: q.actor,
        action: q.action,
        target_type: q.target_type,
        target_id: q.target_id,
        from: time("from", q.from)?,
        to: time("to", q.to)?,
    };
    Ok(axum::Json(
        accounts.audit_page(filter, cursor, limit).await?,
    ))
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<Uuid>,
    /// An action (`auth.login`), or a prefix ending in `.` (`admin.products.`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Accounts {
    /// Audit entries matching `filter`, newest first, after `cursor` (the last id seen).
    pub async fn audit_page(
        &self,
        filter: AuditFilter,
        cursor: Option<Uuid>,
        limit: u32,
    ) -> AppResult<AuditPageView> {
        let mut c = Condition::all();
        if let Some(actor) = filter.actor {
            c = c.add(audit_log::Column::ActorId.eq(actor));
        }
        if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
            c = c.add(match action.strip_suffix('.') {
                Some(prefix) => audit_log::Column::Action.starts_with(format!("{prefix}.")),
                None => audit_log::Column::Action.eq(action),
            });
        }
        if let Some(kind) = filter.target_type {
            c = c.add(audit_log::Column::TargetType.eq(kind));
        }
        if let Some(id) = filter.target_id {
            c = c.add(audit_log::Column::TargetId.eq(id));
        }
        if let Some(from) = filter.from {
            c = c.add(audit_log::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            c = c.add(audit_log::Column::CreatedAt.lt(to));
        }
        if let Some(after) = cursor {
            // Ids are UUIDv7: their order is the order they were written in.
            c = c.add(audit_log::Column::Id.lt(after));
        }
        let mut rows = audit_log::Entity::find()
            .filter(c)
            .order_by_desc(audit_log::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.db().reader())
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok(AuditPageView {
            data: rows
                .into_iter()
                .map(|r| AuditEntryView {
                    id: r.id,
                    actor_id: r.actor_id,
                    action: r.action,
                    target_type: r.target_type,
                    target_id: r.target_id,
                    ip: r.ip,
                    detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                    created_at: r.created_at,
                })
                .collect(),
            next_cursor,
        })
    }

    /// The email addresses of some users, by id (for showing who did what).
    pub async fn emails_of(
        &self,
        ids: &[Uuid],
    ) -> AppResult<std::collections::HashMap<Uuid, String>> {
        use emporium_db::entity::users;
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Email)
            .filter(users::Column::Id.is_in(ids.to_vec()))
            .into_tuple::<(Uuid, String)>()
            .all(self.db().reader())
            .await?
            .into_iter()
            .collect())
    }
}
