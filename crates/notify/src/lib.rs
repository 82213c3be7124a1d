//! Email: templates rendered with minijinja (defaults built in, overridable by files in
//! `<data_dir>/templates/email/` without a rebuild) and sent over SMTP, or written as
//! `.eml` files when no SMTP server is configured. Emails are sent only by the outbox
//! worker, never inside a request.

pub mod jobs;
mod mailer;
mod templates;

pub use mailer::{EMAIL_TOPIC, EmailJob, Mailer, enqueue_email};
pub use templates::Templates;
