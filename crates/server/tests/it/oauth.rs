//! Social login end to end against the local identity provider.

use emporium_core::config::{OAuthKind, OAuthProvider};
use emporium_testkit::identity::{CLIENT_ID, CLIENT_SECRET, FakePerson, IdentityProvider, Tamper};
use emporium_testkit::session::PASSWORD;
use emporium_testkit::{TestApp, TestOptions, problem};
use reqwest::{Method, Response};
use serde_json::Value;

async fn app_with(idp: &IdentityProvider) -> TestApp {
    let issuer = idp.issuer();
    let fb_authorize = idp.facebook_authorize_url();
    let fb_graph = idp.facebook_graph_url();
    TestApp::spawn_with(TestOptions {
        configure: Box::new(move |c| {
            let provider = |kind,
                            issuer: Option<String>,
                            authorize: Option<String>,
                            graph: Option<String>| OAuthProvider {
                kind,
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.to_string().into(),
                issuer_url: issuer,
                authorize_url: authorize,
                graph_url: graph,
            };
            c.auth.oauth.insert(
                "test".into(),
                provider(OAuthKind::Oidc, Some(issuer), None, None),
            );
            c.auth.oauth.insert(
                "facebook".into(),
                provider(
                    OAuthKind::Facebook,
                    None,
                    Some(fb_authorize),
                    Some(fb_graph),
                ),
            );
            c.http.cors_origins = vec!["https://storefront.example".into()];
        }),
        ..TestOptions::default()
    })
    .await
}

fn person(subject: &str, email: &str, verified: bool) -> FakePerson {
    FakePerson {
        subject: subject.into(),
        email: email.into(),
        email_verified: verified,
        name: "Grace Hopper".into(),
    }
}

fn location(response: &Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect from {}: {}",
        response.url(),
        response.status()
    );
    response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string()
}

/// Start at the shop, sign in at the provider, come back: answers the callback response.
async fn sign_in(app: &TestApp, provider: &str, query: &str) -> Response {
    let start = app
        .get(&format!("/api/v1/auth/oauth/{provider}/start{query}"))
        .await;
    let at_provider = app
        .client
        .get(location(&start))
        .send()
        .await
        .expect("provider");
    app.client
        .get(location(&at_provider))
        .send()
        .await
        .expect("callback")
}

async fn me(app: &TestApp, tokens: &Value) -> Value {
    app.call(
        Method::GET,
        "/api/v1/me",
        tokens["access_token"].as_str(),
        None,
    )
    .await
    .json()
    .await
    .expect("me")
}

#[tokio::test]
async fn oidc_login_creates_an_account_then_finds_it_again() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("sub-1", "grace@example.com", true));
    let first = sign_in(&app, "test", "").await;
    assert_eq!(first.status(), 200);
    let tokens: Value = first.json().await.expect("tokens");
    let user = me(&app, &tokens).await;
    assert_eq!(user["email"], "grace@example.com");
    assert_eq!(user["email_verified"], true);

    let again: Value = sign_in(&app, "test", "")
        .await
        .json()
        .await
        .expect("tokens");
    assert_eq!(me(&app, &again).await["id"], user["id"]);

    let requests = idp.token_requests();
    assert!(
        requests
            .iter()
            .all(|r| r.get("code_verifier").is_some_and(|v| v.len() >= 43)),
        "PKCE verifier sent"
    );
    assert!(
        requests.iter().all(|r| !r.contains_key("client_secret")),
        "secret goes in the Basic header"
    );
}

#[tokio::test]
async fn a_verified_email_links_the_existing_account() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    let session = app.customer().await;
    idp.sign_in_as(person("sub-2", &session.email, true));
    let tokens: Value = sign_in(&app, "test", "")
        .await
        .json()
        .await
        .expect("tokens");
    assert_eq!(me(&app, &tokens).await["id"], session.user_id.as_str());
    // The password still works too.
    app.login(&session.email, PASSWORD).await;
}

#[tokio::test]
async fn an_unverified_email_never_takes_over_an_account() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    let session = app.customer().await;
    idp.sign_in_as(person("sub-3", &session.email, false));
    let response = sign_in(&app, "test", "").await;
    assert_eq!(problem(response, 409).await["code"], "account_exists");
}

#[tokio::test]
async fn a_forged_or_replayed_state_is_refused() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("sub-4", "state@example.com", true));
    let forged = app
        .get("/api/v1/auth/oauth/test/callback?code=abc&state=forged")
        .await;
    assert_eq!(problem(forged, 400).await["code"], "invalid_state");

    let start = app.get("/api/v1/auth/oauth/test/start").await;
    let at_provider = app
        .client
        .get(location(&start))
        .send()
        .await
        .expect("provider");
    let callback = location(&at_provider);
    assert_eq!(
        app.client
            .get(&callback)
            .send()
            .await
            .expect("callback")
            .status(),
        200
    );
    let replay = app.client.get(&callback).send().await.expect("callback");
    assert_eq!(problem(replay, 400).await["code"], "invalid_state");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("sub-5", "nonce@example.com", true));
    idp.tamper(Tamper::WrongNonce);
    let response = sign_in(&app, "test", "").await;
    assert_eq!(problem(response, 401).await["code"], "invalid_id_token");
}

#[tokio::test]
async fn an_id_token_signed_by_another_key_is_refused() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("sub-6", "forged@example.com", true));
    idp.tamper(Tamper::ForeignKey);
    let response = sign_in(&app, "test", "").await;
    assert_eq!(problem(response, 401).await["code"], "invalid_id_token");
}

#[tokio::test]
async fn facebook_login_uses_the_graph_api_with_appsecret_proof() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("fb-42", "fb.user@example.com", true));
    let response = sign_in(&app, "facebook", "").await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.expect("tokens");
    assert_eq!(me(&app, &tokens).await["email"], "fb.user@example.com");
}

#[tokio::test]
async fn the_browser_lands_on_the_storefront_with_tokens_in_the_fragment() {
    let idp = IdentityProvider::start().await;
    let app = app_with(&idp).await;
    idp.sign_in_as(person("sub-7", "browser@example.com", true));
    let response = sign_in(
        &app,
        "test",
        "?redirect_to=https://storefront.example/account",
    )
    .await;
    let to = location(&response);
    assert!(
        to.starts_with("https://storefront.example/account#access_token="),
        "{to}"
    );
    assert!(to.contains("&refresh_token="));

    let elsewhere = app
        .get("/api/v1/auth/oauth/test/start?redirect_to=https://evil.example/")
        .await;
    assert_eq!(
        problem(elsewhere, 422).await["errors"][0]["field"],
        "redirect_to"
    );
    let unknown = app.get("/api/v1/auth/oauth/nope/start").await;
    assert_eq!(unknown.status(), 404);
    let denied = app
        .get("/api/v1/auth/oauth/test/callback?error=access_denied")
        .await;
    assert_eq!(problem(denied, 400).await["code"], "oauth_denied");
}
