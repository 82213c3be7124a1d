//! Roles, permissions, admin user management, suspension, abuse protection and the audit log.

use axum::routing::post;
use emporium_testkit::session::PASSWORD;
use emporium_testkit::{TestApp, TestOptions, problem};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn admin_routes_need_staff_with_the_permission() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let none = app.get("/api/v1/admin/users").await;
    assert_eq!(problem(none, 401).await["code"], "unauthenticated");
    let forbidden = app
        .call(
            Method::GET,
            "/api/v1/admin/users",
            Some(&customer.access_token),
            None,
        )
        .await;
    assert_eq!(problem(forbidden, 403).await["code"], "forbidden");

    let reader = app.staff(&["users.read"]).await;
    let list = app
        .call(
            Method::GET,
            "/api/v1/admin/users",
            Some(&reader.access_token),
            None,
        )
        .await;
    assert_eq!(list.status(), 200);
    let change = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", customer.user_id),
            Some(&reader.access_token),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(problem(change, 403).await["code"], "forbidden");
}

#[tokio::test]
async fn admins_search_and_page_through_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for name in ["alpha", "bravo", "charlie"] {
        app.register(&format!("{name}@shop.test"), PASSWORD).await;
    }
    let token = Some(admin.access_token.as_str());
    let page1: Value = app
        .call(
            Method::GET,
            "/api/v1/admin/users?q=shop.test&limit=2",
            token,
            None,
        )
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(page1["data"].as_array().expect("data").len(), 2);
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    let page2: Value = app
        .call(
            Method::GET,
            &format!("/api/v1/admin/users?q=shop.test&limit=2&cursor={cursor}"),
            token,
            None,
        )
        .await
        .json()
        .await
        .expect("page");
    let emails: Vec<&str> = page1["data"]
        .as_array()
        .expect("data")
        .iter()
        .chain(page2["data"].as_array().expect("data"))
        .map(|u| u["email"].as_str().expect("email"))
        .collect();
    assert_eq!(
        emails,
        ["charlie@shop.test", "bravo@shop.test", "alpha@shop.test"]
    );
    assert!(page2["next_cursor"].is_null());

    let bad = app
        .call(Method::GET, "/api/v1/admin/users?limit=500", token, None)
        .await;
    assert_eq!(problem(bad, 422).await["errors"][0]["field"], "limit");
    let bad_cursor = app
        .call(Method::GET, "/api/v1/admin/users?cursor=zzz", token, None)
        .await;
    assert_eq!(
        problem(bad_cursor, 422).await["errors"][0]["field"],
        "cursor"
    );
    let missing = app
        .call(Method::GET, "/api/v1/admin/users/not-a-uuid", token, None)
        .await;
    assert_eq!(missing.status(), 404);
    let unknown_perm = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", admin.user_id),
            token,
            Some(&json!({"permissions": ["orders.nuke"]})),
        )
        .await;
    assert_eq!(
        problem(unknown_perm, 422).await["errors"][0]["field"],
        "permissions"
    );
}

#[tokio::test]
async fn suspension_blocks_login_and_refresh_and_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let token = Some(admin.access_token.as_str());
    let suspend = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{}/suspend", customer.user_id),
            token,
            None,
        )
        .await;
    assert_eq!(suspend.status(), 200);
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": customer.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 403);
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": customer.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), 401, "sessions were revoked");
    let me = app
        .call(
            Method::GET,
            "/api/v1/me",
            Some(&customer.access_token),
            None,
        )
        .await;
    assert_eq!(me.status(), 401);

    let unsuspend = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{}/unsuspend", customer.user_id),
            token,
            None,
        )
        .await;
    assert_eq!(unsuspend.status(), 200);
    app.login(&customer.email, PASSWORD).await;

    let self_suspend = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{}/suspend", admin.user_id),
            token,
            None,
        )
        .await;
    assert_eq!(
        problem(self_suspend, 409).await["code"],
        "cannot_suspend_self"
    );

    let db = app.db().reader();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT action FROM audit_log WHERE action LIKE 'admin.user.%' ORDER BY created_at",
        ))
        .await
        .expect("audit rows");
    let actions: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "action").expect("action"))
        .collect();
    assert!(
        actions.contains(&"admin.user.suspend".to_string()),
        "{actions:?}"
    );
    assert!(actions.contains(&"admin.user.unsuspend".to_string()));
}

#[tokio::test]
async fn role_changes_void_old_admin_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let staff = app.staff(&["users.read"]).await;
    let demote = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", staff.user_id),
            Some(&admin.access_token),
            Some(&json!({"role": "customer", "permissions": []})),
        )
        .await;
    assert_eq!(demote.status(), 200);
    let stale = app
        .call(
            Method::GET,
            "/api/v1/admin/users",
            Some(&staff.access_token),
            None,
        )
        .await;
    assert_eq!(problem(stale, 401).await["code"], "stale_token");
}

#[tokio::test]
async fn forced_reset_emails_a_link_and_signs_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    app.drain_outbox().await;
    let forced = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/users/{}/password-reset", customer.user_id),
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(forced.status(), 202);
    app.drain_outbox().await;
    assert!(
        app.smtp
            .mails_to(&customer.email)
            .iter()
            .any(|m| m.subject().contains("Reset"))
    );
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": customer.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), 401);
}

#[tokio::test]
async fn per_ip_rate_limits_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.auth.ip_per_minute = 3),
        ..TestOptions::default()
    })
    .await;
    for _ in 0..3 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": "x@example.com", "password": "whatever it is"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let limited = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "x@example.com", "password": "whatever it is"}),
        )
        .await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    assert_eq!(problem(limited, 429).await["code"], "rate_limited");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| {
            c.auth.lockout_after = 3;
            c.auth.lockout_secs = 60;
        }),
        ..TestOptions::default()
    })
    .await;
    let session = app.customer().await;
    for _ in 0..3 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": session.email, "password": "not the password"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let locked = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": PASSWORD}),
        )
        .await;
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(
        locked.status(),
        429,
        "even the right password waits out the lock"
    );
}

#[tokio::test]
async fn a_captcha_is_required_after_failures_when_configured() {
    // A local siteverify endpoint: "good" passes, anything else fails.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorded = seen.clone();
    let verify = axum::Router::new().route(
        "/siteverify",
        post(move |body: String| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().expect("lock").push(body.clone());
                let success = body.contains("response=good");
                axum::Json(json!({"success": success}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, verify).await });

    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(move |c| {
            c.auth.captcha_after = 2;
            c.auth.captcha_secret = Some("turnstile-secret".to_string().into());
            c.auth.captcha_verify_url = format!("http://{addr}/siteverify");
        }),
        ..TestOptions::default()
    })
    .await;
    let session = app.customer().await;
    for _ in 0..2 {
        app.post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": "not the password"}),
        )
        .await;
    }
    let required = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(problem(required, 401).await["code"], "captcha_required");
    let failed = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": PASSWORD, "captcha_token": "bad"}),
        )
        .await;
    assert_eq!(problem(failed, 401).await["code"], "captcha_failed");
    let passed = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": PASSWORD, "captcha_token": "good"}),
        )
        .await;
    assert_eq!(passed.status(), 200);
    let forms = seen.lock().expect("lock").clone();
    assert!(
        forms.iter().all(|f| f.contains("secret=turnstile-secret")),
        "{forms:?}"
    );
}
