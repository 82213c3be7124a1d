//! The integrations domain's handle.

use emporium_core::Config;
use emporium_core::crypto::MasterKey;
use emporium_db::Db;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// Integrations of one node (cheap to clone).
#[derive(Clone)]
pub struct Integrations {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) master: MasterKey,
    pub(crate) http: reqwest::Client,
}

impl Integrations {
    pub fn new(db: Db, config: Arc<Config>) -> anyhow::Result<Self> {
        let master = MasterKey::load(
            config.master_key.as_ref().map(|k| k.expose_secret()),
            &config.data_dir,
        )?;
        let mut http =
            emporium_core::http::outbound(Duration::from_secs(config.webhooks.timeout_secs.max(1)))
                .user_agent(concat!("Emporium-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.webhooks.allow_private_targets {
            http = http.dns_resolver(Arc::new(crate::guard::GuardedResolver));
        }
        Ok(Self {
            db,
            config,
            master,
            http: http.build()?,
        })
    }

    pub(crate) fn allow_private(&self) -> bool {
        self.config.webhooks.allow_private_targets
    }

    /// The plain text of a sealed secret.
    pub(crate) fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let bytes = self
            .master
            .decrypt(sealed)
            .map_err(|e| anyhow::anyhow!("webhook secret cannot be opened: {e}"))?;
        Ok(String::from_utf8(bytes)?)
    }
}
