//! The helpdesk over HTTP: customers and guests under `/support/tickets`, staff under
//! `/admin/tickets`, canned replies and agents beside them, and the inbound-mail webhook.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use emporium_auth::{Auth, Principal, Staff, perm};
use emporium_core::error::ErrorCode;
use emporium_core::extract::{Json, Path, Query};
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::chat::Party;
use crate::inbound::{InboundOutcome, PostmarkInbound};
use crate::model::Priority;
use crate::service::{Access, Agent, Opener};
use crate::sla::{SlaBody, SlaView};
use crate::state::Support;
use crate::views::{
    AdminTicketQuery, AdminTicketView, AgentBody, AgentView, CannedReplyBody, CannedReplyView,
    ChatQuery, FilledReplyView, MergeBody, MessageBody, MessageView, NewChatBody, NewTicketBody,
    StaffMessageBody, TicketPageView, TicketPatchBody, TicketView, TokenQuery,
};

type Problem = emporium_core::error::Problem;

/// The routes of support.
pub fn router<S>() -> OpenApiRouter<S>
where
    Support: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(open_ticket, my_tickets))
        .routes(routes!(get_ticket))
        .routes(routes!(post_message))
        .routes(routes!(get_attachment))
        .routes(routes!(admin_tickets))
        .routes(routes!(admin_ticket, patch_ticket))
        .routes(routes!(staff_message))
        .routes(routes!(merge_ticket))
        .routes(routes!(admin_attachment))
        .routes(routes!(list_canned, create_canned))
        .routes(routes!(update_canned, delete_canned))
        .routes(routes!(fill_canned))
        .routes(routes!(list_agents))
        .routes(routes!(put_agent))
        .routes(routes!(open_chat))
        .routes(routes!(chat_socket))
        .routes(routes!(staff_chat_socket))
        .routes(routes!(list_sla))
        .routes(routes!(put_sla))
        .routes(routes!(inbound_postmark))
}

fn access(principal: Option<Principal>, token: Option<String>) -> AppResult<Access> {
    match (token, principal) {
        (Some(t), _) if !t.is_empty() => Ok(Access::Token(t)),
        (_, Some(p)) => Ok(Access::Customer(p.user_id)),
        _ => Err(AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "sign in, or use the ticket's link from its emails (?token=)",
        )),
    }
}

fn agent<P: emporium_auth::Permission>(staff: &Staff<P>) -> Agent {
    Agent {
        user_id: staff.user_id,
        email: staff.email.clone(),
    }
}

/// Opens a ticket. A signed-in customer's ticket is theirs (their address, their
/// orders); a guest names an email address and gets the ticket's link (`token`) in the
/// answer and by email. A receipt is emailed either way, and the ticket goes to an agent
/// with room, or waits in the queue.
#[utoipa::path(post, path = "/api/v1/support/tickets", tag = "support",
    request_body = NewTicketBody,
    responses((status = 201, body = TicketView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn open_ticket(
    State(support): State<Support>,
    principal: Option<Principal>,
    Json(body): Json<NewTicketBody>,
) -> AppResult<(StatusCode, axum::Json<TicketView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(support.open(body, opener(principal), "api").await?),
    ))
}

/// A signed-in customer opens under their account; anyone else as a guest.
fn opener(principal: Option<Principal>) -> Opener {
    match principal {
        Some(p) => Opener::Customer {
            user_id: p.user_id,
            email: p.email,
        },
        None => Opener::Guest,
    }
}

/// The signed-in customer's tickets, most recently active first.
#[utoipa::path(get, path = "/api/v1/support/tickets", tag = "support",
    params(PageQuery),
    responses((status = 200, body = TicketPageView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_tickets(
    State(support): State<Support>,
    principal: Principal,
    Query(page): Query<PageQuery>,
) -> AppResult<axum::Json<TicketPageView>> {
    let limit = page.limit()?;
    Ok(axum::Json(
        support
            .customer_tickets(principal.user_id, limit, page.cursor.as_deref())
            .await?
            .into(),
    ))
}

/// A ticket with its messages (never staff's internal notes), for its customer or the
/// holder of its link.
#[utoipa::path(get, path = "/api/v1/support/tickets/{id}", tag = "support",
    params(("id" = Uuid, Path), TokenQuery),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
async fn get_ticket(
    State(support): State<Support>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Query(q): Query<TokenQuery>,
) -> AppResult<axum::Json<TicketView>> {
    Ok(axum::Json(
        support.ticket_for(id, access(principal, q.token)?).await?,
    ))
}

/// The customer writes on their ticket: a resolved or closed ticket reopens, a snoozed
/// one wakes, and it waits for the shop again.
#[utoipa::path(post, path = "/api/v1/support/tickets/{id}/messages", tag = "support",
    params(("id" = Uuid, Path), TokenQuery), request_body = MessageBody,
    responses((status = 201, body = MessageView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn post_message(
    State(support): State<Support>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<MessageBody>,
) -> AppResult<(StatusCode, axum::Json<MessageView>)> {
    let message = support
        .customer_message(id, access(principal, q.token)?, body)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(message)))
}

/// A file as a download: `Content-Disposition: attachment` and `nosniff`, whatever it is,
/// so a file never runs as a page of the shop.
pub fn download(name: String, content_type: String, data: bytes::Bytes) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    (headers, data).into_response()
}

/// A file on the ticket's messages, for its customer or the holder of its link.
#[utoipa::path(get, path = "/api/v1/support/tickets/{id}/attachments/{file}", tag = "support",
    params(("id" = Uuid, Path), ("file" = String, Path, description = "the file's name in its URL"), TokenQuery),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
async fn get_attachment(
    State(support): State<Support>,
    principal: Option<Principal>,
    Path((id, file)): Path<(Uuid, String)>,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    let (name, content_type, data) = support
        .customer_attachment(id, access(principal, q.token)?, &file)
        .await?;
    Ok(download(name, content_type, data))
}

/// The helpdesk queue: active tickets by default (new, open, pending, snoozed), filtered
/// by status, assignee (`me`, `none`), tag or words; most recently active first.
#[utoipa::path(get, path = "/api/v1/admin/tickets", tag = "support",
    params(AdminTicketQuery),
    responses((status = 200, body = TicketPageView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_tickets(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Query(q): Query<AdminTicketQuery>,
) -> AppResult<axum::Json<TicketPageView>> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    Ok(axum::Json(
        support.admin_list(q, staff.user_id, limit).await?.into(),
    ))
}

/// A ticket with every message and note, its history, and the customer's latest orders.
#[utoipa::path(get, path = "/api/v1/admin/tickets/{id}", tag = "support",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminTicketView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_ticket(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<AdminTicketView>> {
    Ok(axum::Json(support.admin_ticket(id).await?))
}

/// Changes a ticket: status (snoozed needs `snoozed_until`), priority, assignee (`null`
/// puts it back in the queue), tags, subject. Each change is a row in its history.
#[utoipa::path(patch, path = "/api/v1/admin/tickets/{id}", tag = "support",
    params(("id" = Uuid, Path)), request_body = TicketPatchBody,
    responses((status = 200, body = AdminTicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn patch_ticket(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
    Json(body): Json<TicketPatchBody>,
) -> AppResult<axum::Json<AdminTicketView>> {
    Ok(axum::Json(support.update(id, agent(&staff), body).await?))
}

/// Staff write on a ticket: a reply, emailed to the customer in the ticket's thread
/// (its `Reply-To` brings their answer back here), or an internal note. `canned_reply_id`
/// instead of `body` sends a canned reply with its placeholders filled.
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/messages", tag = "support",
    params(("id" = Uuid, Path)), request_body = StaffMessageBody,
    responses((status = 201, body = MessageView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn staff_message(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
    Json(body): Json<StaffMessageBody>,
) -> AppResult<(StatusCode, axum::Json<MessageView>)> {
    let message = support.staff_message(id, agent(&staff), body).await?;
    Ok((StatusCode::CREATED, axum::Json(message)))
}

/// Merges this ticket into another: its messages move there, it is closed, and its link
/// and mail lead to the other from then on. Answers the ticket merged into.
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/merge", tag = "support",
    params(("id" = Uuid, Path)), request_body = MergeBody,
    responses((status = 200, body = AdminTicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn merge_ticket(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
    Json(body): Json<MergeBody>,
) -> AppResult<axum::Json<AdminTicketView>> {
    Ok(axum::Json(
        support.merge(id, agent(&staff), body.into).await?,
    ))
}

/// A file on a ticket's messages or notes.
#[utoipa::path(get, path = "/api/v1/admin/tickets/{id}/attachments/{file}", tag = "support",
    params(("id" = Uuid, Path), ("file" = String, Path, description = "the file's name in its URL")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_attachment(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path((id, file)): Path<(Uuid, String)>,
) -> AppResult<Response> {
    let (name, content_type, data) = support.admin_attachment(id, &file).await?;
    Ok(download(name, content_type, data))
}

/// The shop's canned replies, by title.
#[utoipa::path(get, path = "/api/v1/admin/canned-replies", tag = "support",
    responses((status = 200, body = Vec<CannedReplyView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_canned(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
) -> AppResult<axum::Json<Vec<CannedReplyView>>> {
    Ok(axum::Json(support.canned_replies().await?))
}

/// Adds a canned reply; its placeholders are checked now, not when it is first used.
#[utoipa::path(post, path = "/api/v1/admin/canned-replies", tag = "support",
    request_body = CannedReplyBody,
    responses((status = 201, body = CannedReplyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_canned(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Json(body): Json<CannedReplyBody>,
) -> AppResult<(StatusCode, axum::Json<CannedReplyView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(support.create_canned(body).await?),
    ))
}

/// Changes a canned reply.
#[utoipa::path(put, path = "/api/v1/admin/canned-replies/{id}", tag = "support",
    params(("id" = Uuid, Path)), request_body = CannedReplyBody,
    responses((status = 200, body = CannedReplyView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_canned(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
    Json(body): Json<CannedReplyBody>,
) -> AppResult<axum::Json<CannedReplyView>> {
    Ok(axum::Json(support.update_canned(id, body).await?))
}

/// Deletes a canned reply.
#[utoipa::path(delete, path = "/api/v1/admin/canned-replies/{id}", tag = "support",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_canned(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    support.delete_canned(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A canned reply filled for one ticket (the customer's name, the order's number...), to
/// read or edit before sending.
#[utoipa::path(get, path = "/api/v1/admin/tickets/{id}/canned-replies/{reply_id}", tag = "support",
    params(("id" = Uuid, Path), ("reply_id" = Uuid, Path)),
    responses((status = 200, body = FilledReplyView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn fill_canned(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Path((id, reply_id)): Path<(Uuid, Uuid)>,
) -> AppResult<axum::Json<FilledReplyView>> {
    let body = support.preview_canned(id, reply_id, agent(&staff)).await?;
    Ok(axum::Json(FilledReplyView { body }))
}

/// The agents: staff who are given tickets, with their capacity and what they hold.
#[utoipa::path(get, path = "/api/v1/admin/support/agents", tag = "support",
    responses((status = 200, body = Vec<AgentView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_agents(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
) -> AppResult<axum::Json<Vec<AgentView>>> {
    Ok(axum::Json(support.agents().await?))
}

/// Makes a staff member (with `tickets.manage`) an agent, or changes their capacity or
/// availability. Waiting tickets are handed out at once when that made room.
#[utoipa::path(put, path = "/api/v1/admin/support/agents/{id}", tag = "support",
    params(("id" = Uuid, Path, description = "the staff member's user id")), request_body = AgentBody,
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_agent(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path(id): Path<Uuid>,
    Json(body): Json<AgentBody>,
) -> AppResult<axum::Json<AgentView>> {
    Ok(axum::Json(support.put_agent(id, body).await?))
}

/// Starts a live chat: a ticket on channel `chat` with the shopper's first message,
/// answered with its `token`, which the chat socket takes. A signed-in customer's chat is
/// theirs; a guest names an address, where the conversation continues by email if no one
/// answers live.
#[utoipa::path(post, path = "/api/v1/support/chats", tag = "support",
    request_body = NewChatBody,
    responses((status = 201, body = TicketView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn open_chat(
    State(support): State<Support>,
    principal: Option<Principal>,
    Json(body): Json<NewChatBody>,
) -> AppResult<(StatusCode, axum::Json<TicketView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(support.open_chat(body, opener(principal)).await?),
    ))
}

/// The shopper's chat socket (WebSocket): `?ticket=&token=&after=`. It first sends every
/// message after `after`, then each new one as it is stored on any node, and the agent's
/// typing. Send `{"type": "message", "body": "..."}` or `{"type": "typing"}`. Messages
/// arrive as `{"type": "message", "seq", "author", "body", ...}`; reconnect with the last
/// `seq` seen to receive exactly what was missed.
#[utoipa::path(get, path = "/api/v1/support/chat", tag = "support",
    params(ChatQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn chat_socket(
    State(support): State<Support>,
    Query(q): Query<ChatQuery>,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    let token = q.token.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
        AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "the chat's token is required (?token=)",
        )
    })?;
    let t = support.chat_ticket(q.ticket, Some(&token)).await?;
    let after = q.after.unwrap_or(0);
    Ok(crate::chat::tuned(upgrade)
        .on_upgrade(move |socket| support.run_socket(t, Party::Customer, after, socket))
        .into_response())
}

/// An agent's chat socket on a ticket (WebSocket): the same frames as the shopper's,
/// internal notes included.
#[utoipa::path(get, path = "/api/v1/admin/support/chat", tag = "support",
    params(ChatQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn staff_chat_socket(
    State(support): State<Support>,
    staff: Staff<perm::TicketsManage>,
    Query(q): Query<ChatQuery>,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    let t = support.chat_ticket(q.ticket, None).await?;
    let after = q.after.unwrap_or(0);
    let party = Party::Staff(agent(&staff));
    Ok(crate::chat::tuned(upgrade)
        .on_upgrade(move |socket| support.run_socket(t, party, after, socket))
        .into_response())
}

/// The service levels promised per priority.
#[utoipa::path(get, path = "/api/v1/admin/support/sla", tag = "support",
    responses((status = 200, body = Vec<SlaView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_sla(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
) -> AppResult<axum::Json<Vec<SlaView>>> {
    Ok(axum::Json(support.sla_policies().await?))
}

/// Sets a priority's service level: minutes to the first answer, to each next answer and
/// to resolution, in business hours or around the clock. Active tickets of that priority
/// get their due times again; the worker flags a missed one once and emails the team.
#[utoipa::path(put, path = "/api/v1/admin/support/sla/{priority}", tag = "support",
    params(("priority" = Priority, Path)), request_body = SlaBody,
    responses((status = 200, body = SlaView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_sla(
    State(support): State<Support>,
    _staff: Staff<perm::TicketsManage>,
    Path(priority): Path<Priority>,
    Json(body): Json<SlaBody>,
) -> AppResult<axum::Json<SlaView>> {
    Ok(axum::Json(support.put_sla(priority, body).await?))
}

/// The password of an HTTP Basic `Authorization` header.
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

/// Postmark's inbound webhook: a mail to the helpdesk. Give Postmark the URL with the
/// configured secret as its Basic password
/// (`https://inbound:<secret>@shop.example/api/v1/webhooks/inbound-mail/postmark`). The
/// mail lands on its ticket, or opens one; the same mail twice is stored once. A wrong
/// password answers 403, which tells Postmark to stop retrying.
#[utoipa::path(post, path = "/api/v1/webhooks/inbound-mail/postmark", tag = "support",
    request_body = PostmarkInbound,
    responses((status = 200, body = InboundOutcome), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("basic" = [])))]
async fn inbound_postmark(
    State(support): State<Support>,
    headers: HeaderMap,
    Json(mail): Json<PostmarkInbound>,
) -> AppResult<axum::Json<InboundOutcome>> {
    let password = basic_password(&headers);
    match password.map(|p| support.inbound_secret_matches(&p)) {
        _ if support.inbound_secret_matches("").is_none() => Err(AppError::not_found(
            "inbound mail is not configured ([support] inbound_secret)",
        )),
        None => Err(AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "HTTP Basic credentials are required",
        )),
        Some(Some(true)) => Ok(axum::Json(support.receive_mail(mail).await?)),
        Some(_) => Err(AppError::forbidden("wrong inbound mail credentials")),
    }
}
