//! A local identity provider for tests, speaking both OpenID Connect (discovery, authorize
//! redirect, token endpoint with PKCE and client authentication, JWKS with a real RSA key,
//! RS256-signed ID tokens) and Facebook Login (dialog, access token, Graph `me` with
//! `appsecret_proof`). Tests choose who signs in and how the provider misbehaves.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const PROVIDER_KEY: &str = include_str!("../keys/provider.pem");
const ATTACKER_KEY: &str = include_str!("../keys/attacker.pem");
const PROVIDER_N: &str = include_str!("../keys/provider.jwk.n");

pub const CLIENT_ID: &str = "emporium-test-client";
pub const CLIENT_SECRET: &str = "emporium-test-secret";

/// The person who signs in at the provider.
#[derive(Debug, Clone)]
pub struct FakePerson {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

/// How the provider misbehaves, to check that each is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tamper {
    #[default]
    None,
    /// The ID token carries another nonce than the one sent.
    WrongNonce,
    /// The ID token is signed by a key that is not in the JWKS.
    ForeignKey,
}

#[derive(Debug, Clone)]
struct Grant {
    nonce: Option<String>,
    challenge: String,
    redirect_uri: String,
    person: FakePerson,
}

#[derive(Default)]
struct Shared {
    issuer: String,
    person: Option<FakePerson>,
    tamper: Tamper,
    grants: HashMap<String, Grant>,
    /// What each token request carried, for assertions.
    pub token_requests: Vec<HashMap<String, String>>,
}

/// The running provider; stops when dropped.
pub struct IdentityProvider {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl IdentityProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind idp");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared {
            issuer: format!("http://{addr}"),
            ..Shared::default()
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/facebook/dialog/oauth", get(authorize))
            .route("/facebook/graph/oauth/access_token", get(facebook_token))
            .route("/facebook/graph/me", get(facebook_me))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The OIDC issuer URL.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn facebook_authorize_url(&self) -> String {
        format!("http://{}/facebook/dialog/oauth", self.addr)
    }

    pub fn facebook_graph_url(&self) -> String {
        format!("http://{}/facebook/graph", self.addr)
    }

    /// Who signs in next.
    pub fn sign_in_as(&self, person: FakePerson) {
        self.shared.lock().expect("lock").person = Some(person);
    }

    pub fn tamper(&self, tamper: Tamper) {
        self.shared.lock().expect("lock").tamper = tamper;
    }

    /// The form fields of every token request so far.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.shared.lock().expect("lock").token_requests.clone()
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared_ = State<Arc<Mutex<Shared>>>;

async fn discovery(State(shared): Shared_) -> Json<Value> {
    let issuer = shared.lock().expect("lock").issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"]
    }))
}

async fn authorize(State(shared): Shared_, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut shared = shared.lock().expect("lock");
    let (Some(redirect_uri), Some(state), Some(challenge)) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("code_challenge"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri, state and code_challenge are required",
        )
            .into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "bad client_id or challenge method").into_response();
    }
    let Some(person) = shared.person.clone() else {
        return (
            StatusCode::BAD_REQUEST,
            "nobody is signed in at the provider",
        )
            .into_response();
    };
    let code = uuid::Uuid::now_v7().simple().to_string();
    shared.grants.insert(
        code.clone(),
        Grant {
            nonce: q.get("nonce").cloned(),
            challenge: challenge.clone(),
            redirect_uri: redirect_uri.clone(),
            person,
        },
    );
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{redirect_uri}{separator}code={code}&state={state}"
    ))
    .into_response()
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

fn client_authenticated(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let expected = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    basic.as_deref() == Some(expected.as_str())
        || (form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET))
}

/// Redeems an authorization code; the error says why it was refused.
fn take_grant(shared: &mut Shared, form: &HashMap<String, String>) -> Result<Grant, &'static str> {
    let code = form.get("code").ok_or("no code")?;
    let grant = shared.grants.remove(code).ok_or("unknown or used code")?;
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err("redirect_uri mismatch");
    }
    let verifier = form.get("code_verifier").ok_or("no code_verifier")?;
    if !pkce_matches(verifier, &grant.challenge) {
        return Err("PKCE verification failed");
    }
    Ok(grant)
}

fn invalid_grant(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": why})),
    )
        .into_response()
}

async fn token(
    State(shared): Shared_,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut shared = shared.lock().expect("lock");
    shared.token_requests.push(form.clone());
    if !client_authenticated(&headers, &form) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let grant = match take_grant(&mut shared, &form) {
        Ok(g) => g,
        Err(why) => return invalid_grant(why),
    };
    let now = chrono::Utc::now().timestamp();
    let nonce = match shared.tamper {
        Tamper::WrongNonce => Some("not-the-nonce".to_string()),
        _ => grant.nonce.clone(),
    };
    let claims = json!({
        "iss": shared.issuer,
        "sub": grant.person.subject,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "email": grant.person.email,
        "email_verified": grant.person.email_verified,
        "name": grant.person.name,
    });
    let pem = if shared.tamper == Tamper::ForeignKey {
        ATTACKER_KEY
    } else {
        PROVIDER_KEY
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key");
    let id_token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
    Json(json!({
        "access_token": "provider-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token
    }))
    .into_response()
}

async fn jwks() -> Json<Value> {
    Json(
        json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1", "n": PROVIDER_N.trim(), "e": "AQAB"}]}),
    )
}

async fn facebook_token(
    State(shared): Shared_,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut shared = shared.lock().expect("lock");
    shared.token_requests.push(q.clone());
    if !client_authenticated(&HeaderMap::new(), &q) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "bad client"}})),
        )
            .into_response();
    }
    let grant = match take_grant(&mut shared, &q) {
        Ok(g) => g,
        Err(why) => return invalid_grant(why),
    };
    let token = format!("fb-token-{}", grant.person.subject);
    shared.grants.insert(token.clone(), grant);
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 5183944}))
        .into_response()
}

async fn facebook_me(State(shared): Shared_, Query(q): Query<HashMap<String, String>>) -> Response {
    let shared = shared.lock().expect("lock");
    let Some(token) = q.get("access_token") else {
        return (StatusCode::BAD_REQUEST, "no token").into_response();
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).expect("key");
    mac.update(token.as_bytes());
    let proof: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if q.get("appsecret_proof") != Some(&proof) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "bad appsecret_proof"}})),
        )
            .into_response();
    }
    let Some(grant) = shared.grants.get(token) else {
        return (StatusCode::UNAUTHORIZED, "unknown token").into_response();
    };
    Json(
        json!({"id": grant.person.subject, "name": grant.person.name, "email": grant.person.email}),
    )
    .into_response()
}
