//! Mail into the helpdesk, in the JSON Postmark's inbound webhook posts
//! (<https://postmarkapp.com/developer/webhooks/inbound-webhook>). A mail finds its ticket
//! by, in order: the signed token in the address it was sent to (`support+t1042-<token>@`,
//! which Postmark hands over as `MailboxHash`), the `In-Reply-To`/`References` headers
//! against the Message-IDs of the ticket's mail, and the `[#1042]` tag or the bare
//! subject from the ticket's own sender. Only then does it open a new ticket. A mail
//! delivered twice (the provider retries until it hears 200) is stored once, by its
//! `Message-ID`.

use chrono::{Duration, Utc};
use emporium_core::crypto::constant_time_eq;
use emporium_core::{AppError, AppResult};
use emporium_db::entity::{ticket_messages, tickets};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::{bare_subject, subject_number};
use crate::service::{Actor, NewMessage};
use crate::state::Support;
use crate::views::AttachmentBody;

/// An address as Postmark gives it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct PostmarkAddress {
    pub email: String,
    pub name: String,
    /// The part after `+` in the address.
    pub mailbox_hash: String,
}

/// A mail header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct PostmarkHeader {
    pub name: String,
    pub value: String,
}

/// An attached file, base64.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct PostmarkAttachment {
    pub name: String,
    pub content: String,
    pub content_type: String,
    pub content_length: u64,
}

/// Postmark's inbound webhook payload (the fields the helpdesk reads; others are
/// ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
#[schema(examples(json!({
    "From": "jane@example.com",
    "FromName": "Jane Doe",
    "FromFull": {"Email": "jane@example.com", "Name": "Jane Doe", "MailboxHash": ""},
    "To": "support+t1042-0a1b2c3d4e5f60718293a4b5c6d7e8f9@shop.example",
    "ToFull": [{"Email": "support+t1042-0a1b2c3d4e5f60718293a4b5c6d7e8f9@shop.example", "Name": "", "MailboxHash": "t1042-0a1b2c3d4e5f60718293a4b5c6d7e8f9"}],
    "Subject": "Re: [#1042] Where is my parcel?",
    "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
    "MailboxHash": "t1042-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "TextBody": "It arrived, thank you!\n\nOn Monday you wrote: ...",
    "StrippedTextReply": "It arrived, thank you!",
    "Headers": [{"Name": "Message-ID", "Value": "<CAF=abc@mail.example.com>"}, {"Name": "In-Reply-To", "Value": "<ticket-1@shop.example>"}],
    "Attachments": []
})))]
pub struct PostmarkInbound {
    pub from: String,
    pub from_name: String,
    pub from_full: PostmarkAddress,
    pub to: String,
    pub to_full: Vec<PostmarkAddress>,
    pub cc_full: Vec<PostmarkAddress>,
    pub subject: String,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    pub mailbox_hash: String,
    pub text_body: String,
    pub html_body: String,
    pub stripped_text_reply: String,
    pub headers: Vec<PostmarkHeader>,
    pub attachments: Vec<PostmarkAttachment>,
}

/// What became of an incoming mail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundOutcome {
    pub ticket_id: Uuid,
    pub number: i64,
    /// A new ticket was opened for it.
    pub created: bool,
    /// The same mail came before and was stored then.
    pub duplicate: bool,
}

impl PostmarkInbound {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim())
            .filter(|v| !v.is_empty())
    }

    /// The mail's own Message-ID, else one made of Postmark's id for it.
    fn mail_id(&self) -> String {
        match self.header("Message-ID") {
            Some(id) => id.chars().take(500).collect(),
            None => format!("<postmark-{}@inbound>", self.message_id.trim()),
        }
    }

    /// The ids the mail answers, most recent first (`In-Reply-To`, then `References`
    /// from the end).
    fn answers(&self) -> Vec<String> {
        let ids = |v: &str| -> Vec<String> {
            v.split_whitespace()
                .filter(|w| w.starts_with('<') && w.ends_with('>'))
                .map(str::to_string)
                .collect()
        };
        let mut out = self.header("In-Reply-To").map(ids).unwrap_or_default();
        let mut refs = self.header("References").map(ids).unwrap_or_default();
        refs.reverse();
        out.extend(refs);
        out.dedup();
        out.truncate(50);
        out
    }

    fn hashes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.mailbox_hash.as_str())
            .chain(self.to_full.iter().map(|a| a.mailbox_hash.as_str()))
            .chain(self.cc_full.iter().map(|a| a.mailbox_hash.as_str()))
            .filter(|h| !h.is_empty())
    }

    fn sender(&self) -> String {
        let email = if self.from_full.email.is_empty() {
            &self.from
        } else {
            &self.from_full.email
        };
        email.trim().to_lowercase()
    }

    /// The new words of the mail: Postmark's reply without the quoted thread when it
    /// found one, else the whole text, else the HTML without its tags.
    fn words(&self) -> String {
        let text = [&self.stripped_text_reply, &self.text_body]
            .into_iter()
            .map(|t| t.trim())
            .find(|t| !t.is_empty())
            .map(str::to_string);
        text.unwrap_or_else(|| strip_tags(&self.html_body))
            .chars()
            .take(crate::service::MAX_BODY)
            .collect()
    }

    /// Mail a machine sent (an out-of-office, a bounce): stored, never answered.
    fn automatic(&self) -> bool {
        self.header("Auto-Submitted")
            .is_some_and(|v| !v.eq_ignore_ascii_case("no"))
            || self.header("Precedence").is_some_and(|v| {
                matches!(
                    v.to_lowercase().as_str(),
                    "bulk" | "junk" | "list" | "auto_reply"
                )
            })
    }
}

/// Text of an HTML body, roughly: tags dropped, entities for the common characters.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Support {
    /// Whether `password` is the inbound webhook's secret; `None` when the webhook is off.
    pub fn inbound_secret_matches(&self, password: &str) -> Option<bool> {
        use secrecy::ExposeSecret;
        let secret = self.config.support.inbound_secret.as_ref()?;
        Some(constant_time_eq(
            password.as_bytes(),
            secret.expose_secret().as_bytes(),
        ))
    }

    /// The ticket `mail` belongs to, by token, thread headers, then subject.
    async fn ticket_of_mail(&self, mail: &PostmarkInbound) -> AppResult<Option<tickets::Model>> {
        let conn = self.db.writer();
        for hash in mail.hashes() {
            let Some((number, token)) = hash
                .strip_prefix('t')
                .and_then(|rest| rest.split_once('-'))
                .and_then(|(n, tk)| n.parse::<i64>().ok().map(|n| (n, tk)))
            else {
                continue;
            };
            let found = tickets::Entity::find()
                .filter(tickets::Column::Number.eq(number))
                .one(conn)
                .await?;
            if let Some(t) = found
                && constant_time_eq(self.token_for(t.id).as_bytes(), token.as_bytes())
            {
                return Ok(Some(t));
            }
        }
        let answers = mail.answers();
        if !answers.is_empty() {
            let known = ticket_messages::Entity::find()
                .filter(ticket_messages::Column::MailMessageId.is_in(answers.clone()))
                .all(conn)
                .await?;
            // The most recent id the mail answers decides.
            for id in &answers {
                if let Some(m) = known
                    .iter()
                    .find(|m| m.mail_message_id.as_deref() == Some(id))
                {
                    return Ok(Some(self.find(conn, m.ticket_id).await?));
                }
            }
        }
        let sender = mail.sender();
        if let Some(number) = subject_number(&mail.subject) {
            let found = tickets::Entity::find()
                .filter(tickets::Column::Number.eq(number))
                .filter(tickets::Column::Email.eq(sender.clone()))
                .one(conn)
                .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        let bare = bare_subject(&mail.subject);
        if !bare.is_empty() {
            // Same sender, same subject, active in the last 30 days: a reply whose client
            // dropped every header we could thread by.
            let recent = tickets::Entity::find()
                .filter(tickets::Column::Email.eq(sender))
                .filter(tickets::Column::LastMessageAt.gte(Utc::now() - Duration::days(30)))
                .order_by_desc(tickets::Column::LastMessageAt)
                .all(conn)
                .await?;
            if let Some(t) = recent
                .into_iter()
                .find(|t| bare_subject(&t.subject) == bare)
            {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Takes an incoming mail: onto its ticket (reopening it if it was done), or as a new
    /// ticket. A mail seen before changes nothing.
    pub async fn receive_mail(&self, mail: PostmarkInbound) -> AppResult<InboundOutcome> {
        let sender = mail.sender();
        if sender.is_empty() || !sender.contains('@') || sender.len() > 254 {
            return Err(AppError::invalid(
                "FromFull.Email",
                "the mail has no sender address",
            ));
        }
        let mail_id = mail.mail_id();
        if let Some(seen) = ticket_messages::Entity::find()
            .filter(ticket_messages::Column::MailMessageId.eq(mail_id.clone()))
            .one(self.db.writer())
            .await?
        {
            let t = self.find(self.db.writer(), seen.ticket_id).await?;
            return Ok(InboundOutcome {
                ticket_id: t.id,
                number: t.number,
                created: false,
                duplicate: true,
            });
        }
        let mut words = mail.words();
        if words.trim().is_empty() {
            words = "(no text)".into();
        }
        let files: Vec<AttachmentBody> = mail
            .attachments
            .iter()
            .take(crate::attachments::MAX_FILES)
            .map(|a| AttachmentBody {
                name: a.name.clone(),
                content_base64: a.content.clone(),
            })
            .collect();
        let found = match self.ticket_of_mail(&mail).await? {
            Some(t) => Some(self.current(self.db.writer(), t).await?),
            None => None,
        };
        let name = Some(mail.from_full.name.trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| Some(mail.from_name.trim().to_string()).filter(|n| !n.is_empty()));
        let ticket_id = found.as_ref().map_or_else(Uuid::now_v7, |t| t.id);
        // A file that cannot be read is left out rather than losing the mail.
        let attachments = match self.store_attachments(ticket_id, &files).await {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "an inbound mail's attachments were not kept");
                Vec::new()
            }
        };
        let txn = self.db.begin().await?;
        let (t, created) = match found {
            Some(t) => (t, false),
            None => {
                let subject = Some(mail.subject.trim())
                    .filter(|s| !s.is_empty())
                    .unwrap_or("(no subject)");
                let t = self
                    .insert_ticket(
                        &txn,
                        ticket_id,
                        subject,
                        "email",
                        &sender,
                        name.clone(),
                        None,
                        None,
                    )
                    .await?;
                (t, true)
            }
        };
        let message = NewMessage {
            actor: Actor::Customer(t.customer_id),
            author_name: name,
            body: words,
            internal: false,
            channel: "email",
            mail_message_id: Some(mail_id),
            attachments,
        };
        if created {
            self.add_message(&txn, t.id, message).await?;
            self.assign_queued(&txn).await?;
        } else {
            self.customer_writes(&txn, &t, message).await?;
        }
        if mail.automatic() {
            crate::service::history(
                &txn,
                t.id,
                "automatic_mail",
                Some(sender_note(&mail)),
                Actor::System,
            )
            .await?;
        }
        txn.commit().await?;
        self.announced(t.id);
        Ok(InboundOutcome {
            ticket_id: t.id,
            number: t.number,
            created,
            duplicate: false,
        })
    }
}

fn sender_note(mail: &PostmarkInbound) -> String {
    format!("an automatic reply from {}", mail.sender())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_ids_come_from_in_reply_to_then_references_newest_first() {
        let mail = PostmarkInbound {
            headers: vec![
                PostmarkHeader {
                    name: "References".into(),
                    value: "<a@x> <b@x>\r\n <c@x>".into(),
                },
                PostmarkHeader {
                    name: "in-reply-to".into(),
                    value: "<c@x>".into(),
                },
            ],
            ..PostmarkInbound::default()
        };
        assert_eq!(mail.answers(), vec!["<c@x>", "<b@x>", "<a@x>"]);
        assert_eq!(strip_tags("<p>Hi&nbsp;<b>there</b></p>"), "Hi there");
    }
}
