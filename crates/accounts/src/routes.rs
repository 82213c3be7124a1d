//! HTTP handlers of the accounts domain: parse, call one service function, shape the view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_core::error::ErrorCode;
use emporium_core::extract::{ClientInfo, Json};
use emporium_core::extract::{Path, Query};
use emporium_core::locale::Locale;
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult, FieldError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::admin::UserChanges;
use crate::model::Email;
use crate::service::{LoginOutcome, NewUser, RequestMeta};
use crate::state::Accounts;
use crate::store;
use crate::views::*;
use emporium_auth::{Auth, Principal, Staff, perm};

type Problem = emporium_core::error::Problem;

fn meta(client: ClientInfo) -> RequestMeta {
    RequestMeta {
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

/// The store routes (`/api/v1/auth`, `/api/v1/me`) and the admin user routes.
pub fn router<S>() -> OpenApiRouter<S>
where
    Accounts: axum::extract::FromRef<S>,
    Auth: axum::extract::FromRef<S>,
    std::sync::Arc<emporium_core::Config>: axum::extract::FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .merge(crate::address_book::router())
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(login_mfa))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(verify_email))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(start_oauth))
        .routes(routes!(finish_oauth))
        .merge(crate::audit_log::router())
        .merge(crate::api_keys::router())
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(change_email))
        .routes(routes!(confirm_email))
        .routes(routes!(setup_totp))
        .routes(routes!(enable_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user))
        .routes(routes!(suspend_user))
        .routes(routes!(unsuspend_user))
        .routes(routes!(reset_user_password))
}

/// Create a customer account; a verification email is sent.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn register(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    locale: Locale,
    Json(body): Json<RegisterBody>,
) -> AppResult<Response> {
    let user = accounts
        .register(
            NewUser {
                email: &body.email,
                password: &body.password,
                name: body.name.as_deref(),
                language: Some(&locale.lang),
            },
            &meta(client),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(user))).into_response())
}

fn check_email_shape(email: &str) -> AppResult<()> {
    Email::parse(email)
        .map(|_| ())
        .map_err(|e| AppError::Validation(vec![e]))
}

/// Sign in with email and password: tokens, or `mfa_required` with an MFA token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "Tokens, or mfa_required", body = TokensView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<LoginBody>,
) -> AppResult<Response> {
    check_email_shape(&body.email)?;
    if body.password.is_empty() {
        return Err(AppError::invalid("password", "must not be empty"));
    }
    let outcome = accounts
        .login(
            &body.email,
            &body.password,
            body.captcha_token.as_deref(),
            &meta(client),
        )
        .await?;
    Ok(match outcome {
        LoginOutcome::Tokens(pair) => axum::Json(TokensView::from(pair)).into_response(),
        LoginOutcome::MfaRequired { mfa_token } => axum::Json(MfaRequiredView {
            mfa_required: true,
            mfa_token,
        })
        .into_response(),
    })
}

/// Complete a login with a TOTP code or a recovery code.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", request_body = MfaLoginBody,
    responses((status = 200, body = TokensView), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn login_mfa(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<MfaLoginBody>,
) -> AppResult<axum::Json<TokensView>> {
    let pair = accounts
        .login_mfa(
            &body.mfa_token,
            body.code.as_deref(),
            body.recovery_code.as_deref(),
            &meta(client),
        )
        .await?;
    Ok(axum::Json(pair.into()))
}

/// Exchange a refresh token for a new pair (the old one stops working).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokensView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn refresh(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<RefreshBody>,
) -> AppResult<axum::Json<TokensView>> {
    let pair = accounts.refresh(&body.refresh_token, &meta(client)).await?;
    Ok(axum::Json(pair.into()))
}

/// Revoke a refresh token (this session).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204), (status = 422, body = Problem)))]
async fn logout(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<RefreshBody>,
) -> AppResult<StatusCode> {
    accounts.logout(&body.refresh_token, &meta(client)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm the email address with the emailed token.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenBody,
    responses((status = 200, body = VerifiedView), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn verify_email(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<TokenBody>,
) -> AppResult<axum::Json<VerifiedView>> {
    accounts.verify_email(&body.token, &meta(client)).await?;
    Ok(axum::Json(VerifiedView {
        email_verified: true,
    }))
}

/// Email a password reset link (answers 202 whether or not the account exists).
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotBody,
    responses((status = 202), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn forgot_password(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<ForgotBody>,
) -> AppResult<StatusCode> {
    accounts.forgot_password(&body.email, &meta(client)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the emailed token; every session is signed out.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetBody,
    responses((status = 204), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn reset_password(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<ResetBody>,
) -> AppResult<StatusCode> {
    accounts
        .reset_password(&body.token, &body.password, &meta(client))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where to go after a social login.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OAuthStartQuery {
    /// A storefront URL (this shop's origin or an allowed CORS origin); after login the
    /// browser lands there with the tokens in the URL fragment. Without it the callback
    /// answers the tokens as JSON.
    redirect_to: Option<String>,
}

/// Start a social login: redirects to the provider (authorization code + PKCE).
#[utoipa::path(get, path = "/api/v1/auth/oauth/{provider}/start", tag = "auth",
    params(("provider" = String, Path, description = "google, facebook or a configured OIDC provider"), OAuthStartQuery),
    responses((status = 302, description = "Redirect to the provider"), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn start_oauth(
    State(accounts): State<Accounts>,
    Path(provider): Path<String>,
    Query(query): Query<OAuthStartQuery>,
) -> AppResult<Response> {
    let url = accounts
        .oauth_start(&provider, query.redirect_to.as_deref())
        .await?;
    Ok(redirect(&url))
}

/// What the provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OAuthCallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// Set by the provider when the person declined.
    error: Option<String>,
}

/// The provider's redirect back: verifies state, code and identity, then signs in.
#[utoipa::path(get, path = "/api/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "The provider"), OAuthCallbackQuery),
    responses((status = 200, body = TokensView), (status = 302, description = "To redirect_to with tokens in the fragment"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 409, body = Problem)))]
async fn finish_oauth(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Path(provider): Path<String>,
    Query(query): Query<OAuthCallbackQuery>,
) -> AppResult<Response> {
    if let Some(error) = query.error {
        return Err(AppError::bad_request(
            ErrorCode::OauthDenied,
            format!("the provider answered: {error}"),
        ));
    }
    let (Some(code), Some(state)) = (query.code, query.state) else {
        return Err(AppError::Validation(vec![FieldError::new(
            "code",
            "code and state are required",
        )]));
    };
    let login = accounts
        .oauth_callback(&provider, &code, &state, &meta(client))
        .await?;
    let tokens = TokensView::from(login.tokens);
    Ok(match login.redirect_to {
        Some(to) => redirect(&format!(
            "{to}#access_token={}&refresh_token={}&token_type=Bearer&expires_in={}",
            tokens.access_token, tokens.refresh_token, tokens.expires_in
        )),
        None => axum::Json(tokens).into_response(),
    })
}

fn redirect(url: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (axum::http::header::LOCATION, url.to_string()),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
async fn get_me(
    State(accounts): State<Accounts>,
    principal: Principal,
) -> AppResult<axum::Json<UserView>> {
    let user = store::find_user(accounts.db().writer(), principal.user_id)
        .await?
        .filter(|u| u.status == crate::model::status::ACTIVE)
        .ok_or_else(|| {
            AppError::unauthorized(
                ErrorCode::InvalidToken,
                "the access token is invalid or expired",
            )
        })?;
    Ok(axum::Json(user.into()))
}

/// Change the signed-in user's name or phone.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = ProfilePatchBody,
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn update_me(
    State(accounts): State<Accounts>,
    principal: Principal,
    Json(body): Json<ProfilePatchBody>,
) -> AppResult<axum::Json<UserView>> {
    let user = accounts
        .update_profile(
            principal.user_id,
            body.name.as_deref(),
            body.phone.as_deref(),
            body.language.as_deref(),
        )
        .await?;
    Ok(axum::Json(user.into()))
}

/// Change the password (the current one is required). Every session ends; the answer is
/// a new token pair for this one.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses((status = 200, body = TokensView), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn change_password(
    State(accounts): State<Accounts>,
    principal: Principal,
    client: ClientInfo,
    Json(body): Json<ChangePasswordBody>,
) -> AppResult<axum::Json<TokensView>> {
    let pair = accounts
        .change_password(
            principal.user_id,
            &body.current_password,
            &body.new_password,
            &meta(client),
        )
        .await?;
    Ok(axum::Json(pair.into()))
}

/// Ask to change the email address (the password is required): a confirmation link goes
/// to the new address, and the account changes only once it is opened (202).
#[utoipa::path(post, path = "/api/v1/me/email", tag = "me", security(("bearer" = [])),
    request_body = ChangeEmailBody,
    responses((status = 202, description = "A confirmation link was sent to the new address"),
        (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn change_email(
    State(accounts): State<Accounts>,
    principal: Principal,
    client: ClientInfo,
    Json(body): Json<ChangeEmailBody>,
) -> AppResult<StatusCode> {
    accounts
        .request_email_change(
            principal.user_id,
            &body.email,
            body.password.as_deref().unwrap_or(""),
            &meta(client),
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Confirm a new email address with the token from the link sent to it.
#[utoipa::path(post, path = "/api/v1/auth/confirm-email", tag = "auth", request_body = TokenBody,
    responses((status = 200, body = UserView), (status = 400, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn confirm_email(
    State(accounts): State<Accounts>,
    client: ClientInfo,
    Json(body): Json<TokenBody>,
) -> AppResult<axum::Json<UserView>> {
    let user = accounts
        .confirm_email_change(&body.token, &meta(client))
        .await?;
    Ok(axum::Json(user.into()))
}

/// Start TOTP setup: a new seed and its otpauth:// URI.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/setup", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = TotpSetupView), (status = 401, body = Problem), (status = 409, body = Problem)))]
async fn setup_totp(
    State(accounts): State<Accounts>,
    principal: Principal,
    client: ClientInfo,
) -> AppResult<axum::Json<TotpSetupView>> {
    let (secret, otpauth_url) = accounts
        .totp_setup(principal.user_id, &meta(client))
        .await?;
    Ok(axum::Json(TotpSetupView {
        secret,
        otpauth_url,
    }))
}

/// Turn TOTP on with a first valid code; answers the recovery codes once.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/enable", tag = "me", security(("bearer" = [])), request_body = TotpCodeBody,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn enable_totp(
    State(accounts): State<Accounts>,
    principal: Principal,
    client: ClientInfo,
    Json(body): Json<TotpCodeBody>,
) -> AppResult<axum::Json<RecoveryCodesView>> {
    let code = body
        .code
        .ok_or_else(|| AppError::invalid("code", "is required"))?;
    let recovery_codes = accounts
        .totp_enable(principal.user_id, &code, &meta(client))
        .await?;
    Ok(axum::Json(RecoveryCodesView { recovery_codes }))
}

/// Turn TOTP off with a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/disable", tag = "me", security(("bearer" = [])), request_body = TotpCodeBody,
    responses((status = 204), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn disable_totp(
    State(accounts): State<Accounts>,
    principal: Principal,
    client: ClientInfo,
    Json(body): Json<TotpCodeBody>,
) -> AppResult<StatusCode> {
    accounts
        .totp_disable(
            principal.user_id,
            body.code.as_deref(),
            body.recovery_code.as_deref(),
            &meta(client),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of the admin user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserListQuery {
    /// Matches email or name.
    q: Option<String>,
    /// customer, staff or admin.
    role: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List and search users (needs `users.read`).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(UserListQuery),
    responses((status = 200, body = UserPageView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_users(
    State(accounts): State<Accounts>,
    _staff: Staff<perm::UsersRead>,
    Query(query): Query<UserListQuery>,
) -> AppResult<axum::Json<UserPageView>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let (users, next_cursor) = accounts
        .list_users(
            query.q.as_deref(),
            query.role.as_deref(),
            page.cursor.as_deref(),
            limit,
        )
        .await?;
    Ok(axum::Json(UserPageView {
        data: users.into_iter().map(UserView::from).collect(),
        next_cursor,
    }))
}

fn parse_id(id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::not_found("no such user"))
}

/// One user (needs `users.read`).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_user(
    State(accounts): State<Accounts>,
    _staff: Staff<perm::UsersRead>,
    Path(id): Path<String>,
) -> AppResult<axum::Json<UserView>> {
    Ok(axum::Json(accounts.get_user(parse_id(&id)?).await?.into()))
}

/// Change a user's role, permissions or name (needs `users.manage`).
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")), request_body = UserPatchBody,
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    State(accounts): State<Accounts>,
    staff: Staff<perm::UsersManage>,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(body): Json<UserPatchBody>,
) -> AppResult<axum::Json<UserView>> {
    let changes = UserChanges {
        role: body.role,
        permissions: body.permissions,
        name: body.name.map(Some),
    };
    let user = accounts
        .update_user(staff.user_id, parse_id(&id)?, changes, &meta(client))
        .await?;
    Ok(axum::Json(user.into()))
}

/// Suspend a user: login blocked, sessions revoked (needs `users.manage`).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn suspend_user(
    State(accounts): State<Accounts>,
    staff: Staff<perm::UsersManage>,
    client: ClientInfo,
    Path(id): Path<String>,
) -> AppResult<axum::Json<UserView>> {
    let user = accounts
        .set_suspended(staff.user_id, parse_id(&id)?, true, &meta(client))
        .await?;
    Ok(axum::Json(user.into()))
}

/// Reinstate a suspended user (needs `users.manage`).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/unsuspend", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unsuspend_user(
    State(accounts): State<Accounts>,
    staff: Staff<perm::UsersManage>,
    client: ClientInfo,
    Path(id): Path<String>,
) -> AppResult<axum::Json<UserView>> {
    let user = accounts
        .set_suspended(staff.user_id, parse_id(&id)?, false, &meta(client))
        .await?;
    Ok(axum::Json(user.into()))
}

/// Email the user a reset link and sign out their sessions (needs `users.manage`).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password-reset", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 202), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset_user_password(
    State(accounts): State<Accounts>,
    staff: Staff<perm::UsersManage>,
    client: ClientInfo,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    accounts
        .force_password_reset(staff.user_id, parse_id(&id)?, &meta(client))
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Checks a phone number in E.164 form.
pub(crate) fn check_phone(phone: &str) -> Result<(), FieldError> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(FieldError::new(
            "phone",
            "must be in E.164 form, e.g. +4915112345678",
        ))
    }
}
