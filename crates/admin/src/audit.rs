//! The audit log in the console: who did what, when, from where, newest first, filtered
//! by action (or an action prefix such as `admin.order.`) and kept in the URL.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_accounts::{AuditEntryView, AuditFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// Entries as the pages show them, with each actor's email.
pub(crate) async fn rows(admin: &Admin, entries: &[AuditEntryView]) -> Vec<Value> {
    let ids: Vec<Uuid> = entries.iter().filter_map(|e| e.actor_id).collect();
    let emails = admin.accounts.emails_of(&ids).await.unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let who = e
                .actor_id
                .map(|id| emails.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                .unwrap_or_else(|| "system".into());
            let target = match (&e.target_type, &e.target_id) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                (Some(kind), None) => kind.clone(),
                _ => String::new(),
            };
            json!({
                "at": e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                "who": who, "action": e.action, "target": target,
                "ip": e.ip.clone().unwrap_or_default(),
                "detail": if e.detail.as_object().is_some_and(|o| o.is_empty()) { String::new() } else { e.detail.to_string() },
            })
        })
        .collect()
}

/// `GET /admin/audit`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<AuditQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, "audit.read") {
        return page.into_response();
    }
    let action = q
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from);
    let cursor = q.cursor.as_deref().and_then(|c| c.parse::<Uuid>().ok());
    let filter = AuditFilter {
        action: action.clone(),
        ..AuditFilter::default()
    };
    let page = match admin.accounts.audit_page(filter, cursor, 50).await {
        Ok(page) => page,
        Err(err) => return err.into_response(),
    };
    let next = page.next_cursor.as_ref().map(|c| {
        let next = AuditQuery {
            action: action.clone(),
            cursor: Some(c.clone()),
        };
        format!(
            "/admin/audit?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let entries = rows(&admin, &page.data).await;
    admin
        .render(
            StatusCode::OK,
            "audit.html",
            console.context(
                "/admin/audit",
                json!({"title": "Audit log", "entries": entries, "next": next,
                       "action": action.unwrap_or_default()}),
            ),
        )
        .into_response()
}
