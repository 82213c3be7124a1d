//! The support domain's handle.

use emporium_auth::Auth;
use emporium_catalog::media::MediaStore;
use emporium_core::Config;
use emporium_core::crypto::MasterKey;
use emporium_db::Db;
use emporium_orders::Orders;
use std::sync::Arc;

/// The helpdesk of one node (cheap to clone).
#[derive(Clone)]
pub struct Support {
    pub(crate) db: Db,
    pub(crate) config: Arc<Config>,
    pub(crate) orders: Orders,
    pub(crate) auth: Auth,
    pub(crate) media: MediaStore,
    pub(crate) key: Arc<MasterKey>,
    pub(crate) hub: crate::chat::Hub,
}

impl Support {
    pub fn new(db: Db, config: Arc<Config>, orders: Orders, auth: Auth) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        let key = MasterKey::load(
            config.master_key.as_ref().map(|k| k.expose_secret()),
            &config.data_dir,
        )?;
        Ok(Self {
            media: MediaStore::from_config(&config)?,
            db,
            config,
            orders,
            auth,
            key: Arc::new(key),
            hub: crate::chat::Hub::default(),
        })
    }
}
