//! Request extractors whose failures are problem+json, so that a malformed body, a wrong
//! content type or an oversized request never answers with the framework's plain text.

use crate::error::ErrorCode;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A JSON request body: 415 without a JSON content type, 413 over the body limit,
/// 400 when the JSON is malformed, 422 naming the field when it has the wrong shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned + utoipa::PartialSchema,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(AppError::UnsupportedMediaType {
                detail: "expected a request body with Content-Type: application/json".into(),
            });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

/// Query string parameters: a parameter of the wrong type or a missing one is 422 naming
/// it (`?limit=abc` names `limit`), never a bare 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de)
            .map(Query)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = if path == "." {
                    named_in(&message).unwrap_or_else(|| "query".into())
                } else {
                    path
                };
                AppError::Validation(vec![FieldError::new(field, message)])
            })
    }
}

/// Path parameters: one that does not parse (an id that is not a UUID) is 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                let names = path_param_names(parts);
                let (field, message) = match err.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => (
                        key.clone(),
                        format!("must be a {}", type_word(expected_type)),
                    ),
                    ErrorKind::ParseErrorAtIndex {
                        index,
                        expected_type,
                        ..
                    } => (
                        names.get(*index).cloned().unwrap_or_else(|| "path".into()),
                        format!("must be a {}", type_word(expected_type)),
                    ),
                    ErrorKind::ParseError { expected_type, .. } => (
                        names.first().cloned().unwrap_or_else(|| "path".into()),
                        format!("must be a {}", type_word(expected_type)),
                    ),
                    // A type's own parse error (a malformed UUID) names no key; with one
                    // parameter in the route there is no doubt which.
                    other => (
                        match names.as_slice() {
                            [only] => only.clone(),
                            _ => "path".into(),
                        },
                        other.to_string(),
                    ),
                };
                Err(AppError::Validation(vec![FieldError::new(field, message)]))
            }
            Err(other) => Err(AppError::bad_request(ErrorCode::BadPath, other.body_text())),
        }
    }
}

/// The `{name}`s of the matched route, in order.
fn path_param_names(parts: &Parts) -> Vec<String> {
    parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|m| {
            m.as_str()
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `uuid::Uuid` -> "UUID", `u32` -> "whole number", for people.
fn type_word(rust_type: &str) -> &'static str {
    match rust_type.rsplit("::").next().unwrap_or(rust_type) {
        "Uuid" => "UUID",
        "u8" | "u16" | "u32" | "u64" | "usize" => "whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "whole number",
        "bool" => "true or false",
        _ => "value of the right form",
    }
}

/// The client's address as the server determined it (from the socket, or from
/// `X-Forwarded-For` when the node is configured to trust its proxy). Put on every request
/// by the server's middleware.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Where a request came from, for audit entries and rate limits.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: parts.extensions.get::<ClientIp>().map(|ip| ip.0.clone()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
        })
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime_type::Essence>().ok())
        .is_some_and(|m| m.is_json())
}

fn body_rejection(rejection: BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge {
            detail: "the request body is larger than this server accepts".into(),
        }
    } else {
        AppError::bad_request(
            ErrorCode::UnreadableBody,
            "the request body could not be read",
        )
    }
}

/// Parses a JSON body into `T`, mapping syntax errors to 400 and shape errors to 422.
/// A NUL character in any string is refused (422 naming where): PostgreSQL cannot store
/// it, and no name, address or text of a shop has a use for it. Missing required fields
/// are named all at once (from `T`'s schema), not one per attempt.
pub fn parse_json<T: DeserializeOwned + utoipa::PartialSchema>(
    bytes: &[u8],
) -> Result<T, AppError> {
    if contains_nul_escape(bytes)
        && let Some(field) = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| nul_path(&value, String::new()))
    {
        return Err(AppError::Validation(vec![FieldError::new(
            field,
            "must not contain a NUL character",
        )]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(|e| {
                AppError::bad_request(
                    ErrorCode::MalformedJson,
                    format!("the body is not valid JSON: {e}"),
                )
            })?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(AppError::bad_request(
                    ErrorCode::MalformedJson,
                    format!("the body is not valid JSON: {inner}"),
                ))
            } else {
                let field = if path == "." {
                    let all = missing_required::<T>(bytes);
                    if all.len() > 1 {
                        return Err(AppError::Validation(
                            all.into_iter()
                                .map(|name| {
                                    let message = format!("missing field `{name}`");
                                    FieldError::new(name, message)
                                })
                                .collect(),
                        ));
                    }
                    missing_field(&inner)
                } else {
                    path
                };
                Err(AppError::Validation(vec![FieldError::new(
                    field,
                    strip_position(&inner.to_string()),
                )]))
            }
        }
    }
}

/// The required top-level fields of `T` that the body (an object) lacks.
fn missing_required<T: utoipa::PartialSchema>(bytes: &[u8]) -> Vec<String> {
    use utoipa::openapi::{RefOr, schema::Schema};
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(bytes) else {
        return Vec::new();
    };
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object
            .required
            .into_iter()
            .filter(|name| !body.contains_key(name))
            .collect(),
        _ => Vec::new(),
    }
}

/// JSON can only carry NUL as the escape `\u0000`; looking for it first keeps the common
/// case to one pass over the bytes.
fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(|&b| b == b'0'))
}

/// The path (`a.b[2].c`) of the first string or key holding a NUL, if any.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            if key.contains('\0') {
                Some(here)
            } else {
                nul_path(item, here)
            }
        }),
        _ => None,
    }
}

/// serde reports a missing or unknown field at the parent's path; name the field itself.
fn missing_field(err: &serde_json::Error) -> String {
    named_in(&err.to_string()).unwrap_or_else(|| "body".to_string())
}

/// The field a serde "missing field `x`" or "unknown field `x`" message names.
fn named_in(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|marker| message.split(marker).nth(1))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string)
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Media type parsing small enough to keep here: `application/json`,
/// `application/problem+json` and parameters such as `; charset=utf-8`.
mod mime_type {
    use std::str::FromStr;

    pub struct Essence(String);

    impl FromStr for Essence {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let essence = s.split(';').next().ok_or(())?.trim().to_ascii_lowercase();
            if essence.contains('/') {
                Ok(Self(essence))
            } else {
                Err(())
            }
        }
    }

    impl Essence {
        pub fn is_json(&self) -> bool {
            self.0 == "application/json"
                || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        qty: u32,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn syntax_errors_are_400() {
        let err = parse_json::<Body>(b"{\"name\": ").expect_err("fails");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse_json::<Body>(br#"{"name":"a","qty":"x"}"#).expect_err("fails");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.problem().errors[0].field, "qty");
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse_json::<Body>(br#"{"name":"a"}"#).expect_err("fails");
        assert_eq!(err.problem().errors[0].field, "qty");
        let all = parse_json::<Body>(br#"{}"#).expect_err("fails");
        let named: Vec<_> = all.problem().errors.into_iter().map(|e| e.field).collect();
        assert_eq!(
            named,
            ["name", "qty"],
            "all at once, optional ones left out"
        );
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        let err =
            parse_json::<serde_json::Value>(br#"{"a":[{"b":"x\u0000y"}]}"#).expect_err("fails");
        assert_eq!(err.problem().errors[0].field, "a[0].b");
        assert!(parse_json::<serde_json::Value>(br#"{"a":"\\u0000"}"#).is_ok());
    }
}
