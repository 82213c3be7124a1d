//! Idempotency keys (API.md): a POST that creates an order, a payment or a refund carries
//! `Idempotency-Key`; the first response is stored in the same transaction as the change,
//! so a repeat with the same body gets it back and a different body under the key is 409.

use crate::error::ErrorCode;
use axum::http::HeaderMap;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use sha2::{Digest, Sha256};

use crate::{AppError, AppResult};

const TABLE: &str = "idempotency_keys";

/// A stored first response.
#[derive(Debug, Clone)]
pub struct Replay {
    pub status: u16,
    pub body: String,
}

/// A JSON request that must carry an `Idempotency-Key`: the key, the fingerprint of the
/// body in canonical form (what a repeat is compared by), and the body parsed from that
/// same canonical form. The one way a route takes such a request.
#[derive(Debug)]
pub struct Idempotent<T> {
    pub key: String,
    pub hash: String,
    pub body: T,
}

impl<T, S> axum::extract::FromRequest<S> for Idempotent<T>
where
    T: serde::de::DeserializeOwned + utoipa::PartialSchema,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let headers = req.headers().clone();
        let crate::extract::Json(value) =
            crate::extract::Json::<serde_json::Value>::from_request(req, state).await?;
        let key = key_from(&headers)?;
        let (canonical, hash) = canonical(&value);
        let body = crate::extract::parse_json(canonical.as_bytes())?;
        Ok(Self { key, hash, body })
    }
}

/// The request's `Idempotency-Key`: required, 1 to 255 visible ASCII characters.
pub fn key_from(headers: &HeaderMap) -> AppResult<String> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::IdempotencyKeyRequired,
                "this request needs an Idempotency-Key header",
            )
        })?
        .to_str()
        .unwrap_or("")
        .trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::bad_request(
            ErrorCode::IdempotencyKeyInvalid,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(key.to_string())
}

/// A JSON request body in canonical form and its fingerprint: keys are sorted in a
/// `serde_json` map, so equal bodies hash equal whatever their field order or spacing.
pub fn canonical(value: &serde_json::Value) -> (String, String) {
    let text = value.to_string();
    let hash = request_hash(text.as_bytes());
    (text, hash)
}

impl axum::response::IntoResponse for Replay {
    /// The stored response, as first sent.
    fn into_response(self) -> axum::response::Response {
        (
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::OK),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response()
    }
}

/// The fingerprint of a request body, compared on repeats.
pub fn request_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored response for `(scope, key)`: `Some` to replay, 409 when the key was used
/// with a different body, `None` when the key is new.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    scope: &str,
    key: &str,
    hash: &str,
) -> AppResult<Option<Replay>> {
    let select = Query::select()
        .columns(["request_hash", "status_code", "response"])
        .from(TABLE)
        .and_where(Expr::col("scope").eq(scope))
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    let Some(row) = conn.query_one(&select).await? else {
        return Ok(None);
    };
    let stored: String = row.try_get("", "request_hash")?;
    if stored != hash {
        return Err(AppError::conflict(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was already used with a different request",
        ));
    }
    let status: i32 = row.try_get("", "status_code")?;
    Ok(Some(Replay {
        status: u16::try_from(status).unwrap_or(200),
        body: row.try_get("", "response")?,
    }))
}

/// Stores the first response, inside the transaction that made the change.
pub async fn save<C: ConnectionTrait>(
    conn: &C,
    scope: &str,
    key: &str,
    hash: &str,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(TABLE)
        .columns([
            "scope",
            "key",
            "request_hash",
            "status_code",
            "response",
            "created_at",
        ])
        .values_panic([
            scope.into(),
            key.into(),
            hash.into(),
            i32::from(status).into(),
            body.into(),
            chrono::Utc::now().into(),
        ])
        .to_owned();
    conn.execute(&insert).await.map(|_| ())
}

/// The status a key holds while its first request is still being worked on (a refund
/// waiting on its gateway): a repeat meanwhile is told to retry, never run twice.
pub const IN_PROGRESS: u16 = 102;

/// Replaces the stored response of a key claimed with [`IN_PROGRESS`].
pub async fn complete<C: ConnectionTrait>(
    conn: &C,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table(TABLE)
        .values([
            ("status_code", i32::from(status).into()),
            ("response", body.into()),
        ])
        .and_where(Expr::col("scope").eq(scope))
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    conn.execute(&update).await.map(|_| ())
}

/// Frees a claimed key whose request failed before changing anything, so a retry runs.
pub async fn forget<C: ConnectionTrait>(conn: &C, scope: &str, key: &str) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(TABLE)
        .and_where(Expr::col("scope").eq(scope))
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    conn.execute(&delete).await.map(|_| ())
}
