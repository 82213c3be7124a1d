//! Signing in and out: email and password, then a code from the authenticator app when
//! the account has two-factor sign-in.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use emporium_accounts::{LoginOutcome, RequestMeta, TokenPair};
use emporium_auth::Role;
use emporium_core::AppError;
use emporium_core::crypto::{constant_time_eq, random_token};
use emporium_core::extract::ClientInfo;
use serde::Deserialize;
use serde_json::json;

use crate::session::{self, COOKIE, Console, SIGN_IN_CSRF, cookie, safe_next};
use crate::state::Admin;

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn meta(client: &ClientInfo) -> RequestMeta {
    RequestMeta {
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

/// The sign-in page in one of its two steps, with a fresh form token in a cookie.
fn form(
    admin: &Admin,
    jar: CookieJar,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
    mfa_token: Option<&str>,
) -> Response {
    let csrf = random_token(24);
    let jar = jar.add(cookie(admin, SIGN_IN_CSRF, csrf.clone()));
    let page = admin.render(
        status,
        "sign_in.html",
        json!({"csrf": csrf, "next": next, "error": error, "mfa_token": mfa_token}),
    );
    (jar, page).into_response()
}

/// The sign-in form's token must match its cookie: a page of another site cannot read
/// the cookie, so it cannot sign someone in to an account of its choosing.
fn form_token_ok(jar: &CookieJar, sent: &str) -> bool {
    jar.get(SIGN_IN_CSRF).is_some_and(|c| {
        !sent.is_empty() && constant_time_eq(c.value().as_bytes(), sent.as_bytes())
    })
}

/// Where the form goes next, once its token matches its cookie (else the form again,
/// refused).
fn checked(
    admin: &Admin,
    jar: CookieJar,
    csrf: &str,
    next: Option<&str>,
) -> Result<(CookieJar, String), Box<Response>> {
    let next = safe_next(next);
    if form_token_ok(&jar, csrf) {
        return Ok((jar, next));
    }
    Err(Box::new(form(
        admin,
        jar,
        StatusCode::FORBIDDEN,
        &next,
        Some("The form expired; please sign in again."),
        None,
    )))
}

/// `GET /admin/sign-in`.
pub(crate) async fn sign_in_page(
    State(admin): State<Admin>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    form(
        &admin,
        jar,
        StatusCode::OK,
        &safe_next(q.next.as_deref()),
        None,
        None,
    )
}

/// `POST /admin/sign-in`: the password step.
pub(crate) async fn sign_in(
    State(admin): State<Admin>,
    jar: CookieJar,
    client: ClientInfo,
    Form(f): Form<SignInForm>,
) -> Response {
    let (jar, next) = match checked(&admin, jar, &f.csrf, f.next.as_deref()) {
        Ok(ok) => ok,
        Err(response) => return *response,
    };
    match admin
        .accounts
        .login(&f.email, &f.password, None, &meta(&client))
        .await
    {
        Ok(LoginOutcome::Tokens(pair)) => finish(&admin, jar, &client, pair, &next).await,
        Ok(LoginOutcome::MfaRequired { mfa_token }) => {
            form(&admin, jar, StatusCode::OK, &next, None, Some(&mfa_token))
        }
        Err(err) => refused(&admin, jar, &next, &err, None),
    }
}

/// `POST /admin/sign-in/code`: the second step, a code from the authenticator app or a
/// recovery code.
pub(crate) async fn sign_in_code(
    State(admin): State<Admin>,
    jar: CookieJar,
    client: ClientInfo,
    Form(f): Form<CodeForm>,
) -> Response {
    let (jar, next) = match checked(&admin, jar, &f.csrf, f.next.as_deref()) {
        Ok(ok) => ok,
        Err(response) => return *response,
    };
    let code = f.code.trim();
    // Authenticator codes are six digits; anything else is a recovery code.
    let (totp, recovery) = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        (Some(code), None)
    } else {
        (None, Some(code))
    };
    match admin
        .accounts
        .login_mfa(&f.mfa_token, totp, recovery, &meta(&client))
        .await
    {
        Ok(pair) => finish(&admin, jar, &client, pair, &next).await,
        Err(err) => refused(&admin, jar, &next, &err, Some(&f.mfa_token)),
    }
}

fn refused(
    admin: &Admin,
    jar: CookieJar,
    next: &str,
    err: &AppError,
    mfa_token: Option<&str>,
) -> Response {
    let status = err.status();
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts; wait a moment and try again.",
        _ if mfa_token.is_some() => "That code is not right; try the current one.",
        _ => "The email or password is wrong.",
    };
    form(admin, jar, status, next, Some(message), mfa_token)
}

/// The password (and code) were right: the API's token pair is given back at once (the
/// console keeps its own session) and a session is opened for a staff member.
async fn finish(
    admin: &Admin,
    jar: CookieJar,
    client: &ClientInfo,
    pair: TokenPair,
    next: &str,
) -> Response {
    let request = meta(client);
    let _ = admin.accounts.logout(&pair.refresh_token, &request).await;
    let Some(claims) = admin.auth.keys().verify(&pair.access_token) else {
        return AppError::Internal(anyhow::anyhow!("a fresh access token did not verify"))
            .into_response();
    };
    let staff = match admin.auth.directory().access(claims.sub).await {
        Ok(Some(access)) => access.role != Role::Customer,
        Ok(None) => false,
        Err(err) => return err.into_response(),
    };
    if !staff {
        return form(
            admin,
            jar,
            StatusCode::FORBIDDEN,
            next,
            Some("This account is not a staff account."),
            None,
        );
    }
    match session::open(admin, claims.sub, client).await {
        Ok(token) => {
            tracing::info!(user_id = %claims.sub, "signed in to the console");
            let jar = jar
                .remove(cookie(admin, SIGN_IN_CSRF, String::new()))
                .add(cookie(admin, COOKIE, token));
            (jar, Redirect::to(next)).into_response()
        }
        Err(err) => err.into_response(),
    }
}

/// `POST /admin/sign-out`.
pub(crate) async fn sign_out(
    State(admin): State<Admin>,
    console: Console,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(page) = console.check_csrf(&admin, &f.csrf) {
        return page.into_response();
    }
    if let Some(token) = jar.get(COOKIE).map(|c| c.value().to_string())
        && let Err(err) = session::close(&admin, &token).await
    {
        return err.into_response();
    }
    let jar = jar.remove(cookie(&admin, COOKIE, String::new()));
    (jar, Redirect::to("/admin/sign-in")).into_response()
}
