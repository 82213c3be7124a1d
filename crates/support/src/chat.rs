//! Live chat. A chat is a ticket (channel `chat`) whose messages also travel over a
//! WebSocket: the shopper's page and the agent's console each hold one, on any node.
//!
//! Every message is stored (with its per-ticket sequence number) before anyone is told
//! about it, and what travels between nodes is only "ticket T has news" or "someone types
//! on T": a socket that hears it reads the messages after the last one it sent from the
//! database. So a lost signal delays a message until the next one, and a client that
//! reconnects to any node with the last sequence it saw gets exactly what it missed, in
//! order. One node (SQLite) signals through in-process channels; on PostgreSQL the
//! signal is a `NOTIFY` sent in the message's own transaction (delivered only if it
//! commits), heard by every node's `LISTEN`. When the listening connection drops, every
//! open socket is told to read again once it is back.

use axum::extract::ws::{Message, WebSocket};
use emporium_core::{AppError, AppResult};
use emporium_db::entity::{ticket_messages, tickets};
use futures::{SinkExt, StreamExt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::service::{Actor, Agent, NewMessage};
use crate::state::Support;
use crate::views::{MessageView, message_view};

const CHANNEL: &str = "emporium_support";

/// A socket's buffers, kept small: a chat message is at most 20,000 characters, and a node
/// holds thousands of mostly idle sockets (tungstenite's 128 KiB read buffer each made
/// 10,000 idle sockets take 1.4 GiB).
pub fn tuned(upgrade: axum::extract::ws::WebSocketUpgrade) -> axum::extract::ws::WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(128 * 1024)
        .max_frame_size(128 * 1024)
}

/// News about one ticket, as nodes pass it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Messages were stored: read after the last one sent.
    News,
    /// `customer` or `staff` is typing.
    Typing(String),
}

/// The node's open chats: one broadcast channel per ticket with sockets on this node.
#[derive(Clone, Default)]
pub struct Hub {
    tickets: Arc<Mutex<HashMap<Uuid, broadcast::Sender<Signal>>>>,
}

impl Hub {
    fn subscribe(&self, ticket: Uuid) -> broadcast::Receiver<Signal> {
        let mut map = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(ticket)
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Tells this node's sockets on `ticket`; forgets tickets no socket holds any more.
    pub(crate) fn local(&self, ticket: Uuid, signal: Signal) {
        let mut map = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(&ticket) {
            if tx.receiver_count() == 0 {
                map.remove(&ticket);
            } else {
                let _ = tx.send(signal);
            }
        }
    }

    /// Tells every socket to read again (the signal path was down for a while).
    fn everyone(&self) {
        let map = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        for tx in map.values() {
            let _ = tx.send(Signal::News);
        }
    }
}

fn payload(ticket: Uuid, signal: &Signal) -> String {
    match signal {
        Signal::News => format!("m:{ticket}"),
        Signal::Typing(who) => format!("t:{ticket}:{who}"),
    }
}

fn parse(payload: &str) -> Option<(Uuid, Signal)> {
    let mut parts = payload.splitn(3, ':');
    let kind = parts.next()?;
    let ticket = Uuid::parse_str(parts.next()?).ok()?;
    match kind {
        "m" => Some((ticket, Signal::News)),
        "t" => Some((ticket, Signal::Typing(parts.next()?.to_string()))),
        _ => None,
    }
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Incoming {
    Message { body: String },
    Typing,
}

/// What a client receives.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Outgoing<'a> {
    Message(&'a MessageView),
    Typing { author: &'a str },
    Error { detail: String },
}

/// Who holds a socket.
#[derive(Debug, Clone)]
pub enum Party {
    /// The shopper (by the ticket's link).
    Customer,
    /// An agent.
    Staff(Agent),
}

impl Party {
    fn kind(&self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff(_) => "staff",
        }
    }
}

impl Support {
    /// Signals `ticket`'s news inside `conn`'s transaction on PostgreSQL (sent only if it
    /// commits); on SQLite the caller signals after commit with [`Support::announced`].
    pub(crate) async fn announce_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        ticket: Uuid,
    ) -> AppResult<()> {
        if conn.get_database_backend() == DatabaseBackend::Postgres {
            conn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload(ticket, &Signal::News).into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After a commit on SQLite: this node is the whole shop, so its own sockets are all.
    pub(crate) fn announced(&self, ticket: Uuid) {
        if self.db.postgres_pool().is_none() {
            self.hub.local(ticket, Signal::News);
        }
    }

    async fn typing(&self, ticket: Uuid, who: &str) -> AppResult<()> {
        let signal = Signal::Typing(who.to_string());
        if self.db.postgres_pool().is_some() {
            self.db
                .writer()
                .execute_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), payload(ticket, &signal).into()],
                ))
                .await?;
        } else {
            self.hub.local(ticket, signal);
        }
        Ok(())
    }

    /// Follows the other nodes' signals (PostgreSQL only) until shutdown.
    pub async fn follow_chat(self, shutdown: CancellationToken) {
        let Some(pool) = self.db.postgres_pool() else {
            return;
        };
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "chat: cannot listen; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            if let Err(err) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %err, "chat: LISTEN failed; retrying");
                continue;
            }
            // Signals sent while no one listened are lost: every socket reads again.
            self.hub.everyone();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    next = listener.try_recv() => match next {
                        Ok(Some(n)) => {
                            if let Some((ticket, signal)) = parse(n.payload()) {
                                self.hub.local(ticket, signal);
                            }
                        }
                        // The connection dropped; the next call reconnects.
                        Ok(None) => {
                            tracing::warn!("chat: listening connection lost; reconnecting");
                            self.hub.everyone();
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "chat: listening failed; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }

    /// The ticket a chat socket may open: for the shopper by the link's token, for staff
    /// any ticket. 404 otherwise.
    pub async fn chat_ticket(&self, id: Uuid, token: Option<&str>) -> AppResult<tickets::Model> {
        let t = self.find(self.db.writer(), id).await?;
        match token {
            None => Ok(t),
            Some(token) if self.token_opens(&t, token) => Ok(t),
            Some(_) => Err(AppError::not_found("no such ticket")),
        }
    }

    async fn after(
        &self,
        ticket: Uuid,
        seq: i32,
        staff: bool,
    ) -> AppResult<Vec<ticket_messages::Model>> {
        let mut find = ticket_messages::Entity::find()
            .filter(ticket_messages::Column::TicketId.eq(ticket))
            .filter(ticket_messages::Column::Seq.gt(seq));
        if !staff {
            find = find.filter(ticket_messages::Column::Internal.eq(false));
        }
        Ok(find
            .order_by_asc(ticket_messages::Column::Seq)
            .limit(500)
            .all(self.db.writer())
            .await?)
    }

    /// A chat message from the socket's holder: stored (and signalled) like any other.
    async fn chat_message(&self, t: &tickets::Model, party: &Party, body: String) -> AppResult<()> {
        let mut errors = Vec::new();
        crate::service::check_body(&mut errors, &body);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let t = self.current(self.db.writer(), t.clone()).await?;
        match party {
            Party::Customer => {
                let txn = self.db.begin().await?;
                self.customer_writes(
                    &txn,
                    &t,
                    NewMessage {
                        actor: Actor::Customer(t.customer_id),
                        author_name: t.name.clone(),
                        body,
                        internal: false,
                        channel: "chat",
                        mail_message_id: None,
                        attachments: Vec::new(),
                    },
                )
                .await?;
                txn.commit().await?;
                self.announced(t.id);
            }
            Party::Staff(agent) => {
                self.staff_writes(t.id, agent.clone(), body, "chat").await?;
            }
        }
        Ok(())
    }

    /// Runs one chat socket until it closes: first what the client missed (after
    /// `after`), then every new message of the ticket, typing signals, and what the
    /// client sends.
    pub async fn run_socket(self, t: tickets::Model, party: Party, after: i32, socket: WebSocket) {
        let (mut tx, mut rx) = socket.split();
        let mut signals = self.hub.subscribe(t.id);
        let staff = matches!(party, Party::Staff(_));
        let base = if staff {
            format!("/api/v1/admin/tickets/{}", t.id)
        } else {
            format!("/api/v1/support/tickets/{}", t.id)
        };
        let query = if staff {
            String::new()
        } else {
            format!("?token={}", self.token_for(t.id))
        };
        let mut last = after.max(0);
        let mut read = true;
        loop {
            if read {
                read = false;
                match self.after(t.id, last, staff).await {
                    Ok(rows) => {
                        for mut m in rows {
                            last = last.max(m.seq);
                            if !staff && m.author == "staff" {
                                m.author_name = None;
                            }
                            let view = message_view(m, &base, &query);
                            let text = serde_json::to_string(&Outgoing::Message(&view))
                                .unwrap_or_default();
                            if tx.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "chat: reading messages"),
                }
            }
            tokio::select! {
                signal = signals.recv() => match signal {
                    Ok(Signal::News) | Err(broadcast::error::RecvError::Lagged(_)) => read = true,
                    Ok(Signal::Typing(who)) if who != party.kind() => {
                        let text = serde_json::to_string(&Outgoing::Typing { author: &who }).unwrap_or_default();
                        if tx.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    Ok(Signal::Typing(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                frame = rx.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let outcome = match serde_json::from_str::<Incoming>(&text) {
                            Ok(Incoming::Message { body }) => self.chat_message(&t, &party, body).await,
                            Ok(Incoming::Typing) => self.typing(t.id, party.kind()).await,
                            Err(_) => Err(AppError::invalid("type", "send {\"type\": \"message\", \"body\"} or {\"type\": \"typing\"}")),
                        };
                        if let Err(err) = outcome {
                            let detail = match &err {
                                AppError::Validation(errors) => errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
                                other => other.to_string(),
                            };
                            let text = serde_json::to_string(&Outgoing::Error { detail }).unwrap_or_default();
                            if tx.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    /// Opens a chat: a ticket on channel `chat` whose link (with its token) the widget
    /// keeps to connect.
    pub async fn open_chat(
        &self,
        body: crate::views::NewChatBody,
        opener: crate::service::Opener,
    ) -> AppResult<crate::views::TicketView> {
        let subject = format!(
            "Chat with {}",
            body.name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| body.email.clone())
                .unwrap_or_else(|| "a shopper".into())
        );
        let ticket = crate::views::NewTicketBody {
            subject: subject.chars().take(200).collect(),
            body: body.body,
            email: body.email,
            name: body.name,
            order_number: None,
            attachments: Vec::new(),
        };
        let mut view = self.open(ticket, opener, "chat").await?;
        view.token = Some(self.token_for(view.id));
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_travel_as_ids_only() {
        let t = Uuid::now_v7();
        assert_eq!(parse(&payload(t, &Signal::News)), Some((t, Signal::News)));
        assert_eq!(
            parse(&payload(t, &Signal::Typing("staff".into()))),
            Some((t, Signal::Typing("staff".into())))
        );
        assert_eq!(parse("x:nonsense"), None);
    }
}
