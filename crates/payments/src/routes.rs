//! Payments' routes: the shopper's payment (its state, the manual provider's hosted test
//! page, the return from a gateway), gateway webhooks, and for staff an order's payments,
//! refunds and the gateways' keys.

use axum::Form;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use emporium_auth::{Auth, Staff, perm};
use emporium_core::extract::{ClientInfo, Json, parse_json};
use emporium_core::extract::{Path, Query};
use emporium_core::id::PaymentId;
use emporium_core::idempotency::Idempotent;
use emporium_core::{AppResult, Money};
use emporium_orders::{Actor, AdminOrder, Orders};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::{ManualOutcome, RefundBody};
use crate::state::Payments;
use crate::views::{OrderPaymentsView, PaymentView, RefundView};
use crate::{ConfirmParams, GatewayBody, GatewayView};

type Problem = emporium_core::error::Problem;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AccessQuery {
    /// The payment's secret, from the checkout response.
    access: String,
    /// A path on this shop to continue to once paid (the storefront's order page).
    #[serde(rename = "return")]
    return_to: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReturnQuery {
    access: String,
    /// Set when the shopper cancelled on the gateway's page.
    cancelled: Option<bool>,
}

/// The hosted test page's card form. The page also asks for expiry and CVC, for
/// realism; they are not read.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({
    "access": "2xKCzdh6nFyrHycOE3lO_Wf0ESkEPGdb",
    "card_number": "4242424242424242"
})))]
pub struct CardForm {
    pub access: String,
    pub card_number: String,
    /// Carried from the page's address: where to continue once paid.
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

/// The hosted test page's authentication step.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({
    "access": "2xKCzdh6nFyrHycOE3lO_Wf0ESkEPGdb",
    "outcome": "approve"
})))]
pub struct AuthenticateForm {
    pub access: String,
    /// `approve` or `fail`.
    pub outcome: String,
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

/// What a webhook became.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct WebhookReceipt {
    pub received: bool,
    /// `applied`, `ignored`, `deferred` or `duplicate`.
    pub outcome: String,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    Payments: FromRef<S>,
    Orders: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(get_payment))
        .routes(routes!(payment_page, submit_card))
        .routes(routes!(authenticate))
        .routes(routes!(confirm_payment))
        .routes(routes!(return_from_gateway))
        .routes(routes!(payment_webhook))
        .routes(routes!(admin_order_payments))
        .routes(routes!(refund_order))
        .routes(routes!(list_gateways))
        .routes(routes!(set_gateway))
}

/// A payment and where it stands.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments",
    params(("id" = Uuid, Path), AccessQuery),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem)))]
async fn get_payment(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    Query(q): Query<AccessQuery>,
) -> AppResult<axum::Json<PaymentView>> {
    let payment = payments.payment_for(PaymentId(id), &q.access).await?;
    Ok(axum::Json(payments.payment_view(&payment, None)))
}

/// What the test page shows.
enum Step<'a> {
    /// The card form, with the amount and, after a refusal, why.
    Pay(&'a Money, Option<String>),
    Authenticate,
    /// Done: what was captured, when known.
    Paid(Option<&'a Money>),
    Closed,
}

/// Renders the manual provider's test page for payment `id`.
fn page(
    payments: &Payments,
    status: StatusCode,
    id: PaymentId,
    access: &str,
    return_to: Option<&str>,
    step: Step<'_>,
) -> Response {
    let (title, state, amount, error, paid) = match step {
        Step::Pay(amount, error) => ("Pay for your order", "pay", Some(amount), error, None),
        Step::Authenticate => ("Confirm it is you", "authenticate", None, None, None),
        Step::Paid(paid) => ("Paid", "paid", None, None, paid),
        Step::Closed => ("Payment closed", "closed", None, None, None),
    };
    let context = serde_json::json!({
        "title": title,
        "state": state,
        "id": id,
        "access": access,
        "amount": amount.map(ToString::to_string),
        "error": error,
        "paid": paid.map(ToString::to_string),
        // Only a path on this shop: never a way to send a shopper elsewhere.
        "return_to": return_to.filter(|r| r.starts_with('/') && !r.starts_with("//") && !r.contains('\\')),
    });
    match payments.pages.render("payment.html", &context) {
        Ok(html) => emporium_web::Page::private(status, html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "the payment page template failed to render");
            emporium_core::AppError::Internal(anyhow::anyhow!("payment page: {err}"))
                .into_response()
        }
    }
}

/// The manual provider's hosted test page (other providers: a redirect to the gateway's
/// own page when it has one).
#[utoipa::path(get, path = "/api/v1/payments/{id}/pay", tag = "payments",
    params(("id" = Uuid, Path), AccessQuery),
    responses((status = 200, description = "HTML page"), (status = 303, description = "To the gateway's page"), (status = 404, body = Problem)))]
async fn payment_page(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    Query(q): Query<AccessQuery>,
) -> AppResult<Response> {
    let payment = payments.payment_for(PaymentId(id), &q.access).await?;
    let view = payments.payment_view(&payment, None);
    if payment.provider != "manual" {
        return match view.redirect_url {
            Some(url) => Ok(Redirect::to(&url).into_response()),
            None => Err(emporium_core::AppError::not_found(
                "this payment is made with the gateway's script in the storefront",
            )),
        };
    }
    let (status, step) = match payment.status.as_str() {
        "succeeded" => (StatusCode::OK, Step::Paid(None)),
        "authenticating" => (StatusCode::OK, Step::Authenticate),
        "requires_action" | "failed" => (
            StatusCode::OK,
            Step::Pay(&view.amount, payment.failure.clone()),
        ),
        _ => (StatusCode::CONFLICT, Step::Closed),
    };
    Ok(page(
        &payments,
        status,
        PaymentId(id),
        &q.access,
        q.return_to.as_deref(),
        step,
    ))
}

fn outcome_page(
    payments: &Payments,
    outcome: ManualOutcome,
    id: PaymentId,
    access: &str,
    return_to: Option<&str>,
    payment: &emporium_db::entity::payments::Model,
) -> Response {
    let view = payments.payment_view(payment, None);
    match outcome {
        ManualOutcome::Paid => page(
            payments,
            StatusCode::OK,
            id,
            access,
            return_to,
            Step::Paid(Some(&view.captured)),
        ),
        ManualOutcome::Declined(reason) => page(
            payments,
            StatusCode::PAYMENT_REQUIRED,
            id,
            access,
            return_to,
            Step::Pay(
                &view.amount,
                Some(format!(
                    "The card was declined ({reason}). Try another card."
                )),
            ),
        ),
        ManualOutcome::Authenticate => page(
            payments,
            StatusCode::OK,
            id,
            access,
            return_to,
            Step::Authenticate,
        ),
    }
}

/// The test page's card form: a test card number decides success, decline or an extra
/// authentication step. Any other number is refused (422) and never stored.
#[utoipa::path(post, path = "/api/v1/payments/{id}/pay", tag = "payments",
    params(("id" = Uuid, Path)),
    request_body(content = CardForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Paid, or the authentication step"), (status = 402, description = "Declined"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn submit_card(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> AppResult<Response> {
    match payments
        .pay_manual(PaymentId(id), &form.access, &form.card_number)
        .await
    {
        Ok((outcome, payment)) => Ok(outcome_page(
            &payments,
            outcome,
            PaymentId(id),
            &form.access,
            form.return_to.as_deref(),
            &payment,
        )),
        // A person at the page gets the form again with the message; a program, the
        // problem it can read.
        Err(emporium_core::AppError::Validation(errors)) if wants_html(&headers) => {
            let payment = payments.payment_for(PaymentId(id), &form.access).await?;
            let view = payments.payment_view(&payment, None);
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            Ok(page(
                &payments,
                StatusCode::UNPROCESSABLE_ENTITY,
                PaymentId(id),
                &form.access,
                form.return_to.as_deref(),
                Step::Pay(
                    &view.amount,
                    Some(format!("That card number was not accepted: {message}.")),
                ),
            ))
        }
        Err(err) => Err(err),
    }
}

/// Whether the caller is a browser showing the page (it asks for HTML).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The test page's authentication step.
#[utoipa::path(post, path = "/api/v1/payments/{id}/authenticate", tag = "payments",
    params(("id" = Uuid, Path)),
    request_body(content = AuthenticateForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Paid"), (status = 402, description = "Failed"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn authenticate(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    Form(form): Form<AuthenticateForm>,
) -> AppResult<Response> {
    let approve = match form.outcome.as_str() {
        "approve" => true,
        "fail" => false,
        _ => {
            return Err(emporium_core::AppError::invalid(
                "outcome",
                "must be approve or fail",
            ));
        }
    };
    let (outcome, payment) = payments
        .authenticate_manual(PaymentId(id), &form.access, approve)
        .await?;
    Ok(outcome_page(
        &payments,
        outcome,
        PaymentId(id),
        &form.access,
        form.return_to.as_deref(),
        &payment,
    ))
}

/// The shopper is back from the gateway: the server asks the gateway how the payment
/// stands (Razorpay: with the ids Checkout signed) and settles it.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "payments",
    params(("id" = Uuid, Path), AccessQuery),
    request_body(content = ConfirmParams, description = "Optional; Razorpay Checkout's signed ids"),
    responses((status = 200, body = PaymentView), (status = 404, body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
async fn confirm_payment(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    Query(q): Query<AccessQuery>,
    body: Bytes,
) -> AppResult<axum::Json<PaymentView>> {
    let params: ConfirmParams = if body.iter().all(u8::is_ascii_whitespace) {
        ConfirmParams::default()
    } else {
        parse_json(&body)?
    };
    let payment = payments
        .confirm_payment(PaymentId(id), &q.access, &params)
        .await?;
    Ok(axum::Json(payments.payment_view(&payment, None)))
}

/// Where a gateway's page sends the shopper back (PayPal's return and cancel URLs): the
/// payment is checked with the gateway, then the shopper goes on to the shop's page
/// (`[payments] return_url`), or gets the payment as JSON.
#[utoipa::path(get, path = "/api/v1/payments/{id}/return", tag = "payments",
    params(("id" = Uuid, Path), ReturnQuery),
    responses((status = 200, body = PaymentView), (status = 303, description = "To the shop's page"),
        (status = 404, body = Problem)))]
async fn return_from_gateway(
    State(payments): State<Payments>,
    Path(id): Path<Uuid>,
    Query(q): Query<ReturnQuery>,
) -> AppResult<Response> {
    let payment = if q.cancelled.unwrap_or(false) {
        payments.payment_for(PaymentId(id), &q.access).await?
    } else {
        payments
            .confirm_payment(PaymentId(id), &q.access, &ConfirmParams::default())
            .await?
    };
    if let Some(url) = &payments.config.payments.return_url {
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok(Redirect::to(&format!(
            "{url}{sep}order_id={}&status={}",
            payment.order_id, payment.status
        ))
        .into_response());
    }
    Ok(axum::Json(payments.payment_view(&payment, None)).into_response())
}

/// A gateway's event (`stripe`, `paypal`, `razorpay`): the signature is checked (a bad
/// one is 400), the event is recorded once by its id, then applied. Replays, events for
/// unknown orders and refunds ahead of their payment are acknowledged with 200.
#[utoipa::path(post, path = "/api/v1/webhooks/payments/{provider}", tag = "payments",
    params(("provider" = String, Path)),
    request_body(content = String, description = "The gateway's event, exactly as sent", content_type = "application/json",
        example = json!({"id": "evt_1QfX2a", "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_3QfX2a", "object": "payment_intent", "amount": 5700,
                "currency": "usd", "status": "succeeded"}}})),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn payment_webhook(
    State(payments): State<Payments>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<axum::Json<WebhookReceipt>> {
    let outcome = payments.handle_webhook(&provider, &headers, &body).await?;
    Ok(axum::Json(WebhookReceipt {
        received: true,
        outcome: outcome.into(),
    }))
}

/// An order's payments and refunds.
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}/payments", tag = "payments",
    params(("id" = String, Path, description = "The order's id, or its number")),
    responses((status = 200, body = OrderPaymentsView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_order_payments(
    _staff: Staff<perm::OrdersRead>,
    State(payments): State<Payments>,
    AdminOrder(id): AdminOrder,
) -> AppResult<axum::Json<OrderPaymentsView>> {
    Ok(axum::Json(payments.order_payments(id).await?))
}

/// Refunds all or part of an order's captured payment through its gateway: by amount, or
/// by lines (their value), or everything left. Never more than was captured (409);
/// optionally restocks the refunded units; emails the customer. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/refunds", tag = "payments",
    params(("id" = String, Path, description = "The order's id, or its number"), ("Idempotency-Key" = String, Header, description = "Unique per refund")),
    request_body = RefundBody,
    responses((status = 201, body = RefundView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)),
    security(("bearer" = [])))]
async fn refund_order(
    staff: Staff<perm::OrdersRefund>,
    State(payments): State<Payments>,
    client: ClientInfo,
    AdminOrder(id): AdminOrder,
    request: Idempotent<RefundBody>,
) -> AppResult<Response> {
    let Idempotent { key, hash, body } = request;
    let actor = Actor::staff(staff.user_id, client.ip);
    let replay = payments.refund(id, body, &actor, &key, &hash).await?;
    Ok(replay.into_response())
}

/// Every payment provider, enabled or not, with where its keys come from. Secrets are
/// never shown, only which are set.
#[utoipa::path(get, path = "/api/v1/admin/payment-gateways", tag = "payments",
    responses((status = 200, body = [GatewayView]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_gateways(
    _staff: Staff<perm::SettingsManage>,
    State(payments): State<Payments>,
) -> AppResult<axum::Json<Vec<GatewayView>>> {
    Ok(axum::Json(payments.gateways.list().await?))
}

/// Stores a gateway's keys, sealed with the master key (AES-256-GCM); they win over the
/// environment's. A secret left out keeps its stored value.
#[utoipa::path(put, path = "/api/v1/admin/payment-gateways/{provider}", tag = "payments",
    params(("provider" = String, Path)), request_body = GatewayBody,
    responses((status = 200, body = GatewayView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_gateway(
    staff: Staff<perm::SettingsManage>,
    State(payments): State<Payments>,
    client: ClientInfo,
    Path(provider): Path<String>,
    Json(body): Json<GatewayBody>,
) -> AppResult<axum::Json<GatewayView>> {
    let enabled = body.enabled;
    let view = payments
        .gateways
        .set(&provider, body, Some(staff.user_id))
        .await?;
    emporium_core::audit::record(
        payments.db.writer(),
        emporium_core::audit::AuditEntry {
            actor: Some(staff.user_id),
            action: "admin.payment_gateway.set",
            target_type: Some("payment_gateway"),
            target_id: Some(provider.clone()),
            ip: client.ip,
            detail: serde_json::json!({"enabled": enabled, "secrets_set": view.secrets_set}),
        },
    )
    .await?;
    Ok(axum::Json(view))
}
