//! The audit log writer: who did what to whom, when, from which IP. Written in the same
//! transaction as the action, so the log never claims something that was rolled back.

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// One audit entry.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    /// The user who acted; `None` for anonymous actions (a failed login).
    pub actor: Option<Uuid>,
    /// Dotted action name: `auth.login`, `auth.login_failed`, `admin.user.suspend`.
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    /// Particulars as JSON; never secrets.
    pub detail: serde_json::Value,
}

/// Appends `entry` to the audit log.
pub async fn record<C: ConnectionTrait>(conn: &C, entry: AuditEntry<'_>) -> Result<(), DbErr> {
    let detail = if entry.detail.is_null() {
        "{}".to_string()
    } else {
        entry.detail.to_string()
    };
    let insert = Query::insert()
        .into_table("audit_log")
        .columns([
            "id",
            "actor_id",
            "action",
            "target_type",
            "target_id",
            "ip",
            "detail",
            "created_at",
        ])
        .values_panic([
            Uuid::now_v7().into(),
            entry.actor.into(),
            entry.action.into(),
            entry.target_type.map(str::to_string).into(),
            entry.target_id.into(),
            entry.ip.into(),
            detail.into(),
            chrono::Utc::now().into(),
        ])
        .to_owned();
    conn.execute(&insert).await.map(|_| ())
}
