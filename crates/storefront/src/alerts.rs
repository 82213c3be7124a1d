//! `POST /stock-notifications`: the product page's "email me when it is back" form, the
//! same request as the API's, answered with a page.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use emporium_core::AppError;
use emporium_inventory::NotifyBody;
use serde::Deserialize;

use crate::cart::{cross_site, refused};
use crate::state::Storefront;

#[derive(Debug, Deserialize)]
pub(crate) struct NotifyForm {
    variant_id: String,
    email: String,
    #[serde(default)]
    lang: Option<String>,
    /// The product page the form was on, to go back to.
    #[serde(default)]
    product: Option<String>,
}

pub(crate) async fn back_in_stock(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<NotifyForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let back = form
        .product
        .as_deref()
        .filter(|slug| {
            !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(|slug| format!("/products/{slug}"))
        .unwrap_or_else(|| "/".into());
    let next = Some((back.as_str(), "Back to the product"));
    let Ok(variant_id) = form.variant_id.parse() else {
        return sf
            .notice(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose an option",
                "Choose which option you want.",
                "bad",
                next,
            )
            .into_response();
    };
    let asked = sf
        .inventory
        .request_back_in_stock(NotifyBody {
            variant_id,
            email: form.email.clone(),
            lang: form.lang.clone(),
        })
        .await;
    let page = match asked {
        Ok(_) => sf.notice(
            StatusCode::OK,
            "We will email you",
            &format!(
                "We will write to {} once it is back in stock.",
                form.email.trim()
            ),
            "good",
            next,
        ),
        Err(AppError::Validation(errors)) => sf.notice(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Check your email address",
            &errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
            "bad",
            next,
        ),
        Err(err) if err.status() == StatusCode::CONFLICT => sf.notice(
            StatusCode::CONFLICT,
            "It is in stock",
            "This option can be bought right now.",
            "good",
            next,
        ),
        Err(err) => sf.notice(
            err.status(),
            "That did not work",
            &err.to_string(),
            "bad",
            next,
        ),
    };
    page.into_response()
}
