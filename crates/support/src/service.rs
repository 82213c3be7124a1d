//! Opening, answering and changing tickets. Each change runs in one transaction with its
//! history row, its event and, for what the customer should read, its email in the
//! outbox; assignment runs in the same transaction as whatever freed or needed an agent.

use chrono::{DateTime, Utc};
use emporium_auth::allows;
use emporium_core::crypto::{constant_time_eq, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, TicketCreated, TicketMessageAdded, TicketStatusChanged};
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::pagination::Page;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{
    canned_replies, support_agents, ticket_history, ticket_messages, tickets,
};
use emporium_notify::{EmailJob, MailThread, enqueue_email};
use emporium_orders::OrderFilter;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::attachments::Stored;
use crate::model::{Priority, TicketStatus, tags_column};
use crate::state::Support;
use crate::views::{
    AdminTicketQuery, AdminTicketView, AgentBody, AgentView, CannedReplyBody, CannedReplyView,
    MessageBody, MessageView, NewTicketBody, StaffMessageBody, TicketPatchBody, TicketSummaryView,
    TicketView, agent_view, canned_view, history_view, message_view, priority_of, status_of,
    summary_view,
};

/// Who opens a ticket.
#[derive(Debug, Clone)]
pub enum Opener {
    /// A signed-in customer (their account's address is the ticket's).
    Customer { user_id: Uuid, email: String },
    /// A guest, who names their address in the request.
    Guest,
}

/// How a customer reaches their ticket.
#[derive(Debug, Clone)]
pub enum Access {
    /// Signed in: their own tickets only.
    Customer(Uuid),
    /// The secret of the ticket's link (`?token=`), from its emails.
    Token(String),
}

/// A staff member at work on tickets.
#[derive(Debug, Clone)]
pub struct Agent {
    pub user_id: Uuid,
    pub email: String,
}

/// Who did something, as history records it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Actor {
    Customer(Option<Uuid>),
    Staff(Uuid),
    System,
}

impl Actor {
    fn kind(self) -> &'static str {
        match self {
            Self::Customer(_) => "customer",
            Self::Staff(_) => "staff",
            Self::System => "system",
        }
    }

    fn id(self) -> Option<Uuid> {
        match self {
            Self::Customer(id) => id,
            Self::Staff(id) => Some(id),
            Self::System => None,
        }
    }
}

/// A message about to be written.
pub(crate) struct NewMessage {
    pub actor: Actor,
    pub author_name: Option<String>,
    pub body: String,
    pub internal: bool,
    pub channel: &'static str,
    pub mail_message_id: Option<String>,
    pub attachments: Vec<Stored>,
}

pub(crate) const MAX_BODY: usize = 20_000;

fn check_subject(errors: &mut Vec<FieldError>, subject: &str) {
    let n = subject.trim().chars().count();
    if n == 0 || n > 200 {
        errors.push(FieldError::new("subject", "must be 1 to 200 characters"));
    }
}

pub(crate) fn check_body(errors: &mut Vec<FieldError>, body: &str) {
    let n = body.trim().chars().count();
    if n == 0 || n > MAX_BODY {
        errors.push(FieldError::new(
            "body",
            format!("must be 1 to {MAX_BODY} characters"),
        ));
    }
}

fn valid_email(email: &str) -> bool {
    let email = email.trim();
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}

/// A page cursor of the queue: the last row's `last_message_at` (ms) and id.
fn parse_cursor(cursor: Option<&str>) -> AppResult<Option<(DateTime<Utc>, Uuid)>> {
    let Some(raw) = cursor else { return Ok(None) };
    let bad = || AppError::invalid("cursor", "is not a cursor this list gave");
    let (ms, id) = raw.split_once('_').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let at = DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(bad)?;
    Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
}

fn cursor_of(t: &tickets::Model) -> String {
    format!("{}_{}", t.last_message_at.timestamp_millis(), t.id)
}

/// The next ticket number: a sequence on PostgreSQL, MAX + 1 under SQLite's single writer.
async fn next_number<C: ConnectionTrait>(conn: &C) -> AppResult<i64> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT nextval('ticket_numbers') AS n",
        _ => "SELECT COALESCE(MAX(number), 1000) + 1 AS n FROM tickets",
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("ticket number query returned nothing"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

pub(crate) async fn history<C: ConnectionTrait>(
    conn: &C,
    ticket: Uuid,
    action: &str,
    detail: Option<String>,
    actor: Actor,
) -> AppResult<()> {
    ticket_history::Entity::insert(ticket_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(ticket),
        action: Set(action.to_string()),
        detail: Set(detail.map(|d| d.chars().take(1000).collect())),
        actor: Set(actor.kind().to_string()),
        actor_id: Set(actor.id()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl Support {
    /// The secret of a ticket's link and reply address: a signature of its id under the
    /// master key, so it is made again for every email without being stored.
    pub(crate) fn token_for(&self, ticket: Uuid) -> String {
        self.key.sign(format!("ticket:{ticket}").as_bytes(), 32)
    }

    /// The secret of ticket `id`'s link, for a page that opens its chat socket.
    pub fn ticket_token(&self, id: Uuid) -> String {
        self.token_for(id)
    }

    /// The helpdesk's address, split at its `@`.
    fn address(&self) -> (String, String) {
        let raw = self
            .config
            .support
            .reply_address
            .clone()
            .unwrap_or_else(|| self.config.mail_from.clone());
        // `Shop <help@shop.example>` or a bare address.
        let bare = raw
            .rsplit_once('<')
            .map_or(raw.as_str(), |(_, rest)| rest.trim_end_matches('>'))
            .trim()
            .to_string();
        match bare.split_once('@') {
            Some((local, domain)) => (
                local.split('+').next().unwrap_or(local).to_string(),
                domain.to_string(),
            ),
            None => ("support".into(), "localhost".into()),
        }
    }

    /// Where the customer's answers to this ticket's mail go: `local+t1042-<token>@domain`.
    pub(crate) fn reply_address(&self, t: &tickets::Model) -> String {
        let (local, domain) = self.address();
        format!("{local}+t{}-{}@{domain}", t.number, self.token_for(t.id))
    }

    /// The ticket's page, for the customer, with its secret.
    pub(crate) fn link(&self, t: &tickets::Model) -> String {
        format!(
            "{}/support/tickets/{}?token={}",
            self.config.store_url(),
            t.id,
            self.token_for(t.id)
        )
    }

    fn mail_id(&self, ticket: Uuid, message: Uuid) -> String {
        format!("<ticket-{ticket}-{message}@{}>", self.address().1)
    }

    /// Whether `token` opens ticket `t` (compared in constant time).
    pub(crate) fn token_opens(&self, t: &tickets::Model, token: &str) -> bool {
        constant_time_eq(token_hash(token).as_bytes(), t.access_hash.as_bytes())
    }

    pub(crate) async fn find<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
    ) -> AppResult<tickets::Model> {
        tickets::Entity::find_by_id(id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such ticket"))
    }

    /// The ticket a merged one points at (a few hops at most), or itself.
    pub(crate) async fn current<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut t: tickets::Model,
    ) -> AppResult<tickets::Model> {
        for _ in 0..8 {
            match t.merged_into {
                Some(into) => t = self.find(conn, into).await?,
                None => break,
            }
        }
        Ok(t)
    }

    /// The ticket `access` opens (404 otherwise, whether it exists or not).
    async fn reachable<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
        access: &Access,
    ) -> AppResult<tickets::Model> {
        let t = self.find(conn, id).await?;
        let ok = match access {
            Access::Customer(user) => t.customer_id == Some(*user),
            Access::Token(token) => self.token_opens(&t, token),
        };
        if ok {
            Ok(t)
        } else {
            Err(AppError::not_found("no such ticket"))
        }
    }

    /// Writes a message: its sequence number comes from the ticket's count, raised by a
    /// row update that also serialises concurrent messages on the ticket.
    pub(crate) async fn add_message<C: ConnectionTrait>(
        &self,
        conn: &C,
        ticket: Uuid,
        m: NewMessage,
    ) -> AppResult<ticket_messages::Model> {
        let now = Utc::now();
        tickets::Entity::update_many()
            .col_expr(
                tickets::Column::MessageCount,
                Expr::col(tickets::Column::MessageCount).add(1),
            )
            .col_expr(tickets::Column::LastMessageAt, Expr::value(now))
            .col_expr(tickets::Column::UpdatedAt, Expr::value(now))
            .filter(tickets::Column::Id.eq(ticket))
            .exec(conn)
            .await?;
        let seq = self.find(conn, ticket).await?.message_count;
        let message = ticket_messages::ActiveModel {
            id: Set(Uuid::now_v7()),
            ticket_id: Set(ticket),
            seq: Set(seq),
            author: Set(m.actor.kind().into()),
            author_id: Set(m.actor.id()),
            author_name: Set(m.author_name),
            body: Set(m.body.trim().to_string()),
            internal: Set(m.internal),
            channel: Set(m.channel.into()),
            mail_message_id: Set(m.mail_message_id),
            attachments: Set(serde_json::to_string(&m.attachments).map_err(anyhow::Error::from)?),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
        self.announce_in(conn, ticket).await?;
        events::publish(
            conn,
            TicketMessageAdded {
                ticket_id: ticket,
                message_id: message.id,
                seq,
                author: message.author.clone(),
                internal: message.internal,
            },
        )
        .await?;
        Ok(message)
    }

    /// Moves a ticket to `to` with its history row and event; nothing when it is there.
    pub(crate) async fn set_status<C: ConnectionTrait>(
        &self,
        conn: &C,
        t: &tickets::Model,
        to: TicketStatus,
        snoozed_until: Option<DateTime<Utc>>,
        actor: Actor,
    ) -> AppResult<tickets::Model> {
        let from = status_of(t);
        if from == to && to != TicketStatus::Snoozed {
            return Ok(t.clone());
        }
        let now = Utc::now();
        let mut row: tickets::ActiveModel = t.clone().into();
        row.status = Set(to.as_str().into());
        row.snoozed_until = Set((to == TicketStatus::Snoozed)
            .then_some(snoozed_until)
            .flatten());
        if to.is_done() {
            row.resolved_at = Set(Some(now));
        } else if from.is_done() {
            row.resolved_at = Set(None);
        }
        row.updated_at = Set(now);
        let updated = row.update(conn).await?;
        let action = if from.is_done() && !to.is_done() {
            "reopened"
        } else {
            "status"
        };
        let detail = match snoozed_until.filter(|_| to == TicketStatus::Snoozed) {
            Some(until) => format!(
                "{} -> {} until {}",
                from.as_str(),
                to.as_str(),
                until.to_rfc3339()
            ),
            None => format!("{} -> {}", from.as_str(), to.as_str()),
        };
        history(conn, t.id, action, Some(detail), actor).await?;
        events::publish(
            conn,
            TicketStatusChanged {
                ticket_id: t.id,
                from: from.as_str().into(),
                to: to.as_str().into(),
            },
        )
        .await?;
        Ok(updated)
    }

    /// Opens a ticket on the web or by API: the customer's first message, its history,
    /// its events, a receipt by email with the ticket's link, and an agent if one has
    /// room.
    pub async fn open(
        &self,
        body: NewTicketBody,
        opener: Opener,
        channel: &'static str,
    ) -> AppResult<TicketView> {
        let mut errors = Vec::new();
        check_subject(&mut errors, &body.subject);
        check_body(&mut errors, &body.body);
        let (customer_id, email) = match &opener {
            Opener::Customer { user_id, email } => (Some(*user_id), email.clone()),
            Opener::Guest => {
                let email = body.email.clone().unwrap_or_default().trim().to_lowercase();
                if !valid_email(&email) {
                    errors.push(FieldError::new(
                        "email",
                        "a guest gives a valid email address",
                    ));
                }
                (None, email)
            }
        };
        if body
            .name
            .as_deref()
            .is_some_and(|n| n.chars().count() > 200)
        {
            errors.push(FieldError::new("name", "at most 200 characters"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let order_id = match body.order_number {
            None => None,
            Some(number) => Some(self.own_order(number, customer_id, &email).await?),
        };
        let id = Uuid::now_v7();
        let attachments = self.store_attachments(id, &body.attachments).await?;
        let txn = self.db.begin().await?;
        let t = self
            .insert_ticket(
                &txn,
                id,
                body.subject.trim(),
                channel,
                &email,
                body.name.clone().filter(|n| !n.trim().is_empty()),
                customer_id,
                order_id,
            )
            .await?;
        let receipt_id =
            (self.config.support.acknowledge).then(|| self.mail_id(t.id, Uuid::now_v7()));
        let message = self
            .add_message(
                &txn,
                t.id,
                NewMessage {
                    actor: Actor::Customer(customer_id),
                    author_name: t.name.clone(),
                    body: body.body.clone(),
                    internal: false,
                    channel,
                    // The receipt's id: a reply to the receipt threads here.
                    mail_message_id: receipt_id.clone(),
                    attachments,
                },
            )
            .await?;
        if let Some(receipt_id) = receipt_id {
            enqueue_email(
                &txn,
                &EmailJob {
                    to: t.email.clone(),
                    template: "ticket_received".into(),
                    context: serde_json::json!({
                        "name": t.name, "number": t.number, "subject": t.subject,
                        "body": message.body, "link": self.link(&t),
                    }),
                    lang: Some(t.lang.clone()),
                    thread: Some(MailThread {
                        reply_to: Some(self.reply_address(&t)),
                        message_id: Some(receipt_id),
                        references: Vec::new(),
                    }),
                },
            )
            .await?;
        }
        let t = self.find(&txn, t.id).await?;
        self.schedule(&txn, &t).await?;
        self.assign_queued(&txn).await?;
        let t = self.find(&txn, t.id).await?;
        txn.commit().await?;
        self.announced(t.id);
        let mut view = self.customer_view(t, vec![message], None);
        if matches!(opener, Opener::Guest) {
            view.token = Some(self.token_for(view.id));
        }
        Ok(view)
    }

    /// The order numbered `number` if it is the customer's (by account, or for a guest by
    /// the order's email); 422 otherwise, never saying whose it is.
    async fn own_order(&self, number: i64, customer: Option<Uuid>, email: &str) -> AppResult<Uuid> {
        let refuse = || AppError::invalid("order_number", "no such order among yours");
        let id = self.orders.id_by_number(number).await?.ok_or_else(refuse)?;
        let order = self.orders.find(self.db.writer(), id).await?;
        let mine = match customer {
            Some(c) => order.customer_id == Some(c),
            None => order.email.eq_ignore_ascii_case(email),
        };
        if mine { Ok(order.id) } else { Err(refuse()) }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_ticket<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
        subject: &str,
        channel: &'static str,
        email: &str,
        name: Option<String>,
        customer_id: Option<Uuid>,
        order_id: Option<Uuid>,
    ) -> AppResult<tickets::Model> {
        let now = Utc::now();
        let number = next_number(conn).await?;
        let t = tickets::ActiveModel {
            id: Set(id),
            number: Set(number),
            subject: Set(subject.chars().take(200).collect()),
            status: Set(TicketStatus::New.as_str().into()),
            priority: Set(Priority::Normal.as_str().into()),
            channel: Set(channel.into()),
            email: Set(email.to_string()),
            name: Set(name.map(|n| n.chars().take(200).collect())),
            customer_id: Set(customer_id),
            order_id: Set(order_id),
            assignee_id: Set(None),
            tags: Set(String::new()),
            access_hash: Set(token_hash(&self.token_for(id))),
            lang: Set(self.config.store.default_language.clone()),
            merged_into: Set(None),
            snoozed_until: Set(None),
            waiting_since: Set(Some(now)),
            first_response_at: Set(None),
            resolved_at: Set(None),
            response_due: Set(None),
            resolution_due: Set(None),
            sla_breaches: Set(String::new()),
            message_count: Set(0),
            last_message_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?;
        history(
            conn,
            id,
            "opened",
            Some(format!("by {channel}")),
            Actor::Customer(customer_id),
        )
        .await?;
        events::publish(
            conn,
            TicketCreated {
                ticket_id: id,
                number,
                channel: channel.into(),
                customer_id: customer_id.map(CustomerId),
                order_id: order_id.map(OrderId),
            },
        )
        .await?;
        Ok(t)
    }

    /// What the customer may read of a ticket.
    fn customer_view(
        &self,
        t: tickets::Model,
        messages: Vec<ticket_messages::Model>,
        token: Option<&str>,
    ) -> TicketView {
        let base = format!("/api/v1/support/tickets/{}", t.id);
        let query = token.map(|tk| format!("?token={tk}")).unwrap_or_default();
        TicketView {
            status: status_of(&t),
            id: t.id,
            number: t.number,
            subject: t.subject,
            email: t.email,
            order_id: t.order_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
            messages: messages
                .into_iter()
                .filter(|m| !m.internal)
                .map(|mut m| {
                    // Staff answer as the shop: their own address is not the customer's.
                    if m.author == "staff" {
                        m.author_name = None;
                    }
                    message_view(m, &base, &query)
                })
                .collect(),
            token: None,
            merged_into: t.merged_into,
        }
    }

    async fn messages_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        ticket: Uuid,
    ) -> AppResult<Vec<ticket_messages::Model>> {
        Ok(ticket_messages::Entity::find()
            .filter(ticket_messages::Column::TicketId.eq(ticket))
            .order_by_asc(ticket_messages::Column::CreatedAt)
            .order_by_asc(ticket_messages::Column::Seq)
            .all(conn)
            .await?)
    }

    /// A customer's tickets, most recently active first.
    pub async fn customer_tickets(
        &self,
        user_id: Uuid,
        limit: u32,
        cursor: Option<&str>,
    ) -> AppResult<Page<TicketSummaryView>> {
        let mut find = tickets::Entity::find()
            .filter(tickets::Column::CustomerId.eq(user_id))
            .filter(tickets::Column::MergedInto.is_null());
        if let Some((at, id)) = parse_cursor(cursor)? {
            find = find.filter(
                Condition::any()
                    .add(tickets::Column::LastMessageAt.lt(at))
                    .add(
                        Condition::all()
                            .add(tickets::Column::LastMessageAt.eq(at))
                            .add(tickets::Column::Id.lt(id)),
                    ),
            );
        }
        let rows = find
            .order_by_desc(tickets::Column::LastMessageAt)
            .order_by_desc(tickets::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.db.writer())
            .await?;
        Ok(Page::of_rows(rows, limit, cursor_of, |t| {
            let mut s = summary_view(t);
            // Staff's workings are not the customer's business.
            s.assignee_id = None;
            s.tags = Vec::new();
            s
        }))
    }

    /// A ticket as its customer reads it.
    pub async fn ticket_for(&self, id: Uuid, access: Access) -> AppResult<TicketView> {
        let conn = self.db.writer();
        let t = self.reachable(conn, id, &access).await?;
        let messages = self.messages_of(conn, t.id).await?;
        let token = match &access {
            Access::Token(tk) => Some(tk.as_str()),
            Access::Customer(_) => None,
        };
        Ok(self.customer_view(t, messages, token))
    }

    /// The customer writes on their ticket (the one it was merged into, if it was): it
    /// reopens when done, wakes when snoozed, and waits for the shop again.
    pub async fn customer_message(
        &self,
        id: Uuid,
        access: Access,
        body: MessageBody,
    ) -> AppResult<MessageView> {
        let mut errors = Vec::new();
        check_body(&mut errors, &body.body);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let t = self.reachable(self.db.writer(), id, &access).await?;
        let t = self.current(self.db.writer(), t).await?;
        let attachments = self.store_attachments(t.id, &body.attachments).await?;
        let txn = self.db.begin().await?;
        let message = self
            .customer_writes(
                &txn,
                &t,
                NewMessage {
                    actor: Actor::Customer(t.customer_id),
                    author_name: t.name.clone(),
                    body: body.body,
                    internal: false,
                    channel: "web",
                    mail_message_id: None,
                    attachments,
                },
            )
            .await?;
        txn.commit().await?;
        self.announced(t.id);
        let token = match &access {
            Access::Token(_) => Some(self.token_for(t.id)),
            Access::Customer(_) => None,
        };
        let query = token.map(|tk| format!("?token={tk}")).unwrap_or_default();
        Ok(message_view(
            message,
            &format!("/api/v1/support/tickets/{}", t.id),
            &query,
        ))
    }

    /// The customer's message on `t` (from the web or by mail) and what it does to the
    /// ticket's state.
    pub(crate) async fn customer_writes<C: ConnectionTrait>(
        &self,
        conn: &C,
        t: &tickets::Model,
        m: NewMessage,
    ) -> AppResult<ticket_messages::Model> {
        let message = self.add_message(conn, t.id, m).await?;
        let t = self.find(conn, t.id).await?;
        let status = status_of(&t);
        let t = if status == TicketStatus::New || status == TicketStatus::Open {
            t
        } else {
            self.set_status(
                conn,
                &t,
                TicketStatus::Open,
                None,
                Actor::Customer(t.customer_id),
            )
            .await?
        };
        let t = if t.waiting_since.is_none() {
            let mut row: tickets::ActiveModel = t.into();
            row.waiting_since = Set(Some(message.created_at));
            row.update(conn).await?
        } else {
            t
        };
        self.schedule(conn, &t).await?;
        self.assign_queued(conn).await?;
        Ok(message)
    }

    /// The queue: filtered, most recently active first.
    pub async fn admin_list(
        &self,
        q: AdminTicketQuery,
        me: Uuid,
        limit: u32,
    ) -> AppResult<Page<TicketSummaryView>> {
        let mut c = Condition::all().add(tickets::Column::MergedInto.is_null());
        match q.status.as_deref().map(str::trim).unwrap_or("active") {
            "active" | "" => {
                c = c.add(tickets::Column::Status.is_in(["new", "open", "pending", "snoozed"]))
            }
            "all" => {}
            s => {
                let status = TicketStatus::parse(s).ok_or_else(|| {
                    AppError::invalid(
                        "status",
                        "new, open, pending, snoozed, resolved, closed, active or all",
                    )
                })?;
                c = c.add(tickets::Column::Status.eq(status.as_str()));
            }
        }
        match q.assignee.as_deref().map(str::trim) {
            None | Some("") | Some("any") => {}
            Some("me") => c = c.add(tickets::Column::AssigneeId.eq(me)),
            Some("none") => c = c.add(tickets::Column::AssigneeId.is_null()),
            Some(id) => {
                let id = Uuid::parse_str(id).map_err(|_| {
                    AppError::invalid("assignee", "me, none, any or a staff member's id")
                })?;
                c = c.add(tickets::Column::AssigneeId.eq(id));
            }
        }
        if let Some(tag) = q.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let clean = tags_column(&[tag.to_string()]).map_err(|m| AppError::invalid("tag", m))?;
            c = c.add(tickets::Column::Tags.like(emporium_core::like::contains(&clean)));
        }
        if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            c = c.add(match words.trim_start_matches('#').parse::<i64>() {
                Ok(number) => Condition::all().add(tickets::Column::Number.eq(number)),
                Err(_) => {
                    let pattern = emporium_core::like::contains(&words.to_lowercase());
                    Condition::any()
                        .add(
                            Expr::expr(Func::lower(Expr::col(tickets::Column::Subject)))
                                .like(pattern.clone()),
                        )
                        .add(
                            Expr::expr(Func::lower(Expr::col(tickets::Column::Email)))
                                .like(pattern),
                        )
                }
            });
        }
        if let Some((at, id)) = parse_cursor(q.cursor.as_deref())? {
            c = c.add(
                Condition::any()
                    .add(tickets::Column::LastMessageAt.lt(at))
                    .add(
                        Condition::all()
                            .add(tickets::Column::LastMessageAt.eq(at))
                            .add(tickets::Column::Id.lt(id)),
                    ),
            );
        }
        let rows = tickets::Entity::find()
            .filter(c)
            .order_by_desc(tickets::Column::LastMessageAt)
            .order_by_desc(tickets::Column::Id)
            .limit(u64::from(limit) + 1)
            .all(self.db.writer())
            .await?;
        Ok(Page::of_rows(rows, limit, cursor_of, summary_view))
    }

    /// A ticket with everything staff need beside it.
    pub async fn admin_ticket(&self, id: Uuid) -> AppResult<AdminTicketView> {
        let conn = self.db.writer();
        let t = self.find(conn, id).await?;
        let messages = self.messages_of(conn, id).await?;
        let history = ticket_history::Entity::find()
            .filter(ticket_history::Column::TicketId.eq(id))
            .order_by_asc(ticket_history::Column::CreatedAt)
            .order_by_asc(ticket_history::Column::Id)
            .all(conn)
            .await?;
        let order_number = match t.order_id {
            Some(o) => Some(self.orders.find(conn, OrderId(o)).await?.number),
            None => None,
        };
        let filter = match t.customer_id {
            Some(c) => OrderFilter {
                customer_id: Some(c),
                ..OrderFilter::default()
            },
            None => OrderFilter {
                email: Some(t.email.clone()),
                ..OrderFilter::default()
            },
        };
        let recent_orders = self.orders.admin_orders(filter, None, 5).await?.data;
        let base = format!("/api/v1/admin/tickets/{}", t.id);
        Ok(AdminTicketView {
            status: status_of(&t),
            priority: priority_of(&t),
            tags: crate::model::tags_of(&t.tags),
            id: t.id,
            number: t.number,
            subject: t.subject,
            channel: t.channel,
            email: t.email,
            name: t.name,
            customer_id: t.customer_id,
            order_id: t.order_id,
            order_number,
            assignee_id: t.assignee_id,
            merged_into: t.merged_into,
            snoozed_until: t.snoozed_until,
            waiting_since: t.waiting_since,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            response_due: t.response_due,
            resolution_due: t.resolution_due,
            sla_breaches: t
                .sla_breaches
                .split(',')
                .filter_map(|m| m.split('@').next())
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            messages: messages
                .into_iter()
                .map(|m| message_view(m, &base, ""))
                .collect(),
            history: history.into_iter().map(history_view).collect(),
            recent_orders,
        })
    }

    /// Staff write on a ticket: a reply emailed to the customer in the ticket's thread, or
    /// an internal note.
    pub async fn staff_message(
        &self,
        id: Uuid,
        agent: Agent,
        body: StaffMessageBody,
    ) -> AppResult<MessageView> {
        self.staff_post(id, agent, body, "web").await
    }

    /// An agent's chat message: like a reply, but the shopper reads it live, so it is not
    /// emailed.
    pub(crate) async fn staff_writes(
        &self,
        id: Uuid,
        agent: Agent,
        body: String,
        channel: &'static str,
    ) -> AppResult<MessageView> {
        let body = StaffMessageBody {
            body: Some(body),
            canned_reply_id: None,
            internal: false,
            status: None,
            attachments: Vec::new(),
        };
        self.staff_post(id, agent, body, channel).await
    }

    async fn staff_post(
        &self,
        id: Uuid,
        agent: Agent,
        body: StaffMessageBody,
        channel: &'static str,
    ) -> AppResult<MessageView> {
        let t = self.find(self.db.writer(), id).await?;
        if t.merged_into.is_some() {
            return Err(AppError::conflict(
                ErrorCode::InvalidState,
                "this ticket was merged into another: write there",
            ));
        }
        let text = match (&body.body, body.canned_reply_id) {
            (Some(text), None) => text.clone(),
            (None, Some(canned)) => self.render_canned(canned, &t, &agent).await?,
            _ => {
                return Err(AppError::invalid(
                    "body",
                    "give either body or canned_reply_id",
                ));
            }
        };
        let mut errors = Vec::new();
        check_body(&mut errors, &text);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let attachments = self.store_attachments(t.id, &body.attachments).await?;
        let txn = self.db.begin().await?;
        let emailed = !body.internal && channel != "chat";
        let message_id = emailed.then(|| self.mail_id(t.id, Uuid::now_v7()));
        // The thread so far, oldest first: every message that travelled by mail.
        let references: Vec<String> = self
            .messages_of(&txn, t.id)
            .await?
            .into_iter()
            .filter_map(|m| m.mail_message_id)
            .collect();
        let message = self
            .add_message(
                &txn,
                t.id,
                NewMessage {
                    actor: Actor::Staff(agent.user_id),
                    author_name: Some(agent.email.clone()),
                    body: text,
                    internal: body.internal,
                    channel,
                    mail_message_id: message_id.clone(),
                    attachments,
                },
            )
            .await?;
        let mut t = self.find(&txn, t.id).await?;
        if !body.internal {
            let mut row: tickets::ActiveModel = t.clone().into();
            if t.first_response_at.is_none() {
                row.first_response_at = Set(Some(message.created_at));
            }
            row.waiting_since = Set(None);
            t = row.update(&txn).await?;
        }
        if emailed {
            enqueue_email(
                &txn,
                &EmailJob {
                    to: t.email.clone(),
                    template: "ticket_reply".into(),
                    context: serde_json::json!({
                        "name": t.name, "number": t.number, "subject": t.subject,
                        "body": message.body, "link": self.link(&t),
                        "attachments": !message.attachments.is_empty() && message.attachments != "[]",
                    }),
                    lang: Some(t.lang.clone()),
                    thread: Some(MailThread {
                        reply_to: Some(self.reply_address(&t)),
                        message_id,
                        references,
                    }),
                },
            )
            .await?;
        }
        let next = match (body.status, body.internal, status_of(&t)) {
            (Some(s), _, _) => s,
            (None, false, _) => TicketStatus::Pending,
            (None, true, TicketStatus::New) => TicketStatus::Open,
            (None, true, current) => current,
        };
        let t = self
            .set_status(&txn, &t, next, None, Actor::Staff(agent.user_id))
            .await?;
        self.schedule(&txn, &t).await?;
        self.assign_queued(&txn).await?;
        txn.commit().await?;
        self.announced(t.id);
        Ok(message_view(
            message,
            &format!("/api/v1/admin/tickets/{}", t.id),
            "",
        ))
    }

    /// Changes a ticket's status, priority, assignee, tags or subject, each with its
    /// history row.
    pub async fn update(
        &self,
        id: Uuid,
        agent: Agent,
        patch: TicketPatchBody,
    ) -> AppResult<AdminTicketView> {
        let actor = Actor::Staff(agent.user_id);
        let tags = match &patch.tags {
            Some(tags) => Some(tags_column(tags).map_err(|m| AppError::invalid("tags", m))?),
            None => None,
        };
        if let Some(subject) = &patch.subject {
            let mut errors = Vec::new();
            check_subject(&mut errors, subject);
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
        }
        if patch.status == Some(TicketStatus::Snoozed)
            && patch.snoozed_until.is_none_or(|u| u <= Utc::now())
        {
            return Err(AppError::invalid(
                "snoozed_until",
                "a snoozed ticket needs a time in the future to wake up",
            ));
        }
        if let Some(Some(assignee)) = patch.assignee_id {
            self.check_agent(assignee, "assignee_id").await?;
        }
        let txn = self.db.begin().await?;
        let mut t = self.find(&txn, id).await?;
        if t.merged_into.is_some() {
            return Err(AppError::conflict(
                ErrorCode::InvalidState,
                "this ticket was merged into another",
            ));
        }
        if let Some(status) = patch.status {
            t = self
                .set_status(&txn, &t, status, patch.snoozed_until, actor)
                .await?;
        }
        let mut row: tickets::ActiveModel = t.clone().into();
        let mut changed = false;
        if let Some(p) = patch.priority.filter(|p| p.as_str() != t.priority) {
            history(
                &txn,
                id,
                "priority",
                Some(format!("{} -> {}", t.priority, p.as_str())),
                actor,
            )
            .await?;
            row.priority = Set(p.as_str().into());
            changed = true;
        }
        if let Some(tags) = tags.filter(|tags| *tags != t.tags) {
            let shown = crate::model::tags_of(&tags).join(", ");
            history(&txn, id, "tags", Some(shown), actor).await?;
            row.tags = Set(tags);
            changed = true;
        }
        if let Some(subject) = patch
            .subject
            .map(|s| s.trim().to_string())
            .filter(|s| *s != t.subject)
        {
            history(&txn, id, "subject", Some(subject.clone()), actor).await?;
            row.subject = Set(subject);
            changed = true;
        }
        if let Some(assignee) = patch.assignee_id.filter(|a| *a != t.assignee_id) {
            history(
                &txn,
                id,
                if assignee.is_some() {
                    "assigned"
                } else {
                    "unassigned"
                },
                assignee.map(|a| a.to_string()),
                actor,
            )
            .await?;
            row.assignee_id = Set(assignee);
            changed = true;
        }
        let t = if changed {
            row.updated_at = Set(Utc::now());
            row.update(&txn).await?
        } else {
            t
        };
        self.schedule(&txn, &t).await?;
        self.assign_queued(&txn).await?;
        txn.commit().await?;
        self.admin_ticket(id).await
    }

    /// Whether `user` may hold tickets: an active staff member with `tickets.manage`.
    async fn check_agent(&self, user: Uuid, field: &str) -> AppResult<()> {
        let access = self.auth.directory().access(user).await?;
        match access {
            Some(a) if a.active && allows(a.role, &a.permissions, "tickets.manage") => Ok(()),
            _ => Err(AppError::invalid(
                field,
                "no such active staff member with tickets.manage",
            )),
        }
    }

    /// Merges ticket `id` into `into`: its messages move over (after the other's), it is
    /// closed and points there, and both histories say so.
    pub async fn merge(&self, id: Uuid, agent: Agent, into: Uuid) -> AppResult<AdminTicketView> {
        if id == into {
            return Err(AppError::invalid(
                "into",
                "a ticket cannot be merged into itself",
            ));
        }
        let actor = Actor::Staff(agent.user_id);
        let txn = self.db.begin().await?;
        let source = self.find(&txn, id).await?;
        let target = self.find(&txn, into).await?;
        if source.merged_into.is_some() || target.merged_into.is_some() {
            return Err(AppError::conflict(
                ErrorCode::InvalidState,
                "a merged ticket cannot be merged again",
            ));
        }
        let moved = self.messages_of(&txn, id).await?;
        let count = moved.len() as i32;
        // Reserve the target's sequence numbers first, then renumber the moved messages
        // into them, oldest first.
        tickets::Entity::update_many()
            .col_expr(
                tickets::Column::MessageCount,
                Expr::col(tickets::Column::MessageCount).add(count),
            )
            .col_expr(tickets::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(tickets::Column::Id.eq(into))
            .exec(&txn)
            .await?;
        let target = self.find(&txn, into).await?;
        let first = target.message_count - count + 1;
        for (i, m) in moved.into_iter().enumerate() {
            let mut row: ticket_messages::ActiveModel = m.into();
            row.ticket_id = Set(into);
            row.seq = Set(first + i as i32);
            row.update(&txn).await?;
        }
        if source.last_message_at > target.last_message_at {
            let mut row: tickets::ActiveModel = target.clone().into();
            row.last_message_at = Set(source.last_message_at);
            row.update(&txn).await?;
        }
        let source = self
            .set_status(&txn, &source, TicketStatus::Closed, None, actor)
            .await?;
        let mut row: tickets::ActiveModel = source.clone().into();
        row.merged_into = Set(Some(into));
        row.message_count = Set(0);
        row.waiting_since = Set(None);
        row.update(&txn).await?;
        history(
            &txn,
            id,
            "merged",
            Some(format!("into #{}", target.number)),
            actor,
        )
        .await?;
        history(
            &txn,
            into,
            "merged",
            Some(format!("#{} merged in", source.number)),
            actor,
        )
        .await?;
        let target = self.find(&txn, into).await?;
        self.schedule(&txn, &target).await?;
        self.assign_queued(&txn).await?;
        txn.commit().await?;
        self.admin_ticket(into).await
    }

    /// Snoozed tickets whose time came are open again. Answers how many woke.
    pub async fn wake_snoozed(&self, now: DateTime<Utc>) -> AppResult<u64> {
        let due = tickets::Entity::find()
            .filter(tickets::Column::Status.eq(TicketStatus::Snoozed.as_str()))
            .filter(tickets::Column::SnoozedUntil.lte(now))
            .limit(200)
            .all(self.db.writer())
            .await?;
        let mut woke = 0;
        for t in due {
            let txn = self.db.begin().await?;
            // Guarded: another node may have woken it, or the customer answered.
            let still = self.find(&txn, t.id).await?;
            if still.status == TicketStatus::Snoozed.as_str() {
                let woke_up = self
                    .set_status(&txn, &still, TicketStatus::Open, None, Actor::System)
                    .await?;
                self.schedule(&txn, &woke_up).await?;
                self.assign_queued(&txn).await?;
                woke += 1;
            }
            txn.commit().await?;
        }
        Ok(woke)
    }

    /// Hands waiting tickets to agents with room: round-robin, least recently assigned
    /// first, until no one has room or nothing waits.
    pub(crate) async fn assign_queued<C: ConnectionTrait>(&self, conn: &C) -> AppResult<()> {
        let mut agents = support_agents::Entity::find()
            .filter(support_agents::Column::Available.eq(true))
            .all(conn)
            .await?;
        if agents.is_empty() {
            return Ok(());
        }
        loop {
            let loads = self.loads(conn).await?;
            agents.sort_by_key(|a| (a.last_assigned_at.is_some(), a.last_assigned_at, a.user_id));
            let Some(agent) = agents
                .iter()
                .find(|a| loads.get(&a.user_id).copied().unwrap_or(0) < i64::from(a.capacity))
                .cloned()
            else {
                return Ok(());
            };
            let Some(waiting) = tickets::Entity::find()
                .filter(tickets::Column::AssigneeId.is_null())
                .filter(tickets::Column::MergedInto.is_null())
                .filter(tickets::Column::Status.is_in(["new", "open"]))
                .order_by_asc(tickets::Column::CreatedAt)
                .order_by_asc(tickets::Column::Id)
                .one(conn)
                .await?
            else {
                return Ok(());
            };
            let now = Utc::now();
            let taken = tickets::Entity::update_many()
                .col_expr(tickets::Column::AssigneeId, Expr::value(agent.user_id))
                .col_expr(tickets::Column::UpdatedAt, Expr::value(now))
                .filter(tickets::Column::Id.eq(waiting.id))
                .filter(tickets::Column::AssigneeId.is_null())
                .exec(conn)
                .await?
                .rows_affected;
            if taken == 1 {
                history(
                    conn,
                    waiting.id,
                    "assigned",
                    Some(agent.user_id.to_string()),
                    Actor::System,
                )
                .await?;
            }
            let mut row: support_agents::ActiveModel = agent.clone().into();
            row.last_assigned_at = Set(Some(now));
            let updated = row.update(conn).await?;
            if let Some(a) = agents.iter_mut().find(|a| a.user_id == updated.user_id) {
                *a = updated;
            }
        }
    }

    /// Each agent's tickets that hold them (new or open).
    async fn loads<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> AppResult<std::collections::HashMap<Uuid, i64>> {
        let rows: Vec<(Option<Uuid>, i64)> = tickets::Entity::find()
            .select_only()
            .column(tickets::Column::AssigneeId)
            .column_as(tickets::Column::Id.count(), "n")
            .filter(tickets::Column::AssigneeId.is_not_null())
            .filter(tickets::Column::Status.is_in(["new", "open"]))
            .group_by(tickets::Column::AssigneeId)
            .into_tuple()
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, n)| id.map(|id| (id, n)))
            .collect())
    }

    /// The agents, with what each holds now.
    pub async fn agents(&self) -> AppResult<Vec<AgentView>> {
        let conn = self.db.writer();
        let loads = self.loads(conn).await?;
        let rows = support_agents::Entity::find()
            .order_by_asc(support_agents::Column::UserId)
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let load = std::cmp::max(loads.get(&a.user_id).copied().unwrap_or(0), 0) as u64;
                agent_view(a, load)
            })
            .collect())
    }

    /// Makes a staff member an agent or changes their settings; waiting tickets are handed
    /// out at once if that made room.
    pub async fn put_agent(&self, user: Uuid, body: AgentBody) -> AppResult<AgentView> {
        if body.capacity.is_some_and(|c| !(1..=1000).contains(&c)) {
            return Err(AppError::invalid("capacity", "must be 1 to 1000"));
        }
        self.check_agent(user, "id").await?;
        let txn = self.db.begin().await?;
        let now = Utc::now();
        let existing = support_agents::Entity::find_by_id(user).one(&txn).await?;
        let default = self.config.support.default_capacity.clamp(1, 1000) as i32;
        match existing {
            Some(a) => {
                let mut row: support_agents::ActiveModel = a.into();
                if let Some(c) = body.capacity {
                    row.capacity = Set(c as i32);
                }
                if let Some(av) = body.available {
                    row.available = Set(av);
                }
                row.updated_at = Set(now);
                row.update(&txn).await?;
            }
            None => {
                support_agents::ActiveModel {
                    user_id: Set(user),
                    capacity: Set(body.capacity.map_or(default, |c| c as i32)),
                    available: Set(body.available.unwrap_or(true)),
                    last_assigned_at: Set(None),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
            }
        }
        self.assign_queued(&txn).await?;
        txn.commit().await?;
        self.agents()
            .await?
            .into_iter()
            .find(|a| a.user_id == user)
            .ok_or_else(|| AppError::not_found("no such agent"))
    }

    /// The canned replies, by title.
    pub async fn canned_replies(&self) -> AppResult<Vec<CannedReplyView>> {
        Ok(canned_replies::Entity::find()
            .order_by_asc(canned_replies::Column::Title)
            .all(self.db.writer())
            .await?
            .into_iter()
            .map(canned_view)
            .collect())
    }

    fn check_canned(body: &CannedReplyBody) -> AppResult<()> {
        let mut errors = Vec::new();
        let n = body.title.trim().chars().count();
        if n == 0 || n > 200 {
            errors.push(FieldError::new("title", "must be 1 to 200 characters"));
        }
        check_body(&mut errors, &body.body);
        if errors.is_empty()
            && let Err(e) = minijinja::Environment::new().template_from_str(&body.body)
        {
            errors.push(FieldError::new(
                "body",
                format!(
                    "the placeholders do not read: {}",
                    e.detail().unwrap_or("syntax error")
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }

    pub async fn create_canned(&self, body: CannedReplyBody) -> AppResult<CannedReplyView> {
        Self::check_canned(&body)?;
        let now = Utc::now();
        let row = canned_replies::ActiveModel {
            id: Set(Uuid::now_v7()),
            title: Set(body.title.trim().into()),
            body: Set(body.body),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db.writer())
        .await?;
        Ok(canned_view(row))
    }

    pub async fn update_canned(
        &self,
        id: Uuid,
        body: CannedReplyBody,
    ) -> AppResult<CannedReplyView> {
        Self::check_canned(&body)?;
        let row = canned_replies::Entity::find_by_id(id)
            .one(self.db.writer())
            .await?
            .ok_or_else(|| AppError::not_found("no such canned reply"))?;
        let mut row: canned_replies::ActiveModel = row.into();
        row.title = Set(body.title.trim().into());
        row.body = Set(body.body);
        row.updated_at = Set(Utc::now());
        Ok(canned_view(row.update(self.db.writer()).await?))
    }

    pub async fn delete_canned(&self, id: Uuid) -> AppResult<()> {
        let gone = canned_replies::Entity::delete_by_id(id)
            .exec(self.db.writer())
            .await?
            .rows_affected;
        if gone == 0 {
            return Err(AppError::not_found("no such canned reply"));
        }
        Ok(())
    }

    /// A canned reply with its placeholders filled for ticket `t`: the customer's name,
    /// the ticket, its order, the agent and the shop. An unknown placeholder is empty.
    pub async fn render_canned(
        &self,
        id: Uuid,
        t: &tickets::Model,
        agent: &Agent,
    ) -> AppResult<String> {
        let canned = canned_replies::Entity::find_by_id(id)
            .one(self.db.writer())
            .await?
            .ok_or_else(|| AppError::invalid("canned_reply_id", "no such canned reply"))?;
        let order_number = match t.order_id {
            Some(o) => Some(self.orders.find(self.db.writer(), OrderId(o)).await?.number),
            None => None,
        };
        let name = t.name.clone().unwrap_or_default();
        let context = serde_json::json!({
            "customer": {
                "name": name,
                "first_name": name.split_whitespace().next().unwrap_or(""),
                "email": t.email,
            },
            "ticket": {"number": t.number, "subject": t.subject},
            "order": {"number": order_number},
            "agent": {"email": agent.email},
            "shop": self.config.shop_name(),
        });
        let mut env = minijinja::Environment::new();
        // A placeholder this ticket has no value for (no order) is empty, not an error.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.render_str(&canned.body, context).map_err(|e| {
            AppError::invalid(
                "canned_reply_id",
                format!("the canned reply does not render: {e}"),
            )
        })
    }

    /// The canned reply filled for a ticket, for the console's reply box.
    pub async fn preview_canned(
        &self,
        ticket: Uuid,
        canned: Uuid,
        agent: Agent,
    ) -> AppResult<String> {
        let t = self.find(self.db.writer(), ticket).await?;
        self.render_canned(canned, &t, &agent).await
    }

    /// What a message recorded about `file` of ticket `ticket`.
    pub(crate) async fn attachment_meta(
        &self,
        ticket: Uuid,
        file: &str,
    ) -> AppResult<Option<Stored>> {
        let messages = ticket_messages::Entity::find()
            .filter(ticket_messages::Column::TicketId.eq(ticket))
            .filter(ticket_messages::Column::Attachments.like(emporium_core::like::contains(file)))
            .all(self.db.writer())
            .await?;
        Ok(messages.into_iter().find_map(|m| {
            serde_json::from_str::<Vec<Stored>>(&m.attachments)
                .ok()?
                .into_iter()
                .find(|s| s.file == file)
        }))
    }

    /// An attachment the customer may fetch (hidden on internal notes).
    pub async fn customer_attachment(
        &self,
        id: Uuid,
        access: Access,
        file: &str,
    ) -> AppResult<(String, String, bytes::Bytes)> {
        let t = self.reachable(self.db.writer(), id, &access).await?;
        let internal_only = ticket_messages::Entity::find()
            .filter(ticket_messages::Column::TicketId.eq(t.id))
            .filter(ticket_messages::Column::Internal.eq(false))
            .filter(ticket_messages::Column::Attachments.like(emporium_core::like::contains(file)))
            .count(self.db.writer())
            .await?
            == 0;
        if internal_only {
            return Err(AppError::not_found("no such file"));
        }
        self.file_of(t.id, file).await
    }

    /// An attachment for staff.
    pub async fn admin_attachment(
        &self,
        id: Uuid,
        file: &str,
    ) -> AppResult<(String, String, bytes::Bytes)> {
        self.file_of(id, file).await
    }

    async fn file_of(&self, ticket: Uuid, file: &str) -> AppResult<(String, String, bytes::Bytes)> {
        match self.attachment(ticket, file).await? {
            Some((meta, data)) => Ok((meta.name, meta.content_type, data)),
            None => Err(AppError::not_found("no such file")),
        }
    }

    /// Counts for the console's menu: tickets waiting in the queue and those of `me`.
    pub async fn counts(&self, me: Uuid) -> AppResult<(u64, u64)> {
        let conn = self.db.writer();
        let queue = tickets::Entity::find()
            .filter(tickets::Column::AssigneeId.is_null())
            .filter(tickets::Column::MergedInto.is_null())
            .filter(tickets::Column::Status.is_in(["new", "open"]))
            .count(conn)
            .await?;
        let mine = tickets::Entity::find()
            .filter(tickets::Column::AssigneeId.eq(me))
            .filter(tickets::Column::Status.is_in(["new", "open"]))
            .count(conn)
            .await?;
        Ok((queue, mine))
    }
}
