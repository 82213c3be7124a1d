//! Request bodies and response views of the accounts routes.

use chrono::{DateTime, Utc};
use emporium_db::entity::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::Role;
use crate::service::TokenPair;

/// A user as they see themselves (and as staff see them).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub role: Role,
    pub permissions: Vec<String>,
    pub status: String,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    /// The language of the user's emails; null: the store's default.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<users::Model> for UserView {
    fn from(u: users::Model) -> Self {
        Self {
            id: u.id,
            role: Role::parse(&u.role).unwrap_or(Role::Customer),
            permissions: serde_json::from_str(&u.permissions).unwrap_or_default(),
            email_verified: u.email_verified_at.is_some(),
            mfa_enabled: u.totp_enabled_at.is_some(),
            language: u.language,
            email: u.email,
            name: u.name,
            phone: u.phone,
            status: u.status,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// Tokens after a login or refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensView {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<TokenPair> for TokensView {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            token_type: "Bearer",
            expires_in: p.expires_in,
        }
    }
}

/// The answer to a password login when a second factor is needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredView {
    /// Always true.
    pub mfa_required: bool,
    /// Send it to `POST /auth/login/mfa` with a code, within a few minutes.
    pub mfa_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.doe@example.com",
    "password": "plum-harbor-47-lantern",
    "name": "Jane Doe"
})))]
pub struct RegisterBody {
    pub email: String,
    /// At least 10 characters, not a common password, not the email.
    pub password: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.doe@example.com",
    "password": "plum-harbor-47-lantern"
})))]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// Required after repeated failures when a CAPTCHA provider is configured.
    pub captcha_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "mfa_token": "NMNfg4OoNAfY9Aboib_oRv5l5MmNEsyZeN0Y1E11BpI",
    "code": "492817"
})))]
pub struct MfaLoginBody {
    pub mfa_token: String,
    /// The 6-digit TOTP code.
    pub code: Option<String>,
    /// One of the recovery codes, instead of `code`.
    pub recovery_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "refresh_token": "2U27XFmaJltxrP8t4JpxRdk-3P0UDGnsfXpyJNU1VLo"
})))]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "token": "nlclDY8y-65jb-363zpv3N5HOpu944DHycuy8YjMQWQ"
})))]
pub struct TokenBody {
    /// The token from the emailed link.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.doe@example.com"
})))]
pub struct ForgotBody {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "token": "SDZAjmWPpXwlQaA52f2o8FD630ZDQidaEdA4jd81eGk",
    "password": "tidal-maple-93-orbit"
})))]
pub struct ResetBody {
    pub token: String,
    pub password: String,
}

/// `POST /me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "current_password": "plum-harbor-47-lantern",
    "new_password": "tidal-maple-93-orbit"
})))]
pub struct ChangePasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /me/email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.smith@example.org",
    "password": "plum-harbor-47-lantern"
})))]
pub struct ChangeEmailBody {
    /// The new address.
    pub email: String,
    /// The current password (not needed for accounts that only use a social login).
    pub password: Option<String>,
}

/// Profile changes; absent fields stay, an empty string clears. The email address changes
/// through `POST /me/email`, the password through `POST /me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "Jane Smith",
    "phone": "+14155550123",
    "language": "en"
})))]
pub struct ProfilePatchBody {
    pub name: Option<String>,
    /// E.164, e.g. `+4915112345678`.
    pub phone: Option<String>,
    /// The language of the user's emails: one of the store's (`[store] languages`);
    /// empty for the store's default.
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupView {
    /// The base32 seed, for manual entry.
    pub secret: String,
    /// `otpauth://` URI for authenticator apps (QR code).
    pub otpauth_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "code": "492817"
})))]
pub struct TotpCodeBody {
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesView {
    /// Shown once: each works a single time instead of a TOTP code.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedView {
    pub email_verified: bool,
}

/// Staff changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "role": "staff",
    "permissions": ["orders.read", "orders.write", "inventory.write"],
    "name": "Sam Rivera"
})))]
pub struct UserPatchBody {
    pub role: Option<Role>,
    pub permissions: Option<Vec<String>>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPageView {
    pub data: Vec<UserView>,
    pub next_cursor: Option<String>,
}
