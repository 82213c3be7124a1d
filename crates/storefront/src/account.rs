//! The pages emailed account links open. A GET shows a form, a POST does the action:
//! mail scanners follow links, and must not use up a single-use token. The token in the
//! form is the proof of the request, so these forms need no other CSRF token.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use emporium_accounts::RequestMeta;
use emporium_accounts::model::MIN_PASSWORD_CHARS;
use emporium_core::AppError;
use emporium_core::extract::ClientInfo;
use emporium_web::Page;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::state::Storefront;

/// `?token=` of an emailed link; a missing one shows the invalid-link page.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn meta(client: ClientInfo) -> RequestMeta {
    RequestMeta {
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

/// What a failed action shows: a link that no longer works, a limit, or the reason.
fn failure(sf: &Storefront, err: &AppError, ask_again: Option<(&str, &str)>) -> Page {
    let status = err.status();
    let (heading, message) = match err.code() {
        "invalid_token" => (
            "This link no longer works",
            "It was used already, has expired, or was copied incompletely.",
        ),
        "rate_limited" => ("Too many attempts", "Please wait a minute, then try again."),
        _ if status.is_server_error() => (
            "Something went wrong",
            "We could not finish this. Please try again in a moment.",
        ),
        _ => ("This did not work", ""),
    };
    let detail = err.problem().detail;
    let message = if message.is_empty() { &detail } else { message };
    sf.notice(status, heading, message, "bad", ask_again)
}

/// The page after an action that worked.
fn done(sf: &Storefront, heading: &str, message: &str) -> Page {
    sf.notice(StatusCode::OK, heading, message, "good", None)
}

fn missing_token(sf: &Storefront) -> Page {
    sf.notice(
        StatusCode::BAD_REQUEST,
        "This link is incomplete",
        "Open the link from the email again, or copy all of it into the address bar.",
        "bad",
        None,
    )
}

/// A page that shows `template`'s one-button form for an emailed link's token.
fn token_form(sf: &Storefront, token: &str, template: &str) -> Page {
    if token.is_empty() {
        return missing_token(sf);
    }
    sf.page(StatusCode::OK, template, json!({"token": token}))
}

/// `GET /account/verify-email?token=`.
pub(crate) async fn verify_email_page(
    State(sf): State<Storefront>,
    Query(q): Query<TokenQuery>,
) -> Page {
    token_form(&sf, &q.token, "account_verify_email.html")
}

/// `POST /account/verify-email`.
pub(crate) async fn verify_email(
    State(sf): State<Storefront>,
    client: ClientInfo,
    Form(form): Form<TokenForm>,
) -> Page {
    match sf.accounts.verify_email(&form.token, &meta(client)).await {
        Ok(_) => done(
            &sf,
            "Email confirmed",
            "Thank you: your email address is confirmed.",
        ),
        Err(err) => failure(&sf, &err, None),
    }
}

/// `GET /account/confirm-email?token=`: the link sent to a new address.
pub(crate) async fn confirm_email_page(
    State(sf): State<Storefront>,
    Query(q): Query<TokenQuery>,
) -> Page {
    token_form(&sf, &q.token, "account_confirm_email.html")
}

/// `POST /account/confirm-email`.
pub(crate) async fn confirm_email(
    State(sf): State<Storefront>,
    client: ClientInfo,
    Form(form): Form<TokenForm>,
) -> Page {
    match sf
        .accounts
        .confirm_email_change(&form.token, &meta(client))
        .await
    {
        Ok(user) => done(
            &sf,
            "Email changed",
            &format!("You sign in with {} from now on.", user.email),
        ),
        Err(err) => failure(&sf, &err, None),
    }
}

fn reset_form(
    sf: &Storefront,
    status: StatusCode,
    token: &str,
    errors: Map<String, Value>,
) -> Page {
    sf.page(
        status,
        "account_reset_password.html",
        json!({"token": token, "errors": errors, "min_length": MIN_PASSWORD_CHARS}),
    )
}

const ASK_AGAIN: Option<(&str, &str)> = Some(("/account/forgot-password", "Ask for a new link"));

/// `GET /account/reset-password?token=`.
pub(crate) async fn reset_password_page(
    State(sf): State<Storefront>,
    Query(q): Query<TokenQuery>,
) -> Page {
    if q.token.is_empty() {
        return missing_token(&sf);
    }
    reset_form(&sf, StatusCode::OK, &q.token, Map::new())
}

/// `POST /account/reset-password`: a rejected password shows the form again with the
/// reason next to the field; a used or expired link offers a new one.
pub(crate) async fn reset_password(
    State(sf): State<Storefront>,
    client: ClientInfo,
    Form(form): Form<ResetForm>,
) -> Page {
    if form.token.is_empty() {
        return missing_token(&sf);
    }
    if form.password != form.confirm {
        let mut errors = Map::new();
        errors.insert("confirm".into(), "does not match the password above".into());
        return reset_form(&sf, StatusCode::UNPROCESSABLE_ENTITY, &form.token, errors);
    }
    match sf
        .accounts
        .reset_password(&form.token, &form.password, &meta(client))
        .await
    {
        Ok(()) => done(
            &sf,
            "Password changed",
            "Your new password is set. Every device that was signed in has been signed out.",
        ),
        Err(err) if err.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = err
                .problem()
                .errors
                .into_iter()
                .map(|e| ("password".to_string(), Value::String(e.message)))
                .collect();
            reset_form(&sf, StatusCode::UNPROCESSABLE_ENTITY, &form.token, errors)
        }
        Err(err) => failure(&sf, &err, ASK_AGAIN),
    }
}

/// `GET /account/forgot-password`.
pub(crate) async fn forgot_password_page(State(sf): State<Storefront>) -> Page {
    sf.page(
        StatusCode::OK,
        "account_forgot_password.html",
        json!({"email": ""}),
    )
}

/// `POST /account/forgot-password`: answers the same whether or not the account exists.
pub(crate) async fn forgot_password(
    State(sf): State<Storefront>,
    client: ClientInfo,
    Form(form): Form<ForgotForm>,
) -> Page {
    match sf
        .accounts
        .forgot_password(&form.email, &meta(client))
        .await
    {
        Ok(()) => done(
            &sf,
            "Check your email",
            "If an account uses this address, a link to choose a new password is on its way.",
        ),
        Err(err) if err.status() == StatusCode::UNPROCESSABLE_ENTITY => sf.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_forgot_password.html",
            json!({"email": form.email, "error": "Enter a valid email address."}),
        ),
        Err(err) => failure(&sf, &err, None),
    }
}
