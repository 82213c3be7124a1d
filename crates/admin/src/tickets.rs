//! The helpdesk in the console: the queue (active tickets first, filtered by status,
//! assignee, tag or words), one ticket as a conversation with the customer's orders beside
//! it, where staff reply (or fill a canned reply), keep internal notes, change status,
//! priority, tags and assignee, and merge; the canned replies; and the agents with their
//! capacity. Every change goes through the support service, which keeps its history.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_core::AppError;
use emporium_support::{
    AdminTicketQuery, Agent, AgentBody, CannedReplyBody, Priority, SlaBody, StaffMessageBody,
    TicketPatchBody, TicketStatus, excerpt,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;
use crate::{after_form, explain, when};

const PERMISSION: &str = "tickets.manage";

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct QueueQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    done: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// On a ticket: the canned reply to fill into the reply box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    canned: Option<String>,
}

fn agent(console: &Console) -> Agent {
    Agent {
        user_id: console.user_id,
        email: console.email.clone(),
    }
}

/// Staff who may answer tickets (admins, and staff holding the permission), by email.
async fn answerers(admin: &Admin) -> Result<Vec<(Uuid, String)>, AppError> {
    let mut people = Vec::new();
    for role in ["admin", "staff"] {
        let (rows, _) = admin
            .accounts
            .list_users(None, Some(role), None, 200)
            .await?;
        people.extend(rows.into_iter().filter(|u| {
            let granted: Vec<String> = serde_json::from_str(&u.permissions).unwrap_or_default();
            u.role == "admin" || granted.iter().any(|g| g == PERMISSION)
        }));
    }
    let mut out: Vec<(Uuid, String)> = people.into_iter().map(|u| (u.id, u.email)).collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// `GET /admin/tickets`: the queue.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<QueueQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let status = q.status.clone().unwrap_or_else(|| "active".into());
    let query = AdminTicketQuery {
        status: Some(status.clone()),
        assignee: q.assignee.clone().filter(|a| !a.is_empty()),
        tag: q.tag.clone().filter(|t| !t.is_empty()),
        q: q.q.clone().filter(|w| !w.trim().is_empty()),
        limit: Some(50),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let page = match admin.support.admin_list(query, console.user_id, 50).await {
        Ok(page) => page,
        Err(err) => return after_form("/admin/tickets?status=active", Err(err)),
    };
    let people: HashMap<Uuid, String> = answerers(&admin)
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let (queued, mine) = admin
        .support
        .counts(console.user_id)
        .await
        .unwrap_or((0, 0));
    let rows: Vec<Value> = page
        .data
        .iter()
        .map(|t| {
            json!({"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                   "priority": t.priority, "email": t.email, "name": t.name,
                   "assignee": t.assignee_id.and_then(|a| people.get(&a).cloned()),
                   "tags": t.tags, "messages": t.message_count,
                   "waiting": t.waiting_since.map(when), "last": when(t.last_message_at)})
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        let next = QueueQuery {
            status: Some(status.clone()),
            assignee: q.assignee.clone(),
            tag: q.tag.clone(),
            q: q.q.clone(),
            cursor: Some(c),
            ..QueueQuery::default()
        };
        format!(
            "/admin/tickets?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let statuses: Vec<&str> = ["active"]
        .into_iter()
        .chain(TicketStatus::ALL.iter().map(|s| s.as_str()))
        .chain(["all"])
        .collect();
    admin
        .render(
            StatusCode::OK,
            "tickets.html",
            console.context(
                "/admin/tickets",
                json!({"title": "Tickets", "rows": rows, "next": next, "status": status,
                       "statuses": statuses, "assignee": q.assignee, "tag": q.tag, "q": q.q,
                       "queued": queued, "mine": mine, "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `GET /admin/tickets/{id}`: the conversation and everything beside it.
pub(crate) async fn detail(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(q): Query<QueueQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let t = match admin.support.admin_ticket(id).await {
        Ok(t) => t,
        Err(err) => return err.into_response(),
    };
    let people = answerers(&admin).await.unwrap_or_default();
    let names: HashMap<Uuid, String> = people.iter().cloned().collect();
    let canned = admin.support.canned_replies().await.unwrap_or_default();
    // A chosen canned reply, filled for this ticket, goes into the reply box to read or
    // edit before sending.
    let (draft, draft_error) = match q.canned.as_deref().and_then(|c| c.parse::<Uuid>().ok()) {
        Some(reply) => match admin
            .support
            .preview_canned(id, reply, agent(&console))
            .await
        {
            Ok(text) => (Some(text), None),
            Err(err) => (None, Some(explain(&err))),
        },
        None => (None, None),
    };
    let messages: Vec<Value> = t
        .messages
        .iter()
        .map(|m| {
            json!({"seq": m.seq, "author": m.author, "name": m.author_name, "body": m.body,
                   "internal": m.internal, "channel": m.channel, "at": when(m.created_at),
                   "attachments": m.attachments.iter().map(|a| json!({
                       "name": a.name, "size": a.size,
                       "url": a.url.replace("/api/v1/admin/tickets/", "/admin/tickets/")})).collect::<Vec<_>>()})
        })
        .collect();
    let history: Vec<Value> = t
        .history
        .iter()
        .map(|h| {
            let detail = h.detail.as_ref().map(|d| {
                d.parse::<Uuid>()
                    .ok()
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| d.clone())
            });
            json!({"action": h.action.replace('_', " "), "detail": detail, "actor": h.actor,
                   "by": h.actor_id.and_then(|a| names.get(&a).cloned()), "at": when(h.created_at)})
        })
        .collect();
    let orders: Vec<Value> = t
        .recent_orders
        .iter()
        .map(|o| {
            json!({"id": o.id, "number": o.number, "status": o.status, "total": o.total.to_string(),
                   "at": when(o.created_at)})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "ticket.html",
            console.context(
                "/admin/tickets",
                json!({"title": format!("#{} {}", t.number, t.subject), "ticket": {
                        "id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                        "priority": t.priority, "channel": t.channel, "email": t.email, "name": t.name,
                        "assignee_id": t.assignee_id, "tags": t.tags.join(", "),
                        "order_id": t.order_id, "order_number": t.order_number,
                        "merged_into": t.merged_into,
                        "waiting": t.waiting_since.map(when), "created_at": when(t.created_at),
                        "first_response": t.first_response_at.map(when),
                        "response_due": t.response_due.map(when),
                        "resolution_due": t.resolution_due.map(when),
                        "breaches": t.sla_breaches,
                        "snoozed_until": t.snoozed_until.map(when)},
                       "messages": messages, "history": history, "orders": orders,
                       "last_seq": t.messages.iter().map(|m| m.seq).max().unwrap_or(0),
                       "people": people.iter().map(|(id, email)| json!({"id": id, "email": email})).collect::<Vec<_>>(),
                       "statuses": TicketStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                       "priorities": Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                       "canned": canned.iter().map(|c| json!({"id": c.id, "title": c.title,
                           "preview": excerpt(&c.body, 80)})).collect::<Vec<_>>(),
                       "draft": draft, "done": q.done, "error": q.error.or(draft_error)}),
            ),
        )
        .into_response()
}

fn status_of(value: Option<&String>) -> Result<Option<TicketStatus>, AppError> {
    match value.map(String::as_str).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => TicketStatus::parse(s)
            .map(Some)
            .ok_or_else(|| AppError::invalid("status", "is not a status")),
    }
}

/// `POST /admin/tickets/{id}/messages`: a reply or an internal note.
pub(crate) async fn message(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let internal = form.get("internal").is_some_and(|v| v == "1");
    let outcome = async {
        let body = StaffMessageBody {
            body: Some(form.get("body").cloned().unwrap_or_default()),
            canned_reply_id: None,
            internal,
            status: status_of(form.get("status"))?,
            attachments: Vec::new(),
        };
        admin
            .support
            .staff_message(id, agent(&console), body)
            .await?;
        Ok(if internal {
            "Note kept for staff.".to_string()
        } else {
            "Reply sent to the customer.".to_string()
        })
    }
    .await;
    after_form(&format!("/admin/tickets/{id}"), outcome)
}

/// `POST /admin/tickets/{id}`: status, priority, assignee, tags.
pub(crate) async fn update(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let outcome = async {
        let assignee = match form.get("assignee").map(String::as_str) {
            None => None,
            Some("") => Some(None),
            Some("me") => Some(Some(console.user_id)),
            Some(id) => {
                Some(Some(id.parse::<Uuid>().map_err(|_| {
                    AppError::invalid("assignee", "is not a staff member")
                })?))
            }
        };
        let snoozed_until = match form
            .get("snoozed_until")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            // `datetime-local` gives minutes without a zone: read as UTC, as shown.
            Some(local) => Some(
                chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
                    .map_err(|_| AppError::invalid("snoozed_until", "is not a date and time"))?
                    .and_utc(),
            ),
            None => None,
        };
        let patch = TicketPatchBody {
            status: status_of(form.get("status"))?,
            priority: match form
                .get("priority")
                .map(String::as_str)
                .filter(|p| !p.is_empty())
            {
                Some(p) => Some(
                    Priority::parse(p)
                        .ok_or_else(|| AppError::invalid("priority", "is not a priority"))?,
                ),
                None => None,
            },
            assignee_id: assignee,
            tags: form.get("tags").map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            snoozed_until,
            subject: None,
        };
        admin.support.update(id, agent(&console), patch).await?;
        Ok("Saved.".to_string())
    }
    .await;
    after_form(&format!("/admin/tickets/{id}"), outcome)
}

/// `POST /admin/tickets/{id}/merge`: into the ticket numbered in the form.
pub(crate) async fn merge(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let number = form
        .get("into")
        .map(|n| n.trim().trim_start_matches('#').to_string())
        .unwrap_or_default();
    let target = async {
        let q = AdminTicketQuery {
            status: Some("all".into()),
            q: Some(number.clone()),
            ..AdminTicketQuery::default()
        };
        let found = admin.support.admin_list(q, console.user_id, 1).await?;
        match (number.parse::<i64>(), found.data.first()) {
            (Ok(n), Some(t)) if t.number == n => Ok(t.id),
            _ => Err(AppError::invalid("into", "no such ticket number")),
        }
    }
    .await;
    match target {
        Ok(into) => {
            let outcome = admin
                .support
                .merge(id, agent(&console), into)
                .await
                .map(|_| "Merged: this is the ticket they became.".to_string());
            match outcome {
                Ok(done) => after_form(&format!("/admin/tickets/{into}"), Ok(done)),
                Err(err) => after_form(&format!("/admin/tickets/{id}"), Err(err)),
            }
        }
        Err(err) => after_form(&format!("/admin/tickets/{id}"), Err(err)),
    }
}

/// `GET /admin/tickets/{id}/attachments/{file}`: a file, as a download.
pub(crate) async fn attachment(
    State(admin): State<Admin>,
    console: Console,
    Path((id, file)): Path<(Uuid, String)>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    match admin.support.admin_attachment(id, &file).await {
        Ok((name, content_type, data)) => emporium_support::download(name, content_type, data),
        Err(err) => err.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LiveQuery {
    #[serde(default)]
    after: Option<i32>,
}

/// `GET /admin/tickets/{id}/live`: the ticket's chat socket for the console (its session
/// cookie signs it in; a handshake from another site is refused).
pub(crate) async fn live(
    State(admin): State<Admin>,
    console: Console,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(q): Query<LiveQuery>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host)
        && origin.split_once("://").map(|(_, h)| h) != Some(host)
    {
        return (StatusCode::FORBIDDEN, "cross-site socket refused").into_response();
    }
    let t = match admin.support.chat_ticket(id, None).await {
        Ok(t) => t,
        Err(err) => return err.into_response(),
    };
    let support = admin.support.clone();
    let party = emporium_support::Party::Staff(agent(&console));
    emporium_support::tuned(upgrade)
        .on_upgrade(move |socket| support.run_socket(t, party, q.after.unwrap_or(0), socket))
        .into_response()
}

/// `GET /admin/tickets/settings`: canned replies and agents.
pub(crate) async fn settings(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<QueueQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let canned = admin.support.canned_replies().await.unwrap_or_default();
    let agents = admin.support.agents().await.unwrap_or_default();
    let policies = admin.support.sla_policies().await.unwrap_or_default();
    let sla: Vec<Value> = Priority::ALL
        .iter()
        .map(|p| {
            let found = policies.iter().find(|s| s.priority == *p);
            json!({"priority": p.as_str(),
                   "first": found.and_then(|s| s.first_response_minutes),
                   "next": found.and_then(|s| s.next_response_minutes),
                   "resolution": found.and_then(|s| s.resolution_minutes),
                   "business_hours": found.is_none_or(|s| s.business_hours)})
        })
        .collect();
    let people = answerers(&admin).await.unwrap_or_default();
    let rows: Vec<Value> = people
        .iter()
        .map(|(id, email)| {
            let a = agents.iter().find(|a| a.user_id == *id);
            json!({"id": id, "email": email, "agent": a.is_some(),
                   "capacity": a.map_or(i64::from(admin.config.support.default_capacity), |a| i64::from(a.capacity)),
                   "available": a.is_some_and(|a| a.available),
                   "open": a.map_or(0, |a| a.open_tickets)})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "ticket_settings.html",
            console.context(
                "/admin/tickets",
                json!({"title": "Helpdesk settings",
                       "canned": canned.iter().map(|c| json!({"id": c.id, "title": c.title, "body": c.body})).collect::<Vec<_>>(),
                       "agents": rows, "sla": sla, "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/tickets/canned`: a new canned reply, or with `id` a change (or with
/// `delete` its removal).
pub(crate) async fn save_canned(
    State(admin): State<Admin>,
    console: Console,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let id = form.get("id").and_then(|i| i.parse::<Uuid>().ok());
    let body = CannedReplyBody {
        title: form.get("title").cloned().unwrap_or_default(),
        body: form.get("body").cloned().unwrap_or_default(),
    };
    let outcome = match (id, form.contains_key("delete")) {
        (Some(id), true) => admin
            .support
            .delete_canned(id)
            .await
            .map(|_| "Deleted.".to_string()),
        (Some(id), false) => admin
            .support
            .update_canned(id, body)
            .await
            .map(|_| "Saved.".to_string()),
        (None, _) => admin
            .support
            .create_canned(body)
            .await
            .map(|c| format!("Added \"{}\".", c.title)),
    };
    after_form("/admin/tickets/settings", outcome)
}

/// `POST /admin/tickets/sla/{priority}`: a priority's service level (empty boxes promise
/// nothing).
pub(crate) async fn save_sla(
    State(admin): State<Admin>,
    console: Console,
    Path(priority): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let outcome = async {
        let priority = Priority::parse(&priority)
            .ok_or_else(|| AppError::invalid("priority", "is not a priority"))?;
        let minutes = |name: &str| -> Result<Option<u32>, AppError> {
            match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| AppError::invalid(name, "is a number of minutes")),
            }
        };
        let body = SlaBody {
            first_response_minutes: minutes("first_response_minutes")?,
            next_response_minutes: minutes("next_response_minutes")?,
            resolution_minutes: minutes("resolution_minutes")?,
            business_hours: form.get("business_hours").is_some_and(|v| v == "1"),
        };
        admin.support.put_sla(priority, body).await?;
        Ok(format!(
            "Saved the {} priority's service level.",
            priority.as_str()
        ))
    }
    .await;
    after_form("/admin/tickets/settings", outcome)
}

/// `POST /admin/tickets/agents/{id}`: whether a staff member takes tickets, and how many.
pub(crate) async fn save_agent(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let capacity = form
        .get("capacity")
        .and_then(|c| c.trim().parse::<u32>().ok());
    let outcome = admin
        .support
        .put_agent(
            id,
            AgentBody {
                capacity,
                available: Some(form.get("available").is_some_and(|v| v == "1")),
            },
        )
        .await
        .map(|a| {
            format!(
                "Saved: {} ticket{} at most, {}.",
                a.capacity,
                if a.capacity == 1 { "" } else { "s" },
                if a.available {
                    "taking new ones"
                } else {
                    "taking none"
                }
            )
        });
    after_form("/admin/tickets/settings", outcome)
}
