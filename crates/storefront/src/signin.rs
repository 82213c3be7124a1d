//! Signing in and out, and registering, in the shop. The password (and the second
//! factor, when the account has one) go through the accounts service's own login; the
//! API's token pair it answers is given back at once and the shop opens its own session
//! (`session.rs`). A guest cart in the cookie is merged into the customer's cart at
//! sign-in, as the API's `POST /carts` does with a guest token.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_accounts::{LoginOutcome, NewUser, RequestMeta, TokenPair};
use emporium_checkout::CartAccess;
use emporium_core::AppError;
use emporium_core::extract::ClientInfo;
use serde::Deserialize;
use serde_json::{Map, json};

use crate::cart::{cart_cookie, cross_site, explain, refused, see_other};
use crate::session::{COOKIE, MAX_AGE};
use crate::state::Storefront;

fn meta(client: &ClientInfo) -> RequestMeta {
    RequestMeta {
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

/// Where to go after signing in: only one of the shop's own paths.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/account".to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

fn sign_in_form(
    sf: &Storefront,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
    mfa_token: Option<&str>,
) -> Response {
    let mut context = Map::new();
    context.insert("next".into(), json!(next));
    context.insert("email".into(), json!(email));
    context.insert("error".into(), json!(error));
    context.insert("mfa_token".into(), json!(mfa_token));
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    context.insert(
        "register_url".into(),
        json!(format!("/account/register?{query}")),
    );
    sf.private(status, "account_sign_in.html", context, None)
}

/// `GET /account/sign-in`.
pub(crate) async fn sign_in_page(
    State(sf): State<Storefront>,
    Query(q): Query<NextQuery>,
) -> Response {
    sign_in_form(
        &sf,
        StatusCode::OK,
        &safe_next(q.next.as_deref()),
        "",
        None,
        None,
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /account/sign-in`: the password step.
pub(crate) async fn sign_in(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<SignInForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let next = safe_next(f.next.as_deref());
    match sf
        .accounts
        .login(&f.email, &f.password, None, &meta(&client))
        .await
    {
        Ok(LoginOutcome::Tokens(pair)) => finish(&sf, &headers, &client, pair, &next).await,
        Ok(LoginOutcome::MfaRequired { mfa_token }) => {
            sign_in_form(&sf, StatusCode::OK, &next, &f.email, None, Some(&mfa_token))
        }
        Err(err) => refused_sign_in(&sf, &next, &f.email, &err, None),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /account/sign-in/code`: the authenticator's code, or a recovery code.
pub(crate) async fn sign_in_code(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<CodeForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let next = safe_next(f.next.as_deref());
    let code = f.code.trim();
    // Authenticator codes are six digits; anything else is a recovery code.
    let (totp, recovery) = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        (Some(code), None)
    } else {
        (None, Some(code))
    };
    match sf
        .accounts
        .login_mfa(&f.mfa_token, totp, recovery, &meta(&client))
        .await
    {
        Ok(pair) => finish(&sf, &headers, &client, pair, &next).await,
        Err(err) => refused_sign_in(&sf, &next, "", &err, Some(&f.mfa_token)),
    }
}

fn refused_sign_in(
    sf: &Storefront,
    next: &str,
    email: &str,
    err: &AppError,
    mfa_token: Option<&str>,
) -> Response {
    let status = err.status();
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts; wait a moment and try again.",
        StatusCode::UNAUTHORIZED if err.code() == "captcha_required" => {
            "Too many failed attempts on this account; reset your password to go on."
        }
        _ if mfa_token.is_some() => "That code is not right; try the current one.",
        _ => "The email or password is wrong.",
    };
    sign_in_form(sf, status, next, email, Some(message), mfa_token)
}

/// The password (and code) were right: the shop's session opens, and a guest cart in the
/// cookie joins the customer's cart.
async fn finish(
    sf: &Storefront,
    headers: &HeaderMap,
    client: &ClientInfo,
    pair: TokenPair,
    next: &str,
) -> Response {
    let _ = sf.accounts.logout(&pair.refresh_token, &meta(client)).await;
    let Some(claims) = sf.auth.keys().verify(&pair.access_token) else {
        return AppError::Internal(anyhow::anyhow!("a fresh access token did not verify"))
            .into_response();
    };
    let user_id = claims.sub;
    if let Some((_, guest)) = cart_cookie(headers)
        && let Ok(Some(access)) = sf.auth.directory().access(user_id).await
    {
        let merged = sf
            .checkout
            .open_cart(
                &CartAccess {
                    user_id: Some(user_id),
                    email: Some(access.email),
                    email_verified: access.email_verified,
                    token: guest.token,
                },
                None,
                &sf.config.store.default_language,
            )
            .await;
        if let Err(err) = merged {
            tracing::warn!(error = %err, "merging the guest cart at sign-in");
        }
    }
    let token = match sf.open_session(user_id).await {
        Ok(token) => token,
        Err(err) => return err.into_response(),
    };
    let mut response = see_other(next);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, sf.cookie(COOKIE, &token, MAX_AGE));
    // The guest cart is the customer's now.
    headers.append(header::SET_COOKIE, sf.set_cookie("", 0));
    response
}

/// `POST /account/sign-out`.
pub(crate) async fn sign_out(State(sf): State<Storefront>, headers: HeaderMap) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    sf.close_session(&headers).await;
    let mut response = see_other("/");
    response
        .headers_mut()
        .append(header::SET_COOKIE, sf.cookie(COOKIE, "", 0));
    response
}

fn register_form(
    sf: &Storefront,
    status: StatusCode,
    form: &RegisterForm,
    error: Option<String>,
) -> Response {
    let mut context = Map::new();
    context.insert("email".into(), json!(form.email));
    context.insert("name".into(), json!(form.name));
    context.insert("next".into(), json!(safe_next(form.next.as_deref())));
    context.insert("error".into(), json!(error));
    sf.private(status, "account_register.html", context, None)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /account/register`.
pub(crate) async fn register_page(
    State(sf): State<Storefront>,
    Query(q): Query<NextQuery>,
) -> Response {
    let form = RegisterForm {
        next: q.next,
        ..RegisterForm::default()
    };
    register_form(&sf, StatusCode::OK, &form, None)
}

/// `POST /account/register`: the account, its verification email, and signed in.
pub(crate) async fn register(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<RegisterForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let registered = sf
        .accounts
        .register(
            NewUser {
                email: &f.email,
                password: &f.password,
                name: Some(&f.name),
                language: Some(&sf.config.store.default_language),
            },
            &meta(&client),
        )
        .await;
    match registered {
        Ok(_) => {}
        Err(err) if err.status() == StatusCode::CONFLICT => {
            return register_form(
                &sf,
                StatusCode::CONFLICT,
                &f,
                Some("An account with this email exists already: sign in instead.".into()),
            );
        }
        Err(err) => return register_form(&sf, err.status(), &f, Some(explain(&err))),
    }
    let next = safe_next(f.next.as_deref());
    match sf
        .accounts
        .login(&f.email, &f.password, None, &meta(&client))
        .await
    {
        Ok(LoginOutcome::Tokens(pair)) => finish(&sf, &headers, &client, pair, &next).await,
        _ => see_other("/account/sign-in"),
    }
}
