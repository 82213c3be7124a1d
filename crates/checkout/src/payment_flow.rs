//! Paying for orders: a payment row per attempt, opened with the order's gateway at
//! checkout; settled exactly once by the gateway's webhook, the shopper's return (checked
//! with the gateway, never trusted from the browser) or the built-in test page; refunds
//! that can never exceed what was captured; and the sweep that expires unpaid orders.
//!
//! No gateway is called inside a database transaction: a slow gateway must not hold
//! order or stock rows locked.

use chrono::Utc;
use emporium_core::crypto::{constant_time_eq, random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, OrderPaid, RefundCreated};
use emporium_core::idempotency::{self, Replay};
use emporium_core::{AppError, AppResult, Currency, FieldError, Money, div_round};
use emporium_db::entity::{order_lines, orders, payment_events, payments, refunds};
use emporium_payments::{
    ConfirmParams, GatewayError, PaymentProvider, PaymentState, RefundNotice, RefundRequest,
    RefundState, RemotePayment, Session, SessionRequest, WebhookAction, WebhookError,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

use crate::state::Checkout;
use crate::views::{OrderPaymentsView, PaymentView, RefundLine, RefundView};
use emporium_orders::{Actor, OrderStatus, PaymentStatus, Transition, TransitionDetail, order_ref};
use sea_orm::DatabaseTransaction;

/// A payment attempt's states.
pub mod payment_status {
    pub const REQUIRES_ACTION: &str = "requires_action";
    /// The manual provider's extra authentication step is showing.
    pub const AUTHENTICATING: &str = "authenticating";
    pub const AUTHORIZED: &str = "authorized";
    pub const SUCCEEDED: &str = "succeeded";
    /// Declined; the shopper may try again until the order expires.
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const EXPIRED: &str = "expired";
    /// States in which the payment can still be completed.
    pub const OPEN: [&str; 4] = [REQUIRES_ACTION, AUTHENTICATING, AUTHORIZED, FAILED];
}

use payment_status as ps;

/// What a gateway error means to the caller.
pub(crate) fn gateway_error(err: GatewayError) -> AppError {
    match err {
        GatewayError::Unavailable(detail) => AppError::Unavailable {
            detail: format!("the payment gateway is unavailable ({detail}); try again"),
            retry_after_secs: 5,
        },
        GatewayError::Refused(detail) => AppError::bad_gateway(ErrorCode::GatewayRefused, detail),
        GatewayError::Protocol(detail) => AppError::bad_gateway(ErrorCode::GatewayError, detail),
        GatewayError::Forged(detail) => AppError::bad_request(ErrorCode::InvalidSignature, detail),
        GatewayError::Unsupported(detail) => AppError::conflict(ErrorCode::Unsupported, detail),
    }
}

/// A session opened for a checkout, before its order is written.
pub(crate) struct Opened {
    pub id: Uuid,
    pub access: String,
    pub provider: String,
    pub session: Session,
    /// The total the gateway was asked for; the order must come to the same.
    pub amount: Option<i64>,
}

/// What the stored event payload keeps besides the raw body: the refunds of an event
/// deferred until its payment succeeds.
#[derive(Serialize, Deserialize)]
struct StoredEvent {
    body: String,
    #[serde(default)]
    refunds: Vec<RefundNotice>,
}

/// What the manual provider's page shows after a card is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualOutcome {
    Paid,
    Declined(&'static str),
    Authenticate,
}

/// `POST /admin/orders/{id}/refunds`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "lines": [{"line_id": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d", "quantity": 1}],
    "include_shipping": true,
    "restock": true,
    "reason": "Arrived damaged"
})))]
pub struct RefundBody {
    /// Minor units, for a refund not tied to lines (a goodwill or shipping refund). Unset:
    /// the value of `lines`, or else everything not yet refunded. Not allowed together
    /// with `lines`, which price themselves.
    pub amount: Option<i64>,
    /// The lines (and how many units) the refund covers: each refunds what the shopper
    /// paid for those units, tax included, less any discount on the line.
    #[serde(default)]
    pub lines: Vec<RefundLine>,
    /// Put the refunded units back in stock (all of the order's when no lines are named).
    #[serde(default)]
    pub restock: bool,
    /// With `lines`, also refund the shipping that falls on those units: the order's
    /// shipping in proportion to what was paid for them. Refunds of every unit with this
    /// set add up to the shipping charged, to the cent.
    #[serde(default)]
    pub include_shipping: bool,
    pub reason: Option<String>,
}

/// What an order's status change does to its payments, in the change's transaction:
/// staff marking an order paid (cash, bank transfer) captures its manual payment, so it
/// can be refunded later; a cancelled order's unfinished payments can no longer complete.
pub struct PaymentHooks;

impl PaymentHooks {
    /// Staff marked an order paid themselves: its open manual payment is captured.
    async fn capture_manual_offline<C: ConnectionTrait>(conn: &C, order_id: Uuid) -> AppResult<()> {
        payments::Entity::update_many()
            .col_expr(payments::Column::Status, Expr::value(ps::SUCCEEDED))
            .col_expr(
                payments::Column::Captured,
                Expr::col(payments::Column::Amount),
            )
            .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Provider.eq("manual"))
            .filter(payments::Column::Status.is_in(ps::OPEN))
            .exec(conn)
            .await?;
        Ok(())
    }

    /// The order was cancelled: its unfinished payments can no longer complete here (a
    /// late success is still recorded, and flagged for a refund).
    async fn close_open_payments<C: ConnectionTrait>(conn: &C, order_id: Uuid) -> AppResult<()> {
        payments::Entity::update_many()
            .col_expr(payments::Column::Status, Expr::value(ps::CANCELLED))
            .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Status.is_in(ps::OPEN))
            .exec(conn)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl emporium_orders::TransitionHook for PaymentHooks {
    async fn transitioned(
        &self,
        txn: &DatabaseTransaction,
        change: &Transition<'_>,
    ) -> AppResult<()> {
        match change.to {
            OrderStatus::Paid if change.actor.staff => {
                Self::capture_manual_offline(txn, change.order.id).await
            }
            OrderStatus::Cancelled => Self::close_open_payments(txn, change.order.id).await,
            _ => Ok(()),
        }
    }
}

impl Checkout {
    /// The enabled gateway for `provider`, or 422 naming the field.
    pub(crate) async fn gateway_for(&self, provider: &str) -> AppResult<Arc<dyn PaymentProvider>> {
        self.gateways.get(provider).await?.ok_or_else(|| {
            AppError::invalid(
                "payment_provider",
                format!("{provider} is not enabled in this shop"),
            )
        })
    }

    fn payment_url(&self, payment_id: Uuid, page: &str, access: &str) -> String {
        format!(
            "{}/api/v1/payments/{payment_id}/{page}?access={access}",
            self.public_url()
        )
    }

    /// Opens the gateway's session for an order about to be placed. `key` derives the
    /// gateway's idempotency key, so a retried checkout reopens the same session.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_payment(
        &self,
        gateway: &dyn PaymentProvider,
        order_id: Uuid,
        amount: i64,
        currency: Currency,
        email: &str,
        key: &str,
    ) -> AppResult<Opened> {
        let id = Uuid::now_v7();
        let access = random_token(24);
        let request = SessionRequest {
            payment_id: id,
            order_id,
            amount,
            currency,
            email: email.to_string(),
            idempotency_key: token_hash(&format!("{key}|{amount}|{}", currency.code())),
            return_url: self.payment_url(id, "return", &access),
            cancel_url: format!("{}&cancelled=true", self.payment_url(id, "return", &access)),
        };
        let mut session = gateway
            .create_session(&request)
            .await
            .map_err(gateway_error)?;
        if gateway.name() == "manual" {
            session.redirect_url = Some(self.payment_url(id, "pay", &access));
        }
        Ok(Opened {
            id,
            access,
            provider: gateway.name().to_string(),
            session,
            amount: Some(amount),
        })
    }

    /// Writes the payment row of a checkout, in its transaction.
    pub(crate) async fn insert_payment<C: ConnectionTrait>(
        &self,
        conn: &C,
        opened: &Opened,
        order_id: Uuid,
        amount: i64,
        currency: Currency,
    ) -> AppResult<payments::Model> {
        let now = Utc::now();
        let session = serde_json::json!({
            "client": opened.session.client,
            "redirect_url": opened.session.redirect_url,
        });
        Ok(payments::ActiveModel {
            id: Set(opened.id),
            order_id: Set(order_id),
            provider: Set(opened.provider.clone()),
            status: Set(ps::REQUIRES_ACTION.into()),
            amount: Set(amount),
            currency: Set(currency.code().to_string()),
            captured: Set(0),
            refunded: Set(0),
            provider_ref: Set(Some(opened.session.provider_ref.clone())),
            capture_ref: Set(None),
            session: Set(session.to_string()),
            access_hash: Set(token_hash(&opened.access)),
            failure: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?)
    }

    pub(crate) fn payment_view(&self, p: &payments::Model, access: Option<String>) -> PaymentView {
        let currency = Currency::parse(&p.currency).unwrap_or(self.default_currency());
        let session: serde_json::Value = serde_json::from_str(&p.session).unwrap_or_default();
        PaymentView {
            id: p.id,
            order_id: p.order_id,
            provider: p.provider.clone(),
            status: p.status.clone(),
            amount: Money::new(p.amount, currency),
            captured: Money::new(p.captured, currency),
            refunded: Money::new(p.refunded, currency),
            redirect_url: session["redirect_url"].as_str().map(str::to_string),
            client: session["client"].clone(),
            access,
            failure: p.failure.clone(),
            provider_ref: p.provider_ref.clone(),
            created_at: p.created_at,
        }
    }

    /// A payment opened by its `access` secret; a wrong secret is 404, as if it did not
    /// exist.
    pub async fn payment_for(&self, id: Uuid, access: &str) -> AppResult<payments::Model> {
        let payment = payments::Entity::find_by_id(id)
            .one(self.db.current())
            .await?
            .ok_or_else(|| AppError::not_found("no such payment"))?;
        if !constant_time_eq(
            payment.access_hash.as_bytes(),
            token_hash(access).as_bytes(),
        ) {
            return Err(AppError::not_found("no such payment"));
        }
        Ok(payment)
    }

    /// The manual provider's page received a card number. Only documented test numbers
    /// are accepted; the number itself is neither stored nor logged.
    #[tracing::instrument(skip_all, fields(payment_id = %id))]
    pub async fn pay_manual(
        &self,
        id: Uuid,
        access: &str,
        card_number: &str,
    ) -> AppResult<(ManualOutcome, payments::Model)> {
        use emporium_payments::manual::{TestCard, test_card};
        let payment = self.payment_for(id, access).await?;
        self.check_manual_open(&payment)?;
        let Some(card) = test_card(card_number) else {
            return Err(AppError::invalid(
                "card_number",
                "the test payment page takes only its documented test card numbers",
            ));
        };
        let outcome = match card {
            TestCard::Succeeds => {
                self.settle_manual(&payment, true, None).await?;
                ManualOutcome::Paid
            }
            TestCard::Declined(reason) => {
                self.settle_manual(&payment, false, Some(reason)).await?;
                ManualOutcome::Declined(reason)
            }
            TestCard::Authenticates => {
                payments::Entity::update_many()
                    .col_expr(payments::Column::Status, Expr::value(ps::AUTHENTICATING))
                    .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(payments::Column::Id.eq(id))
                    .filter(payments::Column::Status.is_in(ps::OPEN))
                    .exec(self.db.writer())
                    .await?;
                ManualOutcome::Authenticate
            }
        };
        Ok((outcome, self.payment_for(id, access).await?))
    }

    /// The manual provider's extra step: the shopper approves or fails it.
    pub async fn authenticate_manual(
        &self,
        id: Uuid,
        access: &str,
        approve: bool,
    ) -> AppResult<(ManualOutcome, payments::Model)> {
        let payment = self.payment_for(id, access).await?;
        if payment.status != ps::AUTHENTICATING {
            return Err(AppError::conflict(
                ErrorCode::NotAuthenticating,
                "this payment is not waiting for authentication",
            ));
        }
        let outcome = if approve {
            self.settle_manual(&payment, true, None).await?;
            ManualOutcome::Paid
        } else {
            self.settle_manual(&payment, false, Some("authentication_failed"))
                .await?;
            ManualOutcome::Declined("authentication_failed")
        };
        Ok((outcome, self.payment_for(id, access).await?))
    }

    fn check_manual_open(&self, payment: &payments::Model) -> AppResult<()> {
        if payment.provider != "manual" {
            return Err(AppError::not_found(
                "this payment is made on its gateway's page",
            ));
        }
        match payment.status.as_str() {
            ps::SUCCEEDED => Err(AppError::conflict(
                ErrorCode::AlreadyPaid,
                "this payment is done",
            )),
            s if !ps::OPEN.contains(&s) => Err(AppError::conflict(
                ErrorCode::PaymentClosed,
                "this payment can no longer be made; the order was cancelled or expired",
            )),
            _ => Ok(()),
        }
    }

    async fn settle_manual(
        &self,
        payment: &payments::Model,
        paid: bool,
        reason: Option<&str>,
    ) -> AppResult<()> {
        let remote = RemotePayment {
            state: if paid {
                PaymentState::Succeeded
            } else {
                PaymentState::Failed
            },
            captured: if paid { payment.amount } else { 0 },
            capture_ref: paid.then(|| format!("manual_ch_{}", payment.id.simple())),
            failure: reason.map(str::to_string),
        };
        let txn = self.db.begin().await?;
        self.settle(&txn, payment.id, &remote).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The shopper came back from the gateway: ask the gateway how the payment stands
    /// and settle accordingly.
    pub async fn confirm_payment(
        &self,
        id: Uuid,
        access: &str,
        params: &ConfirmParams,
    ) -> AppResult<payments::Model> {
        let payment = self.payment_for(id, access).await?;
        if payment.status == ps::SUCCEEDED || payment.provider == "manual" {
            return Ok(payment);
        }
        let gateway = self.gateway_for(&payment.provider).await?;
        let Some(provider_ref) = payment.provider_ref.clone() else {
            return Ok(payment);
        };
        let currency = Currency::parse(&payment.currency).unwrap_or(self.default_currency());
        let remote = gateway
            .confirm(
                &provider_ref,
                params,
                payment.amount,
                currency,
                &format!("capture-{}", payment.id),
            )
            .await
            .map_err(gateway_error)?;
        let txn = self.db.begin().await?;
        self.settle(&txn, payment.id, &remote).await?;
        txn.commit().await?;
        self.payment_for(id, access).await
    }

    /// Brings our payment in line with what the gateway reports. Success moves the order
    /// to paid (committing its stock) exactly once, however many times it is reported.
    pub(crate) async fn settle(
        &self,
        conn: &DatabaseTransaction,
        payment_id: Uuid,
        remote: &RemotePayment,
    ) -> AppResult<()> {
        let now = Utc::now();
        let Some(payment) = payments::Entity::find_by_id(payment_id).one(conn).await? else {
            return Ok(());
        };
        let update = || {
            payments::Entity::update_many()
                .col_expr(payments::Column::UpdatedAt, Expr::value(now))
                .filter(payments::Column::Id.eq(payment_id))
        };
        match remote.state {
            PaymentState::Succeeded => {
                let captured = if remote.captured > 0 {
                    remote.captured
                } else {
                    payment.amount
                };
                let done = update()
                    .col_expr(payments::Column::Status, Expr::value(ps::SUCCEEDED))
                    .col_expr(payments::Column::Captured, Expr::value(captured))
                    .col_expr(
                        payments::Column::CaptureRef,
                        Expr::value(remote.capture_ref.clone().or(payment.capture_ref.clone())),
                    )
                    .col_expr(
                        payments::Column::Failure,
                        Expr::value(Option::<String>::None),
                    )
                    .filter(payments::Column::Status.ne(ps::SUCCEEDED))
                    .exec(conn)
                    .await?;
                if done.rows_affected == 0 {
                    return Ok(());
                }
                let order = orders::Entity::find_by_id(payment.order_id)
                    .one(conn)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("payment {payment_id} has no order"))?;
                let problem = if captured < payment.amount {
                    Some(format!(
                        "captured {captured} of {}: check it with the gateway",
                        payment.amount
                    ))
                } else if order.status != OrderStatus::PendingPayment.as_str() {
                    Some(format!(
                        "paid after the order was {}: refund it",
                        order.status
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    tracing::warn!(payment_id = %payment_id, order_id = %order.id, %problem, "payment needs staff");
                    update()
                        .col_expr(payments::Column::Failure, Expr::value(problem))
                        .exec(conn)
                        .await?;
                } else {
                    self.orders
                        .transition_in(
                            conn,
                            order.id,
                            OrderStatus::Paid,
                            &Actor::default(),
                            TransitionDetail {
                                reason: Some(format!("paid with {}", payment.provider)),
                                ..TransitionDetail::default()
                            },
                        )
                        .await?;
                    let currency =
                        Currency::parse(&order.currency).unwrap_or(self.default_currency());
                    events::publish(
                        conn,
                        OrderPaid {
                            order: order_ref(&order),
                            amount: Money::new(captured, currency),
                            provider: payment.provider.clone(),
                        },
                    )
                    .await?;
                    metrics::counter!("payments_succeeded_total", "provider" => payment.provider.clone())
                        .increment(1);
                }
                self.apply_deferred(conn, payment_id).await?;
            }
            PaymentState::Failed | PaymentState::Cancelled => {
                let status = if remote.state == PaymentState::Failed {
                    ps::FAILED
                } else {
                    ps::CANCELLED
                };
                update()
                    .col_expr(payments::Column::Status, Expr::value(status))
                    .col_expr(
                        payments::Column::Failure,
                        Expr::value(remote.failure.clone()),
                    )
                    .filter(payments::Column::Status.is_in(ps::OPEN))
                    .exec(conn)
                    .await?;
                metrics::counter!("payments_failed_total", "provider" => payment.provider.clone())
                    .increment(1);
            }
            PaymentState::Authorized => {
                update()
                    .col_expr(payments::Column::Status, Expr::value(ps::AUTHORIZED))
                    .filter(payments::Column::Status.is_in([
                        ps::REQUIRES_ACTION,
                        ps::AUTHENTICATING,
                        ps::FAILED,
                    ]))
                    .exec(conn)
                    .await?;
            }
            PaymentState::RequiresAction => {}
        }
        Ok(())
    }

    /// Refund events that came before their payment was known to succeed.
    async fn apply_deferred(&self, conn: &DatabaseTransaction, payment_id: Uuid) -> AppResult<()> {
        let deferred = payment_events::Entity::find()
            .filter(payment_events::Column::PaymentId.eq(payment_id))
            .filter(payment_events::Column::Outcome.eq("deferred"))
            .order_by_asc(payment_events::Column::ReceivedAt)
            .all(conn)
            .await?;
        for event in deferred {
            let stored: StoredEvent = serde_json::from_str(&event.payload).unwrap_or(StoredEvent {
                body: String::new(),
                refunds: Vec::new(),
            });
            self.reconcile_refunds(conn, payment_id, &stored.refunds)
                .await?;
            payment_events::Entity::update_many()
                .col_expr(payment_events::Column::Outcome, Expr::value("applied"))
                .filter(payment_events::Column::Id.eq(event.id))
                .exec(conn)
                .await?;
        }
        Ok(())
    }

    async fn find_payment(
        &self,
        provider: &str,
        provider_ref: Option<&str>,
        capture_ref: Option<&str>,
    ) -> AppResult<Option<payments::Model>> {
        let conn = self.db.current();
        if let Some(r) = provider_ref {
            let found = payments::Entity::find()
                .filter(payments::Column::Provider.eq(provider))
                .filter(payments::Column::ProviderRef.eq(r))
                .one(conn)
                .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        if let Some(r) = capture_ref {
            return Ok(payments::Entity::find()
                .filter(payments::Column::Provider.eq(provider))
                .filter(payments::Column::CaptureRef.eq(r))
                .one(conn)
                .await?);
        }
        Ok(None)
    }

    /// A gateway's webhook: verified, recorded once by event id, then applied. A replay,
    /// an event for an order we do not know, or a refund before its payment is
    /// acknowledged without a wrong change. Answers what became of it.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn handle_webhook(
        &self,
        provider: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> AppResult<&'static str> {
        let gateway = self
            .gateways
            .get(provider)
            .await?
            .filter(|g| g.name() != "manual")
            .ok_or_else(|| AppError::not_found("no such payment gateway is enabled"))?;
        let event = match gateway
            .verify_webhook(headers, body, Utc::now().timestamp())
            .await
        {
            Ok(event) => event,
            Err(WebhookError::BadSignature(why)) => {
                tracing::warn!(provider, reason = why, "webhook refused");
                metrics::counter!("payment_webhooks_refused_total", "provider" => provider.to_string())
                    .increment(1);
                return Err(AppError::bad_request(
                    ErrorCode::InvalidSignature,
                    format!("the webhook signature check failed: {why}"),
                ));
            }
            Err(WebhookError::Malformed(why)) => {
                tracing::warn!(provider, reason = %why, "webhook malformed");
                return Err(AppError::bad_request(
                    ErrorCode::MalformedWebhook,
                    "the webhook body could not be read",
                ));
            }
            Err(WebhookError::Gateway(e)) => return Err(gateway_error(e)),
        };
        let seen = payment_events::Entity::find()
            .filter(payment_events::Column::Provider.eq(provider))
            .filter(payment_events::Column::EventId.eq(event.id.clone()))
            .one(self.db.current())
            .await?;
        if seen.is_some() {
            return Ok("duplicate");
        }
        let (provider_ref, capture_ref) = match &event.action {
            WebhookAction::Paid {
                provider_ref,
                capture_ref,
                ..
            }
            | WebhookAction::Failed {
                provider_ref,
                capture_ref,
                ..
            }
            | WebhookAction::Refunded {
                provider_ref,
                capture_ref,
                ..
            } => (provider_ref.clone(), capture_ref.clone()),
            WebhookAction::Approved { provider_ref } => (Some(provider_ref.clone()), None),
            WebhookAction::Ignored => (None, None),
        };
        let payment = self
            .find_payment(provider, provider_ref.as_deref(), capture_ref.as_deref())
            .await?;
        // An approval (PayPal) is captured now, before the transaction.
        let mut remote = None;
        if let (WebhookAction::Approved { provider_ref }, Some(p)) = (&event.action, &payment)
            && p.status != ps::SUCCEEDED
            && ps::OPEN.contains(&p.status.as_str())
        {
            let currency = Currency::parse(&p.currency).unwrap_or(self.default_currency());
            remote = Some(
                gateway
                    .capture(
                        provider_ref,
                        p.amount,
                        currency,
                        &format!("capture-{}", p.id),
                    )
                    .await
                    .map_err(gateway_error)?,
            );
        }
        let mut stored = StoredEvent {
            body: String::from_utf8_lossy(body).into_owned(),
            refunds: Vec::new(),
        };
        let txn = self.db.begin().await?;
        let event_row = Uuid::now_v7();
        let inserted = payment_events::Entity::insert(payment_events::ActiveModel {
            id: Set(event_row),
            provider: Set(provider.to_string()),
            event_id: Set(event.id.chars().take(255).collect()),
            kind: Set(event.kind.chars().take(64).collect()),
            payment_id: Set(payment.as_ref().map(|p| p.id)),
            outcome: Set("received".into()),
            payload: Set(String::new()),
            received_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                payment_events::Column::Provider,
                payment_events::Column::EventId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 0 {
            return Ok("duplicate");
        }
        let outcome = match (&payment, &event.action) {
            (None, _) | (_, WebhookAction::Ignored) => "ignored",
            (
                Some(p),
                WebhookAction::Paid {
                    capture_ref,
                    amount,
                    ..
                },
            ) => {
                let remote = RemotePayment {
                    state: PaymentState::Succeeded,
                    captured: *amount,
                    capture_ref: capture_ref.clone(),
                    failure: None,
                };
                self.settle(&txn, p.id, &remote).await?;
                "applied"
            }
            (Some(p), WebhookAction::Approved { .. }) => match &remote {
                Some(remote) => {
                    self.settle(&txn, p.id, remote).await?;
                    "applied"
                }
                None => "ignored",
            },
            (Some(p), WebhookAction::Failed { reason, .. }) => {
                let remote = RemotePayment {
                    state: PaymentState::Failed,
                    captured: 0,
                    capture_ref: None,
                    failure: Some(reason.clone()),
                };
                self.settle(&txn, p.id, &remote).await?;
                "applied"
            }
            (Some(p), WebhookAction::Refunded { refunds, .. }) => {
                let current = payments::Entity::find_by_id(p.id).one(&txn).await?;
                if current.is_some_and(|c| c.status == ps::SUCCEEDED) {
                    self.reconcile_refunds(&txn, p.id, refunds).await?;
                    "applied"
                } else {
                    stored.refunds = refunds.clone();
                    "deferred"
                }
            }
        };
        payment_events::Entity::update_many()
            .col_expr(payment_events::Column::Outcome, Expr::value(outcome))
            .col_expr(
                payment_events::Column::Payload,
                Expr::value(serde_json::to_string(&stored).map_err(anyhow::Error::from)?),
            )
            .filter(payment_events::Column::Id.eq(event_row))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(provider, kind = %event.kind, outcome, "payment webhook");
        Ok(outcome)
    }

    /// Applies refunds a gateway reports: ours change state, ones made in the gateway's
    /// dashboard are recorded (never beyond what was captured), and the order's status
    /// follows.
    async fn reconcile_refunds(
        &self,
        conn: &DatabaseTransaction,
        payment_id: Uuid,
        notices: &[RefundNotice],
    ) -> AppResult<()> {
        let Some(payment) = payments::Entity::find_by_id(payment_id).one(conn).await? else {
            return Ok(());
        };
        let mut changed = false;
        for notice in notices {
            let mut query =
                refunds::Entity::find().filter(refunds::Column::PaymentId.eq(payment_id));
            query = match notice.refund_id {
                Some(id) => query.filter(
                    refunds::Column::Id
                        .eq(id)
                        .or(refunds::Column::ProviderRef.eq(notice.provider_ref.clone())),
                ),
                None => query.filter(refunds::Column::ProviderRef.eq(notice.provider_ref.clone())),
            };
            let state = notice.state.as_str();
            match query.one(conn).await? {
                Some(ours) if ours.status != state => {
                    if notice.state == RefundState::Failed {
                        // The money did not go back: release what the refund held.
                        shift_refunded(conn, payment_id, -ours.amount, false).await?;
                    } else if ours.status == RefundState::Failed.as_str()
                        && !shift_refunded(conn, payment_id, ours.amount, true).await?
                    {
                        continue;
                    }
                    refunds::Entity::update_many()
                        .col_expr(refunds::Column::Status, Expr::value(state))
                        .col_expr(
                            refunds::Column::ProviderRef,
                            Expr::value(notice.provider_ref.clone()),
                        )
                        .col_expr(refunds::Column::UpdatedAt, Expr::value(Utc::now()))
                        .filter(refunds::Column::Id.eq(ours.id))
                        .exec(conn)
                        .await?;
                    changed = true;
                }
                Some(_) => {}
                None if notice.state == RefundState::Failed => {}
                None => {
                    if !shift_refunded(conn, payment_id, notice.amount, true).await? {
                        tracing::warn!(payment_id = %payment_id, "a gateway refund exceeds what we recorded as captured; left for staff");
                        continue;
                    }
                    let now = Utc::now();
                    refunds::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        payment_id: Set(payment_id),
                        order_id: Set(payment.order_id),
                        amount: Set(notice.amount),
                        currency: Set(payment.currency.clone()),
                        status: Set(state.into()),
                        reason: Set(Some("refunded at the gateway".into())),
                        restock: Set(false),
                        lines: Set("[]".into()),
                        provider_ref: Set(Some(notice.provider_ref.clone())),
                        created_by: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(conn)
                    .await?;
                    changed = true;
                }
            }
        }
        if changed {
            self.follow_refunds(
                conn,
                payment_id,
                None,
                Some("refunded at the gateway".into()),
            )
            .await?;
        }
        Ok(())
    }

    /// Moves the order to refunded or partially refunded after its payment's refunds
    /// changed, when its status allows (a cancelled order stays cancelled).
    async fn follow_refunds(
        &self,
        conn: &DatabaseTransaction,
        payment_id: Uuid,
        actor: Option<&Actor>,
        reason: Option<String>,
    ) -> AppResult<()> {
        let Some(payment) = payments::Entity::find_by_id(payment_id).one(conn).await? else {
            return Ok(());
        };
        // Money is the payment status's business; only a full refund also closes the
        // order, and only from a state that may close that way.
        let money = PaymentStatus::of(payment.captured, payment.refunded);
        if money == PaymentStatus::Paid || money == PaymentStatus::Unpaid {
            return Ok(());
        }
        self.orders
            .money_returned(
                conn,
                payment.order_id,
                money,
                actor.unwrap_or(&Actor::default()),
                reason,
            )
            .await
    }

    /// An order's payments and refunds.
    pub async fn order_payments(&self, order_id: Uuid) -> AppResult<OrderPaymentsView> {
        let conn = self.db.current();
        orders::Entity::find_by_id(order_id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let payments = payments::Entity::find()
            .filter(payments::Column::OrderId.eq(order_id))
            .order_by_asc(payments::Column::CreatedAt)
            .all(conn)
            .await?;
        let refunds = refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(order_id))
            .order_by_asc(refunds::Column::CreatedAt)
            .all(conn)
            .await?;
        Ok(OrderPaymentsView {
            payments: payments
                .iter()
                .map(|p| self.payment_view(p, None))
                .collect(),
            refunds: refunds.iter().map(|r| self.refund_view(r)).collect(),
        })
    }

    fn refund_view(&self, r: &refunds::Model) -> RefundView {
        let currency = Currency::parse(&r.currency).unwrap_or(self.default_currency());
        RefundView {
            id: r.id,
            order_id: r.order_id,
            payment_id: r.payment_id,
            amount: Money::new(r.amount, currency),
            status: r.status.clone(),
            reason: r.reason.clone(),
            restock: r.restock,
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            provider_ref: r.provider_ref.clone(),
            created_at: r.created_at,
        }
    }

    /// Issues a refund: the amount is reserved on the payment first (so two refunds can
    /// never exceed what was captured), then the gateway is called outside any
    /// transaction, then the refund, the order's status, the restock and the customer's
    /// email are written together with the idempotent response.
    #[tracing::instrument(skip_all, fields(order_id = %order_id))]
    pub async fn refund(
        &self,
        order_id: Uuid,
        body: RefundBody,
        actor: &Actor,
        key: &str,
        hash: &str,
    ) -> AppResult<Replay> {
        let scope = format!("refund:{order_id}");
        if let Some(replay) = idempotency::find(self.db.current(), &scope, key, hash).await? {
            if replay.status == idempotency::IN_PROGRESS {
                return Err(AppError::conflict(
                    ErrorCode::RequestInProgress,
                    "a refund with this Idempotency-Key is still being made; retry shortly",
                ));
            }
            return Ok(replay);
        }
        let reason = check_refund(&body)?;
        let mut errors = Vec::new();

        // 1. Reserve the amount and claim the key.
        let txn = self.db.begin().await?;
        let order = orders::Entity::find_by_id(order_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let payment = payments::Entity::find()
            .filter(payments::Column::OrderId.eq(order_id))
            .filter(payments::Column::Status.eq(ps::SUCCEEDED))
            .order_by_desc(payments::Column::CreatedAt)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    ErrorCode::NothingCaptured,
                    "this order has no captured payment to refund",
                )
            })?;
        let lines = order_lines::Entity::find()
            .filter(order_lines::Column::OrderId.eq(order_id))
            .all(&txn)
            .await?;
        let mut already: std::collections::HashMap<Uuid, i32> = std::collections::HashMap::new();
        for r in refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(order_id))
            .filter(refunds::Column::Status.ne(RefundState::Failed.as_str()))
            .all(&txn)
            .await?
        {
            for l in serde_json::from_str::<Vec<RefundLine>>(&r.lines).unwrap_or_default() {
                *already.entry(l.line_id).or_default() += l.quantity;
            }
        }
        // Values are cumulative (what the first k units of a line are worth), so refunds
        // of a line unit by unit add up to what was paid for it, to the cent.
        let paid_for = |line: &order_lines::Model, units: i32| {
            units_value(line_paid(line, order.tax_inclusive), line.quantity, units)
        };
        let refunded_before: i64 = lines
            .iter()
            .map(|l| paid_for(l, already.get(&l.id).copied().unwrap_or(0)))
            .sum();
        let mut from_lines = 0i64;
        for (i, wanted) in body.lines.iter().enumerate() {
            let Some(line) = lines.iter().find(|l| l.id == wanted.line_id) else {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    "is not a line of this order",
                ));
                continue;
            };
            let done = already.get(&line.id).copied().unwrap_or(0);
            let left = line.quantity - done;
            if wanted.quantity > left {
                errors.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    format!("only {left} of this line are left to refund"),
                ));
                continue;
            }
            from_lines += paid_for(line, done + wanted.quantity) - paid_for(line, done);
            // The same line named twice counts its units once each.
            *already.entry(line.id).or_default() += wanted.quantity;
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if body.include_shipping {
            let all_lines: i64 = lines.iter().map(|l| paid_for(l, l.quantity)).sum();
            let share = |value: i64| units_value(order.shipping, all_lines, value);
            from_lines += share(refunded_before + from_lines) - share(refunded_before);
        }
        let remaining = payment.captured - payment.refunded;
        let amount = body.amount.unwrap_or(if body.lines.is_empty() {
            remaining
        } else {
            from_lines
        });
        let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
        let refundable = status.refundable();
        if amount > 0 && amount <= remaining && !refundable {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("an order that is {} cannot be refunded", status.as_str()),
            ));
        }
        if amount <= 0 || !shift_refunded(&txn, payment.id, amount, true).await? {
            return Err(AppError::conflict(
                ErrorCode::RefundExceedsCaptured,
                format!(
                    "at most {} can still be refunded",
                    Money::new(
                        Ord::max(remaining, 0),
                        Currency::parse(&payment.currency).unwrap_or(self.default_currency())
                    )
                ),
            ));
        }
        let refund_id = Uuid::now_v7();
        let now = Utc::now();
        let refund = refunds::ActiveModel {
            id: Set(refund_id),
            payment_id: Set(payment.id),
            order_id: Set(order_id),
            amount: Set(amount),
            currency: Set(payment.currency.clone()),
            status: Set(RefundState::Pending.as_str().into()),
            reason: Set(reason.clone()),
            restock: Set(body.restock),
            lines: Set(serde_json::to_string(&body.lines).map_err(anyhow::Error::from)?),
            provider_ref: Set(None),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        idempotency::save(&txn, &scope, key, hash, idempotency::IN_PROGRESS, "").await?;
        txn.commit().await?;

        // 2. The gateway, outside any transaction.
        let currency = Currency::parse(&payment.currency).unwrap_or(self.default_currency());
        let result = self
            .refund_at_gateway(&payment, refund_id, amount, currency)
            .await;

        // 3. Record the outcome.
        let txn = self.db.begin().await?;
        let remote = match result {
            Ok(remote) if remote.state != RefundState::Failed => remote,
            other => {
                shift_refunded(&txn, payment.id, -amount, false).await?;
                refunds::Entity::update_many()
                    .col_expr(
                        refunds::Column::Status,
                        Expr::value(RefundState::Failed.as_str()),
                    )
                    .col_expr(refunds::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(refunds::Column::Id.eq(refund_id))
                    .exec(&txn)
                    .await?;
                idempotency::forget(&txn, &scope, key).await?;
                txn.commit().await?;
                return Err(match other {
                    Err(e) => e,
                    Ok(_) => AppError::bad_gateway(
                        ErrorCode::RefundFailed,
                        "the gateway could not make the refund",
                    ),
                });
            }
        };
        refunds::Entity::update_many()
            .col_expr(refunds::Column::Status, Expr::value(remote.state.as_str()))
            .col_expr(
                refunds::Column::ProviderRef,
                Expr::value(remote.provider_ref.clone()),
            )
            .col_expr(refunds::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(refunds::Column::Id.eq(refund_id))
            .exec(&txn)
            .await?;
        if body.restock {
            for (variant_id, quantity) in units_to_restock(&body, &lines) {
                self.inventory
                    .restock_units(&txn, order_id, variant_id, quantity, actor.user_id)
                    .await?;
            }
        }
        self.follow_refunds(
            &txn,
            payment.id,
            Some(actor),
            reason.clone().or(Some("refund".into())),
        )
        .await?;
        emporium_core::audit::record(
            &txn,
            emporium_core::audit::AuditEntry {
                actor: actor.user_id,
                action: if actor.staff {
                    "admin.order.refund"
                } else {
                    "order.refund"
                },
                target_type: Some("order"),
                target_id: Some(order_id.to_string()),
                ip: actor.ip.clone(),
                detail: serde_json::json!({"refund_id": refund_id, "amount": amount, "restock": body.restock}),
            },
        )
        .await?;
        events::publish(
            &txn,
            RefundCreated {
                order: order_ref(&order),
                refund_id,
                amount: Money::new(amount, currency),
                reason: reason.clone(),
            },
        )
        .await?;
        let refund = refunds::Entity::find_by_id(refund.id)
            .one(&txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("refund vanished"))?;
        let text =
            serde_json::to_string(&self.refund_view(&refund)).map_err(anyhow::Error::from)?;
        idempotency::complete(&txn, &scope, key, 201, &text).await?;
        txn.commit().await?;
        tracing::info!(order_id = %order_id, refund_id = %refund_id, amount, "refund issued");
        metrics::counter!("refunds_total", "provider" => payment.provider.clone()).increment(1);
        Ok(Replay {
            status: 201,
            body: text,
        })
    }

    /// Asks the payment's gateway to refund `amount`, outside any transaction; the
    /// refund's id is the gateway's idempotency key, so a retry never refunds twice.
    async fn refund_at_gateway(
        &self,
        payment: &payments::Model,
        refund_id: Uuid,
        amount: i64,
        currency: Currency,
    ) -> AppResult<emporium_payments::RemoteRefund> {
        let Some(gateway) = self.gateways.get(&payment.provider).await? else {
            return Err(AppError::conflict(
                ErrorCode::GatewayDisabled,
                format!(
                    "{} is not enabled; refund it there by hand",
                    payment.provider
                ),
            ));
        };
        gateway
            .refund(&RefundRequest {
                refund_id,
                provider_ref: payment.provider_ref.clone().unwrap_or_default(),
                capture_ref: payment.capture_ref.clone(),
                amount,
                currency,
                idempotency_key: refund_id.to_string(),
            })
            .await
            .map_err(gateway_error)
    }

    /// Cancels orders still unpaid after `[payments] unpaid_expiry_mins`, releasing their
    /// stock. A payment the gateway reports as made after all is settled instead. Each
    /// order moves by one guarded update, so nodes sweeping at once never double up.
    #[tracing::instrument(skip_all)]
    pub async fn expire_unpaid(&self, now_ms: i64) -> AppResult<usize> {
        let minutes = self.config.payments.unpaid_expiry_mins as i64;
        let Some(cutoff) = chrono::DateTime::from_timestamp_millis(now_ms)
            .map(|now| now - chrono::Duration::minutes(minutes))
        else {
            return Ok(0);
        };
        let stale = orders::Entity::find()
            .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
            .filter(orders::Column::CreatedAt.lt(cutoff))
            .order_by_asc(orders::Column::CreatedAt)
            .limit(200)
            .all(self.db.current())
            .await?;
        let mut expired = 0;
        for order in stale {
            let open = payments::Entity::find()
                .filter(payments::Column::OrderId.eq(order.id))
                .filter(payments::Column::Status.is_in(ps::OPEN))
                .all(self.db.current())
                .await?;
            let mut paid = false;
            for p in &open {
                if p.provider == "manual" {
                    continue;
                }
                let (Some(gateway), Some(provider_ref)) = (
                    self.gateways.get(&p.provider).await?,
                    p.provider_ref.as_deref(),
                ) else {
                    continue;
                };
                match gateway.fetch(provider_ref).await {
                    Ok(remote) if remote.state == PaymentState::Succeeded => {
                        let txn = self.db.begin().await?;
                        self.settle(&txn, p.id, &remote).await?;
                        txn.commit().await?;
                        paid = true;
                    }
                    Ok(_) => {
                        if let Err(e) = gateway.cancel(provider_ref).await {
                            tracing::warn!(payment_id = %p.id, error = %e, "could not cancel an expired payment at its gateway");
                        }
                    }
                    // The gateway cannot say: try again on the next sweep rather than
                    // cancel an order that may have been paid.
                    Err(e) => {
                        tracing::warn!(payment_id = %p.id, error = %e, "gateway unreachable; expiry postponed");
                        paid = true;
                    }
                }
            }
            if paid {
                continue;
            }
            let txn = self.db.begin().await?;
            payments::Entity::update_many()
                .col_expr(payments::Column::Status, Expr::value(ps::EXPIRED))
                .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(payments::Column::OrderId.eq(order.id))
                .filter(payments::Column::Status.is_in(ps::OPEN))
                .exec(&txn)
                .await?;
            match self
                .orders
                .transition_in(
                    &txn,
                    order.id,
                    OrderStatus::Cancelled,
                    &Actor::default(),
                    TransitionDetail {
                        reason: Some(format!("not paid within {minutes} minutes")),
                        ..TransitionDetail::default()
                    },
                )
                .await
            {
                Ok(_) => {}
                // Paid or cancelled meanwhile.
                Err(AppError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
            txn.commit().await?;
            expired += 1;
        }
        if expired > 0 {
            metrics::counter!("orders_expired_total").increment(expired as u64);
        }
        Ok(expired)
    }
}

/// Adds `delta` to a payment's refunded total; when `capped`, only if the total stays
/// within what was captured (checked by the update itself, so concurrent refunds cannot
/// both pass). Answers whether it did.
/// What the shopper paid for a whole order line: its price less its discount, plus its tax
/// when prices were shown without tax.
/// What `units` of `of` are worth when all of them cost `total`, rounded half away from
/// zero: the first k units of a line, or the shipping on the first `units` of value.
fn units_value(total: i64, of: impl Into<i64>, units: impl Into<i64>) -> i64 {
    let of = Ord::max(of.into(), 1);
    div_round(i128::from(total) * i128::from(units.into()), i128::from(of))
}

fn line_paid(line: &order_lines::Model, tax_inclusive: bool) -> i64 {
    line.total - line.discount + if tax_inclusive { 0 } else { line.tax }
}

async fn shift_refunded<C: ConnectionTrait>(
    conn: &C,
    payment_id: Uuid,
    delta: i64,
    capped: bool,
) -> AppResult<bool> {
    let mut update = payments::Entity::update_many()
        .col_expr(
            payments::Column::Refunded,
            Expr::col(payments::Column::Refunded).add(delta),
        )
        .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payments::Column::Id.eq(payment_id));
    if capped {
        update = update.filter(
            Expr::col(payments::Column::Refunded)
                .add(delta)
                .lte(Expr::col(payments::Column::Captured)),
        );
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// Checks a refund request on its own (before any lookup) and answers its reason.
fn check_refund(body: &RefundBody) -> AppResult<Option<String>> {
    let mut errors = Vec::new();
    let reason = emporium_core::reason::Reason::optional(body.reason.as_deref(), "reason")
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
        .map(emporium_core::reason::Reason::into_string);
    if body.amount.is_some_and(|a| a <= 0) {
        errors.push(FieldError::new(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    if body.amount.is_some() && !body.lines.is_empty() {
        errors.push(FieldError::new(
            "amount",
            "give either an amount or lines, not both: lines are refunded at what \
             the shopper paid for them",
        ));
    }
    if body.include_shipping && body.lines.is_empty() {
        errors.push(FieldError::new(
            "include_shipping",
            "needs lines; to refund shipping alone, give an amount",
        ));
    }
    for (i, line) in body.lines.iter().enumerate() {
        if line.quantity <= 0 {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
    }
    if errors.is_empty() {
        Ok(reason)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The units a refund puts back in stock: the named lines', or every line's.
fn units_to_restock(body: &RefundBody, lines: &[order_lines::Model]) -> Vec<(Uuid, i64)> {
    if body.lines.is_empty() {
        return lines
            .iter()
            .map(|l| (l.variant_id, i64::from(l.quantity)))
            .collect();
    }
    body.lines
        .iter()
        .filter_map(|w| {
            let line = lines.iter().find(|l| l.id == w.line_id)?;
            Some((line.variant_id, i64::from(w.quantity)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::units_value;

    #[test]
    fn unit_by_unit_values_add_up_to_the_whole() {
        // 10.00 over three units: 3.33, 3.34, 3.33 by differences of cumulative values.
        let steps: Vec<i64> = (0..3)
            .map(|k| units_value(1000, 3, k + 1) - units_value(1000, 3, k))
            .collect();
        assert_eq!(steps.iter().sum::<i64>(), 1000);
        assert_eq!(steps, [333, 334, 333]);
        assert_eq!(units_value(999, 0, 0), 0, "no units, no value");
    }
}
