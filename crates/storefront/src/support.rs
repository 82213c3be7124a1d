//! Help in the shop: `/support`, the contact form that opens a helpdesk ticket (a
//! signed-in shopper's under their account, a guest's under the address they give), and
//! `/support/tickets/{id}`, the conversation with the shop, opened by the ticket's link
//! from its emails (or by the signed-in owner), where the shopper answers. Answers by
//! email land in the same conversation.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use emporium_core::AppError;
use emporium_support::{Access, MessageBody, NewTicketBody, Opener, TicketView};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cart::{cross_site, refused, see_other};
use crate::state::Storefront;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContactForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    order_number: String,
}

fn problem_text(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

async fn contact_page(
    sf: &Storefront,
    headers: &HeaderMap,
    status: StatusCode,
    values: Value,
    error: Option<String>,
) -> Response {
    let shopper = sf.shopper(headers).await;
    let tickets: Vec<Value> = match &shopper {
        Some(s) => sf
            .support
            .customer_tickets(s.user_id, 20, None)
            .await
            .map(|page| {
                page.data
                    .into_iter()
                    .map(|t| json!({"id": t.id, "number": t.number, "subject": t.subject,
                                    "status": t.status, "last": t.last_message_at.format("%Y-%m-%d %H:%M").to_string()}))
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    sf.page(
        status,
        "support.html",
        json!({"signed_in": shopper.as_ref().map(|s| s.email.clone()), "tickets": tickets,
               "values": values, "error": error}),
    )
    .into_response()
}

/// `GET /support`: the contact form (and a signed-in shopper's earlier requests).
pub(crate) async fn page(State(sf): State<Storefront>, headers: HeaderMap) -> Response {
    contact_page(&sf, &headers, StatusCode::OK, json!({}), None).await
}

/// `POST /support`: opens the ticket and shows its conversation.
pub(crate) async fn open(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<ContactForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let shopper = sf.shopper(&headers).await;
    let order_number = form.order_number.trim().trim_start_matches('#');
    let order_number = match order_number {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let values = json!({"email": form.email, "name": form.name, "subject": form.subject,
                                    "body": form.body, "order_number": form.order_number});
                return contact_page(
                    &sf,
                    &headers,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    values,
                    Some("order number: write the number from your confirmation, like 1042".into()),
                )
                .await;
            }
        },
    };
    let body = NewTicketBody {
        subject: form.subject.clone(),
        body: form.body.clone(),
        email: Some(form.email.clone()),
        name: Some(form.name.clone()),
        order_number,
        attachments: Vec::new(),
    };
    let opener = match &shopper {
        Some(s) => Opener::Customer {
            user_id: s.user_id,
            email: s.email.clone(),
        },
        None => Opener::Guest,
    };
    match sf.support.open(body, opener, "web").await {
        Ok(ticket) => {
            let token = ticket.token.clone().unwrap_or_default();
            let to = if token.is_empty() {
                format!("/support/tickets/{}", ticket.id)
            } else {
                format!("/support/tickets/{}?token={token}", ticket.id)
            };
            see_other(&to)
        }
        Err(err) => {
            let values = json!({"email": form.email, "name": form.name, "subject": form.subject,
                                "body": form.body, "order_number": form.order_number});
            let status = if err.status().is_server_error() {
                err.status()
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            contact_page(&sf, &headers, status, values, Some(problem_text(&err))).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    sent: Option<String>,
}

async fn access(sf: &Storefront, headers: &HeaderMap, token: Option<String>) -> Option<Access> {
    match token.filter(|t| !t.is_empty()) {
        Some(t) => Some(Access::Token(t)),
        None => sf
            .shopper(headers)
            .await
            .map(|s| Access::Customer(s.user_id)),
    }
}

fn unknown(sf: &Storefront) -> Response {
    sf.notice(
        StatusCode::NOT_FOUND,
        "We cannot find this request",
        "Use the link from the most recent email about it, or sign in to the account you wrote from.",
        "bad",
        Some(("/support", "Write to us")),
    )
    .into_response()
}

fn ticket_page(
    sf: &Storefront,
    status: StatusCode,
    t: &TicketView,
    token: Option<&str>,
    sent: bool,
    error: Option<String>,
) -> Response {
    let messages: Vec<Value> = t
        .messages
        .iter()
        .map(|m| {
            json!({"mine": m.author == "customer", "name": m.author_name, "body": m.body, "seq": m.seq,
                   "at": m.created_at.format("%Y-%m-%d %H:%M").to_string(),
                   "attachments": m.attachments.iter().map(|a| json!({"name": a.name, "url": a.url})).collect::<Vec<_>>()})
        })
        .collect();
    sf.page(
        status,
        "support_ticket.html",
        json!({"ticket": {"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                          "merged_into": t.merged_into},
               "socket": format!("/api/v1/support/chat?ticket={}&token={}", t.id, sf.support.ticket_token(t.id)),
               "last_seq": t.messages.iter().map(|m| m.seq).max().unwrap_or(0),
               "messages": messages, "token": token, "sent": sent, "error": error}),
    )
    .into_response()
}

/// `GET /support/tickets/{id}`: the conversation.
pub(crate) async fn ticket(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let Some(access) = access(&sf, &headers, q.token.clone()).await else {
        return unknown(&sf);
    };
    match sf.support.ticket_for(id, access).await {
        Ok(t) => ticket_page(
            &sf,
            StatusCode::OK,
            &t,
            q.token.as_deref(),
            q.sent.is_some(),
            None,
        ),
        Err(_) => unknown(&sf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    body: String,
}

/// `POST /support/tickets/{id}/messages`: the shopper answers.
pub(crate) async fn reply(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(form): Form<ReplyForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let token = Some(form.token.clone()).filter(|t| !t.is_empty());
    let Some(who) = access(&sf, &headers, token.clone()).await else {
        return unknown(&sf);
    };
    let back = match &token {
        Some(t) => format!("/support/tickets/{id}?token={t}&sent=1"),
        None => format!("/support/tickets/{id}?sent=1"),
    };
    let body = MessageBody {
        body: form.body.clone(),
        attachments: Vec::new(),
    };
    match sf.support.customer_message(id, who.clone(), body).await {
        Ok(_) => see_other(&back),
        Err(err) if err.status() == StatusCode::NOT_FOUND => unknown(&sf),
        Err(err) => match sf.support.ticket_for(id, who).await {
            Ok(t) => ticket_page(
                &sf,
                StatusCode::UNPROCESSABLE_ENTITY,
                &t,
                token.as_deref(),
                false,
                Some(problem_text(&err)),
            ),
            Err(_) => unknown(&sf),
        },
    }
}
