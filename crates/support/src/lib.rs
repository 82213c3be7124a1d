//! Support: the helpdesk. A ticket is a customer's question and everything said about it:
//! opened on the storefront, by API or by email; answered by staff (with canned replies
//! whose placeholders are filled per ticket), who also keep internal notes; every change
//! (status, priority, tags, assignment, merge) a row in its history.
//!
//! Mail in both directions: a staff reply goes out through the outbox with a `Message-ID`
//! of ours, `References` to the thread, and a per-ticket `Reply-To`
//! (`support+t1042-<signature>@shop`). An incoming mail (Postmark's inbound webhook) finds
//! its ticket by that signed address first, then by `In-Reply-To`/`References`, then by
//! the `[#1042]` tag in its subject from the ticket's own sender; only then does it open
//! a new ticket. A reply to a resolved or closed ticket reopens it: never a duplicate.
//!
//! Assignment: agents (staff with a capacity and an "available" switch) are given new
//! and reopened tickets round-robin, least recently assigned first, while they hold fewer
//! open tickets than their capacity; a ticket no one has room for waits in the queue and
//! is handed out the moment someone has room (a ticket of theirs resolved, pending or
//! snoozed, capacity raised, or an agent becoming available).
//!
//! Owns: `tickets`, `ticket_messages`, `ticket_history`, `canned_replies`,
//! `support_agents`. May call: `core`, `db`, `auth`, `notify` (mail), `catalog` (the media
//! store, for attachments), `orders` (the order a ticket is about, a customer's orders).
//! Events: publishes `ticket.created`, `ticket.message_added`, `ticket.status_changed`.

mod attachments;
mod chat;
mod inbound;
mod model;
mod routes;
mod service;
mod sla;
mod state;
mod views;

pub use chat::{Hub, Party, tuned};
pub use inbound::{InboundOutcome, PostmarkInbound};
pub use model::{Priority, TicketStatus, excerpt};
pub use routes::{download, router};
pub use service::{Access, Agent, Opener};
pub use sla::{Calendar, SlaBody, SlaView};
pub use state::Support;
pub use views::{
    AdminTicketQuery, AdminTicketView, AgentBody, AgentView, AttachmentBody, AttachmentView,
    CannedReplyBody, CannedReplyView, HistoryView, MergeBody, MessageBody, MessageView,
    NewTicketBody, StaffMessageBody, TicketPatchBody, TicketSummaryView, TicketView,
};
