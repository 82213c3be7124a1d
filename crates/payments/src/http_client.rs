//! Sending a gateway request and sorting its answer into [`GatewayError`]s. Response
//! bodies may echo what we sent; they are logged by status only.

use crate::GatewayError;
use serde_json::Value;

/// Sends `request`; a 2xx JSON body comes back, anything else is an error of the right
/// kind (4xx: refused, with the gateway's message; 5xx and network: unavailable).
pub(crate) async fn send(
    gateway: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Value, GatewayError> {
    let response = request.send().await.map_err(|e| {
        tracing::warn!(gateway, timeout = e.is_timeout(), "gateway request failed");
        GatewayError::Unavailable(if e.is_timeout() {
            "timed out".into()
        } else {
            "connection failed".into()
        })
    })?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|_| GatewayError::Unavailable("the response was cut off".into()))?;
    let body: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|_| {
            GatewayError::Protocol(format!("{gateway} answered {status} with non-JSON"))
        })?
    };
    if status.is_success() {
        return Ok(body);
    }
    tracing::warn!(
        gateway,
        status = status.as_u16(),
        "gateway refused a request"
    );
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(GatewayError::Unavailable(format!(
            "{gateway} answered {status}"
        )));
    }
    Err(GatewayError::Refused(
        message_of(&body).unwrap_or_else(|| format!("{gateway} answered {status}")),
    ))
}

/// The human message in a gateway's error body (Stripe and Razorpay: `error.message` /
/// `error.description`; PayPal: `message` or the first `details[].description`).
fn message_of(body: &Value) -> Option<String> {
    let error = &body["error"];
    [
        &error["message"],
        &error["description"],
        &body["details"][0]["description"],
        &body["message"],
        &body["error_description"],
    ]
    .into_iter()
    .find_map(|v| v.as_str())
    .map(|s| s.chars().take(300).collect())
}

/// A string field, or a protocol error naming it.
pub(crate) fn text<'a>(body: &'a Value, path: &[&str]) -> Result<&'a str, GatewayError> {
    let mut value = body;
    for key in path {
        value = &value[*key];
    }
    value
        .as_str()
        .ok_or_else(|| GatewayError::Protocol(format!("missing {}", path.join("."))))
}
