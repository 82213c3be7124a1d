//! Email templates. Each email is `<name>.txt` (first line `Subject: ...`, then the plain
//! text body) and optionally `<name>.html`. A file of the same name under
//! `<data_dir>/templates/email/` replaces the built-in one.

use minijinja::Environment;
use std::path::PathBuf;

const BUILT_IN: &[(&str, &str)] = &[
    (
        "verify_email.txt",
        include_str!("../templates/verify_email.txt"),
    ),
    (
        "password_reset.txt",
        include_str!("../templates/password_reset.txt"),
    ),
    (
        "staff_invite.txt",
        include_str!("../templates/staff_invite.txt"),
    ),
    (
        "password_changed.txt",
        include_str!("../templates/password_changed.txt"),
    ),
    (
        "order_confirmation.txt",
        include_str!("../templates/order_confirmation.txt"),
    ),
    (
        "cart_recovery.txt",
        include_str!("../templates/cart_recovery.txt"),
    ),
    (
        "payment_received.txt",
        include_str!("../templates/payment_received.txt"),
    ),
    (
        "refund_issued.txt",
        include_str!("../templates/refund_issued.txt"),
    ),
    (
        "back_in_stock.txt",
        include_str!("../templates/back_in_stock.txt"),
    ),
    ("low_stock.txt", include_str!("../templates/low_stock.txt")),
    (
        "order_shipped.txt",
        include_str!("../templates/order_shipped.txt"),
    ),
    (
        "confirm_email_change.txt",
        include_str!("../templates/confirm_email_change.txt"),
    ),
    (
        "email_changed.txt",
        include_str!("../templates/email_changed.txt"),
    ),
    (
        "order_cancelled.txt",
        include_str!("../templates/order_cancelled.txt"),
    ),
    (
        "cancellation_requested.txt",
        include_str!("../templates/cancellation_requested.txt"),
    ),
    (
        "staff_order_cancelled.txt",
        include_str!("../templates/staff_order_cancelled.txt"),
    ),
    (
        "staff_cancellation_requested.txt",
        include_str!("../templates/staff_cancellation_requested.txt"),
    ),
    (
        "staff_backup_failed.txt",
        include_str!("../templates/staff_backup_failed.txt"),
    ),
    (
        "staff_webhook_disabled.txt",
        include_str!("../templates/staff_webhook_disabled.txt"),
    ),
    (
        "review_request.txt",
        include_str!("../templates/review_request.txt"),
    ),
    (
        "staff_sla_breach.txt",
        include_str!("../templates/staff_sla_breach.txt"),
    ),
    (
        "staff_sla_breach.txt",
        include_str!("../templates/staff_sla_breach.txt"),
    ),
    (
        "ticket_received.txt",
        include_str!("../templates/ticket_received.txt"),
    ),
    (
        "ticket_received.de.txt",
        include_str!("../templates/ticket_received.de.txt"),
    ),
    (
        "ticket_reply.txt",
        include_str!("../templates/ticket_reply.txt"),
    ),
    (
        "ticket_reply.de.txt",
        include_str!("../templates/ticket_reply.de.txt"),
    ),
    (
        "review_reply.txt",
        include_str!("../templates/review_reply.txt"),
    ),
    (
        "review_request.de.txt",
        include_str!("../templates/review_request.de.txt"),
    ),
    (
        "review_reply.de.txt",
        include_str!("../templates/review_reply.de.txt"),
    ),
    (
        "order_confirmation.de.txt",
        include_str!("../templates/order_confirmation.de.txt"),
    ),
    (
        "verify_email.de.txt",
        include_str!("../templates/verify_email.de.txt"),
    ),
    (
        "password_reset.de.txt",
        include_str!("../templates/password_reset.de.txt"),
    ),
    (
        "staff_invite.de.txt",
        include_str!("../templates/staff_invite.de.txt"),
    ),
    (
        "password_changed.de.txt",
        include_str!("../templates/password_changed.de.txt"),
    ),
    (
        "confirm_email_change.de.txt",
        include_str!("../templates/confirm_email_change.de.txt"),
    ),
    (
        "email_changed.de.txt",
        include_str!("../templates/email_changed.de.txt"),
    ),
    (
        "payment_received.de.txt",
        include_str!("../templates/payment_received.de.txt"),
    ),
    (
        "refund_issued.de.txt",
        include_str!("../templates/refund_issued.de.txt"),
    ),
    (
        "order_shipped.de.txt",
        include_str!("../templates/order_shipped.de.txt"),
    ),
    (
        "cancellation_requested.de.txt",
        include_str!("../templates/cancellation_requested.de.txt"),
    ),
    (
        "cart_recovery.de.txt",
        include_str!("../templates/cart_recovery.de.txt"),
    ),
    (
        "back_in_stock.de.txt",
        include_str!("../templates/back_in_stock.de.txt"),
    ),
    (
        "order_cancelled.de.txt",
        include_str!("../templates/order_cancelled.de.txt"),
    ),
];

/// The rendered parts of one email.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// The template set: overrides from disk first, built-ins otherwise.
pub struct Templates {
    env: Environment<'static>,
}

/// The built-in emails' names (without language or extension), in file order.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = BUILT_IN
        .iter()
        .filter_map(|(file, _)| file.strip_suffix(".txt"))
        .filter(|name| !name.contains('.'))
        .collect();
    names.dedup();
    names
}

/// Made-up values for every field the built-in emails use, for previews: a shop owner
/// reads how an email will look before a customer gets it.
pub fn sample_context(shop: &str, base_url: &str) -> serde_json::Value {
    let mut sample = serde_json::json!({
        "shop": shop, "name": "Jane Doe", "email": "jane.doe@example.com",
        "new_email": "jane@example.org", "number": 1042,
        "order_id": "0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f",
        "link": format!("{base_url}/orders/0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f?token=sample"),
        "minutes": 60, "hours": 72,
        "lines": [
            {"quantity": 2, "title": "Linen Shirt", "options": "M", "sku": "LS-M", "total": "50.00 USD"},
            {"quantity": 1, "title": "Wool Hat", "options": "", "sku": "WH-1", "total": "19.50 USD"}
        ],
        "subtotal": "69.50 USD", "shipping": "5.00 USD", "tax": "5.56 USD",
        "total": "80.06 USD", "tax_inclusive": false, "amount": "80.06 USD",
        "carrier": "ups", "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "complete": true, "reason": "", "by": "customer", "paid": true, "expired": false,
        "title": "Linen Shirt (M)", "sku": "LS-M", "available": 3, "threshold": 5,
        "role": "staff", "inviter": "owner@example.com", "console": format!("{base_url}/admin"),
        "location": "s3://shop-backups/emporium", "error": "storing 20261201T020000.000Z/emporium.db: connection refused",
        "failed_at": "2026-12-01T02:00:03Z", "last_success_at": "2026-12-01T01:00:04Z",
    });
    // A second literal: one would pass the macro's recursion limit.
    let reviews = serde_json::json!({
        "reminder": false, "reply": "Thank you! The next batch is lined with wool.",
        "subject": "Where is my parcel?", "attachments": false, "what": "first response",
        "due": "2026-12-01T10:00:00+00:00", "priority": "high", "what": "first response",
        "due": "2026-12-01T10:00:00+00:00", "priority": "high",
        "body": "Hello Jane, your parcel left our warehouse this morning.",
        "products": [
            {"title": "Linen Shirt", "link": format!("{base_url}/reviews/write?order=0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f&token=sample&product=0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d")}
        ],
        "unsubscribe": format!("{base_url}/reviews/unsubscribe?order=0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f&token=sample"),
    });
    if let (Some(all), serde_json::Value::Object(more)) = (sample.as_object_mut(), reviews) {
        all.extend(more);
    }
    sample
}

impl Templates {
    pub fn new(override_dir: Option<PathBuf>) -> Self {
        Self {
            env: emporium_web::templates::environment(BUILT_IN, override_dir),
        }
    }

    /// Renders email `name` with `context` in the default language.
    pub fn render(&self, name: &str, context: &serde_json::Value) -> anyhow::Result<Rendered> {
        self.render_in(name, None, context)
    }

    /// Renders email `name` in `lang` when a `<name>.<lang>.txt` exists (an override or a
    /// built-in), else in the default language.
    pub fn render_in(
        &self,
        name: &str,
        lang: Option<&str>,
        context: &serde_json::Value,
    ) -> anyhow::Result<Rendered> {
        let localized = lang
            .filter(|l| l.len() <= 16 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .map(|l| format!("{name}.{l}"))
            .filter(|n| self.env.get_template(&format!("{n}.txt")).is_ok());
        let name = localized.as_deref().unwrap_or(name);
        let text = self
            .env
            .get_template(&format!("{name}.txt"))?
            .render(context)?;
        let (subject, body) = match text.split_once('\n') {
            Some((first, rest)) if first.starts_with("Subject:") => (
                first.trim_start_matches("Subject:").trim().to_string(),
                rest.trim_start_matches('\n').to_string(),
            ),
            _ => anyhow::bail!("template {name}.txt must start with a 'Subject:' line"),
        };
        let html = match self.env.get_template(&format!("{name}.html")) {
            Ok(t) => Some(t.render(context)?),
            Err(e) if e.kind() == minijinja::ErrorKind::TemplateNotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Rendered {
            subject,
            text: body,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_templates_render_with_subject() {
        let t = Templates::new(None);
        let r = t
            .render(
                "verify_email",
                &json!({"name": "Ada", "link": "http://x/verify?token=abc", "shop": "Emporium"}),
            )
            .expect("renders");
        assert!(!r.subject.is_empty());
        assert!(r.text.contains("http://x/verify?token=abc"));
    }

    #[test]
    fn files_on_disk_override_built_ins() {
        let dir = std::env::temp_dir().join(format!("emporium-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("verify_email.txt"),
            "Subject: Hi {{ name }}\nCustom body",
        )
        .expect("write");
        let r = Templates::new(Some(dir.clone()))
            .render("verify_email", &json!({"name": "Ada"}))
            .expect("renders");
        assert_eq!(r.subject, "Hi Ada");
        assert_eq!(r.text, "Custom body");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn every_translation_has_its_default_and_renders_with_its_values() {
        let t = Templates::new(None);
        let context = json!({"name": "Ada", "link": "http://x/a?token=t", "shop": "Emporium",
            "hours": 24, "minutes": 60, "number": 1001, "amount": "9.99 EUR",
            "new_email": "a@example.com", "carrier": "DHL", "tracking_number": "JD01",
            "complete": true, "lines": [], "subtotal": "1", "shipping": "1", "tax": "0",
            "total": "2", "tax_inclusive": true, "reason": null, "expired": false,
            "paid": false, "by": "customer"});
        for (file, _) in BUILT_IN {
            let Some(base) = file.strip_suffix(".de.txt") else {
                continue;
            };
            assert!(
                BUILT_IN.iter().any(|(n, _)| *n == format!("{base}.txt")),
                "{file} has no default"
            );
            let german = t.render_in(base, Some("de"), &context).expect(file);
            let english = t.render(base, &context).expect(base);
            assert_ne!(german.subject, english.subject, "{file} is not used");
            // Emails to a named person greet them by name; a helpdesk answer is staff's
            // own words from its first line.
            let greeting = if english.text.starts_with("Hello Ada") {
                "Hallo Ada"
            } else {
                "Hallo"
            };
            if english.text.starts_with("Hello") {
                assert!(german.text.starts_with(greeting), "{file}: {}", german.text);
            }
        }
    }
}
