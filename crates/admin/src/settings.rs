//! Settings in the console: the store's currencies, languages and tax inclusion (read
//! from the configuration, shown here), exchange rates, tax rates and the payment
//! gateways' keys. Secret keys are write-only: the page says which are set, never what
//! they are, and a blank secret field keeps the stored one.
//!
//! The page needs `settings.manage`; each form checks the same permission as the API
//! route it stands for (exchange rates are `products.write`, as in the API).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_checkout::TaxRateBody;
use emporium_core::AppError;
use emporium_payments::GatewayBody;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::product_edit::{Fields, Notice, field, non_empty};
use crate::session::Console;
use crate::state::Admin;

/// Back to the settings page; the section is named for the reader of this file only
/// (a fragment would be lost with the query the page reads).
fn back(_section: &str, outcome: Result<String, AppError>) -> Response {
    crate::after_form("/admin/settings", outcome)
}

/// `GET /admin/settings`.
pub(crate) async fn page(
    State(admin): State<Admin>,
    console: Console,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "settings.manage") {
        return page.into_response();
    }
    let loaded = async {
        let rates = admin.catalog.rates().await?;
        let taxes = admin.checkout.tax_rates().await?;
        let gateways = admin.payments.gateways().list().await?;
        Ok::<_, AppError>((rates, taxes, gateways))
    };
    let (rates, taxes, gateways) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return err.into_response(),
    };
    let store = &admin.config.store;
    let known: Vec<Value> = store
        .currencies
        .iter()
        .filter(|c| **c != store.default_currency)
        .map(|c| {
            let rate = rates.iter().find(|r| r.currency.eq_ignore_ascii_case(c));
            json!({"currency": c, "rate": rate.map(|r| r.rate.clone()).unwrap_or_default()})
        })
        .collect();
    let gateways: Vec<Value> = gateways
        .iter()
        .map(|g| {
            json!({"provider": g.provider, "enabled": g.enabled, "source": g.source,
                   "api_base": g.api_base, "public_id": g.public_id,
                   "secrets_set": g.secrets_set.join(", "),
                   "fields": gateway_fields(&g.provider)})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "settings.html",
            console.context(
                "/admin/settings",
                json!({"title": "Settings",
                       "store": {"name": admin.config.shop_name(), "default_currency": store.default_currency,
                                 "currencies": store.currencies.join(", "),
                                 "default_language": store.default_language,
                                 "languages": store.languages.join(", "),
                                 "prices_include_tax": admin.config.checkout.prices_include_tax},
                       "rates": known, "taxes": taxes, "gateways": gateways,
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// The key fields each gateway takes: (name, label, secret).
fn gateway_fields(provider: &str) -> Vec<Value> {
    let fields: &[(&str, &str, bool)] = match provider {
        "stripe" => &[
            ("secret_key", "Secret key", true),
            ("webhook_secret", "Webhook signing secret", true),
        ],
        "paypal" => &[
            ("client_id", "Client id", false),
            ("client_secret", "Client secret", true),
            ("webhook_id", "Webhook id", false),
        ],
        "razorpay" => &[
            ("key_id", "Key id", false),
            ("key_secret", "Key secret", true),
            ("webhook_secret", "Webhook secret", true),
        ],
        _ => &[],
    };
    fields
        .iter()
        .map(|(name, label, secret)| json!({"name": name, "label": label, "secret": secret}))
        .collect()
}

/// `POST /admin/settings/rates/{currency}`.
pub(crate) async fn set_rate(
    State(admin): State<Admin>,
    console: Console,
    Path(currency): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let rate = admin
            .catalog
            .set_rate(&currency, field(&form, "rate"))
            .await?;
        console
            .audit(
                &admin,
                "admin.settings.rate",
                ("currency", rate.currency.clone()),
                json!({"rate": rate.rate}),
            )
            .await?;
        Ok(format!(
            "1 {} = {} {}.",
            admin.config.store.default_currency, rate.rate, rate.currency
        ))
    };
    back("rates", outcome.await)
}

/// `POST /admin/settings/taxes`: a rate for a country (or one of its regions) and a tax
/// class; the same place and class again replaces it.
pub(crate) async fn set_tax(
    State(admin): State<Admin>,
    console: Console,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let outcome = async {
        let body = TaxRateBody {
            country: field(&form, "country").to_string(),
            region: non_empty(field(&form, "region")),
            tax_class: non_empty(field(&form, "tax_class")),
            rate: field(&form, "rate").to_string(),
            name: field(&form, "name").to_string(),
        };
        let rate = admin.checkout.set_tax_rate(body).await?;
        console
            .audit(
                &admin,
                "admin.settings.tax",
                ("tax_rate", rate.id.to_string()),
                json!({"country": rate.country, "region": rate.region, "rate": rate.rate}),
            )
            .await?;
        Ok(format!("{} {}% saved.", rate.name, rate.rate))
    };
    back("taxes", outcome.await)
}

/// `POST /admin/settings/taxes/{id}/delete`.
pub(crate) async fn delete_tax(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let outcome = async {
        admin.checkout.delete_tax_rate(id).await?;
        console
            .audit(
                &admin,
                "admin.settings.tax.delete",
                ("tax_rate", id.to_string()),
                json!({}),
            )
            .await?;
        Ok("Tax rate removed.".to_string())
    };
    back("taxes", outcome.await)
}

/// `POST /admin/settings/gateways/{provider}`: on or off, and any keys typed (a blank
/// field keeps what is stored).
pub(crate) async fn set_gateway(
    State(admin): State<Admin>,
    console: Console,
    Path(provider): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "settings.manage", &form) {
        return page.into_response();
    }
    let typed = |name: &str| non_empty(field(&form, name));
    let body = GatewayBody {
        enabled: field(&form, "enabled") == "on",
        api_base: typed("api_base"),
        secret_key: typed("secret_key"),
        webhook_secret: typed("webhook_secret"),
        client_id: typed("client_id"),
        client_secret: typed("client_secret"),
        webhook_id: typed("webhook_id"),
        key_id: typed("key_id"),
        key_secret: typed("key_secret"),
    };
    let outcome = async {
        let view = admin
            .payments
            .gateways()
            .set(&provider, body, Some(console.user_id))
            .await?;
        // Which secrets changed is audited; never their values.
        console
            .audit(
                &admin,
                "admin.settings.gateway",
                ("gateway", view.provider.clone()),
                json!({"enabled": view.enabled, "secrets_set": view.secrets_set}),
            )
            .await?;
        Ok(format!(
            "{} is {}.",
            view.provider,
            if view.enabled { "on" } else { "off" }
        ))
    };
    back("gateways", outcome.await)
}

/// `GET /admin/settings/emails` and `/admin/settings/emails/{name}?lang=`: each email the
/// shop sends, rendered with made-up values in the chosen language, with this node's
/// template overrides (`<data_dir>/templates/email/`) applied.
pub(crate) async fn emails(
    State(admin): State<Admin>,
    console: Console,
    name: Option<Path<String>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.require(&admin, "settings.manage") {
        return page.into_response();
    }
    let names = emporium_notify::email_names();
    let chosen = name.map(|Path(n)| n);
    let mut extra = json!({"title": "Emails", "names": names,
                           "languages": admin.config.store.languages});
    if let Some(chosen) = chosen {
        if !names.contains(&chosen.as_str()) {
            return AppError::not_found("no such email").into_response();
        }
        let lang = q
            .get("lang")
            .map(String::as_str)
            .unwrap_or(&admin.config.store.default_language);
        let templates = emporium_notify::Templates::new(Some(
            admin.config.data_dir.join("templates").join("email"),
        ));
        let context = emporium_notify::email_sample(
            &admin.config.shop_name(),
            &admin.config.public_base_url(),
        );
        match templates.render_in(&chosen, Some(lang), &context) {
            Ok(mail) => {
                extra["preview"] = json!({"name": chosen, "lang": lang,
                                          "subject": mail.subject, "text": mail.text});
            }
            Err(err) => extra["error"] = json!(format!("{chosen} does not render: {err}")),
        }
    }
    admin
        .render(
            StatusCode::OK,
            "emails.html",
            console.context("/admin/settings", extra),
        )
        .into_response()
}
