//! What the helpdesk takes and answers over HTTP.

use chrono::{DateTime, Utc};
use emporium_db::entity::{
    canned_replies, support_agents, ticket_history, ticket_messages, tickets,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::attachments::Stored;
use crate::model::{Priority, TicketStatus, tags_of};

/// A file sent with a message, base64-encoded (its type is read from its content).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "invoice.pdf", "content_base64": "JVBERi0xLjcKJcOkw7zDtsOfCg=="})))]
pub struct AttachmentBody {
    pub name: String,
    pub content_base64: String,
}

/// A customer's new ticket. Signed-in customers are known by their token; a guest gives
/// an email address, to which the ticket's link and every answer are sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "subject": "Where is my parcel?",
    "body": "Hello, my order has not arrived yet. Could you check?",
    "email": "jane@example.com",
    "name": "Jane Doe",
    "order_number": 1042
})))]
pub struct NewTicketBody {
    /// 1 to 200 characters.
    pub subject: String,
    /// 1 to 20,000 characters.
    pub body: String,
    /// A guest's address (a signed-in customer's own address is used otherwise).
    pub email: Option<String>,
    pub name: Option<String>,
    /// The order the question is about: one of the customer's own (by account, or for a
    /// guest by the order's email).
    pub order_number: Option<i64>,
    #[serde(default)]
    pub attachments: Vec<AttachmentBody>,
}

/// A shopper starts a live chat: the first message, and for a guest an address to
/// continue by email when no one answers live.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"body": "Hi! Does the wool hat come in navy?", "email": "jane@example.com", "name": "Jane"})))]
pub struct NewChatBody {
    pub body: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Where a chat socket starts: the ticket, its link's token (shoppers), and the last
/// message sequence the client holds (it receives everything after).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatQuery {
    pub ticket: Uuid,
    pub token: Option<String>,
    /// The last `seq` the client has; 0 (default) for the whole conversation.
    pub after: Option<i32>,
}

/// The customer's next message on their ticket.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"body": "Thank you, it arrived today."})))]
pub struct MessageBody {
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentBody>,
}

/// Staff's message on a ticket: a reply the customer receives by email, or an internal
/// note. The words come from `body`, or from a canned reply with its placeholders filled
/// for this ticket.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "body": "Hello Jane, your parcel left our warehouse this morning.",
    "internal": false,
    "status": "pending"
})))]
pub struct StaffMessageBody {
    pub body: Option<String>,
    pub canned_reply_id: Option<Uuid>,
    /// A note for staff only (default: a reply to the customer).
    #[serde(default)]
    pub internal: bool,
    /// The status after this message. Default: `pending` after a reply (the customer's
    /// move), unchanged after a note (a new ticket becomes `open`).
    pub status: Option<TicketStatus>,
    #[serde(default)]
    pub attachments: Vec<AttachmentBody>,
}

/// Present and `null` is not the same as absent: `"assignee_id": null` unassigns.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a ticket; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"status": "open", "priority": "high", "tags": ["delivery", "vip"]})))]
pub struct TicketPatchBody {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// A staff member's id; `null` unassigns (the ticket goes back to the queue).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
    /// The whole set of tags.
    pub tags: Option<Vec<String>>,
    /// With status `snoozed`: when it wakes up (also on the customer's reply).
    pub snoozed_until: Option<DateTime<Utc>>,
    pub subject: Option<String>,
}

/// Merges this ticket into another: its messages move there, it is closed and points at
/// the other, and mail to it lands in the other from then on.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"into": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8e"})))]
pub struct MergeBody {
    pub into: Uuid,
}

/// A canned reply. Placeholders: `{{customer.name}}`, `{{customer.first_name}}`,
/// `{{customer.email}}`, `{{ticket.number}}`, `{{ticket.subject}}`, `{{order.number}}`,
/// `{{agent.email}}`, `{{shop}}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "title": "Parcel on its way",
    "body": "Hello {{customer.first_name}}, order #{{order.number}} left our warehouse today."
})))]
pub struct CannedReplyBody {
    pub title: String,
    pub body: String,
}

/// An agent's settings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"capacity": 8, "available": true})))]
pub struct AgentBody {
    /// Open tickets held at most (1 to 1,000); default the store's.
    pub capacity: Option<u32>,
    /// Whether new tickets may be assigned to them now.
    pub available: Option<bool>,
}

/// The queue's filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminTicketQuery {
    /// `new`, `open`, `pending`, `snoozed`, `resolved`, `closed`, or `active` (the first
    /// four; the default).
    pub status: Option<String>,
    /// `me`, `none` (the queue) or a staff member's id.
    pub assignee: Option<String>,
    pub tag: Option<String>,
    /// A ticket number (`1042` or `#1042`), or words of the subject or the customer's
    /// email.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A guest's ticket link: `?token=` from the ticket's emails.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    pub token: Option<String>,
}

/// A file on a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    pub name: String,
    pub content_type: String,
    pub size: usize,
    /// Where to fetch it (with the same credentials as the ticket).
    pub url: String,
}

/// One message of a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub seq: i32,
    /// `customer`, `staff` or `system`.
    pub author: String,
    pub author_name: Option<String>,
    pub body: String,
    pub internal: bool,
    /// `web`, `api` or `email`.
    pub channel: String,
    pub attachments: Vec<AttachmentView>,
    pub created_at: DateTime<Utc>,
}

/// A ticket as its customer sees it (never staff's notes, tags or assignment).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub email: String,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageView>,
    /// For a guest who just opened the ticket: the secret of its link
    /// (`?token=`), to keep. Also emailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Set when staff merged this ticket into another: read that one.
    pub merged_into: Option<Uuid>,
}

/// A line of a ticket list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketSummaryView {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub email: String,
    pub name: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub message_count: i32,
    /// Since when the customer waits for an answer, if they do.
    pub waiting_since: Option<DateTime<Utc>>,
    pub last_message_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One change of a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    pub action: String,
    pub detail: Option<String>,
    /// `customer`, `staff` or `system`.
    pub actor: String,
    pub actor_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A ticket as staff see it: everything, with its history and the customer's recent
/// orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminTicketView {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    /// `web`, `api` or `email`: how it was opened.
    pub channel: String,
    pub email: String,
    pub name: Option<String>,
    pub customer_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub order_number: Option<i64>,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub merged_into: Option<Uuid>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the SLA wants the next answer by (none when the shop answered or no policy
    /// applies).
    pub response_due: Option<DateTime<Utc>>,
    /// When the SLA wants it resolved by.
    pub resolution_due: Option<DateTime<Utc>>,
    /// The targets missed lately (`response`, `resolution`).
    pub sla_breaches: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageView>,
    pub history: Vec<HistoryView>,
    /// The customer's latest orders (by account, else by email), newest first.
    pub recent_orders: Vec<emporium_orders::OrderSummaryView>,
}

/// A canned reply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CannedReplyView {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

/// An agent and how much they hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentView {
    pub user_id: Uuid,
    pub capacity: i32,
    pub available: bool,
    /// Their tickets that are new or open now.
    pub open_tickets: u64,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

pub(crate) fn message_view(m: ticket_messages::Model, url_base: &str, query: &str) -> MessageView {
    let stored: Vec<Stored> = serde_json::from_str(&m.attachments).unwrap_or_default();
    MessageView {
        attachments: stored
            .into_iter()
            .map(|s| AttachmentView {
                url: format!("{url_base}/attachments/{}{query}", s.file),
                name: s.name,
                content_type: s.content_type,
                size: s.size,
            })
            .collect(),
        id: m.id,
        seq: m.seq,
        author: m.author,
        author_name: m.author_name,
        body: m.body,
        internal: m.internal,
        channel: m.channel,
        created_at: m.created_at,
    }
}

pub(crate) fn status_of(t: &tickets::Model) -> TicketStatus {
    TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Open)
}

pub(crate) fn priority_of(t: &tickets::Model) -> Priority {
    Priority::parse(&t.priority).unwrap_or(Priority::Normal)
}

pub(crate) fn summary_view(t: tickets::Model) -> TicketSummaryView {
    TicketSummaryView {
        status: status_of(&t),
        priority: priority_of(&t),
        tags: tags_of(&t.tags),
        id: t.id,
        number: t.number,
        subject: t.subject,
        email: t.email,
        name: t.name,
        assignee_id: t.assignee_id,
        message_count: t.message_count,
        waiting_since: t.waiting_since,
        last_message_at: t.last_message_at,
        created_at: t.created_at,
    }
}

pub(crate) fn history_view(h: ticket_history::Model) -> HistoryView {
    HistoryView {
        action: h.action,
        detail: h.detail,
        actor: h.actor,
        actor_id: h.actor_id,
        created_at: h.created_at,
    }
}

pub(crate) fn canned_view(c: canned_replies::Model) -> CannedReplyView {
    CannedReplyView {
        id: c.id,
        title: c.title,
        body: c.body,
        updated_at: c.updated_at,
    }
}

pub(crate) fn agent_view(a: support_agents::Model, open_tickets: u64) -> AgentView {
    AgentView {
        user_id: a.user_id,
        capacity: a.capacity,
        available: a.available,
        open_tickets,
        last_assigned_at: a.last_assigned_at,
    }
}

/// A page of tickets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketPageView {
    pub data: Vec<TicketSummaryView>,
    pub next_cursor: Option<String>,
}

impl From<emporium_core::pagination::Page<TicketSummaryView>> for TicketPageView {
    fn from(page: emporium_core::pagination::Page<TicketSummaryView>) -> Self {
        Self {
            data: page.data,
            next_cursor: page.next_cursor,
        }
    }
}

/// A canned reply filled for one ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilledReplyView {
    pub body: String,
}
