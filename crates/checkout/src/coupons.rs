//! Coupon codes on a cart: entered, checked against the promotion and the cart as it
//! stands (a code that would not apply is refused with its reason, never kept silently),
//! and removed.

use emporium_core::{AppError, AppResult};
use emporium_db::entity::carts;
use emporium_promotions::{customer_key, normalize_code, refusal};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::carts::{CartAccess, find_cart, lines_of, touch};
use crate::pricing::coupons_of;
use crate::state::Checkout;

/// The most codes one cart holds.
pub const MAX_COUPONS: usize = 5;

/// `POST /carts/{id}/coupons`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"code": "WELCOME10"})))]
pub struct CouponBody {
    /// Any case; spaces around it are ignored.
    pub code: String,
}

fn coupons_text(codes: &[String]) -> AppResult<Option<String>> {
    if codes.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        serde_json::to_string(codes).map_err(anyhow::Error::from)?,
    ))
}

impl Checkout {
    /// Enters a code on a cart. 422 `coupon_refused` with a `reason` when it does not
    /// apply: `unknown`, `expired`, `not_started`, `limit_reached`,
    /// `customer_limit_reached`, `currency`, a condition (`min_subtotal`, `min_quantity`,
    /// `products`, `signed_in`, `first_order`, `country`), `not_combinable`,
    /// `no_effect`, `already_applied` or `too_many`. Entering a code the cart holds
    /// already changes nothing.
    pub async fn apply_coupon(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        code: &str,
    ) -> AppResult<carts::Model> {
        let Some(code) = normalize_code(code) else {
            return Err(refusal("unknown", "there is no such code"));
        };
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let mut codes = coupons_of(&cart);
        if codes.contains(&code) {
            txn.commit().await?;
            return Ok(cart);
        }
        if codes.len() >= MAX_COUPONS {
            return Err(refusal(
                "too_many",
                format!("a cart takes at most {MAX_COUPONS} codes"),
            ));
        }
        codes.push(code.clone());
        let lookups = self.promotions.lookup_codes(&txn, &codes).await?;
        let Some(entered) = lookups.iter().find(|l| l.code == code) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "code lookup lost a code"
            )));
        };
        if let Some((reason, message)) = &entered.problem {
            return Err(refusal(reason, message.clone()));
        }
        let promotion_id = entered.promotion_id;
        if lookups
            .iter()
            .any(|l| l.code != code && l.promotion_id.is_some() && l.promotion_id == promotion_id)
        {
            return Err(refusal(
                "already_applied",
                "another code for this offer is already on the cart",
            ));
        }
        if let (Some(id), Some(key)) = (
            promotion_id,
            customer_key(cart.customer_id, cart.email.as_deref()),
        ) {
            self.promotions.check_customer_limit(&txn, id, &key).await?;
        }
        let mut trial = cart.clone();
        trial.coupons = coupons_text(&codes)?;
        let lines = lines_of(&txn, cart.id).await?;
        let priced = self.price(&txn, &trial, lines).await?;
        if let Some(state) = priced.coupons.iter().find(|c| c.code == code)
            && !state.applied
        {
            return Err(refusal(
                state.reason.as_deref().unwrap_or("no_effect"),
                state
                    .message
                    .clone()
                    .unwrap_or_else(|| "this code does not apply to the cart".into()),
            ));
        }
        let mut active = cart.into_active_model();
        active.coupons = Set(trial.coupons);
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }

    /// Takes a code off a cart (404 when the cart does not hold it).
    pub async fn remove_coupon(
        &self,
        cart_id: Uuid,
        access: &CartAccess,
        code: &str,
    ) -> AppResult<carts::Model> {
        let code = code.trim().to_uppercase();
        let txn = self.db.begin().await?;
        let cart = find_cart(&txn, cart_id, access).await?;
        touch(&txn, cart.id).await?;
        let mut codes = coupons_of(&cart);
        let before = codes.len();
        codes.retain(|c| c != &code);
        if codes.len() == before {
            return Err(AppError::not_found("this cart does not hold that code"));
        }
        let mut active = cart.into_active_model();
        active.coupons = Set(coupons_text(&codes)?);
        let cart = active.update(&txn).await?;
        txn.commit().await?;
        Ok(cart)
    }
}
