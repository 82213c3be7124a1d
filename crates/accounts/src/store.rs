//! The queries accounts owns. No other crate touches these tables.

use chrono::{DateTime, Utc};
use emporium_db::entity::{one_time_tokens, recovery_codes, refresh_tokens, users};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

pub async fn find_user<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id).one(conn).await
}

pub async fn find_user_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(conn)
        .await
}

/// Inserts a user; a customer's account announces itself (`customer.created`) in the
/// same transaction.
pub async fn insert_user<C: ConnectionTrait>(
    conn: &C,
    user: users::ActiveModel,
) -> Result<users::Model, DbErr> {
    let user = user.insert(conn).await?;
    if user.role == "customer" {
        let event = emporium_core::events::CustomerCreated {
            customer_id: user.id.into(),
            email: user.email.clone(),
            name: user.name.clone(),
            language: user.language.clone(),
        };
        emporium_core::events::publish(conn, event).await?;
    }
    Ok(user)
}

pub async fn update_user<C: ConnectionTrait>(
    conn: &C,
    user: users::ActiveModel,
) -> Result<users::Model, DbErr> {
    user.update(conn).await
}

/// A page of users, newest first, after the `(created_at, id)` cursor, optionally
/// matching `query` in email or name.
pub async fn list_users<C: ConnectionTrait>(
    conn: &C,
    query: Option<&str>,
    role: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<users::Model>, DbErr> {
    let mut select = users::Entity::find();
    if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
        let q = q.to_lowercase();
        select = select.filter(
            sea_orm::Condition::any()
                .add(Expr::col(users::Column::Email).like(emporium_core::like::contains(&q)))
                .add(
                    Expr::expr(Func::lower(Expr::col(users::Column::Name)))
                        .like(emporium_core::like::contains(&q)),
                ),
        );
    }
    if let Some(role) = role {
        select = select.filter(users::Column::Role.eq(role));
    }
    if let Some((created_at, id)) = after {
        select = select.filter(
            sea_orm::Condition::any()
                .add(users::Column::CreatedAt.lt(created_at))
                .add(
                    sea_orm::Condition::all()
                        .add(users::Column::CreatedAt.eq(created_at))
                        .add(users::Column::Id.lt(id)),
                ),
        );
    }
    select
        .order_by_desc(users::Column::CreatedAt)
        .order_by_desc(users::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    token: refresh_tokens::ActiveModel,
) -> Result<(), DbErr> {
    refresh_tokens::Entity::insert(token)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

pub async fn find_refresh_token<C: ConnectionTrait>(
    conn: &C,
    hash: &str,
) -> Result<Option<refresh_tokens::Model>, DbErr> {
    refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(hash))
        .one(conn)
        .await
}

/// Marks a live token rotated; false if it was rotated or revoked meanwhile.
pub async fn rotate_refresh_token<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RotatedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(id))
        .filter(refresh_tokens::Column::RotatedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

pub async fn revoke_user_sessions<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::UserId.eq(user))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

pub async fn insert_one_time_token<C: ConnectionTrait>(
    conn: &C,
    token: one_time_tokens::ActiveModel,
) -> Result<(), DbErr> {
    one_time_tokens::Entity::insert(token)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Consumes a live token of `purpose`: marks it used and returns it, or `None` if it is
/// unknown, used, expired or of another purpose. The conditional update makes two
/// concurrent uses impossible.
pub async fn consume_one_time_token<C: ConnectionTrait>(
    conn: &C,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<one_time_tokens::Model>, DbErr> {
    let Some(token) = one_time_tokens::Entity::find()
        .filter(one_time_tokens::Column::TokenHash.eq(hash))
        .filter(one_time_tokens::Column::Purpose.eq(purpose))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    if token.used_at.is_some() || token.expires_at <= now {
        return Ok(None);
    }
    let result = one_time_tokens::Entity::update_many()
        .col_expr(one_time_tokens::Column::UsedAt, Expr::value(now))
        .filter(one_time_tokens::Column::Id.eq(token.id))
        .filter(one_time_tokens::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok((result.rows_affected == 1).then_some(token))
}

/// A live token of `purpose`, without using it up.
pub async fn peek_one_time_token<C: ConnectionTrait>(
    conn: &C,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<one_time_tokens::Model>, DbErr> {
    let token = one_time_tokens::Entity::find()
        .filter(one_time_tokens::Column::TokenHash.eq(hash))
        .filter(one_time_tokens::Column::Purpose.eq(purpose))
        .one(conn)
        .await?;
    Ok(token.filter(|t| t.used_at.is_none() && t.expires_at > now))
}

/// Retires every unused token of `purpose` for `user` (a new reset link voids old ones).
pub async fn retire_one_time_tokens<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    one_time_tokens::Entity::update_many()
        .col_expr(one_time_tokens::Column::UsedAt, Expr::value(now))
        .filter(one_time_tokens::Column::UserId.eq(user))
        .filter(one_time_tokens::Column::Purpose.eq(purpose))
        .filter(one_time_tokens::Column::UsedAt.is_null())
        .exec(conn)
        .await
        .map(|_| ())
}

pub async fn replace_recovery_codes<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    hashes: Vec<String>,
) -> Result<(), DbErr> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    if hashes.is_empty() {
        return Ok(());
    }
    let rows = hashes
        .into_iter()
        .map(|code_hash| recovery_codes::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user),
            code_hash: Set(code_hash),
            used_at: Set(None),
        });
    recovery_codes::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Uses one unused recovery code of `user` matching `hash`; false if none.
pub async fn use_recovery_code<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(now))
        .filter(recovery_codes::Column::UserId.eq(user))
        .filter(recovery_codes::Column::CodeHash.eq(hash))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected >= 1)
}

/// Records an accepted TOTP step, only if it is newer than the stored one.
pub async fn advance_totp_step<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    step: i64,
) -> Result<bool, DbErr> {
    let result = users::Entity::update_many()
        .col_expr(users::Column::TotpLastStep, Expr::value(step))
        .filter(users::Column::Id.eq(user))
        .filter(
            sea_orm::Condition::any()
                .add(users::Column::TotpLastStep.is_null())
                .add(users::Column::TotpLastStep.lt(step)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
