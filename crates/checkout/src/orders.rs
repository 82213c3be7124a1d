//! Placing an order: one transaction re-prices the cart, reserves stock for every line
//! with conditional updates, writes the order with line snapshots and its first event,
//! queues the confirmation email, closes the cart and stores the response under the
//! request's idempotency key. The order's life after that is the orders domain's.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::idempotency::{self, Replay};
use emporium_core::{AppError, AppResult, FieldError, Money};
use emporium_db::entity::{cart_lines, carts, order_lines};
use emporium_orders::NewOrder;
use emporium_payments::{Opened, PaymentProvider};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::carts::{CartAccess, find_cart, lines_of};
use crate::model::{self, Address, CartStatus};
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

/// A checkout priced and, for most gateways, with its payment opened: everything done
/// before the transaction (see [`Checkout::place_order`]).
struct Plan {
    cart: carts::Model,
    body: CheckoutRequest,
    gateway: Arc<dyn PaymentProvider>,
    order_id: OrderId,
    /// The cart as the checkout addresses it (address and option from the body).
    priced_cart: carts::Model,
    /// The gateway's idempotency key: a retried checkout opens the same payment.
    payment_key: String,
}

/// What the plan priced before the transaction.
struct Quote {
    /// The lines `priced` was computed from; the transaction re-prices only if they moved.
    seen_lines: Vec<cart_lines::Model>,
    priced: Priced,
    opened: Option<Opened>,
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

/// 409 `promotion_unavailable` when a code on the cart no longer applies (used up by
/// others meanwhile, expired, a condition no longer met): the order is never placed at
/// another price than the one the code promised.
fn ensure_coupons(priced: &Priced) -> AppResult<()> {
    match priced.coupons.iter().find(|c| !c.applied) {
        None => Ok(()),
        Some(c) => Err(AppError::conflict(
            ErrorCode::PromotionUnavailable,
            format!(
                "the code {} no longer applies ({}); remove it from the cart, review the \
                 new total and check out again",
                c.code,
                c.message
                    .as_deref()
                    .unwrap_or("it does not apply to this cart")
            ),
        )),
    }
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
    ///
    /// Pricing and the gateway call happen before the transaction (on SQLite every
    /// write waits for the one writer, so the transaction holds only what must be
    /// atomic); inside it the cart is claimed, re-priced only if its lines moved, and the
    /// order, its payment and its reservations are written together.
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
        self.ensure_may_order(&cart, access)?;
        let body = self.check_checkout(body, &cart).await?;
        let (plan, quote) = self.plan(cart, body, format!("{scope}|{key}")).await?;
        let txn = self.db.begin().await?;
        // Claiming the cart first makes a concurrent duplicate wait here, then find the
        // cart converted and the first response stored.
        if !claim_cart(&txn, plan.cart.id).await? {
            drop(txn);
            if let Some(replay) = idempotency::find(self.db.writer(), &scope, key, hash).await? {
                return Ok(replay);
            }
            return Err(AppError::conflict(
                ErrorCode::CartNotActive,
                "this cart was already checked out or merged",
            ));
        }
        let order_id = plan.order_id;
        let (number, response) = self.write_order(&txn, plan, quote).await?;
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

    /// A customer's cart needs a confirmed email address when the shop asks for one.
    fn ensure_may_order(&self, cart: &carts::Model, access: &CartAccess) -> AppResult<()> {
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
        Ok(())
    }

    /// Prices the cart as the checkout addresses it and, for a gateway other than the
    /// manual one, opens the payment for that total: a gateway is never called inside
    /// the transaction, and the order must then come to the same total.
    async fn plan(
        &self,
        cart: carts::Model,
        body: CheckoutRequest,
        payment_key: String,
    ) -> AppResult<(Plan, Quote)> {
        let reader = self.db.current();
        let gateway = self.payments.gateway_for(&body.payment_provider).await?;
        let order_id = OrderId::new();
        let mut priced_cart = cart.clone();
        priced_cart.shipping_address = Some(json_text(&body.shipping_address)?);
        if body.shipping_option_id.is_some() {
            priced_cart.shipping_option = body.shipping_option_id.clone();
        }
        let seen_lines = lines_of(reader, cart.id).await?;
        let priced = self.price(reader, &priced_cart, seen_lines.clone()).await?;
        ensure_coupons(&priced)?;
        if let Some(expected) = body.expected_total {
            ensure_expected_total(expected, &priced)?;
        }
        let mut opened = None;
        if gateway.name() != "manual" && priced.lines.iter().any(|l| l.amounts.is_some()) {
            opened = Some(
                self.payments
                    .open_payment(
                        gateway.as_ref(),
                        order_id,
                        priced.totals.total,
                        priced.currency,
                        &body.email,
                        &payment_key,
                    )
                    .await?,
            );
        }
        Ok((
            Plan {
                cart,
                body,
                gateway,
                order_id,
                priced_cart,
                payment_key,
            },
            Quote {
                seen_lines,
                priced,
                opened,
            },
        ))
    }

    /// The plan as it stands inside the transaction: re-priced if the cart's lines
    /// moved since, and with its payment opened (409 when an opened payment's total no
    /// longer matches).
    async fn confirm(
        &self,
        txn: &DatabaseTransaction,
        plan: &Plan,
        quote: Quote,
    ) -> AppResult<(Priced, Opened)> {
        let lines = lines_of(txn, plan.cart.id).await?;
        if lines.is_empty() {
            return Err(AppError::conflict(
                ErrorCode::CartEmpty,
                "the cart has no lines",
            ));
        }
        let priced = if lines == quote.seen_lines {
            quote.priced
        } else {
            let priced = self.price(txn, &plan.priced_cart, lines).await?;
            ensure_coupons(&priced)?;
            if let Some(expected) = plan.body.expected_total {
                ensure_expected_total(expected, &priced)?;
            }
            priced
        };
        let opened = match quote.opened {
            Some(opened) if opened.amount == Some(priced.totals.total) => opened,
            Some(_) => {
                return Err(AppError::conflict(
                    ErrorCode::CartChanged,
                    "the cart's total changed while checking out; review it and try again",
                ));
            }
            None => {
                self.payments
                    .open_payment(
                        plan.gateway.as_ref(),
                        plan.order_id,
                        priced.totals.total,
                        priced.currency,
                        &plan.body.email,
                        &plan.payment_key,
                    )
                    .await?
            }
        };
        Ok((priced, opened))
    }

    /// Writes the order, closes the cart, reserves the stock and records the payment,
    /// in the claimed cart's transaction. Answers the order's number and the response.
    async fn write_order(
        &self,
        txn: &DatabaseTransaction,
        plan: Plan,
        quote: Quote,
    ) -> AppResult<(i64, CheckoutView)> {
        let (priced, opened) = self.confirm(txn, &plan, quote).await?;
        let Plan {
            cart,
            body,
            order_id,
            ..
        } = plan;
        let shipping_option = shipping_option_of(&priced, body.shipping_option_id.as_deref())?;
        let billing = body
            .billing_address
            .clone()
            .unwrap_or_else(|| body.shipping_address.clone());
        let draft = self
            .orders
            .create(
                txn,
                NewOrder {
                    id: order_id,
                    customer_id: cart.customer_id.map(CustomerId),
                    cart_id: cart.id,
                    email: body.email.clone(),
                    currency: priced.currency,
                    lang: cart.lang.clone(),
                    totals: priced.totals,
                    tax_inclusive: self.inclusive(),
                    shipping_address: body.shipping_address.clone(),
                    billing_address: billing.clone(),
                    shipping_option,
                    payment_provider: body.payment_provider.clone(),
                },
            )
            .await?;
        let mut line_rows = order_line_rows(order_id.uuid(), &priced)?;
        let mut closed: carts::ActiveModel = cart.clone().into();
        closed.status = Set(CartStatus::Converted.as_str().into());
        closed.order_id = Set(Some(order_id.uuid()));
        closed.email = Set(Some(body.email.clone()));
        closed.shipping_address = Set(Some(json_text(&body.shipping_address)?));
        closed.billing_address = Set(Some(json_text(&billing)?));
        closed.update(txn).await?;
        // Stock is reserved late: on PostgreSQL a hot variant's row stays locked from
        // here to commit, so everything that can happen before it does (only the
        // promotions' counts come later, for the same reason).
        self.reserve_lines(
            txn,
            order_id,
            &priced,
            &body.shipping_address,
            &mut line_rows,
        )
        .await?;
        let payment = self
            .payments
            .insert_payment(txn, &opened, order_id, priced.totals.total, priced.currency)
            .await?;
        let number = draft.order.number;
        let order_token = draft.token.clone();
        let view = self.orders.finish(txn, draft, line_rows).await?;
        // Promotions are counted last of all: a capped promotion's row, like a hot
        // variant's, stays locked from its update to commit.
        if !priced.applied.is_empty() {
            let customer_key =
                emporium_promotions::customer_key(cart.customer_id, Some(body.email.as_str()))
                    .unwrap_or_default();
            self.promotions
                .redeem(
                    txn,
                    emporium_promotions::Redemption {
                        order_id: order_id.uuid(),
                        customer_key,
                        currency: priced.currency.code(),
                        order_total: priced.totals.total,
                        applied: &priced.applied,
                    },
                )
                .await?;
        }
        Ok((
            number,
            CheckoutView {
                payment: self
                    .payments
                    .payment_view(&payment, Some(opened.access.clone())),
                order_token: cart.customer_id.is_none().then_some(order_token),
                order: view,
            },
        ))
    }

    /// Reserves stock for every priced line (409 naming the lines stock cannot cover) and
    /// marks on each order line the units sold beyond stock.
    async fn reserve_lines(
        &self,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        priced: &Priced,
        ship_to: &Address,
        line_rows: &mut [order_lines::Model],
    ) -> AppResult<()> {
        let reservations = match self
            .inventory
            .reserve(
                txn,
                order_id,
                &priced.wants(),
                Some(ship_to.country.as_str()),
            )
            .await?
        {
            Ok(reservations) => reservations,
            Err(shortages) => return Err(out_of_stock(priced, &shortages)),
        };
        for r in reservations.iter().filter(|r| r.backordered > 0) {
            if let Some(row) = line_rows.iter_mut().find(|l| l.variant_id == r.variant_id) {
                row.backordered = r.backordered as i32;
            }
        }
        Ok(())
    }
}

/// The shipping option the order ships with, once every line is still sold: 422 when the
/// cart cannot ship there or the body asked for another option, 409 naming each line that
/// can no longer be bought.
fn shipping_option_of(priced: &Priced, asked: Option<&str>) -> AppResult<String> {
    let shipping_option = match &priced.shipment {
        Shipment::Option(id) if asked.is_some_and(|asked| asked != id) => {
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
                format!("{} is no longer sold", line_label(priced, i)),
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
    Ok(shipping_option)
}

/// Marks an active cart converted, first thing in the order's transaction: a concurrent
/// duplicate checkout waits on it, then finds the cart converted. Answers whether this
/// transaction claimed it.
async fn claim_cart(txn: &DatabaseTransaction, cart_id: Uuid) -> AppResult<bool> {
    let claimed = carts::Entity::update_many()
        .col_expr(
            carts::Column::Status,
            Expr::value(CartStatus::Converted.as_str()),
        )
        .col_expr(carts::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(carts::Column::Id.eq(cart_id))
        .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
        .exec(txn)
        .await?;
    Ok(claimed.rows_affected == 1)
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
            discount: line.discount,
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
