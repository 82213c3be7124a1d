//! Carts: guest carts found by their secret token, customer carts that follow the customer
//! across devices and absorb a guest cart at sign-in, pricing on every read, and the sweep
//! that marks idle carts abandoned (with a recovery link) and purges old guest carts.

use chrono::Utc;
use emporium_core::crypto::{constant_time_eq, random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, Currency, FieldError};
use emporium_db::entity::{cart_lines, carts};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashSet;
use uuid::Uuid;

use crate::model::{Address, CartStatus};
use crate::state::Checkout;
use crate::views::CartNotice;

/// Most units of one variant in a cart line.
pub const MAX_LINE_QUANTITY: i32 = 999;
/// Most lines in one cart.
pub const MAX_LINES: usize = 200;

/// Who is asking for a cart: a signed-in customer, a holder of the cart's token, or both.
#[derive(Debug, Clone, Default)]
pub struct CartAccess {
    pub user_id: Option<Uuid>,
    /// The signed-in customer's email (set together with `user_id`).
    pub email: Option<String>,
    /// Whether the signed-in customer confirmed that email.
    pub email_verified: bool,
    pub token: Option<String>,
}

impl CartAccess {
    fn allows(&self, cart: &carts::Model) -> bool {
        let by_owner = self.user_id.is_some_and(|u| cart.customer_id == Some(u));
        let by_token = match (&self.token, &cart.token_hash) {
            (Some(token), Some(hash)) => {
                constant_time_eq(token_hash(token).as_bytes(), hash.as_bytes())
            }
            _ => false,
        };
        by_owner || by_token
    }
}

/// A cart as opened: the secret token of a new guest cart, and what changed on the way
/// that the shopper should be told.
pub struct OpenedCart {
    pub cart: carts::Model,
    pub token: Option<String>,
    pub notices: Vec<CartNotice>,
}

async fn set_currency<C: ConnectionTrait>(
    conn: &C,
    cart: &carts::Model,
    currency: &str,
) -> AppResult<carts::Model> {
    let mut active = cart.clone().into_active_model();
    active.currency = Set(currency.to_string());
    // A carrier quote was in the old currency.
    active.shipping_quote = Set(None);
    active.shipping_quote_key = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(conn).await?)
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub abandoned: usize,
    pub purged: u64,
}

fn new_cart(
    customer_id: Option<Uuid>,
    email: Option<String>,
    currency: Currency,
    lang: &str,
) -> (carts::ActiveModel, Option<String>) {
    let now = Utc::now();
    let token = customer_id.is_none().then(|| random_token(32));
    let model = carts::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(token.as_deref().map(token_hash)),
        customer_id: Set(customer_id),
        currency: Set(currency.code().to_string()),
        lang: Set(lang.to_string()),
        email: Set(email),
        shipping_address: Set(None),
        billing_address: Set(None),
        shipping_option: Set(None),
        shipping_quote: Set(None),
        shipping_quote_key: Set(None),
        status: Set(CartStatus::Active.as_str().into()),
        order_id: Set(None),
        recovery_hash: Set(None),
        coupons: Set(None),
        last_active_at: Set(now.timestamp_millis()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    (model, token)
}

pub(crate) async fn find_cart<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    access: &CartAccess,
) -> AppResult<carts::Model> {
    carts::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|c| access.allows(c))
        .ok_or_else(|| AppError::not_found("no such cart"))
}

pub(crate) async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    cart_id: Uuid,
) -> AppResult<Vec<cart_lines::Model>> {
    Ok(cart_lines::Entity::find()
        .filter(cart_lines::Column::CartId.eq(cart_id))
        .order_by_asc(cart_lines::Column::CreatedAt)
        .order_by_asc(cart_lines::Column::Id)
        .all(conn)
        .await?)
}

/// A customer's open cart as staff see it.
#[derive(Debug, Clone)]
pub struct CartSummary {
    pub id: Uuid,
    pub currency: String,
    /// Units over all its lines.
    pub units: i64,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Checkout {
    /// A customer's open carts, the most recently used first (at most `limit`).
    pub async fn customer_carts(
        &self,
        customer_id: Uuid,
        limit: u64,
    ) -> AppResult<Vec<CartSummary>> {
        let conn = self.db.reader();
        let open = carts::Entity::find()
            .filter(carts::Column::CustomerId.eq(customer_id))
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .order_by_desc(carts::Column::UpdatedAt)
            .limit(limit)
            .all(conn)
            .await?;
        let mut out = Vec::with_capacity(open.len());
        for cart in open {
            let units = lines_of(conn, cart.id)
                .await?
                .iter()
                .map(|l| i64::from(l.quantity))
                .sum();
            out.push(CartSummary {
                id: cart.id,
                currency: cart.currency,
                units,
                updated_at: cart.updated_at,
            });
        }
        Ok(out)
    }
}

/// Marks the cart used now; 409 when it can no longer change.
pub(crate) async fn touch<C: ConnectionTrait>(conn: &C, cart_id: Uuid) -> AppResult<()> {
    let now = Utc::now();
    let result = carts::Entity::update_many()
        .col_expr(
            carts::Column::LastActiveAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(carts::Column::UpdatedAt, Expr::value(now))
        .filter(carts::Column::Id.eq(cart_id))
        .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict(
            ErrorCode::CartNotActive,
            "this cart was already checked out or merged; start a new one",
        ));
    }
    Ok(())
}

fn check_quantity(quantity: i32) -> AppResult<()> {
    if (1..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "quantity",
            format!("must be 1 to {MAX_LINE_QUANTITY}"),
        ))
    }
}

impl Checkout {
    /// A new guest cart (with its token), or the signed-in customer's active cart (made
    /// if they have none). A guest token sent along by a signed-in customer merges that
    /// guest cart into theirs: this is how a cart survives signing in. `currency` is the
    /// one asked for (`?currency=`), if any: an existing cart moves to it. Whatever
    /// changed that the shopper did not ask for comes back as notices.
    pub async fn open_cart(
        &self,
        access: &CartAccess,
        currency: Option<Currency>,
        lang: &str,
    ) -> AppResult<OpenedCart> {
        let fallback = currency.unwrap_or(self.default_currency());
        self.ensure_priceable(fallback).await?;
        let Some(user_id) = access.user_id else {
            let (model, token) = new_cart(None, None, fallback, lang);
            let txn = self.db.begin().await?;
            let cart = model.insert(&txn).await?;
            txn.commit().await?;
            return Ok(OpenedCart {
                cart,
                token,
                notices: Vec::new(),
            });
        };
        let txn = self.db.begin().await?;
        let existing = carts::Entity::find()
            .filter(carts::Column::CustomerId.eq(user_id))
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .order_by_desc(carts::Column::LastActiveAt)
            .one(&txn)
            .await?;
        let guest = match &access.token {
            Some(token) => {
                carts::Entity::find()
                    .filter(carts::Column::TokenHash.eq(token_hash(token)))
                    .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
                    .filter(carts::Column::CustomerId.is_null())
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        let mut notices = Vec::new();
        let mut cart = match (existing, guest) {
            (Some(mine), Some(guest)) => {
                notices.extend(self.merge_lines(&txn, &guest, &mine).await?);
                // The shopper was just shopping in the guest cart's currency: keep it.
                if guest.currency != mine.currency && currency.is_none() {
                    notices.push(CartNotice::currency_changed(
                        &mine.currency,
                        &guest.currency,
                    ));
                    set_currency(&txn, &mine, &guest.currency).await?
                } else {
                    mine
                }
            }
            (Some(mine), None) => mine,
            (None, Some(guest)) => {
                // The guest cart becomes the customer's, and its guest token stops working:
                // whoever else holds it must not read or buy into the customer's cart.
                let mut active = guest.into_active_model();
                active.customer_id = Set(Some(user_id));
                active.token_hash = Set(None);
                active.email = Set(access.email.clone());
                active.updated_at = Set(Utc::now());
                active.update(&txn).await?
            }
            (None, None) => {
                let (model, _) = new_cart(Some(user_id), access.email.clone(), fallback, lang);
                model.insert(&txn).await?
            }
        };
        if let Some(asked) = currency
            && cart.currency != asked.code()
        {
            cart = set_currency(&txn, &cart, asked.code()).await?;
        }
        txn.commit().await?;
        Ok(OpenedCart {
            cart,
            token: None,
            notices,
        })
    }

    /// Refuses a currency the store cannot price in: one without an exchange rate from the
    /// default currency, whose shipping rates and converted prices would be guesses.
    pub(crate) async fn ensure_priceable(&self, currency: Currency) -> AppResult<()> {
        let converter = self.catalog.converter(self.db.current(), currency).await?;
        if converter.can_convert() {
            Ok(())
        } else {
            Err(AppError::invalid(
                "currency",
                format!(
                    "the store has no exchange rate from {} to {}; choose another currency",
                    self.default_currency().code(),
                    currency.code()
                ),
            ))
        }
    }

    /// Moves the guest cart's lines into the customer's: quantities add up, capped by
    /// what can be sold, and the guest cart is closed as merged.
    async fn merge_lines<C: ConnectionTrait>(
        &self,
        conn: &C,
        guest: &carts::Model,
        mine: &carts::Model,
    ) -> AppResult<Vec<CartNotice>> {
        let mut notices = Vec::new();
        let theirs = lines_of(conn, guest.id).await?;
        let ours = lines_of(conn, mine.id).await?;
        let ids: Vec<Uuid> = theirs.iter().map(|l| l.variant_id).collect();
        let stock = self.inventory.availability(conn, &ids).await?;
        for line in theirs {
            let current = ours.iter().find(|l| l.variant_id == line.variant_id);
            let wanted = (current.map_or(0, |l| l.quantity) + line.quantity).min(MAX_LINE_QUANTITY);
            let mut quantity = wanted;
            if let Some(cap) = stock.get(&line.variant_id).and_then(|a| a.sellable()) {
                quantity = quantity.min(i32::try_from(cap).unwrap_or(i32::MAX));
            }
            if quantity < wanted {
                notices.push(CartNotice::quantity_reduced(
                    line.variant_id,
                    wanted,
                    quantity,
                ));
            }
            match current {
                Some(l) if quantity > 0 => {
                    let mut active = l.clone().into_active_model();
                    active.quantity = Set(quantity);
                    active.update(conn).await?;
                }
                Some(_) => {}
                None if quantity > 0 => {
                    cart_lines::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        cart_id: Set(mine.id),
                        variant_id: Set(line.variant_id),
                        quantity: Set(quantity),
                        created_at: Set(line.created_at),
                    }
                    .insert(conn)
                    .await?;
                }
                None => {}
            }
        }
        let mut closed = guest.clone().into_active_model();
        // The closed guest cart keeps its token: it holds nothing of the customer's, and
        // its holder learns `cart_not_active` rather than a bare 404.
        closed.status = Set(CartStatus::Merged.as_str().into());
        closed.updated_at = Set(Utc::now());
        closed.update(conn).await?;
        touch(conn, mine.id).await?;
        Ok(notices)
    }

    /// A cart its holder may see.
    pub async fn cart(&self, id: Uuid, access: &CartAccess) -> AppResult<carts::Model> {
        find_cart(self.db.writer(), id, access).await
    }

    /// Adds `quantity` of a variant (to its line when there is one). The variant must be
    /// on sale with a price in the cart's currency, and the new quantity sellable.
    pub async fn add_item(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        variant_id: Uuid,
        quantity: i32,
    ) -> AppResult<carts::Model> {
        check_quantity(quantity)?;
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let lines = lines_of(&txn, cart.id).await?;
        let current = lines.iter().find(|l| l.variant_id == variant_id);
        if current.is_none() && lines.len() >= MAX_LINES {
            return Err(AppError::conflict(
                ErrorCode::CartFull,
                format!("a cart holds at most {MAX_LINES} lines"),
            ));
        }
        let total = current.map_or(0, |l| l.quantity) + quantity;
        check_quantity(total)?;
        self.check_sellable(&txn, &cart, variant_id, total).await?;
        match current {
            Some(line) => {
                let mut active = line.clone().into_active_model();
                active.quantity = Set(total);
                active.update(&txn).await?;
            }
            None => {
                cart_lines::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    cart_id: Set(cart.id),
                    variant_id: Set(variant_id),
                    quantity: Set(total),
                    created_at: Set(Utc::now()),
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok(cart)
    }

    async fn check_sellable<C: ConnectionTrait>(
        &self,
        conn: &C,
        cart: &carts::Model,
        variant_id: Uuid,
        quantity: i32,
    ) -> AppResult<()> {
        let currency = Currency::parse(&cart.currency).unwrap_or(self.default_currency());
        let sellable = self
            .catalog
            .sellable_variants(conn, &[variant_id], &cart.lang, currency)
            .await?;
        let Some(variant) = sellable.get(&variant_id).filter(|v| v.on_sale) else {
            return Err(AppError::invalid("variant_id", "is not for sale"));
        };
        if variant.price.is_none() {
            return Err(AppError::conflict_with(
                ErrorCode::NoPriceInCurrency,
                format!(
                    "this variant has no price in {} (none is set, and there is no exchange \
                     rate to convert its {} price)",
                    currency.code(),
                    self.default_currency().code()
                ),
                vec![FieldError::new(
                    "variant_id",
                    "has no price in the cart's currency",
                )],
            ));
        }
        let stock = self.inventory.availability(conn, &[variant_id]).await?;
        let availability = stock.get(&variant_id).copied().unwrap_or_default();
        if !availability.can_sell(i64::from(quantity)) {
            return Err(AppError::conflict_with(
                ErrorCode::InsufficientStock,
                format!(
                    "only {} left of this variant",
                    availability.sellable().unwrap_or(0)
                ),
                vec![FieldError::new(
                    "quantity",
                    format!("at most {}", availability.sellable().unwrap_or(0)),
                )],
            ));
        }
        Ok(())
    }

    /// Sets a line's quantity.
    pub async fn update_item(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        line_id: Uuid,
        quantity: i32,
    ) -> AppResult<carts::Model> {
        check_quantity(quantity)?;
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let line = cart_lines::Entity::find_by_id(line_id)
            .one(&txn)
            .await?
            .filter(|l| l.cart_id == cart.id)
            .ok_or_else(|| AppError::not_found("no such line in this cart"))?;
        if quantity > line.quantity {
            self.check_sellable(&txn, &cart, line.variant_id, quantity)
                .await?;
        }
        let mut active = line.into_active_model();
        active.quantity = Set(quantity);
        active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }

    /// Removes a line.
    pub async fn remove_item(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        line_id: Uuid,
    ) -> AppResult<carts::Model> {
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let deleted = cart_lines::Entity::delete_many()
            .filter(cart_lines::Column::Id.eq(line_id))
            .filter(cart_lines::Column::CartId.eq(cart.id))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such line in this cart"));
        }
        txn.commit().await?;
        Ok(cart)
    }

    /// Sets where the cart ships (tax and shipping follow it).
    pub async fn set_shipping_address(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        address: Address,
    ) -> AppResult<carts::Model> {
        let mut errors = Vec::new();
        let address = address.check("shipping_address", &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let mut active = cart.into_active_model();
        active.shipping_address = Set(Some(
            serde_json::to_string(&address).map_err(anyhow::Error::from)?,
        ));
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }

    /// Sets the email the order confirmation goes to (a guest's; a signed-in customer's
    /// cart starts with their account's).
    pub async fn set_cart_email(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        email: &str,
    ) -> AppResult<carts::Model> {
        let mut errors = Vec::new();
        let email = crate::model::check_email(email, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let mut active = cart.into_active_model();
        active.email = Set(Some(email));
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }

    /// Chooses one of the cart's shipping options (as `GET .../shipping-options` lists
    /// them for its address). A carrier's live quote is kept with the cart, so checkout
    /// charges what the shopper saw without asking the carrier again.
    pub async fn set_shipping_option(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        option: &str,
    ) -> AppResult<carts::Model> {
        let cart = self.cart(cart_id, access).await?;
        let options = self.shipping_options(&cart).await?;
        let Some(chosen) = options.iter().find(|o| o.id == option) else {
            return Err(AppError::invalid(
                "id",
                "is not one of this cart's shipping options",
            ));
        };
        let quote = if chosen.source == "carrier" {
            let lines = lines_of(self.db.writer(), cart.id).await?;
            let priced = self.price(self.db.writer(), &cart, lines).await?;
            let parcel_weight = self.parcel_weight(&priced);
            priced.address.as_ref().map(|address| {
                (
                    chosen.price.amount,
                    crate::pricing::quote_key(address, parcel_weight, priced.currency),
                )
            })
        } else {
            None
        };
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let mut active = cart.into_active_model();
        active.shipping_option = Set(Some(option.to_string()));
        active.shipping_quote = Set(quote.as_ref().map(|(amount, _)| *amount));
        active.shipping_quote_key = Set(quote.map(|(_, key)| key));
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }

    /// Marks carts idle past the configured time abandoned, emailing each shopper whose
    /// address is known a recovery link, then deletes guest carts idle past their TTL.
    /// Safe on every node at once: each cart changes by one guarded update.
    pub async fn sweep_carts(&self, now_ms: i64) -> AppResult<SweepReport> {
        let settings = &self.config.checkout;
        let cutoff = now_ms - (settings.abandon_after_mins as i64).saturating_mul(60_000);
        let idle: Vec<carts::Model> = carts::Entity::find()
            .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
            .filter(carts::Column::LastActiveAt.lt(cutoff))
            .order_by_asc(carts::Column::LastActiveAt)
            .limit(500)
            .all(self.db.writer())
            .await?;
        let ids: Vec<Uuid> = idle.iter().map(|c| c.id).collect();
        let with_lines: HashSet<Uuid> = if ids.is_empty() {
            HashSet::new()
        } else {
            cart_lines::Entity::find()
                .filter(cart_lines::Column::CartId.is_in(ids))
                .all(self.db.writer())
                .await?
                .into_iter()
                .map(|l| l.cart_id)
                .collect()
        };
        let mut report = SweepReport::default();
        for cart in idle.into_iter().filter(|c| with_lines.contains(&c.id)) {
            let txn = self.db.begin().await?;
            let token = random_token(32);
            let marked = carts::Entity::update_many()
                .col_expr(
                    carts::Column::Status,
                    Expr::value(CartStatus::Abandoned.as_str()),
                )
                .col_expr(carts::Column::RecoveryHash, Expr::value(token_hash(&token)))
                .filter(carts::Column::Id.eq(cart.id))
                .filter(carts::Column::Status.eq(CartStatus::Active.as_str()))
                .filter(carts::Column::LastActiveAt.lt(cutoff))
                .exec(&txn)
                .await?;
            if marked.rows_affected == 0 {
                continue;
            }
            if let Some(email) = &cart.email {
                let link = format!("{}/cart/recover?token={token}", self.public_url());
                enqueue_email(
                    &txn,
                    &EmailJob {
                        to: email.clone(),
                        template: "cart_recovery".into(),
                        context: serde_json::json!({
                            "link": link,
                            "hours": settings.recovery_ttl_hours,
                        }),
                        lang: Some(cart.lang.clone()),
                        thread: None,
                    },
                )
                .await?;
            }
            txn.commit().await?;
            report.abandoned += 1;
        }
        let ttl_cutoff = now_ms - (settings.guest_cart_ttl_days as i64).saturating_mul(86_400_000);
        let stale = carts::Entity::find()
            .select_only()
            .column(carts::Column::Id)
            .filter(carts::Column::CustomerId.is_null())
            .filter(carts::Column::Status.ne(CartStatus::Converted.as_str()))
            .filter(carts::Column::LastActiveAt.lt(ttl_cutoff))
            .limit(1000)
            .into_tuple::<Uuid>()
            .all(self.db.writer())
            .await?;
        if !stale.is_empty() {
            let txn = self.db.begin().await?;
            cart_lines::Entity::delete_many()
                .filter(cart_lines::Column::CartId.is_in(stale.clone()))
                .exec(&txn)
                .await?;
            report.purged = carts::Entity::delete_many()
                .filter(carts::Column::Id.is_in(stale))
                .filter(carts::Column::LastActiveAt.lt(ttl_cutoff))
                .exec(&txn)
                .await?
                .rows_affected;
            txn.commit().await?;
        }
        Ok(report)
    }

    /// Restores an abandoned cart from its emailed link into a new session: the link
    /// works once and within its time, and the cart gets a fresh token.
    pub async fn recover_cart(&self, token: &str) -> AppResult<(carts::Model, String)> {
        let txn = self.db.begin().await?;
        let gone = || AppError::not_found("this recovery link is invalid, used or expired");
        let cart = carts::Entity::find()
            .filter(carts::Column::RecoveryHash.eq(token_hash(token)))
            .one(&txn)
            .await?
            .ok_or_else(gone)?;
        let ttl_ms = (self.config.checkout.recovery_ttl_hours as i64).saturating_mul(3_600_000);
        let fresh = CartStatus::parse(&cart.status) == Some(CartStatus::Abandoned)
            && Utc::now().timestamp_millis() - cart.last_active_at
                <= ttl_ms + (self.config.checkout.abandon_after_mins as i64).saturating_mul(60_000);
        if !fresh {
            return Err(gone());
        }
        let session = random_token(32);
        let now = Utc::now();
        let mut active = cart.into_active_model();
        active.status = Set(CartStatus::Active.as_str().into());
        active.recovery_hash = Set(None);
        active.token_hash = Set(Some(token_hash(&session)));
        active.last_active_at = Set(now.timestamp_millis());
        active.updated_at = Set(now);
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok((cart, session))
    }
}
