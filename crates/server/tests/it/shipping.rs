//! Shipping: the customer's address book, shipping zones and rates of every kind, carrier
//! quotes with a fallback to table rates, and shipments with tracking.

use emporium_testkit::{Session, TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

async fn as_user(
    app: &TestApp,
    user: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.call(method, path, Some(&user.access_token), body.as_ref())
        .await
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_address_book_checks_addresses_and_keeps_one_default_of_each_kind() {
    let app = TestApp::spawn().await;
    let ada = app.customer().await;
    let home = json_of(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "label": "Home", "name": "Ada Lovelace", "line1": "1 Market St", "city": "San Francisco",
            "region": "CA", "postal_code": "94105", "country": "us"}))).await,
        201,
    )
    .await;
    assert_eq!(home["country"], "US");
    assert_eq!(
        (
            home["default_shipping"].clone(),
            home["default_billing"].clone()
        ),
        (json!(true), json!(true))
    );

    // Checked per country, with every wrong field named.
    let bad = problem(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "name": "Ada", "line1": "1 Main St", "city": "Austin", "postal_code": "7870", "country": "US"}))).await,
        422,
    )
    .await;
    let named = fields(&bad);
    assert!(
        named.contains(&"region".to_string()) && named.contains(&"postal_code".to_string()),
        "{named:?}"
    );
    let missing = problem(
        as_user(
            &app,
            &ada,
            Method::POST,
            "/api/v1/me/addresses",
            Some(json!({"label": "x"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&missing), vec!["name", "line1", "city", "country"]);
    let unknown = problem(
        as_user(
            &app,
            &ada,
            Method::POST,
            "/api/v1/me/addresses",
            Some(json!({"street": "x"})),
        )
        .await,
        422,
    )
    .await;
    assert!(unknown["detail"].is_string());
    let gb = problem(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "name": "Ada", "line1": "10 Downing St", "city": "London", "postal_code": "12345", "country": "GB"}))).await,
        422,
    )
    .await;
    assert_eq!(fields(&gb), vec!["postal_code"]);

    let office = json_of(
        as_user(&app, &ada, Method::POST, "/api/v1/me/addresses", Some(json!({
            "label": "Office", "name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin",
            "postal_code": "10117", "country": "DE", "default_shipping": true}))).await,
        201,
    )
    .await;
    let id = office["id"].as_str().expect("id").to_string();
    let list = json_of(
        as_user(&app, &ada, Method::GET, "/api/v1/me/addresses", None).await,
        200,
    )
    .await;
    assert_eq!(list.as_array().expect("list").len(), 2);
    assert_eq!(
        list[0]["id"], office["id"],
        "the default shipping address comes first"
    );
    assert_eq!(list[0]["default_shipping"], true);
    assert_eq!(list[1]["default_shipping"], false);
    assert_eq!(list[1]["default_billing"], true);

    // A partial change is checked whole.
    let moved = json_of(
        as_user(
            &app,
            &ada,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"line1": "Pariser Platz 1"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["line1"], "Pariser Platz 1");
    assert_eq!(moved["city"], "Berlin");
    let wrong = problem(
        as_user(
            &app,
            &ada,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"postal_code": "ABCDE"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&wrong), vec!["postal_code"]);

    // Nobody else sees or touches it.
    let grace = app.customer().await;
    assert_eq!(
        as_user(
            &app,
            &grace,
            Method::PATCH,
            &format!("/api/v1/me/addresses/{id}"),
            Some(json!({"city": "Bonn"}))
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        as_user(
            &app,
            &grace,
            Method::DELETE,
            &format!("/api/v1/me/addresses/{id}"),
            None
        )
        .await
        .status(),
        404
    );
    assert!(
        json_of(
            as_user(&app, &grace, Method::GET, "/api/v1/me/addresses", None).await,
            200
        )
        .await
        .as_array()
        .expect("list")
        .is_empty()
    );
    assert_eq!(app.get("/api/v1/me/addresses").await.status(), 401);

    // Deleting the default passes it on.
    assert_eq!(
        as_user(
            &app,
            &ada,
            Method::DELETE,
            &format!("/api/v1/me/addresses/{id}"),
            None
        )
        .await
        .status(),
        204
    );
    let list = json_of(
        as_user(&app, &ada, Method::GET, "/api/v1/me/addresses", None).await,
        200,
    )
    .await;
    assert_eq!(list.as_array().expect("list").len(), 1);
    assert_eq!(list[0]["default_shipping"], true);
}
