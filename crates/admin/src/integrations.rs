//! Integrations in the console: webhook endpoints (add one with the events it wants, turn
//! it on or off, send a test event, rotate its secret, read every delivery with the
//! receiver's answers and send deliveries again) and API keys (make one holding some of
//! your permissions, shown once; see when each was last used; revoke). The same services
//! as `/api/v1/admin/webhooks` and `/api/v1/admin/api-keys`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_accounts::{ApiKeyBody, KeyMaker};
use emporium_auth::PERMISSIONS;
use emporium_core::AppError;
use emporium_integrations::{DeliveryQuery, EndpointBody, EndpointPatch, RedeliverRangeBody};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::form::{Pairs, all, csrf, one};
use crate::session::Console;
use crate::state::Admin;

const PERMISSION: &str = "settings.manage";

/// Notices and the delivery filter of the endpoint page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    done: Option<String>,
    error: Option<String>,
    status: Option<String>,
}

/// `GET /admin/webhooks`.
pub(crate) async fn webhooks(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let endpoints = match admin.integrations.endpoints().await {
        Ok(list) => list,
        Err(err) => return err.into_response(),
    };
    admin
        .render(
            StatusCode::OK,
            "webhooks.html",
            console.context(
                "/admin/webhooks",
                json!({"title": "Webhooks", "endpoints": endpoints,
                       "event_types": emporium_integrations::endpoints::event_types(),
                       "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/webhooks`: a new endpoint.
pub(crate) async fn create_webhook(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let body = EndpointBody {
        url: one(&pairs, "url").to_string(),
        description: one(&pairs, "description").to_string(),
        event_types: all(&pairs, "event"),
        enabled: Some(true),
    };
    match admin
        .integrations
        .create_endpoint(body, Some(console.user_id))
        .await
    {
        Ok(created) => crate::after_form(
            &format!("/admin/webhooks/{}", created.endpoint.id),
            Ok("Endpoint added. Give its signing secret to the receiver.".into()),
        ),
        Err(err) => crate::after_form("/admin/webhooks", Err(err)),
    }
}

/// `GET /admin/webhooks/{id}`: the endpoint, its secret and its latest deliveries.
pub(crate) async fn webhook(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let integrations = &admin.integrations;
    let loaded = async {
        let endpoint = integrations.endpoint(id).await?;
        let secret = integrations.secret(id).await?;
        let status = q.status.clone().filter(|s| !s.is_empty());
        let deliveries = integrations
            .deliveries(
                id,
                DeliveryQuery {
                    status,
                    limit: Some(50),
                    ..DeliveryQuery::default()
                },
            )
            .await?;
        Ok::<_, AppError>((endpoint, secret, deliveries))
    };
    let (endpoint, secret, deliveries) = match loaded.await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let types: Vec<Value> = emporium_integrations::endpoints::event_types()
        .into_iter()
        .map(|t| {
            let chosen = endpoint.event_types.contains(&t.name);
            json!({"name": t.name, "meaning": t.meaning, "chosen": chosen})
        })
        .collect();
    let deliveries: Vec<Value> = deliveries
        .data
        .into_iter()
        .map(|d| {
            json!({"id": d.id, "event_type": d.event_type, "status": d.status,
                   "attempts": d.attempts, "last_status": d.last_status,
                   "last_error": d.last_error, "created_at": crate::when(d.created_at),
                   "next_attempt_at": d.next_attempt_at.map(crate::when)})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "webhook.html",
            console.context(
                "/admin/webhooks",
                json!({"title": format!("Webhook {}", endpoint.url), "endpoint": endpoint,
                       "secret": secret.secret,
                       "rotating_until": secret.previous_secret_until.map(crate::when),
                       "event_types": types, "deliveries": deliveries,
                       "status": q.status.unwrap_or_default(),
                       "statuses": emporium_integrations::deliveries::status::ALL,
                       "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/webhooks/{id}`: URL, description, events, on or off.
pub(crate) async fn save_webhook(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let patch = EndpointPatch {
        url: Some(one(&pairs, "url").to_string()),
        description: Some(one(&pairs, "description").to_string()),
        event_types: Some(all(&pairs, "event")),
        enabled: Some(one(&pairs, "enabled") == "on"),
    };
    let outcome = admin
        .integrations
        .update_endpoint(id, patch)
        .await
        .map(|e| {
            format!(
                "Saved; the endpoint is {}.",
                if e.enabled { "on" } else { "off" }
            )
        });
    crate::after_form(&format!("/admin/webhooks/{id}"), outcome)
}

/// `POST /admin/webhooks/{id}/{action}`: `test`, `rotate`, `delete` or `redeliver` (a
/// time range of the last `hours`).
pub(crate) async fn webhook_action(
    State(admin): State<Admin>,
    console: Console,
    Path((id, action)): Path<(Uuid, String)>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let integrations = &admin.integrations;
    let here = format!("/admin/webhooks/{id}");
    let outcome = match action.as_str() {
        "test" => integrations
            .send_test(id)
            .await
            .map(|_| "A test event is on its way; its delivery is in the list below.".into()),
        "rotate" => integrations.rotate_secret(id).await.map(|_| {
            "New secret made; the previous one also signs for 24 hours, so update the receiver within a day.".into()
        }),
        "delete" => {
            let outcome = integrations.delete_endpoint(id).await;
            return crate::after_form("/admin/webhooks", outcome.map(|()| "Endpoint deleted.".into()));
        }
        "redeliver" => {
            let hours: i64 = one(&pairs, "hours").parse().unwrap_or(0);
            if !(1..=24 * 30).contains(&hours) {
                Err(AppError::invalid("hours", "must be 1 to 720"))
            } else {
                let now = chrono::Utc::now();
                integrations
                    .redeliver_range(
                        id,
                        RedeliverRangeBody {
                            from: now - chrono::Duration::hours(hours),
                            to: now + chrono::Duration::minutes(1),
                            statuses: None,
                        },
                    )
                    .await
                    .map(|r| format!("{} failed or cancelled deliveries queued again.", r.queued))
            }
        }
        _ => Err(AppError::not_found("no such action")),
    };
    crate::after_form(&here, outcome)
}

/// `GET /admin/webhooks/{id}/deliveries/{delivery}`: the body sent and every attempt.
pub(crate) async fn delivery(
    State(admin): State<Admin>,
    console: Console,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let detail = match admin.integrations.delivery(id, delivery).await {
        Ok(detail) => detail,
        Err(err) => return err.into_response(),
    };
    let attempts: Vec<Value> = detail
        .attempts_log
        .iter()
        .map(|a| {
            json!({"attempt": a.attempt, "at": crate::when(a.attempted_at),
                   "status_code": a.status_code, "error": a.error,
                   "excerpt": a.response_excerpt, "duration_ms": a.duration_ms,
                   "headers": serde_json::to_string_pretty(&a.request_headers).unwrap_or_default()})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "webhook_delivery.html",
            console.context(
                "/admin/webhooks",
                json!({"title": format!("Delivery {}", detail.delivery.message_id),
                       "endpoint_id": id, "delivery": detail.delivery,
                       "payload": serde_json::to_string_pretty(&detail.payload).unwrap_or_default(),
                       "attempts": attempts, "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver`.
pub(crate) async fn redeliver(
    State(admin): State<Admin>,
    console: Console,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let outcome = admin
        .integrations
        .redeliver(id, delivery)
        .await
        .map(|d| format!("{} queued again with the same webhook-id.", d.message_id));
    crate::after_form(
        &format!("/admin/webhooks/{id}/deliveries/{delivery}"),
        outcome,
    )
}

/// `GET /admin/api-keys`.
pub(crate) async fn api_keys(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    keys_page(&admin, &console, None, q.done, q.error).await
}

async fn keys_page(
    admin: &Admin,
    console: &Console,
    new_key: Option<Value>,
    done: Option<String>,
    error: Option<String>,
) -> Response {
    let keys = match admin.accounts.list_api_keys().await {
        Ok(keys) => keys,
        Err(err) => return err.into_response(),
    };
    let keys: Vec<Value> = keys
        .into_iter()
        .map(|k| {
            json!({"id": k.id, "name": k.name, "prefix": k.prefix,
                   "permissions": k.permissions.join(", "), "status": k.status,
                   "created_at": crate::when(k.created_at),
                   "expires_at": k.expires_at.map(crate::when),
                   "last_used_at": k.last_used_at.map(crate::when)})
        })
        .collect();
    let grantable: Vec<&str> = PERMISSIONS
        .iter()
        .copied()
        .filter(|p| console.may(p))
        .collect();
    admin
        .render(
            StatusCode::OK,
            "api_keys.html",
            console.context(
                "/admin/api-keys",
                json!({"title": "API keys", "keys": keys, "grantable": grantable,
                       "new_key": new_key, "done": done, "error": error}),
            ),
        )
        .into_response()
}

/// `POST /admin/api-keys`: the page shows the new key this once.
pub(crate) async fn create_api_key(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let expires_at = match one(&pairs, "expires_days").parse::<i64>() {
        Ok(days) if days > 0 => Some(chrono::Utc::now() + chrono::Duration::days(days)),
        _ => None,
    };
    let body = ApiKeyBody {
        name: one(&pairs, "name").to_string(),
        permissions: all(&pairs, "permission"),
        expires_at,
    };
    let maker = KeyMaker {
        user_id: console.user_id,
        role: console.role,
        permissions: console.permissions.clone(),
        api_key: None,
    };
    match admin
        .accounts
        .create_api_key(maker, body, console.ip.clone())
        .await
    {
        Ok(created) => {
            let shown = json!({"name": created.api_key.name, "key": created.key});
            keys_page(&admin, &console, Some(shown), None, None).await
        }
        Err(err) => keys_page(&admin, &console, None, None, Some(crate::explain(&err))).await,
    }
}

/// `POST /admin/api-keys/{id}/revoke`.
pub(crate) async fn revoke_api_key(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &csrf(&pairs)) {
        return page.into_response();
    }
    let outcome = admin
        .accounts
        .revoke_api_key(id, console.user_id, console.ip.clone())
        .await
        .map(|k| {
            format!(
                "{} is revoked: calls with it are refused from now on.",
                k.name
            )
        });
    crate::after_form("/admin/api-keys", outcome)
}
