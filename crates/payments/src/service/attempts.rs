//! Payment attempts: a payment row per attempt, opened with the order's gateway at
//! checkout and settled exactly once, by the gateway's webhook, the shopper's return
//! (checked with the gateway, never trusted from the browser) or the built-in test page.
//! No gateway is called inside a database transaction: a slow gateway must not hold
//! order or stock rows locked.

use chrono::Utc;
use emporium_core::crypto::{constant_time_eq, random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, OrderPaid};
use emporium_core::id::{OrderId, PaymentId};
use emporium_core::{AppError, AppResult, Currency, Money};
use emporium_db::entity::{orders, payment_events, payments};
use emporium_orders::{Actor, OrderStatus, TransitionDetail, order_ref};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};
use std::sync::Arc;

use crate::service::*;
use crate::state::Payments;
use crate::status::PaymentStatus;
use crate::views::PaymentView;
use crate::{ConfirmParams, PaymentProvider, PaymentState, RemotePayment, SessionRequest};

impl Payments {
    /// The enabled gateway for `provider`, or 422 naming the field.
    pub async fn gateway_for(&self, provider: &str) -> AppResult<Arc<dyn PaymentProvider>> {
        self.gateways.get(provider).await?.ok_or_else(|| {
            AppError::invalid(
                "payment_provider",
                format!("{provider} is not enabled in this shop"),
            )
        })
    }

    fn payment_url(&self, payment_id: PaymentId, page: &str, access: &str) -> String {
        format!(
            "{}/api/v1/payments/{payment_id}/{page}?access={access}",
            self.public_url()
        )
    }

    /// Opens the gateway's session for an order about to be placed. `key` derives the
    /// gateway's idempotency key, so a retried checkout reopens the same session.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_payment(
        &self,
        gateway: &dyn PaymentProvider,
        order_id: OrderId,
        amount: i64,
        currency: Currency,
        email: &str,
        key: &str,
    ) -> AppResult<Opened> {
        let id = PaymentId::new();
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
    pub async fn insert_payment<C: ConnectionTrait>(
        &self,
        conn: &C,
        opened: &Opened,
        order_id: OrderId,
        amount: i64,
        currency: Currency,
    ) -> AppResult<payments::Model> {
        let now = Utc::now();
        let session = serde_json::json!({
            "client": opened.session.client,
            "redirect_url": opened.session.redirect_url,
        });
        Ok(payments::ActiveModel {
            id: Set(opened.id.uuid()),
            order_id: Set(order_id.uuid()),
            provider: Set(opened.provider.clone()),
            status: Set(PaymentStatus::RequiresAction.as_str().into()),
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

    pub fn payment_view(&self, p: &payments::Model, access: Option<String>) -> PaymentView {
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
    pub async fn payment_for(&self, id: PaymentId, access: &str) -> AppResult<payments::Model> {
        let payment = payments::Entity::find_by_id(id.uuid())
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
        id: PaymentId,
        access: &str,
        card_number: &str,
    ) -> AppResult<(ManualOutcome, payments::Model)> {
        use crate::manual::{TestCard, test_card};
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
                    .col_expr(
                        payments::Column::Status,
                        Expr::value(PaymentStatus::Authenticating.as_str()),
                    )
                    .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(payments::Column::Id.eq(id))
                    .filter(payments::Column::Status.is_in(PaymentStatus::open()))
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
        id: PaymentId,
        access: &str,
        approve: bool,
    ) -> AppResult<(ManualOutcome, payments::Model)> {
        let payment = self.payment_for(id, access).await?;
        if payment.status != PaymentStatus::Authenticating.as_str() {
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
        match PaymentStatus::parse(&payment.status) {
            Some(PaymentStatus::Succeeded) => Err(AppError::conflict(
                ErrorCode::AlreadyPaid,
                "this payment is done",
            )),
            s if !s.is_some_and(|s| PaymentStatus::OPEN.contains(&s)) => Err(AppError::conflict(
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
        self.settle(&txn, PaymentId(payment.id), &remote).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The shopper came back from the gateway: ask the gateway how the payment stands
    /// and settle accordingly.
    pub async fn confirm_payment(
        &self,
        id: PaymentId,
        access: &str,
        params: &ConfirmParams,
    ) -> AppResult<payments::Model> {
        let payment = self.payment_for(id, access).await?;
        if payment.status == PaymentStatus::Succeeded.as_str() || payment.provider == "manual" {
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
        self.settle(&txn, PaymentId(payment.id), &remote).await?;
        txn.commit().await?;
        self.payment_for(id, access).await
    }

    /// Brings our payment in line with what the gateway reports. Success moves the order
    /// to paid (committing its stock) exactly once, however many times it is reported.
    pub async fn settle(
        &self,
        conn: &DatabaseTransaction,
        payment_id: PaymentId,
        remote: &RemotePayment,
    ) -> AppResult<()> {
        let now = Utc::now();
        let Some(payment) = payments::Entity::find_by_id(payment_id.uuid())
            .one(conn)
            .await?
        else {
            return Ok(());
        };
        let update = || {
            payments::Entity::update_many()
                .col_expr(payments::Column::UpdatedAt, Expr::value(now))
                .filter(payments::Column::Id.eq(payment_id))
        };
        match remote.state {
            PaymentState::Succeeded => {
                if self.mark_succeeded(conn, &payment, remote).await? {
                    self.apply_deferred(conn, payment_id).await?;
                }
            }
            PaymentState::Failed | PaymentState::Cancelled => {
                let status = if remote.state == PaymentState::Failed {
                    PaymentStatus::Failed.as_str()
                } else {
                    PaymentStatus::Cancelled.as_str()
                };
                update()
                    .col_expr(payments::Column::Status, Expr::value(status))
                    .col_expr(
                        payments::Column::Failure,
                        Expr::value(remote.failure.clone()),
                    )
                    .filter(payments::Column::Status.is_in(PaymentStatus::open()))
                    .exec(conn)
                    .await?;
                metrics::counter!("payments_failed_total", "provider" => payment.provider.clone())
                    .increment(1);
            }
            PaymentState::Authorized => {
                update()
                    .col_expr(
                        payments::Column::Status,
                        Expr::value(PaymentStatus::Authorized.as_str()),
                    )
                    .filter(payments::Column::Status.is_in([
                        PaymentStatus::RequiresAction.as_str(),
                        PaymentStatus::Authenticating.as_str(),
                        PaymentStatus::Failed.as_str(),
                    ]))
                    .exec(conn)
                    .await?;
            }
            PaymentState::RequiresAction => {}
        }
        Ok(())
    }

    /// Marks a payment succeeded, once: `false` when it already was. The order moves to
    /// paid unless the capture fell short or the order has moved on (then the payment
    /// carries the problem for staff instead).
    async fn mark_succeeded(
        &self,
        conn: &DatabaseTransaction,
        payment: &payments::Model,
        remote: &RemotePayment,
    ) -> AppResult<bool> {
        let captured = if remote.captured > 0 {
            remote.captured
        } else {
            payment.amount
        };
        let done = payments::Entity::update_many()
            .col_expr(payments::Column::UpdatedAt, Expr::value(Utc::now()))
            .col_expr(
                payments::Column::Status,
                Expr::value(PaymentStatus::Succeeded.as_str()),
            )
            .col_expr(payments::Column::Captured, Expr::value(captured))
            .col_expr(
                payments::Column::CaptureRef,
                Expr::value(remote.capture_ref.clone().or(payment.capture_ref.clone())),
            )
            .col_expr(
                payments::Column::Failure,
                Expr::value(Option::<String>::None),
            )
            .filter(payments::Column::Id.eq(payment.id))
            .filter(payments::Column::Status.ne(PaymentStatus::Succeeded.as_str()))
            .exec(conn)
            .await?;
        if done.rows_affected == 0 {
            return Ok(false);
        }
        let order = self.orders.find(conn, OrderId(payment.order_id)).await?;
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
        match problem {
            Some(problem) => {
                tracing::warn!(payment_id = %payment.id, order_id = %order.id, %problem, "payment needs staff");
                payments::Entity::update_many()
                    .col_expr(payments::Column::Failure, Expr::value(problem))
                    .filter(payments::Column::Id.eq(payment.id))
                    .exec(conn)
                    .await?;
            }
            None => self.order_paid(conn, &order, payment, captured).await?,
        }
        Ok(true)
    }

    /// The order a payment settled moves to paid and `order.paid` is published.
    async fn order_paid(
        &self,
        conn: &DatabaseTransaction,
        order: &orders::Model,
        payment: &payments::Model,
        captured: i64,
    ) -> AppResult<()> {
        self.orders
            .transition_in(
                conn,
                OrderId(order.id),
                OrderStatus::Paid,
                &Actor::default(),
                TransitionDetail {
                    reason: Some(format!("paid with {}", payment.provider)),
                    ..TransitionDetail::default()
                },
            )
            .await?;
        self.orders
            .ledger_payment(conn, order, Some(payment.id), captured, &payment.provider)
            .await?;
        let currency = Currency::parse(&order.currency).unwrap_or(self.default_currency());
        events::publish(
            conn,
            OrderPaid {
                order: order_ref(order),
                amount: Money::new(captured, currency),
                provider: payment.provider.clone(),
            },
        )
        .await?;
        metrics::counter!("payments_succeeded_total", "provider" => payment.provider.clone())
            .increment(1);
        Ok(())
    }

    /// Refund events that came before their payment was known to succeed.
    async fn apply_deferred(
        &self,
        conn: &DatabaseTransaction,
        payment_id: PaymentId,
    ) -> AppResult<()> {
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

    pub(crate) async fn find_payment(
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
}
