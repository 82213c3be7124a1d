//! Cross-cutting HTTP behaviour: the problem+json safety net, panics, and the fallback.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use emporium_core::AppError;
use emporium_core::error::{PROBLEM_JSON, problem_body, problem_response};
use emporium_core::extract::ClientIp;
use std::any::Any;

/// Puts the client's address on the request as [`ClientIp`]: the socket peer, or the
/// first `X-Forwarded-For` hop when the node trusts its proxy.
pub async fn client_ip(
    axum::extract::State(trust_forwarded): axum::extract::State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = trust_forwarded
        .then(|| {
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_string())
                .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        })
        .flatten();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    if let Some(ip) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// Unknown routes.
pub async fn fallback() -> AppError {
    AppError::not_found("no resource at this path")
}

/// A panic in a handler becomes a logged 500 problem; the request id is on the span.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %message, "handler panicked");
    AppError::Internal(anyhow::anyhow!("panic: {message}")).into_response()
}

/// Rewrites any error answer the framework or a layer produced on its own (405 from the
/// method router, 408/503 from the timeout, 413 from the body limit) into problem+json,
/// keeping its status and headers such as `Allow`. HTML pages pass untouched.
pub async fn problem_safety_net(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // A problem already, or an HTML page a handler rendered on purpose (the hosted
    // payment page's decline); the framework's own errors are plain text.
    let deliberate = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes().starts_with(b"text/html")
        });
    if deliberate {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no resource at this path"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this method is not allowed on this resource",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than this server accepts",
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            ("timeout", "the request took too long and was stopped")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "unsupported media type"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "the request could not be handled"),
    };
    let (mut parts, _) = response.into_parts();
    let rewritten = problem_response(&problem_body(status, code, detail, Vec::new()));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let (_, body) = rewritten.into_parts();
    Response::from_parts(parts, body)
}

/// Records every staff write through the admin API in the audit log, after it succeeded:
/// who (from the access token the route accepted), the route, the record it named and the
/// address it came from. Services add their own, more detailed entries inside their
/// transactions (a refund's amount, a suspension's reason); this one makes sure that no
/// admin write, present or future, goes unrecorded.
///
/// A call made with an API key is recorded whatever its method or outcome, as the key
/// (its id is the actor, its name and its creator in the detail): an integration's reads
/// of customer data are as much the shop's business as its writes. The key looked up
/// here rides in the request's extensions, so the route's extractor does not look again.
pub async fn audit_admin_writes(
    axum::extract::State(auth): axum::extract::State<emporium_auth::Auth>,
    axum::extract::State(db): axum::extract::State<emporium_db::Db>,
    mut request: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if !path.starts_with("/api/v1/admin/") {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    let key = match bearer
        .as_deref()
        .filter(|t| t.starts_with(emporium_auth::API_KEY_PREFIX))
    {
        Some(token) => match auth.directory().api_key(token).await {
            Ok(found) => found,
            Err(err) => return err.into_response(),
        },
        None => None,
    };
    if let Some(key) = &key {
        request.extensions_mut().insert(key.clone());
    } else if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let actor = match &key {
        Some(key) => Some(key.key_id),
        None => bearer
            .as_deref()
            .and_then(|token| auth.keys().verify(token))
            .map(|claims| claims.sub),
    };
    let ip = request
        .extensions()
        .get::<ClientIp>()
        .map(|ip| ip.0.clone());
    let response = next.run(request).await;
    let Some(route) = route else {
        return response;
    };
    if key.is_none() && !response.status().is_success() {
        return response;
    }
    let resource = route
        .trim_start_matches("/api/v1/admin/")
        .split('/')
        .next()
        .unwrap_or("")
        .to_owned();
    let action = format!("admin.{resource}.{}", method.as_str().to_lowercase());
    // The first `{param}` of the route names the record: its value is in the same place
    // of the real path.
    let target_id = route
        .split('/')
        .zip(path.split('/'))
        .find(|(pattern, _)| pattern.starts_with('{'))
        .map(|(_, value)| value.to_owned());
    let mut detail = serde_json::json!({
        "method": method.as_str(),
        "route": route,
        "path": path,
        "status": response.status().as_u16(),
    });
    if let Some(key) = &key {
        detail["api_key"] = key.name.clone().into();
        detail["on_behalf_of"] = key.created_by.to_string().into();
    }
    let entry = emporium_core::audit::AuditEntry {
        actor,
        action: &action,
        target_type: Some(&resource),
        target_id,
        ip,
        detail,
    };
    if let Err(err) = emporium_core::audit::record(db.writer(), entry).await {
        tracing::warn!(error = %err, %action, "could not record an admin call in the audit log");
    }
    response
}
