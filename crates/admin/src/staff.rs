//! Staff in the console: who may run the shop, their role, their named permissions
//! (the same names the API checks) and whether they sign in with a second step; invite
//! a new staff member by email; change a role or permissions. A role or permission
//! change applies at the staff member's next click (sessions read them on every request)
//! and voids their API tokens.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_accounts::UserChanges;
use emporium_auth::{PERMISSIONS, Role};
use emporium_core::AppError;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::customers::meta;
use crate::form::{Pairs, all, csrf, one};
use crate::product_edit::Notice;
use crate::session::Console;
use crate::state::Admin;

fn ticked(pairs: &Pairs) -> Vec<String> {
    all(pairs, "permission")
}

fn role_of(pairs: &Pairs) -> Result<Role, AppError> {
    Role::parse(one(pairs, "role"))
        .ok_or_else(|| AppError::invalid("role", "must be customer, staff or admin"))
}

fn back(outcome: Result<String, AppError>) -> Response {
    crate::after_form("/admin/staff", outcome)
}

/// `GET /admin/staff`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "users.read") {
        return page.into_response();
    }
    let mut people = Vec::new();
    for role in ["admin", "staff"] {
        match admin.accounts.list_users(None, Some(role), None, 200).await {
            Ok((rows, _)) => people.extend(rows),
            Err(err) => return err.into_response(),
        }
    }
    let rows: Vec<Value> = people
        .iter()
        .map(|u| {
            let granted: Vec<String> = serde_json::from_str(&u.permissions).unwrap_or_default();
            let perms: Vec<Value> = PERMISSIONS
                .iter()
                .map(|p| json!({"name": p, "granted": granted.iter().any(|g| g == p)}))
                .collect();
            json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role,
                   "status": u.status, "two_step": u.totp_enabled_at.is_some(),
                   "invited": u.password_hash.is_none(),
                   "permissions": perms, "granted": granted.join(", ")})
        })
        .collect();
    admin
        .render(
            StatusCode::OK,
            "staff.html",
            console.context(
                "/admin/staff",
                json!({"title": "Staff", "people": rows, "all_permissions": PERMISSIONS,
                       "may_manage": console.may("users.manage"),
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/staff/invite`.
pub(crate) async fn invite(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "users.manage", &csrf(&pairs)) {
        return page.into_response();
    }
    let outcome = async {
        let role = role_of(&pairs)?;
        let user = admin
            .accounts
            .invite_staff(
                console.user_id,
                one(&pairs, "email"),
                role,
                &ticked(&pairs),
                &meta(&console),
            )
            .await?;
        Ok(format!("Invited {}: the link is on its way.", user.email))
    };
    back(outcome.await)
}

/// `POST /admin/staff/{id}`: role and permissions.
pub(crate) async fn update(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "users.manage", &csrf(&pairs)) {
        return page.into_response();
    }
    let outcome = async {
        let changes = UserChanges {
            role: Some(role_of(&pairs)?),
            permissions: Some(ticked(&pairs)),
            name: None,
        };
        let user = admin
            .accounts
            .update_user(console.user_id, id, changes, &meta(&console))
            .await?;
        Ok(format!("{} is {} now.", user.email, user.role))
    };
    back(outcome.await)
}
