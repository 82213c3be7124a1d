//! The cart and checkout pages. A guest's cart lives in a cookie (`emporium_cart`: the
//! cart's id and its secret token, HttpOnly, SameSite=Lax), the same cart the API's
//! `X-Cart-Token` opens. Forms post only from the shop's own pages: a cross-site post is
//! refused before it touches a cart. Checkout goes through the same `place_order` as
//! the API (stock reserved, idempotent by the cart), then on to the payment provider's
//! page, which comes back to the order's confirmation page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use emporium_analytics::Step;
use emporium_checkout::{CartAccess, CartView, CheckoutBody};
use emporium_core::address::Address;
use emporium_core::{AppError, Currency};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::state::Storefront;

const COOKIE: &str = "emporium_cart";

/// The cart this shopper uses: a signed-in shopper's own (opened when they have none),
/// else the guest cart the cookie names.
async fn cart_access(sf: &Storefront, headers: &HeaderMap) -> Option<(Uuid, CartAccess)> {
    if let Some(shopper) = sf.shopper(headers).await {
        let access = CartAccess {
            user_id: Some(shopper.user_id),
            email: Some(shopper.email),
            email_verified: shopper.email_verified,
            token: None,
        };
        let lang = sf.config.store.default_language.clone();
        let opened = sf.checkout.open_cart(&access, None, &lang).await.ok()?;
        return Some((opened.cart.id, access));
    }
    cart_cookie(headers)
}

/// The guest cart the cookie names, and the access it grants.
pub(crate) fn cart_cookie(headers: &HeaderMap) -> Option<(Uuid, CartAccess)> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{COOKIE}=")))?;
    let (id, token) = value.split_once('.')?;
    Some((
        id.parse().ok()?,
        CartAccess {
            user_id: None,
            email: None,
            email_verified: false,
            token: Some(token.to_string()),
        },
    ))
}

impl Storefront {
    pub(crate) fn set_cookie(&self, value: &str, max_age: u64) -> HeaderValue {
        self.cookie(COOKIE, value, max_age)
    }

    /// A private page (no cache, no index) with the shop's header.
    pub(crate) fn private(
        &self,
        status: StatusCode,
        template: &str,
        mut context: serde_json::Map<String, Value>,
        lang: Option<&str>,
    ) -> Response {
        let ctx = self
            .ctx(
                lang.filter(|l| *l != self.config.store.default_language),
                None,
            )
            .or_else(|| self.ctx(None, None));
        if let Some(ctx) = ctx {
            for (k, v) in self.base(&ctx) {
                context.entry(k).or_insert(v);
            }
        }
        self.page(status, template, Value::Object(context))
            .into_response()
    }
}

/// A post that came from another site (no cookie of ours should act for it).
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        _ => false,
    }
}

pub(crate) fn refused() -> Response {
    (StatusCode::FORBIDDEN, "cross-site form posts are refused").into_response()
}

pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The cart as the templates show it.
fn cart_context(cart: &CartView) -> Value {
    let money = |m: &emporium_core::Money| m.to_string();
    json!({
        "currency": cart.currency,
        "email": cart.email,
        "lines": cart.lines.iter().map(|l| json!({
            "id": l.id, "title": l.title.clone().or_else(|| l.sku.clone()).unwrap_or_default(),
            "options": l.options.values().cloned().collect::<Vec<_>>().join(" / "),
            "sku": l.sku, "quantity": l.quantity,
            "unit_price": l.unit_price.as_ref().map(money),
            "total": l.total.as_ref().map(money),
            "problem": l.problem.as_ref().map(|p| p.replace('_', " ")),
        })).collect::<Vec<_>>(),
        "subtotal": money(&cart.totals.subtotal),
        "discount": money(&cart.totals.discount),
        "has_discount": cart.totals.discount.amount != 0,
        "adjustments": cart.adjustments.iter().filter(|a| a.class != "shipping").map(|a| json!({
            "label": a.label, "amount": money(&a.amount), "code": a.code,
        })).collect::<Vec<_>>(),
        "coupons": cart.coupons.iter().map(|c| json!({
            "code": c.code, "applied": c.applied, "message": c.message,
        })).collect::<Vec<_>>(),
        "shipping": money(&cart.totals.shipping),
        "tax": money(&cart.totals.tax),
        "total": money(&cart.totals.total),
        "total_minor": cart.totals.total.amount,
        "tax_inclusive": cart.tax_inclusive,
    })
}

/// The shopper's cart: how to open it, its language (the cart and checkout pages speak
/// it), and how it stands now.
#[derive(Clone)]
struct Held {
    id: Uuid,
    access: CartAccess,
    lang: String,
    view: CartView,
}

/// The cart the cookie names, priced now; `None` when there is none (or it was ordered).
async fn current_cart(sf: &Storefront, headers: &HeaderMap) -> Option<Held> {
    let (id, access) = cart_access(sf, headers).await?;
    let cart = sf.checkout.cart(id, &access).await.ok()?;
    if cart.status != "active" {
        return None;
    }
    let view = sf.checkout.cart_view(&cart, None).await.ok()?;
    Some(Held {
        id,
        access,
        lang: cart.lang,
        view,
    })
}

/// `GET /cart`.
pub(crate) async fn cart_page(State(sf): State<Storefront>, headers: HeaderMap) -> Response {
    let cart = current_cart(&sf, &headers).await;
    let mut context = serde_json::Map::new();
    if let Some(held) = &cart {
        context.insert("cart".into(), cart_context(&held.view));
    }
    let lang = cart.as_ref().map(|h| h.lang.as_str());
    sf.private(StatusCode::OK, "cart.html", context, lang)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AddForm {
    variant_id: String,
    #[serde(default)]
    quantity: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// `POST /cart/items`: adds a variant, opening a cart (and setting its cookie) when the
/// shopper has none, then shows the cart.
pub(crate) async fn add_item(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let quantity: i32 = form
        .quantity
        .as_deref()
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(1);
    let problem = |sf: &Storefront, message: String| {
        let mut context = serde_json::Map::new();
        context.insert("error".into(), json!(message));
        sf.private(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cart.html",
            context,
            form.lang.as_deref(),
        )
    };
    let Ok(variant) = form.variant_id.parse::<Uuid>() else {
        return problem(&sf, "Choose one of the product's options.".into());
    };
    let existing = current_cart(&sf, &headers).await;
    let (id, access, cookie) = match existing {
        Some(held) => (held.id, held.access, None),
        None => {
            let currency = form.currency.as_deref().and_then(Currency::parse);
            let lang = form
                .lang
                .clone()
                .unwrap_or_else(|| sf.config.store.default_language.clone());
            let opened = match sf
                .checkout
                .open_cart(
                    &CartAccess {
                        user_id: None,
                        email: None,
                        email_verified: false,
                        token: None,
                    },
                    currency,
                    &lang,
                )
                .await
            {
                Ok(opened) => opened,
                Err(err) => return problem(&sf, err.to_string()),
            };
            let token = opened.token.unwrap_or_default();
            let access = CartAccess {
                user_id: None,
                email: None,
                email_verified: false,
                token: Some(token.clone()),
            };
            (
                opened.cart.id,
                access,
                Some(format!("{}.{token}", opened.cart.id)),
            )
        }
    };
    let mut response = match sf.checkout.add_item(id, &access, variant, quantity).await {
        Ok(_) => see_other("/cart"),
        Err(err) => problem(&sf, explain(&err)),
    };
    if let Some(cookie) = cookie {
        response
            .headers_mut()
            .append(header::SET_COOKIE, sf.set_cookie(&cookie, 30 * 24 * 3600));
    }
    crate::visit::count(&sf, &headers, Step::AddedToCart, response)
}

/// Every country as an address form's choices: `[{code, name}]`.
pub(crate) fn countries() -> Value {
    json!(
        emporium_core::geo::countries()
            .into_iter()
            .map(|(code, name)| json!({"code": code, "name": name}))
            .collect::<Vec<_>>()
    )
}

/// An error in words a shopper reads.
pub(crate) fn explain(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// `POST /cart/lines/{id}/remove`.
pub(crate) async fn remove_line(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(line): Path<Uuid>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    if let Some((id, access)) = cart_access(&sf, &headers).await
        && let Err(err) = sf.checkout.remove_item(id, &access, line).await
    {
        tracing::debug!(error = %err, "removing a cart line");
    }
    see_other("/cart")
}

#[derive(Debug, Deserialize)]
pub(crate) struct CouponForm {
    #[serde(default)]
    code: String,
}

/// `POST /cart/coupons`: enters a code; a refused one is shown with its reason.
pub(crate) async fn apply_coupon(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<CouponForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let Some(held) = current_cart(&sf, &headers).await else {
        return see_other("/cart");
    };
    match sf
        .checkout
        .apply_coupon(held.id, &held.access, &form.code)
        .await
    {
        Ok(_) => see_other("/cart"),
        Err(err) => {
            let mut context = serde_json::Map::new();
            context.insert("cart".into(), cart_context(&held.view));
            context.insert("coupon_error".into(), json!(err.to_string()));
            context.insert("coupon_code".into(), json!(form.code.trim()));
            sf.private(
                StatusCode::UNPROCESSABLE_ENTITY,
                "cart.html",
                context,
                Some(held.lang.as_str()),
            )
        }
    }
}

/// `POST /cart/coupons/{code}/remove`.
pub(crate) async fn remove_coupon(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    if let Some((id, access)) = cart_access(&sf, &headers).await
        && let Err(err) = sf.checkout.remove_coupon(id, &access, &code).await
    {
        tracing::debug!(error = %err, "removing a coupon");
    }
    see_other("/cart")
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CheckoutForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    shipping_option: Option<String>,
    #[serde(default)]
    payment_provider: Option<String>,
    #[serde(default)]
    expected_total: Option<i64>,
    #[serde(default)]
    step: String,
}

impl CheckoutForm {
    fn from_cart(cart: &CartView) -> Self {
        let a = cart.shipping_address.clone();
        Self {
            email: cart.email.clone().unwrap_or_default(),
            name: a.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            line1: a.as_ref().map(|a| a.line1.clone()).unwrap_or_default(),
            line2: a.as_ref().and_then(|a| a.line2.clone()).unwrap_or_default(),
            city: a.as_ref().map(|a| a.city.clone()).unwrap_or_default(),
            postal_code: a
                .as_ref()
                .and_then(|a| a.postal_code.clone())
                .unwrap_or_default(),
            region: a
                .as_ref()
                .and_then(|a| a.region.clone())
                .unwrap_or_default(),
            country: a.as_ref().map(|a| a.country.clone()).unwrap_or_default(),
            ..Self::default()
        }
    }

    fn address(&self) -> Address {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Address {
            name: self.name.trim().to_string(),
            line1: self.line1.trim().to_string(),
            line2: opt(&self.line2),
            city: self.city.trim().to_string(),
            region: opt(&self.region),
            postal_code: opt(&self.postal_code),
            country: self.country.trim().to_uppercase(),
            phone: None,
        }
    }

    fn values(&self) -> Value {
        json!({"email": self.email, "name": self.name, "line1": self.line1, "line2": self.line2,
               "city": self.city, "postal_code": self.postal_code, "region": self.region,
               "country": self.country})
    }
}

/// The checkout page for `cart`, with the form as filled and any error.
async fn checkout_page(
    sf: &Storefront,
    status: StatusCode,
    held: &Held,
    form: &CheckoutForm,
    error: Option<String>,
) -> Response {
    let (access, cart) = (&held.access, &held.view);
    let mut context = serde_json::Map::new();
    context.insert("cart".into(), cart_context(cart));
    let mut values = form.values();
    if form.country.is_empty() {
        values["country"] = json!(sf.config.shipping.origin_country);
    }
    context.insert("form".into(), values);
    context.insert("countries".into(), countries());
    if let Some(options) = options_for(sf, access, cart).await {
        context.insert("options".into(), json!(options));
        context.insert("chosen".into(), json!(cart.shipping_option));
        let mut providers = Vec::new();
        if sf.config.payments.manual_enabled {
            providers.push(json!({"name": "manual",
                "label": crate::text::word(&held.lang, "test_card", "Card (test payments)")}));
        }
        context.insert("providers".into(), json!(providers));
    }
    if let Some(error) = error {
        context.insert("error".into(), json!(error));
    }
    sf.private(status, "checkout.html", context, Some(&held.lang))
}

/// The shipping options for a cart that has an address, as the template shows them.
async fn options_for(sf: &Storefront, access: &CartAccess, cart: &CartView) -> Option<Vec<Value>> {
    cart.shipping_address.as_ref()?;
    let model = sf.checkout.cart(cart.id, access).await.ok()?;
    let options = sf.checkout.shipping_options(&model).await.ok()?;
    Some(
        options
            .iter()
            .map(|o| json!({"id": o.id, "name": o.name, "price": o.price.to_string()}))
            .collect(),
    )
}

/// `GET /checkout`.
pub(crate) async fn checkout(State(sf): State<Storefront>, headers: HeaderMap) -> Response {
    let Some(held) = current_cart(&sf, &headers).await else {
        return see_other("/cart");
    };
    if held.view.lines.is_empty() {
        return see_other("/cart");
    }
    let form = CheckoutForm::from_cart(&held.view);
    let page = checkout_page(&sf, StatusCode::OK, &held, &form, None).await;
    crate::visit::count(&sf, &headers, Step::CheckoutStarted, page)
}

/// `POST /checkout`: saves the contact and address (step `address`), or places the
/// order and goes on to pay (step `place`).
pub(crate) async fn place(
    State(sf): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> Response {
    if cross_site(&headers) {
        return refused();
    }
    let Some(held) = current_cart(&sf, &headers).await else {
        return see_other("/cart");
    };
    let (id, access) = (held.id, held.access.clone());
    let saved = async {
        sf.checkout.set_cart_email(id, &access, &form.email).await?;
        sf.checkout
            .set_shipping_address(id, &access, form.address())
            .await?;
        if let Some(option) = form.shipping_option.as_deref().filter(|o| !o.is_empty()) {
            sf.checkout.set_shipping_option(id, &access, option).await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(err) = saved {
        return checkout_page(
            &sf,
            StatusCode::UNPROCESSABLE_ENTITY,
            &held,
            &form,
            Some(explain(&err)),
        )
        .await;
    }
    if form.step != "place" {
        return see_other("/checkout");
    }
    let body = CheckoutBody {
        email: None,
        shipping_address: None,
        shipping_address_id: None,
        billing_address: None,
        shipping_option_id: None,
        payment_provider: form
            .payment_provider
            .clone()
            .unwrap_or_else(|| "manual".into()),
        expected_total: form.expected_total,
    };
    // One order per cart: a second press of the button gets the first answer back.
    let key = format!("storefront:{id}");
    let placed = sf.checkout.place_order(id, &access, body, &key, &key).await;
    let reload = async |error: String| {
        let now = current_cart(&sf, &headers)
            .await
            .unwrap_or_else(|| held.clone());
        checkout_page(&sf, StatusCode::CONFLICT, &now, &form, Some(error)).await
    };
    let replay = match placed {
        Ok(replay) => replay,
        Err(err) => return reload(explain(&err)).await,
    };
    if replay.status != 201 && replay.status != 200 {
        let problem: Value = serde_json::from_str(&replay.body).unwrap_or_default();
        let detail = problem["detail"]
            .as_str()
            .or_else(|| problem["title"].as_str())
            .unwrap_or("the order could not be placed")
            .to_string();
        return reload(detail).await;
    }
    // The stored answer is the API's `CheckoutView`, read back as JSON.
    let done: Value = serde_json::from_str(&replay.body).unwrap_or_default();
    let (Some(order_id), Some(payment_id)) =
        (done["order"]["id"].as_str(), done["payment"]["id"].as_str())
    else {
        return reload("the order could not be read back".into()).await;
    };
    let confirmation = match done["order_token"].as_str() {
        Some(token) => format!("/orders/{order_id}?token={token}"),
        // A customer's order is in their account.
        None => format!("/account/orders/{order_id}"),
    };
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let payment = &done["payment"];
    let pay = match (payment["redirect_url"].as_str(), payment["access"].as_str()) {
        (Some(url), _) if payment["provider"] != "manual" => url.to_string(),
        (_, Some(access)) => format!(
            "/api/v1/payments/{payment_id}/pay?access={}&return={}",
            encode(access),
            encode(&confirmation)
        ),
        _ => confirmation,
    };
    let mut response = see_other(&pay);
    response
        .headers_mut()
        .append(header::SET_COOKIE, sf.set_cookie("", 0));
    response
}
