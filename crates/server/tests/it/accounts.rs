//! Registration, login, tokens, email flows and two-factor authentication.

use emporium_testkit::rfc6238::totp;
use emporium_testkit::session::PASSWORD;
use emporium_testkit::{TestApp, problem};
use reqwest::Method;
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn register_login_and_read_the_profile() {
    let app = TestApp::spawn().await;
    let user = app.register("  Ada.Lovelace@Example.COM ", PASSWORD).await;
    assert_eq!(user["email"], "ada.lovelace@example.com");
    assert_eq!(user["role"], "customer");
    assert_eq!(user["email_verified"], false);

    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "ADA.lovelace@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.expect("json");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let me: Value = app
        .call(
            Method::GET,
            "/api/v1/me",
            tokens["access_token"].as_str(),
            None,
        )
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(me["email"], "ada.lovelace@example.com");

    let patched = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            tokens["access_token"].as_str(),
            Some(&json!({"name": "Ada", "phone": "+442071234567"})),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let bad_phone = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            tokens["access_token"].as_str(),
            Some(&json!({"phone": "12"})),
        )
        .await;
    assert_eq!(problem(bad_phone, 422).await["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn registration_refuses_bad_input_with_field_errors() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "Password123"}),
            "password",
        ),
        (
            json!({"email": "someone@example.com", "password": "someone@example.com"}),
            "password",
        ),
        (json!({"password": PASSWORD}), "email"),
        (json!({"email": "a@example.com"}), "password"),
        (json!({"email": 5, "password": PASSWORD}), "email"),
    ];
    for (body, field) in cases {
        let response = app.post_json("/api/v1/auth/register", &body).await;
        let problem = problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    app.register("taken@example.com", PASSWORD).await;
    let again = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "TAKEN@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(problem(again, 409).await["code"], "email_taken");
}

#[tokio::test]
async fn login_answers_unknown_email_and_wrong_password_alike() {
    let app = TestApp::spawn().await;
    app.register("known@example.com", PASSWORD).await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "known@example.com", "password": "wrong password here"}),
        )
        .await;
    let (a, b) = (problem(unknown, 401).await, problem(wrong, 401).await);
    assert_eq!(a["code"], "invalid_credentials");
    assert_eq!(
        (a["code"].clone(), a["detail"].clone()),
        (b["code"].clone(), b["detail"].clone())
    );

    for (body, field) in [
        (json!({"email": "bad", "password": "x"}), "email"),
        (json!({"email": "known@example.com"}), "password"),
        (
            json!({"email": "known@example.com", "password": ""}),
            "password",
        ),
    ] {
        let response = app.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(problem(response, 422).await["errors"][0]["field"], field);
    }
}

#[tokio::test]
async fn every_auth_endpoint_answers_422_for_missing_fields() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/login/mfa",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
    ] {
        let response = app.post_json(path, &json!({})).await;
        let body = problem(response, 422).await;
        assert!(body["errors"][0]["field"].is_string(), "{path}: {body}");
    }
    let bad_email = app
        .post_json("/api/v1/auth/password/forgot", &json!({"email": "x"}))
        .await;
    assert_eq!(problem(bad_email, 422).await["errors"][0]["field"], "email");
}

#[tokio::test]
async fn the_verification_email_link_verifies_once() {
    let app = TestApp::spawn().await;
    let session = app.customer().await;
    // The email, and the webhooks fan-out of each event of the registration.
    assert!(app.drain_outbox().await >= 1);
    let mails = app.smtp.mails_to(&session.email);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject().contains("Confirm your email"));
    let token = mails[0].link_param("token").expect("token in link");

    let response = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(response.status(), 200);
    let me: Value = app
        .call(Method::GET, "/api/v1/me", Some(&session.access_token), None)
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(me["email_verified"], true);
    let again = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(problem(again, 400).await["code"], "invalid_token");
}

#[tokio::test]
async fn password_reset_is_single_use_and_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let session = app.customer().await;
    app.drain_outbox().await;

    let unknown = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), 202);
    let known = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"email": session.email}),
        )
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(
        app.drain_outbox().await,
        1,
        "only the real account gets mail"
    );
    let mail = app.smtp.mails_to(&session.email).pop().expect("reset mail");
    assert!(mail.subject().contains("Reset"));
    let token = mail.link_param("token").expect("token");

    let weak = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(problem(weak, 422).await["errors"][0]["field"], "password");
    let new_password = "a brand new passphrase";
    let reset = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(reset.status(), 204);
    let again = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(problem(again, 400).await["code"], "invalid_token");

    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), 401, "old sessions are revoked");
    let old = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": session.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), 401);
    app.login(&session.email, new_password).await;
    app.drain_outbox().await;
    assert!(
        app.smtp
            .mails_to(&session.email)
            .iter()
            .any(|m| m.subject().contains("was changed"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let session = app.customer().await;
    let first: Value = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await
        .json()
        .await
        .expect("pair");
    let rotated = first["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_ne!(rotated, session.refresh_token);

    // The old token again: theft. The whole family goes.
    let reuse = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(problem(reuse, 401).await["code"], "refresh_token_reused");
    let after = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": rotated}))
        .await;
    assert_eq!(
        after.status(),
        401,
        "the rotated token died with its family"
    );

    // Another login is another family and still works.
    let other = app.login(&session.email, PASSWORD).await;
    let ok = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other.refresh_token}),
        )
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = TestApp::spawn().await;
    let session = app.customer().await;
    let out = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(out.status(), 204);
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(refresh.status(), 401);
    let garbage = app
        .call(Method::GET, "/api/v1/me", Some("not-a-jwt"), None)
        .await;
    assert_eq!(problem(garbage, 401).await["code"], "invalid_token");
    let none = app.get("/api/v1/me").await;
    assert_eq!(problem(none, 401).await["code"], "unauthenticated");
}

#[tokio::test]
async fn totp_from_a_standard_implementation_works_once_and_recovery_codes_once() {
    let app = TestApp::spawn().await;
    let session = app.customer().await;
    let token = Some(session.access_token.as_str());

    let setup: Value = app
        .call(Method::POST, "/api/v1/me/mfa/totp/setup", token, None)
        .await
        .json()
        .await
        .expect("setup");
    let secret = setup["secret"].as_str().expect("secret").to_string();
    assert!(
        setup["otpauth_url"]
            .as_str()
            .expect("url")
            .starts_with("otpauth://totp/")
    );

    let wrong = app
        .call(
            Method::POST,
            "/api/v1/me/mfa/totp/enable",
            token,
            Some(&json!({"code": "000000"})),
        )
        .await;
    assert_eq!(problem(wrong, 422).await["errors"][0]["field"], "code");
    let t = now();
    let enabled = app
        .call(
            Method::POST,
            "/api/v1/me/mfa/totp/enable",
            token,
            Some(&json!({"code": totp(&secret, t)})),
        )
        .await;
    assert_eq!(enabled.status(), 200);
    let codes: Value = enabled.json().await.expect("codes");
    let recovery: Vec<String> = codes["recovery_codes"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    assert_eq!(recovery.len(), 10);

    let mfa_login = || async {
        let answer: Value = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": session.email, "password": PASSWORD}),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(answer["mfa_required"], true);
        answer["mfa_token"].as_str().expect("mfa token").to_string()
    };

    // The code used to enable is spent; the next step's code (one step of drift) works once.
    let mfa = mfa_login().await;
    let spent = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": mfa, "code": totp(&secret, t)}),
        )
        .await;
    assert_eq!(problem(spent, 401).await["code"], "invalid_mfa_code");
    let next = totp(&secret, t + 30);
    let ok = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": mfa, "code": next}),
        )
        .await;
    assert_eq!(ok.status(), 200, "a valid code from RFC 6238 is accepted");
    let mfa = mfa_login().await;
    let replay = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": mfa, "code": next}),
        )
        .await;
    assert_eq!(
        problem(replay, 401).await["code"],
        "invalid_mfa_code",
        "the same code twice"
    );

    let recovery_ok = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": mfa, "recovery_code": recovery[0].to_uppercase()}),
        )
        .await;
    assert_eq!(recovery_ok.status(), 200);
    let mfa = mfa_login().await;
    let recovery_again = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": mfa, "recovery_code": recovery[0]}),
        )
        .await;
    assert_eq!(
        recovery_again.status(),
        401,
        "recovery codes are single-use"
    );
    let used_token = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({"mfa_token": "forged", "code": "123456"}),
        )
        .await;
    assert_eq!(problem(used_token, 401).await["code"], "invalid_mfa_token");

    let disable = app
        .call(
            Method::POST,
            "/api/v1/me/mfa/totp/disable",
            token,
            Some(&json!({"recovery_code": recovery[1]})),
        )
        .await;
    assert_eq!(disable.status(), 204);
    app.login(&session.email, PASSWORD).await;
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = emporium_testkit::TestApp::spawn_with(emporium_testkit::TestOptions {
        configure: Box::new(|c| c.smtp_url = None),
        ..emporium_testkit::TestOptions::default()
    })
    .await;
    app.register("files@example.com", PASSWORD).await;
    assert!(app.drain_outbox().await >= 1);
    let dir = app.config().data_dir.join("outbox-mail");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("mail dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).expect("eml");
    assert!(text.contains("files@example.com"));
}
