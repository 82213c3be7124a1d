//! The one error type every request path returns, rendered as RFC 9457 problem+json.
//!
//! Domain crates define their own error enums and convert them into [`AppError`]; this
//! module decides the HTTP status, the stable `code` clients switch on, and what is safe
//! to show (internal failures are logged with detail and shown as "internal error").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, dotted for nested fields (`shipping_address.country`).
    pub field: String,
    /// What is wrong with it, for people.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problem+json body (RFC 9457) with our stable `code` extension.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; ours are `https://emporium.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case identifier clients can switch on (`out_of_stock`, `not_found`).
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// What a client needs to recover, named by the problem (`totals` for
    /// `price_changed`): RFC 9457 extension members.
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

macro_rules! error_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// Every `code` a problem can carry: stable snake_case identifiers clients switch
        /// on. One list, so the API guide can be checked against it (a test does).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    AccountExists => "account_exists",
    AlreadyExists => "already_exists",
    AlreadyPaid => "already_paid",
    BadPath => "bad_path",
    BadRequest => "bad_request",
    CannotDemoteSelf => "cannot_demote_self",
    CannotSuspendSelf => "cannot_suspend_self",
    CaptchaFailed => "captcha_failed",
    CaptchaRequired => "captcha_required",
    CartChanged => "cart_changed",
    CartEmpty => "cart_empty",
    CartFull => "cart_full",
    CartNotActive => "cart_not_active",
    CategoryCycle => "category_cycle",
    CategoryHasChildren => "category_has_children",
    CodeTaken => "code_taken",
    DuplicateVariant => "duplicate_variant",
    EmailNotVerified => "email_not_verified",
    EmailTaken => "email_taken",
    Forbidden => "forbidden",
    GatewayDisabled => "gateway_disabled",
    GatewayError => "gateway_error",
    GatewayRefused => "gateway_refused",
    IdempotencyConflict => "idempotency_conflict",
    IdempotencyKeyInvalid => "idempotency_key_invalid",
    IdempotencyKeyRequired => "idempotency_key_required",
    InStock => "in_stock",
    InsufficientStock => "insufficient_stock",
    Internal => "internal",
    InvalidCredentials => "invalid_credentials",
    InvalidMfaCode => "invalid_mfa_code",
    InvalidMfaToken => "invalid_mfa_token",
    InvalidRefreshToken => "invalid_refresh_token",
    InvalidSignature => "invalid_signature",
    InvalidState => "invalid_state",
    InvalidToken => "invalid_token",
    InvalidTransition => "invalid_transition",
    LinesUnavailable => "lines_unavailable",
    MalformedJson => "malformed_json",
    MalformedQuery => "malformed_query",
    MalformedWebhook => "malformed_webhook",
    MethodNotAllowed => "method_not_allowed",
    MfaAlreadyEnabled => "mfa_already_enabled",
    MfaNotEnabled => "mfa_not_enabled",
    MfaNotSetUp => "mfa_not_set_up",
    NoExchangeRate => "no_exchange_rate",
    NoPassword => "no_password",
    NoPriceInCurrency => "no_price_in_currency",
    NotAuthenticating => "not_authenticating",
    NotFound => "not_found",
    NothingCaptured => "nothing_captured",
    NothingToShip => "nothing_to_ship",
    OauthDenied => "oauth_denied",
    OptionsInUse => "options_in_use",
    OrderChanged => "order_changed",
    OutOfStock => "out_of_stock",
    PayloadTooLarge => "payload_too_large",
    PaymentClosed => "payment_closed",
    PriceChanged => "price_changed",
    PurchaseRequired => "purchase_required",
    RateLimited => "rate_limited",
    RefreshTokenReused => "refresh_token_reused",
    RefundExceedsCaptured => "refund_exceeds_captured",
    RefundFailed => "refund_failed",
    RequestInProgress => "request_in_progress",
    SkuTaken => "sku_taken",
    SlugTaken => "slug_taken",
    StaleToken => "stale_token",
    Timeout => "timeout",
    TooManyAddresses => "too_many_addresses",
    Unauthenticated => "unauthenticated",
    Unavailable => "unavailable",
    UnreadableBody => "unreadable_body",
    Unsupported => "unsupported",
    UnsupportedMediaType => "unsupported_media_type",
    UserExists => "user_exists",
    ValidationFailed => "validation_failed",
    CodeExchangeFailed => "code_exchange_failed",
    EmailRequired => "email_required",
    InvalidIdToken => "invalid_id_token",
    CouponRefused => "coupon_refused",
    PromotionUnavailable => "promotion_unavailable",
    PromotionInUse => "promotion_in_use",
}

/// Every failure a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { code: ErrorCode, detail: String },
    #[error("{detail}")]
    Unauthorized { code: ErrorCode, detail: String },
    #[error("forbidden")]
    Forbidden { code: ErrorCode, detail: String },
    #[error("not found")]
    NotFound { detail: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict {
        code: ErrorCode,
        detail: String,
        /// What conflicted, when it is more than one thing (the lines out of stock).
        errors: Vec<FieldError>,
        /// Extension members of the problem (see [`Problem::extensions`]).
        extensions: serde_json::Map<String, serde_json::Value>,
    },
    #[error("payload too large")]
    PayloadTooLarge { detail: String },
    #[error("unsupported media type")]
    UnsupportedMediaType { detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A well-formed request the rules refuse for a reason clients switch on (a coupon
    /// that expired): 422 with its own code and extension members.
    #[error("{detail}")]
    Refused {
        code: ErrorCode,
        detail: String,
        extensions: serde_json::Map<String, serde_json::Value>,
    },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("request timed out")]
    Timeout,
    /// An upstream service (a payment gateway) answered wrongly or not at all.
    #[error("{detail}")]
    BadGateway { code: ErrorCode, detail: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }
    }

    /// A 409 carrying what the client needs to recover, as top-level members.
    pub fn conflict_carrying(
        code: ErrorCode,
        detail: impl Into<String>,
        extensions: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions,
        }
    }

    /// A 409 listing each thing that conflicted (`errors[].field` names it).
    pub fn conflict_with(
        code: ErrorCode,
        detail: impl Into<String>,
        errors: Vec<FieldError>,
    ) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            errors,
            extensions: serde_json::Map::new(),
        }
    }

    pub fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code: ErrorCode::Forbidden,
            detail: detail.into(),
        }
    }

    /// A 403 with its own code, for a refusal a client can act on (`email_not_verified`).
    pub fn forbidden_because(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// A 422 naming a single field.
    pub fn bad_gateway(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadGateway {
            code,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Refused { code, .. }
            | Self::BadGateway { code, .. }
            | Self::Unauthorized { code, .. } => code.as_str(),
            Self::Forbidden { code, .. } => code.as_str(),
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal(_) => "internal",
        }
    }

    /// The problem body; internal errors never leak their cause.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::BadRequest { detail, .. }
            | Self::Unauthorized { detail, .. }
            | Self::Forbidden { detail, .. }
            | Self::NotFound { detail }
            | Self::Conflict { detail, .. }
            | Self::Refused { detail, .. }
            | Self::PayloadTooLarge { detail }
            | Self::UnsupportedMediaType { detail }
            | Self::Unavailable { detail, .. }
            | Self::BadGateway { detail, .. } => detail.clone(),
            Self::MethodNotAllowed => "this method is not allowed on this resource".into(),
            Self::Validation(_) => "one or more fields are invalid".into(),
            Self::RateLimited { .. } => "too many requests; retry later".into(),
            Self::Timeout => "the request took too long and was stopped".into(),
            Self::Internal(_) => "internal error".into(),
        };
        let errors = match self {
            Self::Validation(errors) | Self::Conflict { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        let mut problem = problem_body(status, self.code(), detail, errors);
        if let Self::Conflict { extensions, .. } | Self::Refused { extensions, .. } = self {
            problem.extensions = extensions.clone();
        }
        problem
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs }
            | Self::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Timeout => Some(1),
            _ => None,
        }
    }
}

/// Builds a problem body for a status outside [`AppError`] (used by the safety-net layer
/// that rewrites bare error responses from the framework).
pub fn problem_body(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        kind: format!("https://emporium.dev/problems/{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: detail.into(),
        code: code.to_string(),
        errors,
        extensions: serde_json::Map::new(),
    }
}

/// Renders a problem with the right content type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            // The request id is on the enclosing span, so this line carries it.
            tracing::error!(error = ?err, "internal error");
        }
        let mut response = problem_response(&self.problem());
        if let Some(secs) = self.retry_after()
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match classify_db_error(&err) {
            DbFailure::UniqueViolation(detail) => Self::conflict(ErrorCode::AlreadyExists, detail),
            DbFailure::Unavailable => Self::Unavailable {
                detail: "the database is unavailable".into(),
                retry_after_secs: 2,
            },
            DbFailure::RecordNotFound => Self::not_found("not found"),
            DbFailure::Other => Self::Internal(anyhow::Error::new(err)),
        }
    }
}

/// What a database error means to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFailure {
    /// A unique constraint refused the write; the detail names the constraint or column.
    UniqueViolation(String),
    /// The database could not be reached or the pool is exhausted: try again later.
    Unavailable,
    RecordNotFound,
    Other,
}

/// Sorts a database error into what callers act on. SQLite names the column
/// (`UNIQUE constraint failed: users.email`), PostgreSQL the constraint; both become
/// [`DbFailure::UniqueViolation`].
pub fn classify_db_error(err: &DbErr) -> DbFailure {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        return DbFailure::UniqueViolation(unique_detail(&message));
    }
    match err {
        DbErr::RecordNotFound(_) => DbFailure::RecordNotFound,
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => DbFailure::Unavailable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
            if is_connection_error(&e.to_string()) =>
        {
            DbFailure::Unavailable
        }
        _ => DbFailure::Other,
    }
}

fn is_connection_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "pool timed out",
        "connection refused",
        "connection reset",
        "broken pipe",
        "error communicating with database",
        "io error",
        "pool closed",
        "database is locked",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

fn unique_detail(message: &str) -> String {
    // SQLite: "UNIQUE constraint failed: users.email"; PostgreSQL:
    // "duplicate key value violates unique constraint \"idx_users_email\"".
    if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
        return format!("a record with this {} already exists", rest.trim());
    }
    if let Some(rest) = message.split("unique constraint ").nth(1) {
        return format!(
            "a record violating {} already exists",
            rest.trim().trim_matches('"')
        );
    }
    "a record with these values already exists".into()
}

/// Shorthand for results that end in an [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::Internal(anyhow::anyhow!("secret connection string"));
        let problem = err.problem();
        assert_eq!(problem.status, 500);
        assert_eq!(problem.detail, "internal error");
    }

    #[test]
    fn validation_lists_fields() {
        let problem = AppError::invalid("email", "not an email").problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.len(), 1);
        assert_eq!(problem.code, "validation_failed");
    }

    #[test]
    fn unique_messages_name_the_column_or_constraint() {
        assert_eq!(
            unique_detail("UNIQUE constraint failed: users.email"),
            "a record with this users.email already exists"
        );
        assert!(
            unique_detail("duplicate key value violates unique constraint \"idx_users_email\"")
                .contains("idx_users_email")
        );
    }
}
