//! Which gateways this shop uses, with which keys: keys staff store through the admin
//! API (secrets sealed with the master key, AES-256-GCM) win over the environment's.
//! Secrets are never logged and never returned; the admin view names which are set.

use chrono::{DateTime, Utc};
use emporium_core::crypto::MasterKey;
use emporium_core::{AppError, AppResult, Config, FieldError};
use emporium_db::Db;
use emporium_db::entity::payment_gateways;
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::manual::Manual;
use crate::paypal::{PayPal, PayPalKeys};
use crate::razorpay::{Razorpay, RazorpayKeys};
use crate::stripe::{Stripe, StripeKeys};
use crate::{PROVIDERS, PaymentProvider};

/// `PUT /admin/payment-gateways/{provider}`: the keys a gateway needs. A secret left out
/// keeps its stored value, so a gateway can be switched off and on without resending.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "enabled": true,
    "secret_key": "sk_test_YOUR_SECRET_KEY",
    "webhook_secret": "whsec_YOUR_WEBHOOK_SECRET"
})))]
pub struct GatewayBody {
    pub enabled: bool,
    /// The gateway's API base URL (its default when unset).
    pub api_base: Option<String>,
    /// Stripe.
    pub secret_key: Option<String>,
    /// Stripe and Razorpay.
    pub webhook_secret: Option<String>,
    /// PayPal.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub webhook_id: Option<String>,
    /// Razorpay.
    pub key_id: Option<String>,
    pub key_secret: Option<String>,
}

/// A gateway as staff see it: never a secret, only which ones are set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GatewayView {
    pub provider: String,
    pub enabled: bool,
    /// `settings` (stored by staff), `environment`, `built_in` or `none`.
    pub source: String,
    pub api_base: Option<String>,
    /// The gateway's public id for this shop (PayPal client id, Razorpay key id).
    pub public_id: Option<String>,
    pub secrets_set: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Settings {
    api_base: Option<String>,
    client_id: Option<String>,
    webhook_id: Option<String>,
    key_id: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Secrets {
    secret_key: Option<String>,
    webhook_secret: Option<String>,
    client_secret: Option<String>,
    key_secret: Option<String>,
}

impl Secrets {
    fn names(&self) -> Vec<String> {
        [
            ("secret_key", &self.secret_key),
            ("webhook_secret", &self.webhook_secret),
            ("client_secret", &self.client_secret),
            ("key_secret", &self.key_secret),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| n.to_string())
        .collect()
    }
}

/// Everything one gateway needs, from either source.
#[derive(Default)]
struct Keys {
    settings: Settings,
    secrets: Secrets,
}

type Built = (Option<DateTime<Utc>>, Arc<dyn PaymentProvider>);

/// The shop's gateways. Cheap to clone. A built client is kept until its stored keys
/// change, so PayPal's cached token outlives a request.
#[derive(Clone)]
pub struct Gateways {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    config: Arc<Config>,
    master: MasterKey,
    http: reqwest::Client,
    built: Mutex<HashMap<&'static str, Built>>,
}

fn known(provider: &str) -> AppResult<&'static str> {
    PROVIDERS
        .into_iter()
        .find(|p| *p == provider)
        .ok_or_else(|| AppError::not_found("no such payment provider"))
}

fn secret(value: &Option<SecretString>) -> Option<String> {
    value.as_ref().map(|s| s.expose_secret().to_string())
}

impl Gateways {
    pub fn new(db: Db, config: Arc<Config>) -> anyhow::Result<Self> {
        let master = MasterKey::load(
            config.master_key.as_ref().map(|k| k.expose_secret()),
            &config.data_dir,
        )?;
        let http = emporium_core::http::outbound(std::time::Duration::from_secs(
            config.payments.gateway_timeout_secs.max(1),
        ))
        .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                config,
                master,
                http,
                built: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The environment's keys for `provider`.
    fn env_keys(&self, provider: &str) -> Option<Keys> {
        let p = &self.inner.config.payments;
        let keys = match provider {
            "stripe" => Keys {
                settings: Settings::default(),
                secrets: Secrets {
                    secret_key: Some(secret(&p.stripe_secret_key)?),
                    webhook_secret: secret(&p.stripe_webhook_secret),
                    ..Secrets::default()
                },
            },
            "paypal" => Keys {
                settings: Settings {
                    client_id: Some(p.paypal_client_id.clone()?),
                    webhook_id: p.paypal_webhook_id.clone(),
                    ..Settings::default()
                },
                secrets: Secrets {
                    client_secret: Some(secret(&p.paypal_client_secret)?),
                    ..Secrets::default()
                },
            },
            "razorpay" => Keys {
                settings: Settings {
                    key_id: Some(p.razorpay_key_id.clone()?),
                    ..Settings::default()
                },
                secrets: Secrets {
                    key_secret: Some(secret(&p.razorpay_key_secret)?),
                    webhook_secret: secret(&p.razorpay_webhook_secret),
                    ..Secrets::default()
                },
            },
            _ => return None,
        };
        Some(keys)
    }

    fn build(&self, provider: &'static str, keys: Keys) -> Option<Arc<dyn PaymentProvider>> {
        let p = &self.inner.config.payments;
        let http = self.inner.http.clone();
        let tolerance = p.webhook_tolerance_secs as i64;
        let base = |default: &str| {
            keys.settings
                .api_base
                .clone()
                .unwrap_or_else(|| default.to_string())
        };
        let s = keys.secrets;
        Some(match provider {
            "manual" => Arc::new(Manual),
            "stripe" => Arc::new(Stripe::new(
                StripeKeys {
                    secret_key: s.secret_key?.into(),
                    webhook_secret: s.webhook_secret.map(Into::into),
                    api_base: base(&p.stripe_api_base),
                    tolerance_secs: tolerance,
                },
                http,
            )),
            "paypal" => Arc::new(PayPal::new(
                PayPalKeys {
                    client_id: keys.settings.client_id.clone()?,
                    client_secret: s.client_secret?.into(),
                    webhook_id: keys.settings.webhook_id.clone(),
                    api_base: base(&p.paypal_api_base),
                    tolerance_secs: tolerance,
                },
                http,
            )),
            "razorpay" => Arc::new(Razorpay::new(
                RazorpayKeys {
                    key_id: keys.settings.key_id.clone()?,
                    key_secret: s.key_secret?.into(),
                    webhook_secret: s.webhook_secret.map(Into::into),
                    api_base: base(&p.razorpay_api_base),
                },
                http,
            )),
            _ => return None,
        })
    }

    fn open(&self, row: &payment_gateways::Model) -> AppResult<Keys> {
        let settings = serde_json::from_str(&row.settings).unwrap_or_default();
        let secrets = if row.sealed_secrets.is_empty() {
            Secrets::default()
        } else {
            let plain = self.inner.master.decrypt(&row.sealed_secrets).map_err(|_| {
                anyhow::anyhow!(
                    "cannot open the stored keys of {}: is EMPORIUM_MASTER_KEY the one they were sealed with?",
                    row.provider
                )
            })?;
            serde_json::from_slice(&plain).map_err(anyhow::Error::from)?
        };
        Ok(Keys { settings, secrets })
    }

    async fn row(&self, provider: &str) -> AppResult<Option<payment_gateways::Model>> {
        Ok(payment_gateways::Entity::find_by_id(provider.to_string())
            .one(self.inner.db.current())
            .await?)
    }

    /// The gateway for `provider` if it is enabled, else `None`.
    pub async fn get(&self, provider: &str) -> AppResult<Option<Arc<dyn PaymentProvider>>> {
        let provider = match known(provider) {
            Ok(p) => p,
            Err(_) => return Ok(None),
        };
        let row = self.row(provider).await?;
        let stamp = row.as_ref().map(|r| r.updated_at);
        if let Some((built_at, gateway)) = self
            .inner
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(provider)
            && *built_at == stamp
        {
            return Ok(row
                .as_ref()
                .is_none_or(|r| r.enabled)
                .then(|| gateway.clone()));
        }
        let keys = match &row {
            Some(r) if !r.enabled => return Ok(None),
            Some(r) => Some(self.open(r)?),
            None if provider == "manual" => self
                .inner
                .config
                .payments
                .manual_enabled
                .then(Keys::default),
            None => self.env_keys(provider),
        };
        let Some(gateway) = keys.and_then(|k| self.build(provider, k)) else {
            return Ok(None);
        };
        self.inner
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(provider, (stamp, gateway.clone()));
        Ok(Some(gateway))
    }

    /// Every provider, with where its keys come from.
    pub async fn list(&self) -> AppResult<Vec<GatewayView>> {
        let rows: HashMap<String, payment_gateways::Model> = payment_gateways::Entity::find()
            .all(self.inner.db.current())
            .await?
            .into_iter()
            .map(|r| (r.provider.clone(), r))
            .collect();
        let mut views = Vec::new();
        for provider in PROVIDERS {
            let view = match rows.get(provider) {
                Some(row) => {
                    let keys = self.open(row)?;
                    GatewayView {
                        provider: provider.into(),
                        enabled: row.enabled,
                        source: "settings".into(),
                        api_base: keys.settings.api_base.clone(),
                        public_id: keys.settings.client_id.or(keys.settings.key_id),
                        secrets_set: keys.secrets.names(),
                        updated_at: Some(row.updated_at),
                    }
                }
                None => {
                    let env = self.env_keys(provider);
                    let manual = provider == "manual" && self.inner.config.payments.manual_enabled;
                    GatewayView {
                        provider: provider.into(),
                        enabled: env.is_some() || manual,
                        source: if manual {
                            "built_in"
                        } else if env.is_some() {
                            "environment"
                        } else {
                            "none"
                        }
                        .into(),
                        api_base: None,
                        public_id: env.as_ref().and_then(|k| {
                            k.settings.client_id.clone().or(k.settings.key_id.clone())
                        }),
                        secrets_set: env.map(|k| k.secrets.names()).unwrap_or_default(),
                        updated_at: None,
                    }
                }
            };
            views.push(view);
        }
        Ok(views)
    }

    /// Stores a gateway's keys (secrets sealed). Checks that an enabled gateway has what
    /// it needs.
    pub async fn set(
        &self,
        provider: &str,
        body: GatewayBody,
        actor: Option<Uuid>,
    ) -> AppResult<GatewayView> {
        let provider = known(provider)?;
        let mut keys = match self.row(provider).await? {
            Some(row) => self.open(&row)?,
            None => Keys::default(),
        };
        let mut errors = Vec::new();
        let clean = |field: &str, v: Option<String>, errors: &mut Vec<FieldError>| {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            if v.as_ref().is_some_and(|s| s.len() > 500) {
                errors.push(FieldError::new(field, "must be at most 500 characters"));
            }
            v
        };
        if let Some(base) = clean("api_base", body.api_base, &mut errors) {
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                errors.push(FieldError::new("api_base", "must be an http(s) URL"));
            }
            keys.settings.api_base = Some(base);
        }
        macro_rules! take {
            ($target:expr, $field:ident) => {
                if let Some(v) = clean(stringify!($field), body.$field, &mut errors) {
                    $target.$field = Some(v);
                }
            };
        }
        take!(keys.secrets, secret_key);
        take!(keys.secrets, webhook_secret);
        take!(keys.settings, client_id);
        take!(keys.secrets, client_secret);
        take!(keys.settings, webhook_id);
        take!(keys.settings, key_id);
        take!(keys.secrets, key_secret);
        let needs: &[(&str, bool)] = match provider {
            "stripe" => &[("secret_key", keys.secrets.secret_key.is_some())],
            "paypal" => &[
                ("client_id", keys.settings.client_id.is_some()),
                ("client_secret", keys.secrets.client_secret.is_some()),
            ],
            "razorpay" => &[
                ("key_id", keys.settings.key_id.is_some()),
                ("key_secret", keys.secrets.key_secret.is_some()),
            ],
            _ => &[],
        };
        if body.enabled {
            for (field, present) in needs {
                if !present {
                    errors.push(FieldError::new(
                        *field,
                        "is required to enable this gateway",
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let sealed = if keys.secrets.names().is_empty() {
            String::new()
        } else {
            self.inner
                .master
                .encrypt(&serde_json::to_vec(&keys.secrets).map_err(anyhow::Error::from)?)
        };
        let now = Utc::now();
        payment_gateways::Entity::insert(payment_gateways::ActiveModel {
            provider: Set(provider.to_string()),
            enabled: Set(body.enabled),
            settings: Set(serde_json::to_string(&keys.settings).map_err(anyhow::Error::from)?),
            sealed_secrets: Set(sealed),
            updated_by: Set(actor),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(payment_gateways::Column::Provider)
                .update_columns([
                    payment_gateways::Column::Enabled,
                    payment_gateways::Column::Settings,
                    payment_gateways::Column::SealedSecrets,
                    payment_gateways::Column::UpdatedBy,
                    payment_gateways::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(self.inner.db.writer())
        .await?;
        tracing::info!(
            provider,
            enabled = body.enabled,
            "payment gateway keys stored"
        );
        Ok(GatewayView {
            provider: provider.into(),
            enabled: body.enabled,
            source: "settings".into(),
            api_base: keys.settings.api_base.clone(),
            public_id: keys
                .settings
                .client_id
                .clone()
                .or(keys.settings.key_id.clone()),
            secrets_set: keys.secrets.names(),
            updated_at: Some(now),
        })
    }
}
