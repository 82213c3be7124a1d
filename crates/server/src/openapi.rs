//! The OpenAPI 3.1 document: every route registers itself through `utoipa-axum`, and this
//! module adds the document-wide parts (info, tags, the problem schema).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Document-wide metadata; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Emporium",
        description = "The Emporium commerce API: store API for customers and guests under \
                       /api/v1, admin API for staff under /api/v1/admin. Errors are RFC 9457 \
                       problem+json; money is integer minor units with an ISO 4217 currency.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    servers((url = "/", description = "This node")),
    components(schemas(
        emporium_core::error::Problem,
        emporium_core::error::FieldError,
        emporium_core::Money
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "auth", description = "Registration, login, tokens, email verification, password reset"),
        (name = "me", description = "The signed-in user: profile and two-factor authentication"),
        (name = "catalog", description = "Products, variants and categories as shoppers see them"),
        (name = "checkout", description = "Carts, shipping and tax, and placing orders"),
        (name = "orders", description = "Orders: the customer's history and staff order management"),
        (name = "inventory", description = "Stock per location, adjustments, backorder policy, the stock ledger"),
        (name = "admin", description = "Staff routes; each needs a named permission"),
        (name = "accounts", description = "The signed-in customer's address book"),
        (name = "payments", description = "Payment attempts, the test payment page, gateway webhooks and refunds"),
        (name = "shipping", description = "Shipping zones and methods, shipments and tracking"),
        (name = "reviews", description = "Product reviews: reading, writing, votes, reports and photos"),
        (name = "reports", description = "Sales reports from the sales ledger's rollups: sales over time with a comparison period, breakdowns by product, variant, country, coupon, customer type and payment provider, the dashboard, and the ledger as CSV"),
        (name = "promotions", description = "Automatic promotions and coupon codes: conditions, combination rules, usage limits and budgets, codes in batches, redemptions and performance"),
        (name = "support", description = "The helpdesk: customers' tickets, staff replies and notes, canned replies, agents and assignment, and inbound mail"),
        (name = "integrations", description = "Outgoing webhooks (Standard Webhooks) and API keys for server-to-server calls"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the protected routes name, and `cart_token`: a guest cart's
/// secret in `X-Cart-Token`, which the cart and order routes take in place of a sign-in.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cart_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Cart-Token",
                "A guest cart's secret, answered once when the cart is made",
            ))),
        );

        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Cart routes take either the guest's cart token or a customer's sign-in; said once here
/// rather than on each route.
/// Every operation of a path.
fn operations(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

fn secure_carts(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/carts/{id}") {
            continue;
        }
        for operation in operations(item) {
            operation.security = Some(vec![
                SecurityRequirement::new("cart_token", Vec::<String>::new()),
                SecurityRequirement::new("bearer", Vec::<String>::new()),
            ]);
        }
    }
}

/// Gives every response without a description its status's reason phrase: OpenAPI
/// requires one, and most of our responses are described by their schema alone. Also
/// declares how cart routes are secured.
pub fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    secure_carts(openapi);
    use utoipa::openapi::RefOr;
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter {
                    give_example(parameter);
                }
            }
            add_possible_problems(path, operation);
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_string();
                }
            }
        }
    }
}

/// A sample value for a parameter the handler did not give one, by its name: ids,
/// paging, locale and the common filters mean the same on every route.
fn give_example(parameter: &mut utoipa::openapi::path::Parameter) {
    use serde_json::json;
    use utoipa::openapi::path::ParameterBuilder;
    let has_one = serde_json::to_value(&*parameter)
        .map(|v| !v["example"].is_null())
        .unwrap_or(true);
    if has_one {
        return;
    }
    let description = parameter.description.clone().unwrap_or_default();
    let mentions = |word: &str| description.contains(word);
    let by_number = mentions("number");
    let example = match parameter.name.as_str() {
        "id" if by_number => json!("1001"),
        "id" | "variant_id" | "image_id" | "line_id" | "actor" | "location_id" | "customer_id"
        | "target_id" | "product_id" | "delivery_id" | "reply_id" => {
            json!("0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d")
        }
        "order" => json!("0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f"),
        "stars" => json!(5),
        "verified" | "photos" | "reported" => json!(true),
        "limit" => json!(20),
        "offset" => json!(0),
        "cursor" => json!("MDE5MmYwYzQtNmYxZS03YzNh"),
        "currency" => json!("EUR"),
        "lang" => json!("de"),
        "q" => json!("linen shirt"),
        "provider" => json!("stripe"),
        "carrier" => json!("ups"),
        "access" | "token" => json!("q3xN0gkq2Yw7m1cXbTn5uQeR8sVdLhZa"),
        "return" => json!(
            "/orders/0192f0c2-1a4b-7d5e-8f60-7a8b9c0d1e2f?token=q3xN0gkq2Yw7m1cXbTn5uQeR8sVdLhZa"
        ),
        "category" => json!("shirts"),
        "collection" => json!("summer-sale"),
        "id_or_slug" => json!("linen-shirt"),
        "sort" if mentions("helpful") => json!("helpful"),
        "sort" => json!("-price"),
        "Idempotency-Key" => json!("checkout-7f3c2a9e"),
        "action" => json!("admin.products."),
        "target_type" => json!("order"),
        "from" | "created_from" => json!("2026-11-01T00:00:00Z"),
        "to" | "created_to" => json!("2026-12-01T00:00:00Z"),
        "low" | "out" | "backordered" | "in_stock" | "cancelled" => json!(true),
        "payment_status" => json!("paid"),
        "fulfillment_status" => json!("partially_shipped"),
        "status" if mentions("draft") => json!("published"),
        "status" if mentions("rejected") => json!("pending"),
        "status" if mentions("snoozed") => json!("active"),
        "assignee" => json!("me"),
        "ticket" => json!("0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d"),
        "after" => json!(3),
        "priority" => json!("high"),
        "tag" => json!("delivery"),
        "file" => json!("3f9c2a1b7d0e4f5a6b7c8d9e0f1a2b3c.pdf"),
        "status" => json!("paid"),
        "email" => json!("jane.doe@example.com"),
        "total_min" | "price_min" => json!(1000),
        "total_max" | "price_max" => json!(20000),
        "rating_min" => json!(4),
        "role" => json!("staff"),
        "code" => json!("4/0AbCdEfGh"),
        "state" => json!("Zt5kq0x2Vb"),
        "error" => json!("access_denied"),
        "redirect_to" => json!("https://shop.example.com/account"),
        "name" => json!("3f9c2a1b7d0e4f5a-400.webp"),
        _ => return,
    };
    let built = ParameterBuilder::from(std::mem::take(parameter))
        .example(Some(example))
        .build();
    *parameter = built;
}

/// The problems an operation can answer by how it is built, documented where a handler
/// did not list them: every extractor that checks a token, a permission, a path or a
/// body answers the same way on every route.
fn add_possible_problems(path: &str, operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let security = serde_json::to_value(&operation.security).unwrap_or_default();
    let signed_in = security.to_string().contains("\"bearer\"");
    let takes_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let possible = [
        (
            "401",
            signed_in,
            "No valid access token (`unauthenticated`, `invalid_token`, `stale_token`)",
        ),
        (
            "403",
            path.starts_with("/api/v1/admin/"),
            "Signed in without the permission this route needs",
        ),
        ("404", path.contains('{'), "Nothing at this path"),
        (
            "422",
            takes_input,
            "A parameter or field is missing, of the wrong type or invalid; `errors` names each",
        ),
    ];
    for (status, applies, description) in possible {
        if !applies || operation.responses.responses.contains_key(status) {
            continue;
        }
        let problem = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.to_string(), problem.into());
    }
}
