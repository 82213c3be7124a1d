//! The `emporium` binary: one fast server that starts with no setup, and the operator
//! commands around it.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use emporium_core::Config;
use emporium_core::config::{LogFormat, Overrides};
use emporium_db::Db;
use emporium_server::{Node, StartOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Emporium: a commerce backend in one binary.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Settings every command shares; each overrides `emporium.toml` and the environment.
#[derive(Args, Clone)]
struct GlobalArgs {
    /// Configuration file (missing is fine: defaults apply).
    #[arg(
        long,
        global = true,
        default_value = "emporium.toml",
        env = "EMPORIUM_CONFIG"
    )]
    config: PathBuf,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    addr: Option<SocketAddr>,
    /// Directory for the SQLite file, search index, media and mail [default: ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// `postgres://...` or `sqlite://...` [default: SQLite file in the data dir].
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and run background jobs (the default).
    Serve(ServeArgs),
    /// Run pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Fill the database with a demo catalog.
    Seed {
        /// The realistic demo catalog (categories, products, prices, translations).
        #[arg(long)]
        demo: bool,
        /// How many products (0: keep the catalog as it is).
        #[arg(long, default_value_t = 200)]
        products: u64,
        /// How many demo orders, made of the catalog's variants.
        #[arg(long, default_value_t = 0)]
        orders: u64,
        /// How many customers place the demo orders.
        #[arg(long, default_value_t = 50_000)]
        customers: u64,
        /// Over how many past days the demo orders spread.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Operator tasks on accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Rebuild this node's search index from the database. A running node on the same
    /// data directory switches to the new index within a second.
    Reindex,
    /// Bulk imports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Sales reports.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Back up the shop while it keeps serving: the database (SQLite: an online copy;
    /// PostgreSQL: pg_dump in one snapshot), a manifest with each table's row count and
    /// checksum, and the media files (by content, so a second backup into the same
    /// directory copies only new ones).
    Backup {
        /// Where backups go: a directory or s3://bucket/prefix; each backup is a new
        /// `<time>` directory in it. Default: `[backup] to`.
        #[arg(long)]
        to: Option<String>,
        /// Then delete the backups the `[backup] keep_*` retention no longer keeps.
        #[arg(long)]
        prune: bool,
    },
    /// Restore a backup (a `<time>` directory `emporium backup` made) into the data
    /// directory, or the database `--database-url` names: checked against its manifest,
    /// then migrated forward and the search index rebuilt. Refuses a target that holds a
    /// shop unless --force.
    Restore {
        /// The backup: its directory, or s3://bucket/prefix/<time>.
        from: String,
        /// Replace the shop already in the data directory.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Products from a CSV file, one row per variant (Shopify-like columns; see
    /// `GET /api/v1/admin/products/export`). Bad rows are listed; their products are
    /// skipped whole, the rest go in.
    Products {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Reviews from another platform's CSV export: columns `product` (slug or id),
    /// `rating`, `title`, `body`, `author_name`, and optionally `lang`, `created_at`
    /// (RFC 3339) and `key` (the source's review id). Published, never verified; a
    /// second import of the same file adds nothing.
    Reviews {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ReportsCommand {
    /// Recompute the report rollups from the sales ledger (after changing
    /// `store.time_zone`, or to check them): in one transaction, so reports show the old
    /// figures until the new ones are complete.
    Rebuild,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin (or promote an existing account). The password comes from
    /// EMPORIUM_ADMIN_PASSWORD, else a prompt; never from a flag.
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// Make an existing account with this email an admin (its password is replaced
        /// and its sessions end). Without it, an existing account is left alone.
        #[arg(long)]
        promote: bool,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Do not run migrations at start.
    #[arg(long)]
    no_migrate: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        addr: cli.global.addr,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
    };
    let config = match Config::load(&cli.global.config, &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("emporium: {err}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = init_logging(&config) {
        eprintln!("emporium: {err}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("emporium: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "emporium stopped with an error");
            eprintln!("emporium: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, config: Config) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate => {
            let db = Db::connect(&config).await?;
            emporium_server::migrate(&db).await?;
            db.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, promote }) => {
            let password = match std::env::var("EMPORIUM_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => rpassword::prompt_password(format!("Password for {email}: ")).context(
                    "reading the password (set EMPORIUM_ADMIN_PASSWORD when there is no terminal)",
                )?,
            };
            let db = Db::connect(&config).await?;
            emporium_server::migrate(&db).await?;
            let auth = emporium_auth::Auth::new(
                &config,
                std::sync::Arc::new(emporium_accounts::UserDirectory::new(db.clone())),
            )?;
            let accounts =
                emporium_accounts::Accounts::new(db.clone(), std::sync::Arc::new(config), auth)?;
            let result = accounts.create_admin(&email, &password, promote).await;
            db.close().await;
            match result {
                Ok(emporium_accounts::AdminCreated::Created(user)) => {
                    println!("admin {} created (id {})", user.email, user.id);
                    Ok(())
                }
                Ok(emporium_accounts::AdminCreated::Promoted(user)) => {
                    println!(
                        "existing account {} promoted to admin (id {}); its password was \
                         replaced and its sessions ended",
                        user.email, user.id
                    );
                    Ok(())
                }
                Err(emporium_core::AppError::Validation(errors)) => {
                    let reasons: Vec<String> = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    anyhow::bail!("cannot create the admin: {}", reasons.join("; "))
                }
                Err(err) => Err(anyhow::anyhow!("cannot create the admin: {err}")),
            }
        }
        Command::Seed {
            demo,
            products,
            orders,
            customers,
            days,
        } => {
            if !demo {
                anyhow::bail!("say --demo to seed the demo catalog");
            }
            let db = Db::connect(&config).await?;
            emporium_server::migrate(&db).await?;
            let config = std::sync::Arc::new(config);
            let catalog = emporium_catalog::Catalog::new(db.clone(), config.clone(), None);
            let inventory = emporium_inventory::Inventory::new(db.clone(), config.clone());
            let started = std::time::Instant::now();
            let mut result = Ok(());
            if products > 0 {
                let bar = progress_bar(
                    products,
                    "seeding {bar:40} {pos}/{len} products, {per_sec}, eta {eta}",
                );
                result = catalog.seed_demo(products, |n| bar.set_position(n)).await;
                bar.finish();
                if result.is_ok() {
                    // 100 units of every new variant, as the benchmark peer's seed has.
                    let bar = progress_bar(products * 2, "stocking {bar:40} {pos}/{len} variants");
                    result = inventory
                        .seed_stock(100, |n| bar.set_position(n))
                        .await
                        .map(|_| ());
                    bar.finish();
                }
            }
            if result.is_ok() && orders > 0 {
                let shape = emporium_orders::SeedShape { customers, days };
                result = seed_orders(&db, &config, &catalog, inventory, orders, shape).await;
            }
            db.close().await;
            result.map_err(|e| anyhow::anyhow!("seeding failed: {e}"))?;
            println!(
                "seeded {products} products and {orders} orders in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Import(ImportCommand::Products { file }) => {
            let data = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let db = Db::connect(&config).await?;
            emporium_server::migrate(&db).await?;
            let catalog =
                emporium_catalog::Catalog::new(db.clone(), std::sync::Arc::new(config), None);
            let bar = progress_bar(
                0,
                "importing {bar:40} {pos}/{len} rows, {per_sec}, eta {eta}",
            );
            let started = std::time::Instant::now();
            let result = catalog
                .import_csv(&data, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })
                .await;
            bar.finish();
            db.close().await;
            let report = result.map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
            for e in &report.errors {
                eprintln!("row {} ({}): {}: {}", e.row, e.handle, e.field, e.message);
            }
            println!(
                "{} rows in {:.1} s: {} products created, {} updated, {} rows refused",
                report.rows,
                started.elapsed().as_secs_f64(),
                report.products_created,
                report.products_updated,
                report.rows_refused
            );
            Ok(())
        }
        Command::Import(ImportCommand::Reviews { file }) => {
            let data = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let db = Db::connect(&config).await?;
            emporium_server::migrate(&db).await?;
            let config = std::sync::Arc::new(config);
            let catalog = emporium_catalog::Catalog::new(db.clone(), config.clone(), None);
            let inventory = emporium_inventory::Inventory::new(db.clone(), config.clone());
            let shipping = emporium_shipping::Shipping::new(db.clone(), config.clone())?;
            let orders = emporium_orders::Orders::new(
                db.clone(),
                config.clone(),
                inventory,
                shipping,
                vec![],
            );
            let reviews = emporium_reviews::Reviews::new(db.clone(), config, catalog, orders);
            let bar = progress_bar(
                0,
                "importing {bar:40} {pos}/{len} reviews, {per_sec}, eta {eta}",
            );
            let started = std::time::Instant::now();
            let result = reviews
                .import_csv(&data, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })
                .await;
            bar.finish();
            db.close().await;
            let report = result.map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
            for (row, message) in &report.errors {
                eprintln!("row {row}: {message}");
            }
            println!(
                "{} rows in {:.1} s: {} reviews imported, {} already there, {} rows refused",
                report.rows,
                started.elapsed().as_secs_f64(),
                report.imported,
                report.skipped,
                report.errors.len()
            );
            Ok(())
        }
        Command::Reindex => reindex(config).await,
        Command::Reports(ReportsCommand::Rebuild) => rebuild_reports(config).await,
        Command::Backup { to, prune } => {
            use emporium_server::backup::{Location, Retention, store};
            let Some(to) = to.or_else(|| config.backup.to.clone()) else {
                anyhow::bail!("where to? --to DIR or --to s3://bucket/prefix (or set [backup] to)");
            };
            let to = Location::parse(&to)?;
            let bar = progress_bar(0, "{msg:10} {bar:40} {pos}/{len}");
            let progress = |what: &str, done: u64, total: u64| {
                bar.set_message(what.to_string());
                bar.set_length(total);
                bar.set_position(done);
            };
            let (at, manifest) =
                store::backup_to(&config, &to, chrono::Utc::now(), &progress).await?;
            bar.finish_and_clear();
            let rows: u64 = manifest.tables.values().map(|t| t.rows).sum();
            println!(
                "backed up {} tables ({rows} rows) and {} media files to {at}",
                manifest.tables.len(),
                manifest.media.len(),
            );
            if prune {
                let pruned = store::prune(
                    &config,
                    &to,
                    Retention::from_config(&config),
                    chrono::Utc::now(),
                )
                .await?;
                println!(
                    "kept {} backups, deleted {} and {} media files no kept backup lists",
                    pruned.backups_kept, pruned.backups_deleted, pruned.media_deleted
                );
            }
            Ok(())
        }
        Command::Restore { from, force } => {
            use emporium_server::backup::{Location, store};
            let from = Location::parse(&from)?;
            let bar = progress_bar(0, "{msg:10} {bar:40} {pos}/{len}");
            let progress = |what: &str, done: u64, total: u64| {
                bar.set_message(what.to_string());
                bar.set_length(total);
                bar.set_position(done);
            };
            let (dir, downloaded) = store::fetch(&config, &from, &progress).await?;
            let restored = emporium_server::backup::restore(&config, &dir, force, &progress).await;
            if let Some(staging) = downloaded {
                let _ = std::fs::remove_dir_all(staging);
            }
            let manifest = restored?;
            bar.finish_and_clear();
            let into = match &config.database_url {
                Some(_) if manifest.backend == "postgres" => "the database".to_string(),
                _ => config.data_dir.display().to_string(),
            };
            println!(
                "restored the backup of {} (schema {}) into {into}",
                manifest.created_at, manifest.schema_version
            );
            reindex(config).await
        }
        Command::Openapi => {
            let doc = emporium_server::openapi();
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
    }
}

/// Recomputes the report rollups from the sales ledger.
async fn rebuild_reports(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config).await?;
    emporium_server::migrate(&db).await?;
    let analytics = emporium_analytics::Analytics::new(db.clone(), std::sync::Arc::new(config));
    let started = std::time::Instant::now();
    let bar = progress_bar(
        0,
        "summing {bar:40} {pos}/{len} ledger rows, {per_sec}, eta {eta}",
    );
    let result = analytics
        .rebuild(|done, of| {
            bar.set_length(of);
            bar.set_position(done);
        })
        .await;
    bar.finish();
    db.close().await;
    let rows = result.map_err(|e| anyhow::anyhow!("rebuilding the report rollups failed: {e}"))?;
    println!(
        "summed {rows} ledger rows into the report rollups in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs migrations forward and rebuilds this node's search index from the database.
async fn reindex(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config).await?;
    emporium_server::migrate(&db).await?;
    let config = std::sync::Arc::new(config);
    let catalog = emporium_catalog::Catalog::new(db.clone(), config.clone(), None);
    let inventory = emporium_inventory::Inventory::new(db.clone(), config.clone());
    let search = emporium_search::Search::open(&config, db.clone(), catalog, inventory)?;
    let bar = progress_bar(
        0,
        "indexing {bar:40} {pos}/{len} products, {per_sec}, eta {eta}",
    );
    let report = search
        .rebuild(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    bar.finish();
    db.close().await;
    let report = report?;
    println!(
        "indexed {} products in {:.1} s; index size {:.1} MiB",
        report.documents,
        report.seconds,
        report.bytes as f64 / 1_048_576.0
    );
    Ok(())
}

async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<()> {
    let node = Node::start(
        config,
        StartOptions {
            no_migrate: args.no_migrate,
            ..StartOptions::default()
        },
    )
    .await?;
    let token = node.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested; finishing in-flight work");
        token.cancel();
    });
    node.wait().await.context("shutting down")?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log)
        .map_err(|e| anyhow::anyhow!("configuration error: log: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
    Ok(())
}

/// A progress bar for a long operation, drawn with `template`.
fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Demo orders made of (up to 2,000 of) the catalog's priced variants.
async fn seed_orders(
    db: &Db,
    config: &std::sync::Arc<emporium_core::Config>,
    catalog: &emporium_catalog::Catalog,
    inventory: emporium_inventory::Inventory,
    count: u64,
    shape: emporium_orders::SeedShape,
) -> emporium_core::AppResult<()> {
    let conn = db.reader();
    let ids: Vec<uuid::Uuid> = emporium_catalog::variant_ids(conn)
        .await?
        .into_iter()
        .take(2000)
        .collect();
    let currency = emporium_core::Currency::parse(&config.store.default_currency)
        .unwrap_or(emporium_core::Currency::USD);
    let variants: Vec<emporium_orders::SeedVariant> = catalog
        .sellable_variants(conn, &ids, &config.store.default_language, currency)
        .await?
        .into_values()
        .filter_map(|v| {
            Some(emporium_orders::SeedVariant {
                unit_price: v.price?.amount,
                product_id: v.product_id,
                variant_id: v.variant_id,
                sku: v.sku,
                title: v.title,
            })
        })
        .collect();
    let shipping = emporium_shipping::Shipping::new(db.clone(), config.clone())
        .map_err(emporium_core::AppError::Internal)?;
    let orders =
        emporium_orders::Orders::new(db.clone(), config.clone(), inventory, shipping, vec![]);
    let bar = progress_bar(
        count,
        "ordering {bar:40} {pos}/{len} orders, {per_sec}, eta {eta}",
    );
    orders
        .seed(count, &variants, shape, |n| bar.set_position(n))
        .await?;
    bar.finish();
    let analytics = emporium_analytics::Analytics::new(db.clone(), config.clone());
    let bar = progress_bar(
        0,
        "summing {bar:40} {pos}/{len} ledger rows, {per_sec}, eta {eta}",
    );
    let started = std::time::Instant::now();
    let rows = analytics
        .rebuild(|done, of| {
            bar.set_length(of);
            bar.set_position(done);
        })
        .await?;
    bar.finish();
    println!(
        "summed {rows} ledger rows into the report rollups in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
