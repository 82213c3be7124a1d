//! `users`: customers and staff. The email is stored normalised (trimmed, lower case), so
//! its unique index is case-insensitive on both backends.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Argon2id PHC string (carries its own salt and parameters); `None` for accounts
    /// made by social login that never set a password.
    pub password_hash: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub role: String,
    /// JSON array of permission names (staff only).
    pub permissions: String,
    pub status: String,
    /// The TOTP seed, sealed with the master key.
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<DateTimeUtc>,
    /// The last accepted TOTP time step: a code is never accepted twice.
    pub totp_last_step: Option<i64>,
    pub failed_logins: i32,
    pub lockouts: i32,
    pub locked_until: Option<DateTimeUtc>,
    /// Bumped when role, permissions or status change; access tokens carry it.
    pub token_version: i32,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// An address the user asked to change to, until confirmed from the link sent there.
    pub pending_email: Option<String>,
    /// The language of the user's emails (one of the store's); `None`: the default.
    pub language: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
