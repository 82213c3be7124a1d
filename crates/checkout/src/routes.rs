//! Store routes of checkout: carts (guest by `X-Cart-Token`, customer by bearer token),
//! checkout with `Idempotency-Key`, and the customer's orders.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Auth, Principal};
use emporium_catalog::Catalog;
use emporium_core::error::ErrorCode;
use emporium_core::extract::{Json, parse_json};
use emporium_core::extract::{Path, Query};
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::idempotency::Idempotent;
use emporium_core::locale::Locale;
use emporium_core::pagination::PageQuery;
use emporium_core::{AppError, AppResult};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::cancel::Cancellation;
use crate::carts::CartAccess;
use crate::model::Address;
use crate::orders::CheckoutBody;
use crate::state::Checkout;
use crate::views::*;
use emporium_orders::{OrderPageView, Orders, Viewer, parse_cursor};

type Problem = emporium_core::error::Problem;

impl<S> FromRequestParts<S> for CartAccess
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (user_id, email, email_verified) = if parts.headers.contains_key(header::AUTHORIZATION)
        {
            let principal = Principal::from_request_parts(parts, state).await?;
            (
                Some(principal.user_id),
                Some(principal.email),
                principal.email_verified,
            )
        } else {
            (None, None, false)
        };
        let token = parts
            .headers
            .get("x-cart-token")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && v.len() <= 200);
        Ok(Self {
            user_id,
            email,
            email_verified,
            token,
        })
    }
}

/// `POST /carts/{id}/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "variant_id": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d",
    "quantity": 2
})))]
pub struct AddItemBody {
    pub variant_id: Uuid,
    pub quantity: i32,
}

/// `PATCH /carts/{id}/items/{line_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "quantity": 3
})))]
pub struct QuantityBody {
    pub quantity: i32,
}

/// `PUT /carts/{id}/shipping-option`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "id": "standard"
})))]
pub struct ShippingOptionBody {
    pub id: String,
}

/// `POST /carts/recover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "token": "3f4598oY7tOhoOisUclOR5Hz1jHwNHOfyX-HBbzZbls"
})))]
pub struct RecoverBody {
    pub token: String,
}

/// An optional reason for a cancel or return.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "reason": "Ordered the wrong size."
})))]
pub struct ReasonBody {
    pub reason: Option<String>,
}

/// Parses an optional `{"reason"}` body (an empty body is fine).
pub(crate) fn reason_from(bytes: &Bytes) -> AppResult<Option<String>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: ReasonBody = parse_json(bytes)?;
    emporium_core::reason::Reason::optional(body.reason.as_deref(), "reason")
        .map(|r| r.map(emporium_core::reason::Reason::into_string))
        .map_err(|e| AppError::Validation(vec![e]))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OrderTokenQuery {
    /// The secret from a guest's confirmation link.
    token: Option<String>,
}

/// The store routes of checkout.
pub fn router<S>() -> OpenApiRouter<S>
where
    Checkout: FromRef<S>,
    Orders: FromRef<S>,
    Catalog: FromRef<S>,
    Auth: FromRef<S>,
    std::sync::Arc<emporium_core::Config>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_my_cart))
        .routes(routes!(get_cart))
        .routes(routes!(add_cart_item))
        .routes(routes!(update_cart_item, delete_cart_item))
        .routes(routes!(set_shipping_address))
        .routes(routes!(set_cart_email))
        .routes(routes!(list_shipping_options))
        .routes(routes!(set_shipping_option))
        .routes(routes!(apply_coupon))
        .routes(routes!(remove_coupon))
        .routes(routes!(recover_cart))
        .routes(routes!(checkout_cart))
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(request_return))
        .merge(crate::admin_routes::router())
}

async fn respond(
    checkout: &Checkout,
    cart: &emporium_db::entity::carts::Model,
    token: Option<String>,
) -> AppResult<axum::Json<CartView>> {
    Ok(axum::Json(checkout.cart_view(cart, token).await?))
}

async fn respond_opened(
    checkout: &Checkout,
    opened: crate::carts::OpenedCart,
) -> AppResult<axum::Json<CartView>> {
    let mut view = checkout.cart_view(&opened.cart, opened.token).await?;
    view.notices = opened.notices;
    Ok(axum::Json(view))
}

/// A new cart in the asked currency. A guest gets the cart's secret token (send it as
/// `X-Cart-Token`); a signed-in customer gets their cart, into which a guest cart named
/// by `X-Cart-Token` is merged.
#[utoipa::path(post, path = "/api/v1/carts", tag = "checkout",
    params(("currency" = Option<String>, Query, description = "ISO 4217 code among the store's currencies")),
    responses((status = 201, body = CartView), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create_cart(
    State(checkout): State<Checkout>,
    access: CartAccess,
    locale: Locale,
) -> AppResult<(StatusCode, axum::Json<CartView>)> {
    let opened = checkout
        .open_cart(&access, locale.asked_currency(), &locale.lang)
        .await?;
    Ok((
        StatusCode::CREATED,
        respond_opened(&checkout, opened).await?,
    ))
}

/// The signed-in customer's cart (made when they have none; a guest cart named by
/// `X-Cart-Token` is merged into it).
#[utoipa::path(get, path = "/api/v1/cart", tag = "checkout",
    responses((status = 200, body = CartView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn get_my_cart(
    State(checkout): State<Checkout>,
    principal: Principal,
    access: CartAccess,
    locale: Locale,
) -> AppResult<axum::Json<CartView>> {
    let access = CartAccess {
        user_id: Some(principal.user_id),
        email: Some(principal.email),
        email_verified: principal.email_verified,
        ..access
    };
    let opened = checkout
        .open_cart(&access, locale.asked_currency(), &locale.lang)
        .await?;
    respond_opened(&checkout, opened).await
}

/// A cart with lines, current prices and totals.
#[utoipa::path(get, path = "/api/v1/carts/{id}", tag = "checkout",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem)))]
async fn get_cart(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.cart(id, &access).await?;
    respond(&checkout, &cart, None).await
}

/// Adds a variant (to its existing line when there is one).
#[utoipa::path(post, path = "/api/v1/carts/{id}/items", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = AddItemBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_cart_item(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    Json(body): Json<AddItemBody>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout
        .add_item(id, &access, body.variant_id, body.quantity)
        .await?;
    respond(&checkout, &cart, None).await
}

/// Changes a line's quantity.
#[utoipa::path(patch, path = "/api/v1/carts/{id}/items/{line_id}", tag = "checkout",
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path)), request_body = QuantityBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_cart_item(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path((id, line_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<QuantityBody>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout
        .update_item(id, &access, line_id, body.quantity)
        .await?;
    respond(&checkout, &cart, None).await
}

/// Removes a line.
#[utoipa::path(delete, path = "/api/v1/carts/{id}/items/{line_id}", tag = "checkout",
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_cart_item(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path((id, line_id)): Path<(Uuid, Uuid)>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.remove_item(id, &access, line_id).await?;
    respond(&checkout, &cart, None).await
}

/// `PUT /carts/{id}/email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.doe@example.com"
})))]
pub struct CartEmailBody {
    pub email: String,
}

/// Sets the email the order confirmation goes to.
#[utoipa::path(put, path = "/api/v1/carts/{id}/email", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = CartEmailBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_cart_email(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    Json(body): Json<CartEmailBody>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.set_cart_email(id, &access, &body.email).await?;
    respond(&checkout, &cart, None).await
}

/// Sets the shipping address (checked for its country); tax and shipping follow it.
#[utoipa::path(put, path = "/api/v1/carts/{id}/shipping-address", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = Address,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_shipping_address(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    Json(address): Json<Address>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.set_shipping_address(id, &access, address).await?;
    respond(&checkout, &cart, None).await
}

/// The ways this cart can ship, priced.
#[utoipa::path(get, path = "/api/v1/carts/{id}/shipping-options", tag = "checkout",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = [ShippingOptionView]), (status = 404, body = Problem)))]
async fn list_shipping_options(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<Vec<ShippingOptionView>>> {
    let cart = checkout.cart(id, &access).await?;
    Ok(axum::Json(checkout.shipping_options(&cart).await?))
}

/// Chooses a shipping option.
#[utoipa::path(put, path = "/api/v1/carts/{id}/shipping-option", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = ShippingOptionBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_shipping_option(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    Json(body): Json<ShippingOptionBody>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.set_shipping_option(id, &access, &body.id).await?;
    respond(&checkout, &cart, None).await
}

/// Enters a coupon code. A code that does not apply now is refused (422
/// `coupon_refused`, with a `reason`) rather than kept.
#[utoipa::path(post, path = "/api/v1/carts/{id}/coupons", tag = "checkout",
    params(("id" = Uuid, Path)), request_body = crate::coupons::CouponBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn apply_coupon(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    Json(body): Json<crate::coupons::CouponBody>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.apply_coupon(id, &access, &body.code).await?;
    respond(&checkout, &cart, None).await
}

/// Takes a coupon code off the cart.
#[utoipa::path(delete, path = "/api/v1/carts/{id}/coupons/{code}", tag = "checkout",
    params(("id" = Uuid, Path), ("code" = String, Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn remove_coupon(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path((id, code)): Path<(Uuid, String)>,
) -> AppResult<axum::Json<CartView>> {
    let cart = checkout.remove_coupon(id, &access, &code).await?;
    respond(&checkout, &cart, None).await
}

/// Restores an abandoned cart from its emailed recovery link, with a new token.
#[utoipa::path(post, path = "/api/v1/carts/recover", tag = "checkout",
    request_body = RecoverBody,
    responses((status = 200, body = CartView), (status = 404, body = Problem)))]
async fn recover_cart(
    State(checkout): State<Checkout>,
    Json(body): Json<RecoverBody>,
) -> AppResult<axum::Json<CartView>> {
    let (cart, token) = checkout.recover_cart(body.token.trim()).await?;
    respond(&checkout, &cart, Some(token)).await
}

/// Places the order: re-prices the cart, reserves stock for every line atomically and
/// opens a payment with the chosen provider. Needs `Idempotency-Key`: a repeat with the
/// same body answers the first response, a different body under the key is 409. Out of
/// stock is 409 naming the lines.
#[utoipa::path(post, path = "/api/v1/carts/{id}/checkout", tag = "checkout",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Unique per order attempt")),
    request_body = CheckoutBody,
    responses((status = 201, body = CheckoutView), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn checkout_cart(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<Uuid>,
    request: Idempotent<CheckoutBody>,
) -> AppResult<Response> {
    let Idempotent { key, hash, body } = request;
    let replay = checkout.place_order(id, &access, body, &key, &hash).await?;
    Ok(replay.into_response())
}

/// The signed-in customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(PageQuery),
    responses((status = 200, body = OrderPageView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn list_orders(
    State(checkout): State<Checkout>,
    principal: Principal,
    Query(page): Query<PageQuery>,
) -> AppResult<axum::Json<OrderPageView>> {
    let limit = page.limit()?;
    let cursor = parse_cursor(page.cursor.as_deref())?;
    Ok(axum::Json(
        checkout
            .orders
            .customer_orders(CustomerId(principal.user_id), cursor, limit)
            .await?,
    ))
}

fn viewer(access: &CartAccess, token: Option<String>) -> AppResult<Viewer> {
    match (access.user_id, token) {
        (_, Some(token)) => Ok(Viewer::Guest(token)),
        (Some(user), None) => Ok(Viewer::Customer(CustomerId(user))),
        (None, None) => Err(AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "sign in, or open the link from the order confirmation",
        )),
    }
}

/// One of the customer's orders (or a guest's, with the token from its confirmation
/// link). Another customer's order is 404.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path), OrderTokenQuery),
    responses((status = 200, body = OrderView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_order(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<OrderId>,
    Query(q): Query<OrderTokenQuery>,
) -> AppResult<axum::Json<OrderView>> {
    let viewer = viewer(&access, q.token)?;
    Ok(axum::Json(checkout.orders.order_for(id, &viewer).await?))
}

/// Cancels an order that has not shipped; its stock goes back. A paid order is refunded
/// in full through its gateway (200), or, when the store has staff decide, the request is
/// recorded and the order is answered unchanged (202). The shopper and staff are emailed.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders",
    params(("id" = Uuid, Path), OrderTokenQuery), request_body(content = ReasonBody, description = "Optional"),
    responses((status = 200, body = OrderView, description = "Cancelled (and refunded, if it was paid)"),
        (status = 202, body = OrderView, description = "Paid: staff were asked to cancel it"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_order(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<OrderId>,
    Query(q): Query<OrderTokenQuery>,
    body: Bytes,
) -> AppResult<(StatusCode, axum::Json<OrderView>)> {
    let viewer = viewer(&access, q.token)?;
    let reason = reason_from(&body)?;
    Ok(match checkout.cancel_order(id, &viewer, reason).await? {
        Cancellation::Cancelled(view) => (StatusCode::OK, axum::Json(view)),
        Cancellation::Requested(view) => (StatusCode::ACCEPTED, axum::Json(view)),
    })
}

/// Asks to return a shipped or delivered order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "orders",
    params(("id" = Uuid, Path), OrderTokenQuery), request_body(content = ReasonBody, description = "Optional"),
    responses((status = 200, body = OrderView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn request_return(
    State(checkout): State<Checkout>,
    access: CartAccess,
    Path(id): Path<OrderId>,
    Query(q): Query<OrderTokenQuery>,
    body: Bytes,
) -> AppResult<axum::Json<OrderView>> {
    let viewer = viewer(&access, q.token)?;
    let reason = reason_from(&body)?;
    Ok(axum::Json(
        checkout.orders.request_return(id, &viewer, reason).await?,
    ))
}
