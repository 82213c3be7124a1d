//! A shop to test against: published products with stocked variants made through the
//! admin API, and guest carts driven through the store API.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::{Session, TestApp};

/// A published product made for a test.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub slug: String,
    /// Variant ids, in the order of the sizes asked for.
    pub variants: Vec<String>,
}

/// A guest cart: its id and secret token.
#[derive(Debug, Clone)]
pub struct GuestCart {
    pub id: String,
    pub token: String,
}

/// A valid shipping address in `country` (US addresses are in California).
pub fn address(country: &str) -> Value {
    let (postal, region) = match country {
        "US" => ("94105", Some("CA")),
        "DE" => ("10115", None),
        "GB" => ("SW1A 1AA", None),
        _ => ("12345", None),
    };
    json!({"name": "Ada Lovelace", "line1": "1 Market St", "city": "Springfield",
           "region": region, "postal_code": postal, "country": country})
}

impl TestApp {
    /// Creates and publishes a product with one variant per size, each priced `usd`
    /// minor units and stocked with `stock` units.
    pub async fn product(
        &self,
        admin: &Session,
        title: &str,
        sizes: &[&str],
        usd: i64,
        stock: i64,
    ) -> Product {
        let slug = format!(
            "{}-{}",
            title.to_lowercase().replace(' ', "-"),
            uuid::Uuid::now_v7().simple()
        );
        let variants: Vec<Value> = sizes
            .iter()
            .map(|s| json!({"sku": format!("{slug}-{s}"), "options": {"size": s}, "prices": {"USD": {"amount": usd}}}))
            .collect();
        let body = json!({
            "slug": slug,
            "translations": {"en": {"title": title, "description": "Made for a test."}},
            "options": [{"name": "size", "values": sizes}],
            "variants": variants,
        });
        let product = self.published_product(admin, &body).await;
        let id = product["id"].as_str().expect("product id").to_string();
        let variants: Vec<String> = product["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .map(|v| v["id"].as_str().expect("variant id").to_string())
            .collect();
        if stock != 0 {
            for v in &variants {
                self.adjust_stock(admin, v, stock).await;
            }
        }
        Product { id, slug, variants }
    }

    /// Creates a product from an admin API body and publishes it; answers the product.
    pub async fn published_product(&self, admin: &Session, body: &Value) -> Value {
        let response = self
            .call(
                Method::POST,
                "/api/v1/admin/products",
                Some(&admin.access_token),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), 201, "create product");
        let product: Value = response.json().await.expect("product json");
        let id = product["id"].as_str().expect("product id");
        let response = self
            .call(
                Method::POST,
                &format!("/api/v1/admin/products/{id}/publish"),
                Some(&admin.access_token),
                None,
            )
            .await;
        assert_eq!(response.status(), 200, "publish");
        product
    }

    /// Adds `delta` units of a variant at the default location.
    pub async fn adjust_stock(&self, admin: &Session, variant: &str, delta: i64) -> Value {
        let response = self
            .call(
                Method::POST,
                &format!("/api/v1/admin/inventory/{variant}/adjustments"),
                Some(&admin.access_token),
                Some(&json!({"delta": delta, "reason": "received"})),
            )
            .await;
        assert_eq!(response.status(), 200, "adjust stock");
        response.json().await.expect("stock json")
    }

    /// A variant's stock (`GET /admin/inventory/{id}`).
    pub async fn stock(&self, admin: &Session, variant: &str) -> Value {
        let response = self
            .call(
                Method::GET,
                &format!("/api/v1/admin/inventory/{variant}"),
                Some(&admin.access_token),
                None,
            )
            .await;
        assert_eq!(response.status(), 200, "stock");
        response.json().await.expect("stock json")
    }

    /// A new guest cart.
    pub async fn guest_cart(&self) -> GuestCart {
        let response = self
            .request(Method::POST, "/api/v1/carts")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201, "create cart");
        let cart: Value = response.json().await.expect("cart json");
        GuestCart {
            id: cart["id"].as_str().expect("cart id").to_string(),
            token: cart["token"].as_str().expect("cart token").to_string(),
        }
    }

    /// Sends a request as the holder of a guest cart.
    pub async fn cart_call(
        &self,
        cart: &GuestCart,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .request(method, path)
            .header("x-cart-token", &cart.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("sent")
    }

    /// Sets a guest cart's shipping address; answers the response.
    pub async fn set_shipping_address(&self, cart: &GuestCart, address: &Value) -> Response {
        self.cart_call(
            cart,
            Method::PUT,
            &format!("/api/v1/carts/{}/shipping-address", cart.id),
            Some(address),
        )
        .await
    }

    /// Adds a variant to a guest cart; answers the response.
    pub async fn add_to_cart(&self, cart: &GuestCart, variant: &str, quantity: i64) -> Response {
        self.cart_call(
            cart,
            Method::POST,
            &format!("/api/v1/carts/{}/items", cart.id),
            Some(&json!({"variant_id": variant, "quantity": quantity})),
        )
        .await
    }

    /// Checks a guest cart out with `key`, shipping to `country`.
    pub async fn checkout(&self, cart: &GuestCart, key: &str, country: &str) -> Response {
        let body = json!({"email": "buyer@example.com", "shipping_address": address(country), "payment_provider": "manual"});
        self.request(Method::POST, &format!("/api/v1/carts/{}/checkout", cart.id))
            .header("x-cart-token", &cart.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .expect("sent")
    }
}
