//! The accounts domain's state: what its services and extractors need, built once per
//! node from the configuration.

use emporium_auth::{Auth, TokenKeys};
use emporium_core::Config;
use emporium_core::crypto::MasterKey;
use emporium_db::Db;
use secrecy::ExposeSecret;
use std::sync::Arc;

use crate::limits::AuthLimits;
use crate::oauth::DiscoveryCache;
use crate::password::PasswordHasher;

/// The accounts domain. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    config: Arc<Config>,
    auth: Auth,
    hasher: PasswordHasher,
    master: MasterKey,
    limits: AuthLimits,
    http: reqwest::Client,
    oauth_http: reqwest::Client,
    discovery: DiscoveryCache,
}

impl Accounts {
    pub fn new(db: Db, config: Arc<Config>, auth: Auth) -> anyhow::Result<Self> {
        let hasher = PasswordHasher::new(&config.auth)?;
        let master = MasterKey::load(
            config.master_key.as_ref().map(|k| k.expose_secret()),
            &config.data_dir,
        )?;
        let limits = AuthLimits::new(config.auth.ip_per_minute, config.auth.account_per_minute);
        let deadline = std::time::Duration::from_secs(10);
        // Discovery documents and key sets may move; token calls never follow.
        let http = emporium_core::http::outbound(deadline)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        let oauth_http = emporium_core::http::outbound(deadline).build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                config,
                auth,
                hasher,
                master,
                limits,
                http,
                oauth_http,
                discovery: DiscoveryCache::default(),
            }),
        })
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn keys(&self) -> &TokenKeys {
        self.inner.auth.keys()
    }

    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub(crate) fn master(&self) -> &MasterKey {
        &self.inner.master
    }

    pub(crate) fn limits(&self) -> &AuthLimits {
        &self.inner.limits
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn oauth_client(&self) -> &reqwest::Client {
        &self.inner.oauth_http
    }

    pub(crate) fn discovery(&self) -> &DiscoveryCache {
        &self.inner.discovery
    }
}
