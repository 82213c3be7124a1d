//! The one typed configuration, loaded once at start: defaults < `emporium.toml` <
//! `EMPORIUM_*` environment < command-line flags.
//!
//! Bad configuration stops the process with one line naming the key, before anything
//! listens or touches the database.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything a node needs to know to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// Holds the SQLite file, the search index, media and mail when nothing else is set.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL, `sqlite://...` for a SQLite file; unset means
    /// `sqlite://<data_dir>/emporium.db`.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub database_url: Option<SecretString>,
    /// Optional read replica for catalog reads (PostgreSQL only).
    #[serde(serialize_with = "serialize_secret_opt")]
    pub database_read_url: Option<SecretString>,
    /// Connection pool size for PostgreSQL, and the reader pool size for SQLite.
    pub db_max_connections: u32,
    /// Seconds a request waits for a pooled connection before answering 503.
    pub db_acquire_timeout_secs: u64,
    /// Log filter in `tracing` syntax (`info`, `emporium=debug,info`).
    pub log: String,
    pub log_format: LogFormat,
    /// The shop's public base URL, used in links sent by email (verification, reset).
    /// Unset means `http://<addr>`.
    pub public_url: Option<String>,
    /// AES-256-GCM key for secrets at rest, base64 (`EMPORIUM_MASTER_KEY`). Unset: a key
    /// file is generated in the data dir (fine for one node; a cluster must share one).
    #[serde(serialize_with = "serialize_secret_opt")]
    pub master_key: Option<SecretString>,
    /// HMAC key for access tokens (`EMPORIUM_JWT_SECRET`). Unset: generated into the data
    /// dir on first start.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub jwt_secret: Option<SecretString>,
    /// `smtp://user:pass@host:587` or `smtps://...` (`SMTP_URL`). Unset: mail is written
    /// as `.eml` files under `<data_dir>/outbox-mail/`.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub smtp_url: Option<SecretString>,
    /// The sender of every email (`EMPORIUM_MAIL_FROM`).
    pub mail_from: String,
    pub http: HttpConfig,
    pub outbox: OutboxConfig,
    pub auth: AuthConfig,
    pub store: StoreConfig,
    pub checkout: CheckoutConfig,
    pub search: SearchConfig,
    pub payments: PaymentsConfig,
    pub inventory: InventoryConfig,
    pub shipping: ShippingConfig,
    pub media: MediaConfig,
    pub admin: AdminConfig,
    pub backup: BackupConfig,
    pub reviews: ReviewsConfig,
    pub webhooks: WebhooksConfig,
    pub feeds: FeedsConfig,
    pub support: SupportConfig,
}

/// The admin console at `/admin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminConfig {
    /// A console session unused this long is signed out.
    pub idle_timeout_mins: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            idle_timeout_mins: 30,
        }
    }
}

/// Scheduled backups, run by the worker of one node at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupConfig {
    /// Where scheduled backups go: a directory, or `s3://bucket/prefix` for an
    /// S3-compatible bucket. Unset: no scheduled backups (`emporium backup` still works).
    pub to: Option<String>,
    /// Minutes between the starts of two scheduled backups.
    pub interval_minutes: u64,
    /// Retention: the newest backup of each of this many recent hours is kept...
    pub keep_hourly: u32,
    /// ...of each of this many recent days...
    pub keep_daily: u32,
    /// ...and of each of this many recent ISO weeks; every other backup is deleted.
    pub keep_weekly: u32,
    /// The S3 API endpoint (MinIO, R2...); AWS's for the region when unset. The
    /// `AWS_*` environment variables are read too.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    /// `EMPORIUM_BACKUP__S3_SECRET_ACCESS_KEY`.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub s3_secret_access_key: Option<SecretString>,
    /// Allow a plain-HTTP endpoint (a local MinIO).
    pub s3_allow_http: bool,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            to: None,
            interval_minutes: 60,
            keep_hourly: 24,
            keep_daily: 7,
            keep_weekly: 8,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
        }
    }
}

/// The helpdesk: where customers' email replies come back, and who may post them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportConfig {
    /// The address customers write to and replies come back to
    /// (`support@shop.example`). Each ticket's replies carry `local+<ticket token>@domain`
    /// in `Reply-To`, so a reply finds its ticket even when the mail client drops
    /// `In-Reply-To`. Unset: the address of `mail_from`.
    pub reply_address: Option<String>,
    /// The password of the inbound-mail webhook (`EMPORIUM_SUPPORT__INBOUND_SECRET`):
    /// the provider calls `https://inbound:<secret>@shop/api/v1/webhooks/inbound-mail/postmark`.
    /// Unset: the webhook answers 404, so no one can post mail into the helpdesk.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub inbound_secret: Option<SecretString>,
    /// Open tickets an agent holds at most before new ones wait in the queue, unless set
    /// per agent.
    pub default_capacity: u32,
    /// Email the customer a receipt with the ticket's link when they open a ticket on the
    /// web or by API.
    pub acknowledge: bool,
    /// The days the helpdesk works, for SLA policies counted in business hours
    /// (`mon` ... `sun`), in the store's time zone.
    pub business_days: Vec<String>,
    /// When the working day starts and ends (`HH:MM`, the store's time zone).
    pub business_open: String,
    pub business_close: String,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            reply_address: None,
            inbound_secret: None,
            default_capacity: 10,
            acknowledge: true,
            business_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            business_open: "09:00".into(),
            business_close: "17:00".into(),
        }
    }
}

/// Product feeds for Google Merchant Center and Meta's catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedsConfig {
    /// When set, a feed answers only with `?token=<this>` in its URL
    /// (`EMPORIUM_FEEDS__TOKEN`): for a shop that keeps its catalog out of scrapers'
    /// hands. Unset: the feeds are public, as the product pages are.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub token: Option<SecretString>,
}

/// Outgoing webhooks: how long a receiver may take, when a failed delivery is tried
/// again, and which addresses a webhook may reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Seconds a receiver has to answer, connection included.
    pub timeout_secs: u64,
    /// Delays before each retry, in seconds; a delivery that fails them all is given up.
    /// The default retries for about three days, as Stripe does.
    pub retry_schedule_secs: Vec<u64>,
    /// Let webhooks reach loopback, private and link-local addresses (off: a webhook is
    /// a way into the shop's own network otherwise; tests and on-premises setups turn it
    /// on).
    pub allow_private_targets: bool,
    /// How much of a receiver's answer the delivery log keeps, in bytes.
    pub response_excerpt_bytes: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 10,
            retry_schedule_secs: vec![5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 72_000],
            allow_private_targets: false,
            response_excerpt_bytes: 1_024,
        }
    }
}

/// Product reviews: who may write them, what is published without a human, and when
/// buyers are asked for one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewsConfig {
    /// Any signed-in customer may review; off (the default), only those who ordered the
    /// product (paid, not cancelled) or hold a review link from a delivered order.
    pub open_to_all_customers: bool,
    /// Reviews with at least this many stars are published without moderation; 0 turns
    /// it off. Reviews the screen holds (links, repeated text, listed words) always wait.
    pub auto_publish_min_stars: u8,
    /// Verified buyers' reviews are published without moderation.
    pub auto_publish_verified: bool,
    /// Words that hold a review for a human (matched case-insensitively, whole words).
    pub held_words: Vec<String>,
    /// Days after delivery before the review request is emailed; 0 turns requests off.
    pub request_delay_days: u32,
    /// Days after the request before one reminder, when no review came; 0: no reminder.
    pub reminder_delay_days: u32,
}

impl Default for ReviewsConfig {
    fn default() -> Self {
        Self {
            open_to_all_customers: false,
            auto_publish_min_stars: 0,
            auto_publish_verified: true,
            held_words: Vec::new(),
            request_delay_days: 7,
            reminder_delay_days: 7,
        }
    }
}

/// Product images: where they are kept, how large they may be, and where they are served.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// A local directory (`<data_dir>/media` when unset).
    pub dir: Option<PathBuf>,
    /// Uploads larger than this are refused (413) before they are read.
    pub max_upload_bytes: u64,
    /// Images with more pixels than this are refused (422) before they are decoded.
    pub max_pixels: u64,
    /// Widths of the WebP thumbnails made after an upload.
    pub thumbnail_widths: Vec<u32>,
    /// Serve image URLs from this base (a CDN in front of `/media`) instead of this node.
    pub cdn_base_url: Option<String>,
    /// Keep images in this S3-compatible bucket instead of `dir` (AWS S3, MinIO, R2...).
    pub s3_bucket: Option<String>,
    /// The S3 API endpoint; AWS's for the region when unset.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    /// `EMPORIUM_MEDIA__S3_SECRET_ACCESS_KEY`.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub s3_secret_access_key: Option<SecretString>,
    /// Allow a plain-HTTP endpoint (a local MinIO).
    pub s3_allow_http: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            dir: None,
            max_upload_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            thumbnail_widths: vec![200, 600, 1200],
            cdn_base_url: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
        }
    }
}

/// Stock rules that apply to every variant unless it sets its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InventoryConfig {
    /// Staff who asked for alerts are emailed when a variant's available stock falls to
    /// this or below (once per crossing). A variant's own threshold wins.
    pub low_stock_threshold: i64,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        Self {
            low_stock_threshold: 5,
        }
    }
}

/// Carrier rates and tracking. Each carrier is enabled by its keys (environment only:
/// `EMPORIUM_SHIPPING__UPS_CLIENT_SECRET` and so on).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingConfig {
    /// How long a carrier may take to quote before the table rate is used instead.
    pub carrier_timeout_ms: u64,
    /// How long a carrier's quote is reused for the same cart and address.
    pub quote_ttl_secs: u64,
    /// Where parcels leave from (carriers price by origin).
    pub origin_country: String,
    pub origin_postal_code: String,
    pub origin_city: String,
    /// The weight of a line whose variant has none set.
    pub default_weight_grams: i64,
    pub ups_client_id: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub ups_client_secret: Option<SecretString>,
    pub ups_account_number: Option<String>,
    pub ups_api_base: String,
    pub fedex_client_id: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub fedex_client_secret: Option<SecretString>,
    pub fedex_account_number: Option<String>,
    pub fedex_api_base: String,
    pub dhl_username: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub dhl_password: Option<SecretString>,
    pub dhl_account_number: Option<String>,
    pub dhl_api_base: String,
    /// HMAC-SHA256 key of tracking webhooks (`X-Emporium-Signature`, hex of the body).
    #[serde(serialize_with = "serialize_secret_opt")]
    pub tracking_webhook_secret: Option<SecretString>,
}

impl Default for ShippingConfig {
    fn default() -> Self {
        Self {
            carrier_timeout_ms: 3000,
            quote_ttl_secs: 300,
            origin_country: "US".into(),
            origin_postal_code: "94105".into(),
            origin_city: "San Francisco".into(),
            default_weight_grams: 500,
            ups_client_id: None,
            ups_client_secret: None,
            ups_account_number: None,
            ups_api_base: "https://onlinetools.ups.com".into(),
            fedex_client_id: None,
            fedex_client_secret: None,
            fedex_account_number: None,
            fedex_api_base: "https://apis.fedex.com".into(),
            dhl_username: None,
            dhl_password: None,
            dhl_account_number: None,
            dhl_api_base: "https://express.api.dhl.com".into(),
            tracking_webhook_secret: None,
        }
    }
}

/// Payment gateways and the life of an unpaid order. Each gateway is enabled by its keys
/// (`EMPORIUM_STRIPE_SECRET_KEY` and so on, API.md), or by keys staff store through
/// `/admin/payment-gateways`, which are kept encrypted and win over these.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentsConfig {
    /// An order still unpaid after this long is cancelled and its stock released.
    pub unpaid_expiry_mins: u64,
    /// The built-in `manual` provider and its hosted test page (test cards only).
    pub manual_enabled: bool,
    /// Where the shopper lands after paying (the storefront's page); `order_id` and
    /// `status` are appended. Unset: the return page answers the payment as JSON.
    pub return_url: Option<String>,
    /// How long a call to a gateway may take.
    pub gateway_timeout_secs: u64,
    /// How old a signed webhook may be (Stripe's `t=`), in seconds.
    pub webhook_tolerance_secs: u64,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub stripe_secret_key: Option<SecretString>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub stripe_webhook_secret: Option<SecretString>,
    pub stripe_api_base: String,
    pub paypal_client_id: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub paypal_client_secret: Option<SecretString>,
    pub paypal_webhook_id: Option<String>,
    pub paypal_api_base: String,
    pub razorpay_key_id: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub razorpay_key_secret: Option<SecretString>,
    #[serde(serialize_with = "serialize_secret_opt")]
    pub razorpay_webhook_secret: Option<SecretString>,
    pub razorpay_api_base: String,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            unpaid_expiry_mins: 30,
            manual_enabled: true,
            return_url: None,
            gateway_timeout_secs: 15,
            webhook_tolerance_secs: 300,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: "https://api.stripe.com".into(),
            paypal_client_id: None,
            paypal_client_secret: None,
            paypal_webhook_id: None,
            paypal_api_base: "https://api-m.paypal.com".into(),
            razorpay_key_id: None,
            razorpay_key_secret: None,
            razorpay_webhook_secret: None,
            razorpay_api_base: "https://api.razorpay.com".into(),
        }
    }
}

/// The environment names API.md gives the gateways (`EMPORIUM_STRIPE_SECRET_KEY`) live in
/// the `[payments]` section.
const GATEWAY_ENV_PREFIXES: [&str; 3] = ["stripe_", "paypal_", "razorpay_"];

/// The node's search replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Where the index lives (default: `<data_dir>/search`). Each node needs its own.
    pub dir: Option<PathBuf>,
    /// How often the node looks for catalog changes to apply.
    pub poll_interval_ms: u64,
    /// Memory for the index writer, in MiB.
    pub writer_heap_mb: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            dir: None,
            poll_interval_ms: 250,
            writer_heap_mb: 64,
        }
    }
}

/// Carts, tax and checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckoutConfig {
    /// Whether catalog prices include tax (VAT-style) or tax is added on top (US-style).
    pub prices_include_tax: bool,
    /// Where tax is reckoned before the shopper gives an address (ISO 3166-1 alpha-2).
    pub default_tax_country: Option<String>,
    /// The flat shipping rate, in the default currency's minor units, until shipping
    /// zones are configured.
    pub flat_shipping: i64,
    /// Orders whose subtotal reaches this (default currency, minor units) ship free.
    pub free_shipping_over: Option<i64>,
    /// A cart untouched this long is marked abandoned and its shopper reminded.
    pub abandon_after_mins: u64,
    /// Guest carts untouched this long are deleted.
    pub guest_cart_ttl_days: u64,
    /// How often each node sweeps idle carts.
    pub sweep_interval_secs: u64,
    /// How long a cart recovery link works.
    pub recovery_ttl_hours: u64,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        Self {
            prices_include_tax: false,
            default_tax_country: None,
            flat_shipping: 500,
            free_shipping_over: None,
            abandon_after_mins: 120,
            guest_cart_ttl_days: 30,
            sweep_interval_secs: 60,
            recovery_ttl_hours: 168,
        }
    }
}

/// The shop's languages and currencies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// The shop's name in emails and pages (default: the display name of `mail_from`).
    pub name: Option<String>,
    /// The storefront's address, where emails and the hosted payment page send shoppers
    /// back to (default: this node's public URL).
    pub url: Option<String>,
    /// The rules of `/robots.txt` (its `Sitemap:` line is added); unset: everything but the
    /// cart, checkout, account, search, admin and API paths may be crawled.
    pub robots_txt: Option<String>,
    /// Where staff notices go (a customer's cancellation, a cancellation request);
    /// default: the `mail_from` address.
    pub staff_email: Option<String>,
    /// What a customer's cancel of a paid, unshipped order does: `refund` (cancel and
    /// refund it in full at once) or `request` (ask staff, who decide).
    pub paid_cancellation: PaidCancellation,
    /// Prices are entered in this currency; others are converted unless set explicitly.
    pub default_currency: String,
    /// Currencies shoppers may choose (`?currency=`), the default included.
    pub currencies: Vec<String>,
    /// Text falls back to this language when a translation is missing.
    pub default_language: String,
    /// Languages shoppers may choose (`?lang=`, `Accept-Language`).
    pub languages: Vec<String>,
    /// The shop's time zone (IANA name, `Europe/Berlin`): reports count a sale on the
    /// shop's local day. After changing it, `emporium reports rebuild` re-buckets history.
    pub time_zone: String,
}

/// See [`StoreConfig::paid_cancellation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaidCancellation {
    #[default]
    Refund,
    Request,
}

impl StoreConfig {
    /// The shop's time zone (checked when the config loads; UTC if it could not be read).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            name: None,
            url: None,
            robots_txt: None,
            staff_email: None,
            paid_cancellation: PaidCancellation::Refund,
            default_currency: "USD".into(),
            currencies: vec!["USD".into(), "EUR".into(), "GBP".into(), "JPY".into()],
            default_language: "en".into(),
            languages: vec!["en".into(), "de".into(), "fr".into(), "es".into()],
            time_zone: "UTC".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_read_url: None,
            db_max_connections: 16,
            db_acquire_timeout_secs: 3,
            log: "info".into(),
            log_format: LogFormat::Pretty,
            public_url: None,
            master_key: None,
            jwt_secret: None,
            smtp_url: None,
            mail_from: "Emporium <shop@localhost>".into(),
            http: HttpConfig::default(),
            outbox: OutboxConfig::default(),
            auth: AuthConfig::default(),
            store: StoreConfig::default(),
            checkout: CheckoutConfig::default(),
            search: SearchConfig::default(),
            payments: PaymentsConfig::default(),
            inventory: InventoryConfig::default(),
            shipping: ShippingConfig::default(),
            media: MediaConfig::default(),
            admin: AdminConfig::default(),
            backup: BackupConfig::default(),
            reviews: ReviewsConfig::default(),
            webhooks: WebhooksConfig::default(),
            feeds: FeedsConfig::default(),
            support: SupportConfig::default(),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for production log pipelines.
    Json,
}

/// HTTP server limits and policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes (uploads have their own limit).
    pub body_limit_bytes: usize,
    /// A request running longer than this is stopped with 503.
    pub request_timeout_secs: u64,
    /// Origins allowed by CORS; empty allows none, `["*"]` allows any.
    pub cors_origins: Vec<String>,
    /// Seconds in-flight requests and jobs get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Memory for rendered store reads (product pages, lists) per node, in MiB. A product
    /// page is about 1.5 KiB, so the default holds every page of a 100,000-product shop.
    pub read_cache_mb: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            cors_origins: Vec::new(),
            shutdown_grace_secs: 20,
            trust_forwarded_for: false,
            read_cache_mb: 256,
        }
    }
}

/// The background job worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// Run the worker in this node (turn off for API-only nodes).
    pub worker: bool,
    /// How often an idle worker looks for due jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// Jobs claimed per round.
    pub batch_size: u32,
    /// Attempts before a job is parked as dead.
    pub max_attempts: u32,
    /// First retry delay; each further retry doubles it.
    pub backoff_base_ms: u64,
    /// Retry delays never exceed this.
    pub backoff_max_ms: u64,
    /// A claimed job not finished within this many seconds may be claimed again
    /// (its worker is presumed dead).
    pub lease_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval_ms: 250,
            batch_size: 32,
            max_attempts: 8,
            backoff_base_ms: 1_000,
            backoff_max_ms: 3_600_000,
            lease_secs: 120,
        }
    }
}

/// Accounts, sessions and abuse protection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Lifetime of an access token (JWT).
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token; each refresh issues a new one.
    pub refresh_ttl_days: u64,
    /// Argon2id memory cost in KiB (OWASP: 19456 = 19 MiB with 2 passes).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// How long an email verification link works.
    pub verify_ttl_hours: u64,
    /// How long a password reset link works.
    pub reset_ttl_minutes: u64,
    /// How long the token between password and second factor works.
    pub mfa_ttl_secs: u64,
    /// Requests per minute one IP may make to the login, register, reset and MFA routes.
    pub ip_per_minute: u32,
    /// Login and MFA attempts per minute against one account.
    pub account_per_minute: u32,
    /// Failed logins after which the account is locked for a while (doubling each time).
    pub lockout_after: u32,
    /// First lockout length.
    pub lockout_secs: u64,
    /// Failed logins after which a CAPTCHA answer is required (when a secret is set).
    pub captcha_after: u32,
    /// Turnstile or hCaptcha secret; unset disables the CAPTCHA step.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub captcha_secret: Option<SecretString>,
    /// The provider's `siteverify` endpoint.
    pub captcha_verify_url: String,
    /// Signing in works before the email is verified; with this on, a signed-in customer
    /// cannot place an order until they have confirmed their address.
    pub verified_email_to_order: bool,
    /// Social login providers by name (`google`, `facebook`, or any OIDC issuer), each
    /// enabled by its client id and secret.
    pub oauth: std::collections::BTreeMap<String, OAuthProvider>,
}

/// Which protocol a social login provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OAuthKind {
    /// OpenID Connect with discovery (Google, Microsoft, Apple, Keycloak, Auth0...).
    #[default]
    Oidc,
    /// Facebook Login: OAuth 2 plus the Graph API `me` call.
    Facebook,
}

/// One social login provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthProvider {
    #[serde(default)]
    pub kind: OAuthKind,
    pub client_id: String,
    #[serde(serialize_with = "serialize_secret")]
    pub client_secret: SecretString,
    /// OIDC issuer (discovery at `<issuer>/.well-known/openid-configuration`); for the
    /// name `google` it defaults to `https://accounts.google.com`.
    pub issuer_url: Option<String>,
    /// Facebook: the dialog URL (default `https://www.facebook.com/v19.0/dialog/oauth`).
    pub authorize_url: Option<String>,
    /// Facebook: the Graph API base (default `https://graph.facebook.com/v19.0`).
    pub graph_url: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 900,
            refresh_ttl_days: 30,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            verify_ttl_hours: 48,
            reset_ttl_minutes: 60,
            mfa_ttl_secs: 300,
            ip_per_minute: 30,
            account_per_minute: 10,
            lockout_after: 10,
            lockout_secs: 60,
            captcha_after: 3,
            captcha_secret: None,
            captcha_verify_url: "https://challenges.cloudflare.com/turnstile/v0/siteverify".into(),
            verified_email_to_order: false,
            oauth: std::collections::BTreeMap::new(),
        }
    }
}

/// Settings given on the command line; each overrides every other source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// A configuration that could not be loaded, with one line saying which key and why.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads defaults, then `file` (if it exists), then the environment, then `overrides`.
    pub fn load(file: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let figment = Self::figment(file, overrides);
        refuse_unknown_keys(&figment)?;
        figment
            .extract::<Config>()
            .map_err(|err| ConfigError(one_line(&err)))
            .and_then(|config| config.check().map(|()| config))
    }

    fn figment(file: &Path, overrides: &Overrides) -> Figment {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            // `DATABASE_URL` is the name every tool knows; take it unprefixed too.
            .merge(Env::raw().only(&["DATABASE_URL", "DATABASE_READ_URL", "SMTP_URL"]))
            .merge(
                Env::prefixed("EMPORIUM_")
                    .split("__")
                    .filter(|key| !is_gateway_key(key.as_str())),
            )
            .merge(
                Env::prefixed("EMPORIUM_")
                    .filter(|key| is_gateway_key(key.as_str()))
                    .map(|key| format!("payments.{}", key.as_str().to_lowercase()).into()),
            )
            .merge(Serialized::defaults(overrides))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(ConfigError(
                    "database_url: must start with sqlite:, postgres:// or postgresql://".into(),
                ));
            }
        }
        if self.db_max_connections == 0 {
            return Err(ConfigError("db_max_connections: must be at least 1".into()));
        }
        if self.outbox.max_attempts == 0 {
            return Err(ConfigError(
                "outbox.max_attempts: must be at least 1".into(),
            ));
        }
        if self.auth.argon2_memory_kib < 8 * self.auth.argon2_parallelism.max(1)
            || self.auth.argon2_iterations == 0
            || self.auth.argon2_parallelism == 0
        {
            return Err(ConfigError(
                "auth.argon2_*: memory must be at least 8 KiB per lane, iterations and parallelism at least 1".into(),
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError(
                "public_url: must start with http:// or https://".into(),
            ));
        }
        let store = &self.store;
        if crate::Currency::parse(&store.default_currency).is_none()
            || store
                .currencies
                .iter()
                .any(|c| crate::Currency::parse(c).is_none())
            || !store
                .currencies
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&store.default_currency))
        {
            return Err(ConfigError(
                "store.currencies: ISO 4217 codes, including store.default_currency".into(),
            ));
        }
        if store.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError(
                "store.time_zone: an IANA time zone name such as Europe/Berlin or UTC".into(),
            ));
        }
        if !store.languages.contains(&store.default_language) {
            return Err(ConfigError(
                "store.languages: must include store.default_language".into(),
            ));
        }
        if self.backup.to.is_some() && self.backup.interval_minutes == 0 {
            return Err(ConfigError(
                "backup.interval_minutes: must be at least 1".into(),
            ));
        }
        if self
            .backup
            .to
            .as_deref()
            .is_some_and(|to| to.trim().is_empty())
        {
            return Err(ConfigError(
                "backup.to: a directory or s3://bucket/prefix".into(),
            ));
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(ConfigError(
                "http.body_limit_bytes: must be at least 1024".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// The base URL for links in emails, without a trailing slash.
    /// The shop's name in emails and pages: `[store] name`, else the display name of
    /// `mail_from`, else "Emporium".
    pub fn shop_name(&self) -> String {
        if let Some(name) = &self.store.name {
            return name.clone();
        }
        match self.mail_from.split_once('<') {
            Some((name, _)) if !name.trim().is_empty() => name.trim().trim_matches('"').to_string(),
            _ => "Emporium".to_string(),
        }
    }

    /// Where shoppers go back to the shop: `[store] url`, else this node's public URL.
    pub fn store_url(&self) -> String {
        self.store
            .url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| self.public_base_url())
    }

    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.addr),
        }
    }
}

/// `EMPORIUM_*` variables that are read by commands or the test harness, not by the
/// configuration, and so are not typos.
const NOT_CONFIG: &[&str] = &[
    "admin_password",
    "config",
    "require_browser",
    "test_database_url",
    "test_log",
];

/// A key no setting has (a typo such as `unpaid_expiry_minutes`) stops the start with the
/// key named and the nearest known key suggested, instead of being silently ignored.
fn refuse_unknown_keys(figment: &Figment) -> Result<(), ConfigError> {
    let known = serde_json::to_value(Config::default())
        .map_err(|e| ConfigError(format!("defaults: {e}")))?;
    let merged: figment::value::Dict = figment.extract().map_err(|e| ConfigError(one_line(&e)))?;
    check_keys(&merged, &known, "")
}

fn check_keys(
    dict: &figment::value::Dict,
    known: &serde_json::Value,
    prefix: &str,
) -> Result<(), ConfigError> {
    let Some(known) = known.as_object() else {
        return Ok(());
    };
    // A map whose keys the shop chooses (`auth.oauth.<name>`).
    if known.is_empty() {
        return Ok(());
    }
    for (key, value) in dict {
        let path = format!("{prefix}{key}");
        match known.get(key) {
            Some(inner) => {
                if let figment::value::Value::Dict(_, nested) = value {
                    check_keys(nested, inner, &format!("{path}."))?;
                }
            }
            None if prefix.is_empty() && NOT_CONFIG.contains(&key.as_str()) => {}
            None => {
                let nearest = known
                    .keys()
                    .map(|k| (strsim::damerau_levenshtein(k, key), k))
                    .min()
                    .filter(|(distance, k)| *distance <= k.len().max(key.len()) / 2)
                    .map(|(_, k)| format!("; did you mean {prefix}{k}?"))
                    .unwrap_or_default();
                return Err(ConfigError(format!(
                    "{path}: no such setting{nearest} (see emporium.example.toml)"
                )));
            }
        }
    }
    Ok(())
}

fn is_gateway_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    GATEWAY_ENV_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn one_line(err: &figment::Error) -> String {
    let mut line = String::new();
    for (i, e) in err.clone().into_iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let key = e.path.join(".");
        let source = e
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(source) => format!(" (from {} {source})", m.name),
                None => format!(" (from {})", m.name),
            })
            .unwrap_or_default();
        if key.is_empty() {
            line.push_str(&format!("{}{source}", e.kind));
        } else {
            line.push_str(&format!("{key}: {}{source}", e.kind));
        }
    }
    line.replace('\n', " ")
}

fn serialize_secret<S: serde::Serializer>(
    value: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    serializer.serialize_str(value.expose_secret())
}

fn serialize_secret_opt<S: serde::Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    match value {
        Some(secret) => serializer.serialize_some(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
// figment's Jail closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn example_file_matches_defaults() {
        // The documented example must stay in sync with the real defaults.
        let example = include_str!("../../../emporium.example.toml");
        let parsed: Config = toml::from_str(example).expect("example parses");
        let defaults = Config::default();
        assert_eq!(
            serde_json::to_value(&parsed).expect("json"),
            serde_json::to_value(&defaults).expect("json")
        );
    }

    #[test]
    fn layers_override_in_order() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "emporium.toml",
                "addr = \"127.0.0.1:9000\"\nlog = \"debug\"\n",
            )?;
            jail.set_env("EMPORIUM_LOG", "warn");
            jail.set_env("EMPORIUM_OUTBOX__MAX_ATTEMPTS", "3");
            jail.set_env("EMPORIUM_STRIPE_SECRET_KEY", "sk_test_123");
            jail.set_env("EMPORIUM_PAYPAL_API_BASE", "http://127.0.0.1:1");
            let overrides = Overrides {
                data_dir: Some("/tmp/x".into()),
                ..Overrides::default()
            };
            let config = Config::load(Path::new("emporium.toml"), &overrides).expect("loads");
            assert_eq!(config.addr.port(), 9000);
            assert_eq!(config.log, "warn");
            assert_eq!(config.outbox.max_attempts, 3);
            use secrecy::ExposeSecret;
            let stripe = config.payments.stripe_secret_key.as_ref().expect("set");
            assert_eq!(stripe.expose_secret(), "sk_test_123");
            assert_eq!(config.payments.paypal_api_base, "http://127.0.0.1:1");
            assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_with_the_nearest_one_suggested() {
        Jail::expect_with(|jail| {
            jail.create_file("emporium.toml", "[payments]\nunpaid_expiry_minutes = 10\n")?;
            let err = Config::load(Path::new("emporium.toml"), &Overrides::default())
                .expect_err("a typo must not be ignored");
            let message = err.to_string();
            assert!(
                message.contains("payments.unpaid_expiry_minutes: no such setting"),
                "{message}"
            );
            assert!(
                message.contains("did you mean payments.unpaid_expiry_mins?"),
                "{message}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("EMPORIUM_UNPAID_EXPIRY_MINUTES", "10");
            let err = Config::load(Path::new("missing.toml"), &Overrides::default())
                .expect_err("an unknown variable must not be ignored");
            assert!(
                err.to_string()
                    .contains("unpaid_expiry_minutes: no such setting"),
                "{err}"
            );
            // Variables the commands and tests read are not settings, and not typos.
            jail.clear_env();
            jail.set_env("EMPORIUM_ADMIN_PASSWORD", "x");
            jail.set_env("EMPORIUM_TEST_DATABASE_URL", "postgres://x");
            jail.set_env("EMPORIUM_REQUIRE_BROWSER", "1");
            Config::load(Path::new("missing.toml"), &Overrides::default())
                .map_err(|e| figment::Error::from(e.to_string()))?;
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key_on_one_line() {
        Jail::expect_with(|jail| {
            jail.set_env("EMPORIUM_ADDR", "not-an-address");
            let err = Config::load(Path::new("missing.toml"), &Overrides::default())
                .expect_err("must fail");
            let message = err.to_string();
            assert!(message.contains("addr"), "{message}");
            assert!(!message.contains('\n'));
            Ok(())
        });
    }

    #[test]
    fn unknown_database_schemes_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "mysql://x");
            let err = Config::load(Path::new("missing.toml"), &Overrides::default())
                .expect_err("must fail");
            assert!(err.to_string().contains("database_url"));
            Ok(())
        });
    }
}
