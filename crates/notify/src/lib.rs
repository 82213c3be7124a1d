//! Email: templates rendered with minijinja (defaults built in, overridable by files in
//! `<data_dir>/templates/email/` without a rebuild) and sent over SMTP, or written as
//! `.eml` files when no SMTP server is configured. Emails are sent only by the outbox
//! worker, never inside a request.
//!
//! Owns: no table. May call: `core`.
//! Events: consumes `order.placed`, `order.paid`, `order.shipped`, `refund.created`,
//! `order.cancelled` and `order.cancellation_requested` (see [`jobs`]): the shopper's
//! emails in the order's language, and staff notices. Runs the `notify.email` job for
//! emails other domains queue directly (verification, password reset, cart recovery,
//! stock alerts).

pub mod jobs;
mod mailer;
mod templates;

pub use mailer::{EMAIL_TOPIC, EmailJob, MailThread, Mailer, enqueue_email};
pub use templates::{Templates, names as email_names, sample_context as email_sample};
