//! Sending: SMTP through lettre when `SMTP_URL` is set, else `.eml` files in the data dir.

use emporium_core::Config;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ConnectionTrait, DbErr};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::templates::Templates;

/// The outbox topic of outgoing email.
pub const EMAIL_TOPIC: &str = "notify.email";

/// An email waiting in the outbox: which template, to whom, with what values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    pub to: String,
    pub template: String,
    pub context: serde_json::Value,
    /// The language to write in (`<template>.<lang>.txt` when there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Conversation headers, for mail that belongs to a thread (a helpdesk ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<MailThread>,
}

/// The headers that keep a conversation together in the recipient's mail client and
/// bring their answer back to the right place.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MailThread {
    /// Where answers go (`Reply-To`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// This message's `Message-ID`, with its angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Earlier messages of the thread, oldest first (`References`; the last is also
    /// `In-Reply-To`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// Queues an email inside the caller's transaction; it is sent after commit.
pub async fn enqueue_email<C: ConnectionTrait>(conn: &C, job: &EmailJob) -> Result<(), DbErr> {
    emporium_core::outbox::enqueue(conn, EMAIL_TOPIC, job).await
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Renders and sends email.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Templates,
    shop: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("configuration error: mail_from: {e}"))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("configuration error: smtp_url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                let dir = config.data_dir.join("outbox-mail");
                std::fs::create_dir_all(&dir)?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(&dir), dir)
            }
        };
        let overrides = config.data_dir.join("templates").join("email");
        Ok(Self {
            transport,
            from,
            templates: Templates::new(Some(overrides)),
            shop: config.shop_name(),
        })
    }

    /// Where `.eml` files go when there is no SMTP server.
    pub fn mail_dir(&self) -> Option<&PathBuf> {
        match &self.transport {
            Transport::Files(_, dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// The address emails are sent from, without its display name.
    pub fn from_address(&self) -> String {
        self.from.email.to_string()
    }

    /// Renders `job` and sends it. The shop's name always comes from the store settings.
    pub async fn send(&self, job: &EmailJob) -> anyhow::Result<()> {
        let mut context = job.context.clone();
        if let Some(map) = context.as_object_mut() {
            map.insert("shop".into(), serde_json::Value::String(self.shop.clone()));
        }
        let rendered = self
            .templates
            .render_in(&job.template, job.lang.as_deref(), &context)?;
        let to: Mailbox = job.to.parse()?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject);
        if let Some(thread) = &job.thread {
            if let Some(reply_to) = &thread.reply_to {
                builder = builder.reply_to(reply_to.parse()?);
            }
            if let Some(id) = &thread.message_id {
                builder = builder.message_id(Some(id.clone()));
            }
            if let Some(last) = thread.references.last() {
                builder = builder
                    .in_reply_to(last.clone())
                    .references(thread.references.join(" "));
            }
        }
        let message = match rendered.html {
            Some(html) => {
                builder.multipart(MultiPart::alternative_plain_html(rendered.text, html))?
            }
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(rendered.text),
            )?,
        };
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Files(files, _) => {
                files.send(message).await?;
            }
        }
        tracing::info!(template = %job.template, "email sent");
        Ok(())
    }
}

#[async_trait::async_trait]
impl emporium_core::outbox::JobHandler for Mailer {
    async fn run(&self, job: &emporium_core::outbox::Job) -> anyhow::Result<()> {
        let email: EmailJob = serde_json::from_value(job.payload.clone())?;
        self.send(&email).await
    }
}
