//! Health, readiness, OpenAPI, metrics and the problem+json answers for bad input.

use crate::support;
use emporium_testkit::{TcpProxy, TestApp, TestOptions, problem};
use reqwest::Method;
use serde_json::{Value, json};

async fn app_with_test_routes() -> TestApp {
    TestApp::spawn_with(TestOptions {
        extra_routes: Some(support::routes()),
        configure: Box::new(|c| {
            c.http.body_limit_bytes = 2048;
            c.http.request_timeout_secs = 1;
            c.http.cors_origins = vec!["https://shop.example".into()];
        }),
        ..TestOptions::default()
    })
    .await
}

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_given_request_id_is_echoed() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn readyz_checks_the_database() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_follows_the_database_going_away_and_coming_back() {
    let Some(admin) = emporium_testkit::postgres_admin_url() else {
        // A SQLite file cannot become unreachable the way a server can.
        return;
    };
    let probe = TestApp::spawn().await;
    let target = postgres_socket(&admin);
    let proxy = TcpProxy::start(target).await;
    let through_proxy = probe
        .database()
        .url()
        .replacen(&target.to_string(), &proxy.addr.to_string(), 1)
        .replacen("localhost:", "127.0.0.1:", 0);
    assert_ne!(
        through_proxy,
        probe.database().url(),
        "URL must name host:port"
    );
    let url = through_proxy.clone();
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(move |c| {
            c.database_url = Some(url.into());
            c.db_acquire_timeout_secs = 1;
        }),
        ..TestOptions::default()
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut();
    let down = app.get("/readyz").await;
    assert!(down.headers().contains_key("retry-after"));
    let body = problem(down, 503).await;
    assert_eq!(body["code"], "unavailable");

    proxy.restore();
    // The pool reconnects on its own; poll instead of sleeping a fixed time.
    let mut ready = false;
    for _ in 0..50 {
        if app.get("/readyz").await.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "readyz did not recover without a restart");
}

fn postgres_socket(url: &str) -> std::net::SocketAddr {
    let rest = url.split("://").nth(1).expect("scheme");
    let host_port = rest
        .rsplit('@')
        .next()
        .expect("host")
        .split('/')
        .next()
        .expect("host");
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .expect("EMPORIUM_TEST_DATABASE_URL names an IP host and port")
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = TestApp::spawn().await;
    let body = problem(app.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn wrong_methods_are_405_problems_with_allow() {
    let app = TestApp::spawn().await;
    let response = app.post_json("/healthz", &json!({})).await;
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let body = problem(response, 405).await;
    assert_eq!(body["code"], "method_not_allowed");
    assert!(allow.unwrap_or_default().contains("GET"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app_with_test_routes().await;
    let response = app
        .request(Method::POST, "/__test/echo")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("sent");
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "malformed_json");
}

#[tokio::test]
async fn wrong_shapes_are_422_naming_the_field() {
    let app = app_with_test_routes().await;
    let response = app
        .post_json("/__test/echo", &json!({"name": "x", "quantity": "many"}))
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "quantity");

    let response = app.post_json("/__test/echo", &json!({"name": "x"})).await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "quantity");

    let ok = app
        .post_json("/__test/echo", &json!({"name": "x", "quantity": 2}))
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = app_with_test_routes().await;
    let response = app
        .request(Method::POST, "/__test/echo")
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\",\"quantity\":1}")
        .send()
        .await
        .expect("sent");
    let body = problem(response, 415).await;
    assert_eq!(body["code"], "unsupported_media_type");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = app_with_test_routes().await;
    let big = json!({"name": "x".repeat(4096), "quantity": 1});
    let body = problem(app.post_json("/__test/echo", &big).await, 413).await;
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn panics_are_500_problems_and_the_server_lives_on() {
    let app = app_with_test_routes().await;
    let response = app.get("/__test/panic").await;
    assert!(response.headers().contains_key("x-request-id"));
    let body = problem(response, 500).await;
    assert_eq!(body["detail"], "internal error");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn slow_requests_time_out_as_503_problems() {
    let app = app_with_test_routes().await;
    let body = problem(app.get("/__test/slow").await, 503).await;
    assert_eq!(body["code"], "timeout");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = app_with_test_routes().await;
    let allowed = app
        .request(Method::GET, "/healthz")
        .header("origin", "https://shop.example")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let other = app
        .request(Method::GET, "/healthz")
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("sent");
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_the_routes() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/api/v1/openapi.json")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let plain = app.get("/api/v1/openapi.json").await;
    let doc: Value = plain.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // OpenAPI requires a description on every response.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"));
}

#[tokio::test]
async fn metrics_expose_requests_pool_and_outbox() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""));
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_connections"));
    assert!(text.contains("outbox_jobs"));
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let app = TestApp::spawn_with(TestOptions {
        extra_routes: Some(support::slow_route(started.clone())),
        ..TestOptions::default()
    })
    .await;
    let request = app.client.get(app.url("/__test/slow")).send();
    let in_flight = tokio::spawn(request);
    started.notified().await;
    app.stop().await;
    let response = in_flight.await.expect("joined").expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "done");
}

/// The committed OpenAPI document: a refactoring that changes a path or a shape shows up
/// here as a diff. After an intended change, regenerate it with
/// `EMPORIUM_UPDATE_OPENAPI=1 cargo test openapi_document_matches`.
const OPENAPI_SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi.json");

#[tokio::test]
async fn openapi_document_matches_the_committed_one_and_a_client_can_use_it() {
    let doc = serde_json::to_value(emporium_server::openapi()).expect("json");
    let text = serde_json::to_string_pretty(&doc).expect("text") + "\n";
    if std::env::var_os("EMPORIUM_UPDATE_OPENAPI").is_some() {
        std::fs::write(OPENAPI_SNAPSHOT, &text).expect("write snapshot");
    }
    let committed = std::fs::read_to_string(OPENAPI_SNAPSHOT).expect("committed snapshot");
    assert!(
        committed == text,
        "the OpenAPI document changed; if that was intended, run \
         EMPORIUM_UPDATE_OPENAPI=1 cargo test openapi_document_matches and commit \
         crates/server/tests/openapi.json"
    );
    // What a generated client needs: a summary per operation, declared tags, the cart
    // token as a security scheme on cart routes, a schema for the image upload, and an
    // example of every request (its body and each of its parameters).
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            for tag in operation["tags"].as_array().into_iter().flatten() {
                let tag = tag.as_str().unwrap_or("");
                assert!(
                    declared.contains(&tag),
                    "{method} {path}: tag {tag} undeclared"
                );
            }
            let responses = &operation["responses"];
            let signed_in = operation["security"].to_string().contains("\"bearer\"");
            let takes_input = !operation["requestBody"].is_null()
                || operation["parameters"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty());
            for (status, applies) in [
                ("401", signed_in),
                ("403", path.starts_with("/api/v1/admin/")),
                ("404", path.contains('{')),
                ("422", takes_input),
            ] {
                assert!(
                    !applies || responses[status].is_object(),
                    "{method} {path} does not document {status}"
                );
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    !parameter["example"].is_null(),
                    "{method} {path}: parameter {} has no example",
                    parameter["name"]
                );
            }
            for (media, content) in operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let schema = content["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .map(|name| &doc["components"]["schemas"][name]);
                let shown = !content["example"].is_null()
                    || content["examples"].is_object()
                    || schema.is_some_and(|s| s["examples"].is_array());
                assert!(shown, "{method} {path}: the {media} body has no example");
            }
            if path.starts_with("/api/v1/carts/{id}") {
                assert_eq!(
                    operation["security"][0]["cart_token"],
                    serde_json::json!([]),
                    "{method} {path}"
                );
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["cart_token"]["name"],
        "X-Cart-Token"
    );
    let upload = &doc["paths"]["/api/v1/admin/products/{id}/images"]["post"]["requestBody"]["content"]
        ["multipart/form-data"]["schema"];
    assert!(upload.is_object(), "{upload}");
}

/// Every JSON request example in the document, sent as a client generated from it
/// would: none is refused for its shape (unknown or missing fields, wrong types), and
/// none is refused for its values where the route gets that far.
#[tokio::test]
async fn every_request_example_is_accepted_by_its_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let doc = serde_json::to_value(emporium_server::openapi()).expect("json");
    let mut sent = 0;
    let mut refused = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let content = &operation["requestBody"]["content"]["application/json"];
            let example = content["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(|name| doc["components"]["schemas"][name]["examples"][0].clone())
                .filter(|e| !e.is_null())
                .or_else(|| Some(content["example"].clone()).filter(|e| !e.is_null()));
            let Some(example) = example else { continue };
            if path.starts_with("/api/v1/webhooks/") {
                continue; // a gateway's event: its signature decides, not its shape
            }
            let mut url = path.clone();
            for (name, value) in [
                ("{id}", "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d"),
                ("{variant_id}", "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8e"),
                ("{image_id}", "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8f"),
                ("{line_id}", "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c90"),
                ("{provider}", "manual"),
                ("{currency}", "EUR"),
                ("{priority}", "high"),
            ] {
                url = url.replace(name, value);
            }
            let required: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    let example = &p["example"];
                    let value = example.as_str().map(str::to_string);
                    format!(
                        "{}={}",
                        p["name"].as_str().unwrap_or(""),
                        value.unwrap_or_else(|| example.to_string())
                    )
                })
                .collect();
            if !required.is_empty() {
                url = format!("{url}?{}", required.join("&"));
            }
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let response = app
                .request(method.clone(), &url)
                .bearer_auth(&admin.access_token)
                .header("idempotency-key", format!("example-{sent}"))
                .json(&example)
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            // Ids, tokens and passwords in examples are placeholders: a reference to
            // nothing, a token nobody issued or a password nobody has may be refused.
            let placeholder = |m: &str| {
                m.starts_with("no such")
                    || m.contains("does not exist")
                    || m.contains("not your current password")
            };
            let dangling = body["code"] == "invalid_token"
                || body["errors"].as_array().is_some_and(|errors| {
                    errors
                        .iter()
                        .all(|e| e["message"].as_str().is_some_and(placeholder))
                });
            if (status == 422 || status == 400) && !dangling {
                refused.push(format!(
                    "{method} {path} ({status}): {body}\n  example: {example}"
                ));
            }
            sent += 1;
        }
    }
    assert!(
        refused.is_empty(),
        "examples refused:\n{}",
        refused.join("\n")
    );
    assert!(sent > 40, "only {sent} examples were sent");
}

/// The API guide names every code a problem can carry, so a client author can switch
/// on all of them.
#[test]
fn the_api_guide_lists_every_error_code() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md"))
        .expect("docs/api.md");
    let missing: Vec<&str> = emporium_core::error::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !guide.contains(&format!("`{c}`")))
        .collect();
    assert!(missing.is_empty(), "docs/api.md does not list: {missing:?}");
}
