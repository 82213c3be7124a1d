//! Social login: the authorization code flow with PKCE, `state` and `nonce`, for any
//! OpenID Connect issuer (by discovery; Google is one) and for Facebook (OAuth 2 plus the
//! Graph API). A provider account links to an existing user only through an email the
//! provider says is verified; otherwise a new account is made.

use chrono::{Duration as ChronoDuration, Utc};
use emporium_core::audit;
use emporium_core::config::{OAuthKind, OAuthProvider};
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult};
use emporium_db::entity::{oauth_identities, oauth_states, users};
use hmac::{Hmac, Mac};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::model::{Email, Role, status};
use crate::service::{RequestMeta, TokenPair, entry, new_user_row};
use crate::state::Accounts;
use crate::store;

/// How long a started login may take to come back.
const STATE_TTL_MINUTES: i64 = 10;
/// How long discovered provider metadata is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Discovered OIDC metadata by issuer, so a login does not cost a discovery round trip.
#[derive(Default)]
pub struct DiscoveryCache {
    entries: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

/// Where the login ends: tokens, and where to send the browser if the start asked.
pub struct OAuthLogin {
    pub tokens: TokenPair,
    pub redirect_to: Option<String>,
}

/// What a provider told us about the person.
struct ProviderIdentity {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
}

fn oauth_error(code: ErrorCode, detail: impl Into<String>) -> AppError {
    AppError::unauthorized(code, detail)
}

impl Accounts {
    fn provider(&self, name: &str) -> AppResult<&OAuthProvider> {
        self.config()
            .auth
            .oauth
            .get(name)
            .ok_or_else(|| AppError::not_found(format!("no login provider named {name:?}")))
    }

    fn callback_url(&self, provider: &str) -> String {
        format!(
            "{}/api/v1/auth/oauth/{provider}/callback",
            self.config().public_base_url()
        )
    }

    /// Checks that a post-login redirect goes to this shop or an allowed storefront.
    fn check_redirect(&self, redirect_to: &str) -> AppResult<()> {
        let bad = || {
            AppError::invalid(
                "redirect_to",
                "must be this shop's URL or an allowed CORS origin",
            )
        };
        let url = url::Url::parse(redirect_to).map_err(|_| bad())?;
        let origin = url.origin().ascii_serialization();
        let public = url::Url::parse(&self.config().public_base_url())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let allowed =
            origin == public || self.config().http.cors_origins.iter().any(|o| o == &origin);
        if allowed { Ok(()) } else { Err(bad()) }
    }

    async fn oidc_metadata(
        &self,
        name: &str,
        provider: &OAuthProvider,
    ) -> AppResult<CoreProviderMetadata> {
        let issuer = provider
            .issuer_url
            .clone()
            .or_else(|| (name == "google").then(|| "https://accounts.google.com".to_string()))
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("provider {name} has no issuer_url"))
            })?;
        if let Some((at, metadata)) = self
            .discovery()
            .entries
            .lock()
            .ok()
            .and_then(|m| m.get(&issuer).cloned())
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata);
        }
        let issuer_url = IssuerUrl::new(issuer.clone())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("issuer_url of {name}: {e}")))?;
        let http = self.oauth_http();
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = name, error = %e, "OIDC discovery failed");
                AppError::Unavailable {
                    detail: "the login provider is unavailable".into(),
                    retry_after_secs: 10,
                }
            })?;
        if let Ok(mut entries) = self.discovery().entries.lock() {
            entries.insert(issuer, (Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    /// An HTTP client for the provider calls that follows no redirects (a redirect from a
    /// token endpoint is an attack, not a feature).
    fn oauth_http(&self) -> impl Fn(openidconnect::HttpRequest) -> HttpFuture + '_ {
        move |request| {
            let client = self.oauth_client().clone();
            Box::pin(async move { send(&client, request).await })
        }
    }

    /// Starts a login: remembers state, nonce and PKCE verifier, and answers the provider
    /// URL to send the browser to.
    pub async fn oauth_start(&self, name: &str, redirect_to: Option<&str>) -> AppResult<String> {
        let provider = self.provider(name)?.clone();
        if let Some(redirect_to) = redirect_to {
            self.check_redirect(redirect_to)?;
        }
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = random_token(24);
        let nonce = random_token(24);
        let url = match provider.kind {
            OAuthKind::Oidc => {
                let metadata = self.oidc_metadata(name, &provider).await?;
                let client = CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(provider.client_id.clone()),
                    Some(ClientSecret::new(
                        provider.client_secret.expose_secret().to_string(),
                    )),
                )
                .set_redirect_uri(redirect_url(&self.callback_url(name))?);
                let (state_value, nonce_value) = (state.clone(), nonce.clone());
                let (url, _, _) = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        move || CsrfToken::new(state_value.clone()),
                        move || Nonce::new(nonce_value.clone()),
                    )
                    .add_scope(Scope::new("email".into()))
                    .add_scope(Scope::new("profile".into()))
                    .set_pkce_challenge(challenge)
                    .url();
                url.to_string()
            }
            OAuthKind::Facebook => {
                let base = provider
                    .authorize_url
                    .clone()
                    .unwrap_or_else(|| "https://www.facebook.com/v19.0/dialog/oauth".into());
                let mut url = url::Url::parse(&base).map_err(|e| {
                    AppError::Internal(anyhow::anyhow!("authorize_url of {name}: {e}"))
                })?;
                url.query_pairs_mut()
                    .append_pair("client_id", &provider.client_id)
                    .append_pair("redirect_uri", &self.callback_url(name))
                    .append_pair("state", &state)
                    .append_pair("response_type", "code")
                    .append_pair("scope", "email,public_profile")
                    .append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", "S256");
                url.to_string()
            }
        };
        let now = Utc::now();
        oauth_states::Entity::insert(oauth_states::ActiveModel {
            id: Set(Uuid::now_v7()),
            state_hash: Set(token_hash(&state)),
            provider: Set(name.to_string()),
            pkce_verifier: Set(self.master().encrypt(verifier.secret().as_bytes())),
            nonce: Set(nonce),
            redirect_to: Set(redirect_to.map(str::to_string)),
            expires_at: Set(now + ChronoDuration::minutes(STATE_TTL_MINUTES)),
            created_at: Set(now),
        })
        .exec_without_returning(self.db().writer())
        .await?;
        Ok(url)
    }

    /// Finishes a login: checks the state, exchanges the code, verifies the identity, and
    /// links or creates the account.
    pub async fn oauth_callback(
        &self,
        name: &str,
        code: &str,
        state: &str,
        meta: &RequestMeta,
    ) -> AppResult<OAuthLogin> {
        self.limit_ip(meta)?;
        let provider = self.provider(name)?.clone();
        let pending = self.take_state(name, state).await?;
        let verifier = self
            .master()
            .decrypt(&pending.pkce_verifier)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| oauth_error(ErrorCode::InvalidState, "the login state is invalid"))?;
        let identity = match provider.kind {
            OAuthKind::Oidc => {
                self.oidc_identity(name, &provider, code, verifier, &pending.nonce)
                    .await?
            }
            OAuthKind::Facebook => {
                self.facebook_identity(name, &provider, code, verifier)
                    .await?
            }
        };
        let user = self.link_or_create(name, identity, meta).await?;
        let txn = self.db().begin().await?;
        let mut active = user.clone().into_active_model();
        active.last_login_at = Set(Some(Utc::now()));
        let user = store::update_user(&txn, active).await?;
        let tokens = self.issue_tokens_in(&txn, &user, meta).await?;
        audit::record(
            &txn,
            entry(user.id, "auth.login", meta, json!({"provider": name})),
        )
        .await?;
        txn.commit().await?;
        Ok(OAuthLogin {
            tokens,
            redirect_to: pending.redirect_to,
        })
    }

    async fn take_state(&self, name: &str, state: &str) -> AppResult<oauth_states::Model> {
        let invalid = || {
            AppError::bad_request(
                ErrorCode::InvalidState,
                "the login state is unknown, used or expired; start again",
            )
        };
        let row = oauth_states::Entity::find()
            .filter(oauth_states::Column::StateHash.eq(token_hash(state)))
            .one(self.db().writer())
            .await?
            .ok_or_else(invalid)?;
        // Single use: whoever deletes it owns it.
        let deleted = oauth_states::Entity::delete_many()
            .filter(oauth_states::Column::Id.eq(row.id))
            .exec(self.db().writer())
            .await?;
        if deleted.rows_affected != 1 || row.provider != name || row.expires_at <= Utc::now() {
            return Err(invalid());
        }
        Ok(row)
    }

    async fn oidc_identity(
        &self,
        name: &str,
        provider: &OAuthProvider,
        code: &str,
        verifier: String,
        nonce: &str,
    ) -> AppResult<ProviderIdentity> {
        let metadata = self.oidc_metadata(name, provider).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(
                provider.client_secret.expose_secret().to_string(),
            )),
        )
        .set_redirect_uri(redirect_url(&self.callback_url(name))?);
        let http = self.oauth_http();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("provider {name}: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = name, error = %e, "code exchange failed");
                oauth_error(
                    ErrorCode::CodeExchangeFailed,
                    "the provider refused the authorization code",
                )
            })?;
        let id_token = response.id_token().ok_or_else(|| {
            oauth_error(ErrorCode::InvalidIdToken, "the provider sent no ID token")
        })?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_string()))
            .map_err(|e| {
                tracing::warn!(provider = name, error = %e, "ID token refused");
                oauth_error(
                    ErrorCode::InvalidIdToken,
                    "the provider's ID token did not verify",
                )
            })?;
        Ok(ProviderIdentity {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        })
    }

    async fn facebook_identity(
        &self,
        name: &str,
        provider: &OAuthProvider,
        code: &str,
        verifier: String,
    ) -> AppResult<ProviderIdentity> {
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        #[derive(Deserialize)]
        struct Me {
            id: String,
            email: Option<String>,
            name: Option<String>,
        }
        let graph = provider
            .graph_url
            .clone()
            .unwrap_or_else(|| "https://graph.facebook.com/v19.0".into());
        let secret = provider.client_secret.expose_secret();
        let failed = |e: reqwest::Error| {
            tracing::warn!(provider = name, error = %e, "Facebook call failed");
            oauth_error(
                ErrorCode::CodeExchangeFailed,
                "the provider refused the authorization code",
            )
        };
        let token: Token = self
            .oauth_client()
            .get(format!("{graph}/oauth/access_token"))
            .query(&[
                ("client_id", provider.client_id.as_str()),
                ("client_secret", secret),
                ("redirect_uri", self.callback_url(name).as_str()),
                ("code", code),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        // appsecret_proof ties the call to our app secret, as Facebook recommends.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hmac: {e}")))?;
        mac.update(token.access_token.as_bytes());
        let proof: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let me: Me = self
            .oauth_client()
            .get(format!("{graph}/me"))
            .query(&[
                ("fields", "id,name,email"),
                ("access_token", token.access_token.as_str()),
                ("appsecret_proof", proof.as_str()),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        Ok(ProviderIdentity {
            subject: me.id,
            // Facebook only returns confirmed email addresses.
            email_verified: me.email.is_some(),
            email: me.email,
            name: me.name,
        })
    }

    async fn link_or_create(
        &self,
        name: &str,
        identity: ProviderIdentity,
        meta: &RequestMeta,
    ) -> AppResult<users::Model> {
        let txn = self.db().begin().await?;
        let linked = oauth_identities::Entity::find()
            .filter(oauth_identities::Column::Provider.eq(name))
            .filter(oauth_identities::Column::Subject.eq(identity.subject.as_str()))
            .one(&txn)
            .await?;
        let user = if let Some(link) = linked {
            store::find_user(&txn, link.user_id)
                .await?
                .ok_or_else(|| AppError::not_found("no such user"))?
        } else {
            let email = identity
                .email
                .as_deref()
                .and_then(|e| Email::parse(e).ok())
                .ok_or_else(|| {
                    oauth_error(
                        ErrorCode::EmailRequired,
                        "the provider shared no usable email address",
                    )
                })?;
            let existing = store::find_user_by_email(&txn, email.as_str()).await?;
            let user = match existing {
                Some(user) if identity.email_verified => user,
                Some(_) => {
                    return Err(AppError::conflict(
                        ErrorCode::AccountExists,
                        "an account with this email exists and the provider has not verified the email; sign in with your password",
                    ));
                }
                None => {
                    let mut row =
                        new_user_row(&email, None, identity.name.as_deref(), Role::Customer);
                    if identity.email_verified {
                        row.email_verified_at = Set(Some(Utc::now()));
                    }
                    store::insert_user(&txn, row).await?
                }
            };
            oauth_identities::Entity::insert(oauth_identities::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user.id),
                provider: Set(name.to_string()),
                subject: Set(identity.subject.clone()),
                email: Set(Some(email.to_string())),
                created_at: Set(Utc::now()),
            })
            .exec_without_returning(&txn)
            .await?;
            audit::record(
                &txn,
                entry(
                    user.id,
                    "auth.oauth_linked",
                    meta,
                    json!({"provider": name}),
                ),
            )
            .await?;
            user
        };
        if user.status == status::SUSPENDED {
            return Err(AppError::forbidden("this account is suspended"));
        }
        txn.commit().await?;
        Ok(user)
    }
}

fn redirect_url(url: &str) -> AppResult<RedirectUrl> {
    RedirectUrl::new(url.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("redirect url: {e}")))
}

type HttpFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>>
            + Send,
    >,
>;

async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let request = reqwest::Request::try_from(request)?;
    let response = client.execute(request).await?;
    let mut builder = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    // A response built from a valid response's parts is valid.
    Ok(builder.body(body).unwrap_or_default())
}
