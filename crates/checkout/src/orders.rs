//! Placing an order: one transaction re-prices the cart, reserves stock for every line
//! with conditional updates, writes the order with line snapshots and its first event,
//! queues the confirmation email, closes the cart and stores the response under the
//! request's idempotency key. Then the order's life: one transition function for every
//! status change, with its stock effects and history row.

use chrono::Utc;
use emporium_core::audit::{self, AuditEntry};
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, OrderCancelled, OrderPlaced};
use emporium_core::idempotency::{self, Replay};
use emporium_core::{AppError, AppResult, Currency, FieldError, Money};
use emporium_db::entity::{carts, order_events, order_lines, orders};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    IntoActiveModel, QueryFilter, Statement,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::carts::{CartAccess, find_cart, lines_of};
use crate::events::{event_lines, initiator, order_ref};
use crate::model::{self, Address, CartStatus, FulfillmentStatus, OrderStatus, PaymentStatus};
use crate::pricing::{Priced, Shipment};
use crate::state::Checkout;
use crate::views::*;

/// Payment providers a checkout may name (API.md); each must also be enabled.
pub const PAYMENT_PROVIDERS: [&str; 4] = emporium_payments::PROVIDERS;

/// `POST /carts/{id}/checkout`. What the body leaves out comes from the cart (its email,
/// shipping address and chosen shipping option), so a storefront that set them step by
/// step sends only the payment provider.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "jane.doe@example.com",
    "shipping_address": {
        "name": "Jane Doe",
        "line1": "500 Market Street",
        "line2": "Apt 4B",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
        "phone": "+1 415 555 0123"
    },
    "shipping_option_id": "standard",
    "payment_provider": "stripe",
    "expected_total": 10168
})))]
pub struct CheckoutBody {
    /// Default: the cart's email (for a signed-in customer, their account's).
    #[serde(default)]
    pub email: Option<String>,
    /// Default: the cart's shipping address.
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// A saved address of the signed-in customer, instead of `shipping_address`.
    #[serde(default)]
    pub shipping_address_id: Option<Uuid>,
    #[serde(default)]
    pub billing_address: Option<Address>,
    /// Default: the cart's chosen shipping option.
    #[serde(default)]
    pub shipping_option_id: Option<String>,
    pub payment_provider: String,
    /// The total the shopper was shown, in the cart's minor units. When the order would
    /// come to anything else, checkout answers 409 `price_changed` with the new `totals`
    /// and places nothing.
    #[serde(default)]
    pub expected_total: Option<i64>,
}

/// A checkout with every detail settled, from the body or else the cart.
#[derive(Debug, Clone)]
pub(crate) struct CheckoutRequest {
    pub email: String,
    pub shipping_address: Address,
    pub billing_address: Option<Address>,
    pub shipping_option_id: Option<String>,
    pub payment_provider: String,
    pub expected_total: Option<i64>,
}

/// Who changes an order.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    /// Staff act with the admin API's rules; customers with the store's.
    pub staff: bool,
    /// The order's own shopper (signed in, or a guest holding the order's token).
    /// Neither staff nor shopper: the system (expiry, webhooks).
    pub shopper: bool,
    pub ip: Option<String>,
}

impl Actor {
    /// A staff member acting through the admin API.
    pub fn staff(user_id: Uuid, ip: Option<String>) -> Self {
        Self {
            user_id: Some(user_id),
            staff: true,
            shopper: false,
            ip,
        }
    }
}

/// Optional particulars of a transition.
#[derive(Debug, Clone, Default)]
pub struct TransitionDetail {
    pub reason: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

fn json_text<T: serde::Serialize>(value: &T) -> AppResult<String> {
    Ok(serde_json::to_string(value).map_err(anyhow::Error::from)?)
}

/// 409 `price_changed` with the new totals when the order would not come to what the
/// shopper was shown (an address or option that prices differently, a price edit).
fn ensure_expected_total(expected: i64, priced: &Priced) -> AppResult<()> {
    if priced.totals.total == expected {
        return Ok(());
    }
    let totals = TotalsView::new(priced.totals, priced.currency);
    let mut extensions = serde_json::Map::new();
    extensions.insert(
        "totals".into(),
        serde_json::to_value(&totals).map_err(anyhow::Error::from)?,
    );
    Err(AppError::conflict_carrying(
        ErrorCode::PriceChanged,
        format!(
            "the order comes to {}, not the {} expected; show the new total and confirm",
            Money::new(priced.totals.total, priced.currency),
            Money::new(expected, priced.currency)
        ),
        extensions,
    ))
}

/// The next order number: a sequence on PostgreSQL (concurrent checkouts never wait on
/// each other for it), MAX + 1 on SQLite, whose single writer already serialises them.
async fn next_number<C: ConnectionTrait>(conn: &C) -> AppResult<i64> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT nextval('order_numbers') AS n",
        _ => "SELECT COALESCE(MAX(number), 1000) + 1 AS n FROM orders",
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("order number query returned nothing"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

fn line_label(priced: &Priced, index: usize) -> String {
    let line = &priced.lines[index];
    line.variant
        .as_ref()
        .map(|v| v.sku.clone())
        .unwrap_or_else(|| line.line.variant_id.to_string())
}

impl Checkout {
    /// Settles the checkout's details (the body's, else the cart's) and checks them,
    /// reporting every missing or bad field at once.
    async fn check_checkout(
        &self,
        body: CheckoutBody,
        cart: &carts::Model,
    ) -> AppResult<CheckoutRequest> {
        let mut errors = Vec::new();
        let email = match body.email.as_deref().or(cart.email.as_deref()) {
            Some(email) => model::check_email(email, &mut errors),
            None => {
                errors.push(FieldError::new(
                    "email",
                    "is required (in the body, or set on the cart)",
                ));
                String::new()
            }
        };
        let saved = match (body.shipping_address_id, cart.customer_id) {
            (Some(id), Some(customer)) => Some(self.addresses.saved_address(customer, id).await?),
            (Some(_), None) => {
                errors.push(FieldError::new(
                    "shipping_address_id",
                    "saved addresses are for signed-in customers",
                ));
                None
            }
            (None, _) => None,
        };
        let shipping = match body
            .shipping_address
            .or(saved)
            .or_else(|| Self::cart_address(cart))
        {
            Some(address) => Some(address.check("shipping_address", &mut errors)),
            None => {
                errors.push(FieldError::new(
                    "shipping_address",
                    "is required (in the body, as a saved address id, or set on the cart)",
                ));
                None
            }
        };
        let billing = body
            .billing_address
            .map(|b| b.check("billing_address", &mut errors));
        if body
            .shipping_option_id
            .as_ref()
            .is_some_and(|o| o.is_empty() || o.len() > 64)
        {
            errors.push(FieldError::new(
                "shipping_option_id",
                "is not one of this cart's shipping options",
            ));
        }
        if !PAYMENT_PROVIDERS.contains(&body.payment_provider.as_str()) {
            errors.push(FieldError::new(
                "payment_provider",
                format!("must be one of: {}", PAYMENT_PROVIDERS.join(", ")),
            ));
        }
        if body.expected_total.is_some_and(|t| t < 0) {
            errors.push(FieldError::new(
                "expected_total",
                "must be an amount in minor units",
            ));
        }
        let (Some(shipping_address), true) = (shipping, errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        Ok(CheckoutRequest {
            email,
            shipping_address,
            billing_address: billing,
            shipping_option_id: body.shipping_option_id,
            payment_provider: body.payment_provider,
            expected_total: body.expected_total,
        })
    }

    /// Places the order for a cart. `key` and `hash` are the request's idempotency key
    /// and body fingerprint: a repeat gets the first response back, byte for byte.
    #[tracing::instrument(skip_all, fields(cart_id = %cart_id))]
    pub async fn place_order(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        body: CheckoutBody,
        key: &str,
        hash: &str,
    ) -> AppResult<Replay> {
        let scope = format!("checkout:{cart_id}");
        // Not a replica: the cart and the key may have been written a moment ago.
        let reader = self.db.current();
        // The holder is checked before a replay too, so a key cannot be probed.
        let cart = find_cart(reader, cart_id, access).await?;
        if let Some(replay) = idempotency::find(reader, &scope, key, hash).await? {
            return Ok(replay);
        }
        if cart.customer_id.is_some()
            && self.config.auth.verified_email_to_order
            && !access.email_verified
        {
            return Err(AppError::forbidden_because(
                ErrorCode::EmailNotVerified,
                "confirm your email address first: open the link we sent you, or ask for a \
                 new one",
            ));
        }
        let body = self.check_checkout(body, &cart).await?;
        let gateway = self.gateway_for(&body.payment_provider).await?;
        let order_id = Uuid::now_v7();
        let mut priced_cart = cart.clone();
        priced_cart.shipping_address = Some(json_text(&body.shipping_address)?);
        if body.shipping_option_id.is_some() {
            priced_cart.shipping_option = body.shipping_option_id.clone();
        }
        // Priced before the transaction: on SQLite every write waits for the one writer,
        // so the transaction should hold only what must be atomic. It prices again only
        // if the lines moved meanwhile. A gateway is called here too, never inside the
        // transaction: its session is opened for this total, and the order must come to
        // the same.
        let seen_lines = lines_of(reader, cart.id).await?;
        let pre_priced = self.price(reader, &priced_cart, seen_lines.clone()).await?;
        if let Some(expected) = body.expected_total {
            ensure_expected_total(expected, &pre_priced)?;
        }
        let mut opened = None;
        if gateway.name() != "manual" && pre_priced.lines.iter().any(|l| l.amounts.is_some()) {
            opened = Some(
                self.open_payment(
                    gateway.as_ref(),
                    order_id,
                    pre_priced.totals.total,
                    pre_priced.currency,
                    &body.email,
                    &format!("{scope}|{key}"),
                )
                .await?,
            );
        }
        let txn = self.db.begin().await?;
        // Claiming the cart first makes a concurrent duplicate wait here, then find the
        // cart converted and the first response stored.
        let claimed = carts::Entity::update_many()
            .col_expr(
                carts::Column::Status,
                Expr::value(CartStatus::Converted.as_str()),
            )
            .col_expr(carts::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(carts::Column::Id.eq(cart.id))
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            drop(txn);
            if let Some(replay) = idempotency::find(self.db.writer(), &scope, key, hash).await? {
                return Ok(replay);
            }
            return Err(AppError::conflict(
                ErrorCode::CartNotActive,
                "this cart was already checked out or merged",
            ));
        }
        let lines = lines_of(&txn, cart.id).await?;
        if lines.is_empty() {
            return Err(AppError::conflict(
                ErrorCode::CartEmpty,
                "the cart has no lines",
            ));
        }
        let priced = if lines == seen_lines {
            pre_priced
        } else {
            let priced = self.price(&txn, &priced_cart, lines).await?;
            if let Some(expected) = body.expected_total {
                ensure_expected_total(expected, &priced)?;
            }
            priced
        };
        let shipping_option = match &priced.shipment {
            Shipment::Option(id)
                if body
                    .shipping_option_id
                    .as_ref()
                    .is_some_and(|asked| asked != id) =>
            {
                return Err(AppError::invalid(
                    "shipping_option_id",
                    "is not one of this cart's shipping options",
                ));
            }
            Shipment::Option(id) => id.clone(),
            Shipment::NotShipped | Shipment::NoAddress => {
                return Err(AppError::invalid(
                    "shipping_address.country",
                    "this shop does not ship there",
                ));
            }
        };
        let unavailable: Vec<FieldError> = priced
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.amounts.is_none())
            .map(|(i, _)| {
                FieldError::new(
                    format!("lines[{i}]"),
                    format!("{} is no longer sold", line_label(&priced, i)),
                )
            })
            .collect();
        if !unavailable.is_empty() {
            return Err(AppError::conflict_with(
                ErrorCode::LinesUnavailable,
                "some lines can no longer be bought; remove them and try again",
                unavailable,
            ));
        }
        let opened = match opened {
            Some(opened) if opened.amount == Some(priced.totals.total) => opened,
            Some(_) => {
                return Err(AppError::conflict(
                    ErrorCode::CartChanged,
                    "the cart's total changed while checking out; review it and try again",
                ));
            }
            None => {
                self.open_payment(
                    gateway.as_ref(),
                    order_id,
                    priced.totals.total,
                    priced.currency,
                    &body.email,
                    &format!("{scope}|{key}"),
                )
                .await?
            }
        };
        let number = next_number(&txn).await?;
        let order_token = random_token(32);
        let now = Utc::now();
        let billing = body
            .billing_address
            .clone()
            .unwrap_or_else(|| body.shipping_address.clone());
        let order = orders::ActiveModel {
            id: Set(order_id),
            number: Set(number),
            customer_id: Set(cart.customer_id),
            cart_id: Set(cart.id),
            email: Set(body.email.clone()),
            status: Set(OrderStatus::PendingPayment.as_str().into()),
            currency: Set(priced.currency.code().to_string()),
            lang: Set(cart.lang.clone()),
            subtotal: Set(priced.totals.subtotal),
            discount: Set(priced.totals.discount),
            shipping: Set(priced.totals.shipping),
            tax: Set(priced.totals.tax),
            total: Set(priced.totals.total),
            tax_inclusive: Set(self.inclusive()),
            shipping_address: Set(json_text(&body.shipping_address)?),
            billing_address: Set(json_text(&billing)?),
            shipping_option: Set(Some(shipping_option)),
            payment_provider: Set(body.payment_provider.clone()),
            access_hash: Set(token_hash(&order_token)),
            carrier: Set(None),
            tracking_number: Set(None),
            backordered: Set(false),
            payment_status: Set(PaymentStatus::Unpaid.as_str().into()),
            fulfillment_status: Set(FulfillmentStatus::Unfulfilled.as_str().into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let mut line_rows = order_line_rows(order_id, &priced)?;
        let event = self
            .record_event(
                &txn,
                order_id,
                None,
                OrderStatus::PendingPayment,
                &Actor {
                    user_id: cart.customer_id,
                    shopper: true,
                    ..Actor::default()
                },
                Some("placed".into()),
            )
            .await?;
        let mut closed: carts::ActiveModel = cart.clone().into();
        closed.status = Set(CartStatus::Converted.as_str().into());
        closed.order_id = Set(Some(order_id));
        closed.email = Set(Some(body.email.clone()));
        closed.shipping_address = Set(Some(json_text(&body.shipping_address)?));
        closed.billing_address = Set(Some(json_text(&billing)?));
        closed.update(&txn).await?;
        // Stock is reserved last: on PostgreSQL a hot variant's row stays locked from
        // here to commit, so everything that can happen before it does.
        let reservations = match self
            .inventory
            .reserve(
                &txn,
                order_id,
                &priced.wants(),
                Some(body.shipping_address.country.as_str()),
            )
            .await?
        {
            Ok(reservations) => reservations,
            Err(shortages) => return Err(out_of_stock(&priced, &shortages)),
        };
        for r in reservations.iter().filter(|r| r.backordered > 0) {
            if let Some(row) = line_rows.iter_mut().find(|l| l.variant_id == r.variant_id) {
                row.backordered = r.backordered as i32;
            }
        }
        let order = if reservations.iter().any(|r| r.backordered > 0) {
            let mut flagged: orders::ActiveModel = order.into();
            flagged.backordered = Set(true);
            flagged.update(&txn).await?
        } else {
            order
        };
        order_lines::Entity::insert_many(
            line_rows
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(&txn)
        .await?;
        let payment = self
            .insert_payment(
                &txn,
                &opened,
                order_id,
                priced.totals.total,
                priced.currency,
            )
            .await?;
        let placed = self.order_placed(&order, &line_rows, &order_token);
        let view = self.view_from(order, line_rows, vec![event])?;
        events::publish(&txn, placed).await?;
        let response = CheckoutView {
            payment: self.payment_view(&payment, Some(opened.access.clone())),
            order_token: cart.customer_id.is_none().then(|| order_token.clone()),
            order: view,
        };
        let text = json_text(&response)?;
        idempotency::save(&txn, &scope, key, hash, 201, &text).await?;
        txn.commit().await?;
        tracing::info!(order_id = %order_id, number, "order placed");
        metrics::counter!("orders_placed_total").increment(1);
        Ok(Replay {
            status: 201,
            body: text,
        })
    }

    /// `order.placed`, with what the confirmation needs and the order's private link.
    fn order_placed(
        &self,
        order: &orders::Model,
        lines: &[order_lines::Model],
        token: &str,
    ) -> OrderPlaced {
        let currency = Currency::parse(&order.currency).unwrap_or(self.default_currency());
        let money = |amount| Money::new(amount, currency);
        OrderPlaced {
            order: order_ref(order),
            lines: event_lines(lines, currency),
            subtotal: money(order.subtotal),
            shipping: money(order.shipping),
            tax: money(order.tax),
            total: money(order.total),
            tax_inclusive: order.tax_inclusive,
            // The node's own order page; `GET /api/v1/orders/{id}?token=` answers the
            // same token for headless storefronts.
            link: format!("{}/orders/{}?token={token}", self.public_url(), order.id),
        }
    }

    pub(crate) async fn record_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: Uuid,
        from: Option<OrderStatus>,
        to: OrderStatus,
        actor: &Actor,
        reason: Option<String>,
    ) -> AppResult<order_events::Model> {
        Ok(order_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id),
            from_status: Set(from.map(|s| s.as_str().to_string())),
            to_status: Set(to.as_str().into()),
            actor_id: Set(actor.user_id),
            reason: Set(reason),
            created_at: Set(Utc::now()),
        }
        .insert(conn)
        .await?)
    }

    /// Moves an order to `to` if the transition table allows it (else 409), with its
    /// stock effects (paid commits the reservation, cancelled releases or restocks) and
    /// a history row; staff changes are audited.
    #[tracing::instrument(skip_all, fields(order_id = %order_id, to = to.as_str()))]
    pub async fn transition(
        &self,
        order_id: Uuid,
        to: OrderStatus,
        actor: &Actor,
        detail: TransitionDetail,
    ) -> AppResult<orders::Model> {
        let txn = self.db.begin().await?;
        let order = self
            .transition_in(&txn, order_id, to, actor, detail)
            .await?;
        txn.commit().await?;
        Ok(order)
    }

    /// [`Checkout::transition`] inside the caller's transaction.
    pub(crate) async fn transition_in<C: ConnectionTrait>(
        &self,
        txn: &C,
        order_id: Uuid,
        to: OrderStatus,
        actor: &Actor,
        detail: TransitionDetail,
    ) -> AppResult<orders::Model> {
        let order = orders::Entity::find_by_id(order_id)
            .one(txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        let from = OrderStatus::parse(&order.status)
            .ok_or_else(|| anyhow::anyhow!("order {order_id} has unknown status"))?;
        if !from.can_transition_to(to) {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!(
                    "an order that is {} cannot become {}",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        let mut update = orders::Entity::update_many()
            .col_expr(orders::Column::Status, Expr::value(to.as_str()))
            .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.eq(from.as_str()));
        if let Some(carrier) = &detail.carrier {
            update = update.col_expr(orders::Column::Carrier, Expr::value(carrier.clone()));
        }
        if let Some(tracking) = &detail.tracking_number {
            update = update.col_expr(
                orders::Column::TrackingNumber,
                Expr::value(tracking.clone()),
            );
        }
        let fulfillment = match to {
            OrderStatus::Shipped => Some(FulfillmentStatus::Shipped),
            OrderStatus::Delivered => Some(FulfillmentStatus::Delivered),
            OrderStatus::Returned => Some(FulfillmentStatus::Returned),
            _ => None,
        };
        if let Some(f) = fulfillment {
            update = update.col_expr(orders::Column::FulfillmentStatus, Expr::value(f.as_str()));
        }
        if to == OrderStatus::Paid {
            update = update.col_expr(
                orders::Column::PaymentStatus,
                Expr::value(PaymentStatus::Paid.as_str()),
            );
        }
        if update.exec(txn).await?.rows_affected == 0 {
            return Err(AppError::conflict(
                ErrorCode::OrderChanged,
                "the order changed meanwhile; reload it and try again",
            ));
        }
        match to {
            OrderStatus::Paid => {
                self.inventory.commit_order(txn, order_id).await?;
                if actor.staff {
                    // Staff took the money themselves (cash, bank transfer): the manual
                    // payment counts as captured, so it can be refunded later.
                    self.capture_manual_offline(txn, order_id).await?;
                }
            }
            OrderStatus::Cancelled => {
                self.inventory
                    .release_order(txn, order_id, actor.user_id)
                    .await?;
                self.close_open_payments(txn, order_id).await?;
                let by = initiator(actor);
                events::publish(
                    txn,
                    OrderCancelled {
                        order: order_ref(&order),
                        by,
                        reason: detail.reason.clone(),
                        expired: by == events::Initiator::System,
                        paid: from != OrderStatus::PendingPayment,
                    },
                )
                .await?;
            }
            _ => {}
        }
        self.record_event(txn, order_id, Some(from), to, actor, detail.reason.clone())
            .await?;
        if actor.staff {
            audit::record(
                txn,
                AuditEntry {
                    actor: actor.user_id,
                    action: "admin.order.transition",
                    target_type: Some("order"),
                    target_id: Some(order_id.to_string()),
                    ip: actor.ip.clone(),
                    detail: serde_json::json!({
                        "from": from.as_str(), "to": to.as_str(), "reason": detail.reason,
                        "tracking_number": detail.tracking_number,
                    }),
                },
            )
            .await?;
        }
        let order = orders::Entity::find_by_id(order_id)
            .one(txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))?;
        Ok(order)
    }

    /// Loads an order's lines and history (two queries) and builds its view.
    pub(crate) async fn order_view<C: ConnectionTrait>(
        &self,
        conn: &C,
        order: orders::Model,
    ) -> AppResult<OrderView> {
        use sea_orm::QueryOrder;
        let lines = order_lines::Entity::find()
            .filter(order_lines::Column::OrderId.eq(order.id))
            .order_by_asc(order_lines::Column::Position)
            .all(conn)
            .await?;
        let events = order_events::Entity::find()
            .filter(order_events::Column::OrderId.eq(order.id))
            .order_by_asc(order_events::Column::Id)
            .all(conn)
            .await?;
        let shipments = self.shipments_of(conn, order.id).await?;
        let mut view = self.view_from(order, lines, events)?;
        view.shipments = shipments;
        Ok(view)
    }

    /// An order's view from its rows.
    fn view_from(
        &self,
        order: orders::Model,
        lines: Vec<order_lines::Model>,
        events: Vec<order_events::Model>,
    ) -> AppResult<OrderView> {
        let currency =
            emporium_core::Currency::parse(&order.currency).unwrap_or(self.default_currency());
        let money = |a| Money::new(a, currency);
        let lines = lines
            .into_iter()
            .map(|l| OrderLineView {
                id: l.id,
                product_id: l.product_id,
                variant_id: l.variant_id,
                sku: l.sku,
                title: l.title,
                options: serde_json::from_str(&l.options).unwrap_or_default(),
                quantity: l.quantity,
                unit_price: money(l.unit_price),
                tax: money(l.tax),
                discount: money(l.discount),
                total: money(l.total),
                backordered: l.backordered,
            })
            .collect();
        let events = events
            .into_iter()
            .map(|e| OrderEventView {
                from: e.from_status,
                to: e.to_status,
                reason: e.reason,
                actor_id: e.actor_id,
                created_at: e.created_at,
            })
            .collect();
        let totals = model::Totals {
            subtotal: order.subtotal,
            discount: order.discount,
            shipping: order.shipping,
            tax: order.tax,
            total: order.total,
        };
        let address = |text: &str| -> AppResult<Address> {
            Ok(serde_json::from_str(text).map_err(anyhow::Error::from)?)
        };
        Ok(OrderView {
            id: order.id,
            number: order.number,
            status: OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment),
            payment_status: PaymentStatus::parse(&order.payment_status)
                .unwrap_or(PaymentStatus::Unpaid),
            fulfillment_status: FulfillmentStatus::parse(&order.fulfillment_status)
                .unwrap_or(FulfillmentStatus::Unfulfilled),
            email: order.email,
            customer_id: order.customer_id,
            currency: order.currency,
            lines,
            totals: TotalsView::new(totals, currency),
            tax_inclusive: order.tax_inclusive,
            shipping_address: address(&order.shipping_address)?,
            billing_address: address(&order.billing_address)?,
            shipping_option: order.shipping_option,
            payment_provider: order.payment_provider,
            backordered: order.backordered,
            carrier: order.carrier,
            tracking_number: order.tracking_number,
            events,
            shipments: Vec::new(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        })
    }
}

/// The order's lines as snapshots of what was priced: later catalog edits never change
/// them. Lines that could not be priced were refused before this.
fn order_line_rows(order_id: Uuid, priced: &Priced) -> AppResult<Vec<order_lines::Model>> {
    let mut rows = Vec::with_capacity(priced.lines.len());
    for (position, line) in priced.lines.iter().enumerate() {
        let (Some(variant), Some(amounts)) = (&line.variant, line.amounts) else {
            continue;
        };
        rows.push(order_lines::Model {
            id: Uuid::now_v7(),
            order_id,
            position: position as i32,
            product_id: variant.product_id,
            variant_id: variant.variant_id,
            sku: variant.sku.clone(),
            title: variant.title.clone(),
            options: json_text(&variant.options)?,
            quantity: line.line.quantity,
            unit_price: line.unit_price.unwrap_or(0),
            discount: 0,
            tax: amounts.tax,
            tax_rate_ppm: line.rate_ppm as i32,
            total: amounts.total,
            backordered: 0,
        });
    }
    Ok(rows)
}

/// The 409 naming each line stock could not cover, and how many are left.
fn out_of_stock(priced: &Priced, shortages: &[emporium_inventory::Shortage]) -> AppError {
    let errors = shortages
        .iter()
        .filter_map(|s| {
            let i = priced
                .lines
                .iter()
                .position(|l| l.line.variant_id == s.variant_id)?;
            Some(FieldError::new(
                format!("lines[{i}]"),
                format!(
                    "{}: {} wanted, {} left",
                    line_label(priced, i),
                    s.wanted,
                    s.available
                ),
            ))
        })
        .collect();
    AppError::conflict_with(ErrorCode::OutOfStock, "some lines are out of stock", errors)
}
