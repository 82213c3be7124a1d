//! The restore drill, on the backend the suite runs on: a shop backed up while orders
//! keep coming, checked against its manifest, restored into a fresh database, and
//! served again.

use emporium_server::backup::schedule::{BackupScheduler, Outcome};
use emporium_server::backup::{self, Location, Manifest, Retention, store};
use emporium_testkit::{TestApp, TestDatabase, TestOptions, address, json_of};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn quiet(_: &str, _: u64, _: u64) {}

/// Places guest orders of one unit of `variant` until `stop`, counting them.
async fn keep_ordering(
    base: String,
    variant: String,
    stop: Arc<AtomicBool>,
    placed: Arc<AtomicU64>,
) {
    let client = reqwest::Client::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let cart: Value = client
            .post(format!("{base}/api/v1/carts"))
            .send()
            .await
            .expect("cart")
            .json()
            .await
            .expect("cart json");
        let (id, token) = (
            cart["id"].as_str().expect("id"),
            cart["token"].as_str().expect("token"),
        );
        let added = client
            .post(format!("{base}/api/v1/carts/{id}/items"))
            .header("x-cart-token", token)
            .json(&json!({"variant_id": variant, "quantity": 1}))
            .send()
            .await
            .expect("line");
        assert_eq!(added.status(), 200);
        let placed_now = client
            .post(format!("{base}/api/v1/carts/{id}/checkout"))
            .header("x-cart-token", token)
            .header("idempotency-key", format!("drill-{n}"))
            .json(
                &json!({"email": "drill@example.com", "shipping_address": address("US"),
                          "payment_provider": "manual"}),
            )
            .send()
            .await
            .expect("checkout");
        assert_eq!(placed_now.status(), 201, "an order during the backup");
        placed.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn a_backup_taken_while_orders_come_in_restores_into_a_fresh_shop_that_serves_it() {
    let app = TestApp::spawn().await;
    let config = app.state().config.clone();
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Backup Tee", &["S", "M"], 2500, 10_000)
        .await;
    let picture = super::media::png(64, 48);
    let image = json_of(
        super::media::upload(
            &app,
            &admin,
            &shirt.id,
            &[("file", Some("tee.png"), &picture)],
        )
        .await,
        201,
    )
    .await;
    let image_key = image["url"]
        .as_str()
        .and_then(|u| u.split("/media/").nth(1))
        .expect("image url")
        .to_string();
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &shirt.variants[0], 2).await, 200).await;
    let before = json_of(app.checkout(&cart, "before-backup", "US").await, 201).await;
    let order_id = before["order"]["id"]
        .as_str()
        .expect("order id")
        .to_string();
    let number = before["order"]["number"].clone();

    // A writer keeps placing orders while the backup is taken.
    let (stop, placed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let writer = tokio::spawn(keep_ordering(
        app.url(""),
        shirt.variants[1].clone(),
        stop.clone(),
        placed.clone(),
    ));
    while placed.load(Ordering::Relaxed) < 2 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let store = tempfile::tempdir().expect("backup dir");
    let (taken, manifest) = backup::backup(&config, store.path(), &quiet)
        .await
        .expect("the backup");
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");
    assert!(placed.load(Ordering::Relaxed) >= 2);
    assert!(
        manifest.tables["orders"].rows >= 3,
        "{:?}",
        manifest.tables["orders"]
    );
    assert!(
        manifest.schema_version.starts_with('m'),
        "{}",
        manifest.schema_version
    );
    let again: Manifest = backup::verify(&taken, &quiet)
        .await
        .expect("the backup checks out");
    assert_eq!(again, manifest);

    // Restored into an empty database, row for row (the restore compares the sums; on
    // SQLite they are read again here too).
    let target = tempfile::tempdir().expect("target");
    let empty = TestDatabase::create().await;
    let postgres = empty.is_postgres();
    assert_eq!(
        manifest.backend,
        if postgres { "postgres" } else { "sqlite" }
    );
    let mut fresh = (*config).clone();
    fresh.data_dir = target.path().to_path_buf();
    fresh.database_url = postgres.then(|| empty.url().to_string().into());
    fresh.media.dir = None;
    backup::restore(&fresh, &taken, false, &quiet)
        .await
        .expect("the restore");
    if !postgres {
        let restored = backup::table_sums(&target.path().join("emporium.db"), &quiet)
            .await
            .expect("sums");
        for (table, sum) in &manifest.tables {
            assert_eq!(restored.get(table), Some(sum), "{table}");
        }
    }
    // Not twice onto the same shop.
    let refused = backup::restore(&fresh, &taken, false, &quiet)
        .await
        .expect_err("a shop is there now");
    assert!(
        refused.to_string().contains("already holds a shop"),
        "{refused}"
    );

    // A node on the restored directory serves the same product and order history.
    let (data_dir, url) = (target.path().to_path_buf(), fresh.database_url.clone());
    let node = TestApp::spawn_with(TestOptions {
        configure: Box::new(move |c| {
            c.data_dir = data_dir;
            c.database_url = url;
            c.media.dir = None;
        }),
        ..TestOptions::default()
    })
    .await;
    let path = format!("/api/v1/products/{}", shirt.slug);
    let (old, new) = (
        json_of(app.get(&path).await, 200).await,
        json_of(node.get(&path).await, 200).await,
    );
    assert_eq!(old["title"], new["title"]);
    assert_eq!(old["variants"], new["variants"]);
    assert_eq!(old["images"][0]["id"], new["images"][0]["id"]);
    assert!(
        new["images"][0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&image_key)),
        "{new}"
    );
    let served = node.get(&format!("/media/{image_key}")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.expect("image").as_ref(), &picture[..]);
    let login = json_of(
        node.post_json(
            "/api/v1/auth/login",
            &json!({"email": admin.email, "password": admin.password}),
        )
        .await,
        200,
    )
    .await;
    let token = login["access_token"].as_str().expect("token");
    let order = json_of(
        node.call(
            Method::GET,
            &format!("/api/v1/admin/orders/{order_id}"),
            Some(token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(order["number"], number);

    // A backup changed after it was taken is refused, naming what differs.
    if postgres {
        let dump = taken.join("emporium.pgdump");
        let bytes = std::fs::read(&dump).expect("dump");
        std::fs::write(&dump, &bytes[..bytes.len() / 3]).expect("cut short");
        let damaged = backup::verify(&taken, &quiet)
            .await
            .expect_err("a cut dump");
        assert!(damaged.to_string().contains("damaged"), "{damaged}");
        return;
    }
    let tampered = sea_orm::Database::connect(format!(
        "sqlite://{}?mode=rw",
        taken.join("emporium.db").display()
    ))
    .await
    .expect("open the copy");
    sea_orm::ConnectionTrait::execute_unprepared(
        &tampered,
        "UPDATE products SET slug = slug || '-x'",
    )
    .await
    .expect("tampered");
    tampered.close().await.expect("closed");
    let damaged = backup::verify(&taken, &quiet)
        .await
        .expect_err("a changed backup");
    assert!(damaged.to_string().contains("table products"), "{damaged}");
}

/// A shop with one image and one order, and a config that sends backups to `to`.
async fn shop_backed_up_to(to: String, configure: fn(&mut emporium_core::Config)) -> TestApp {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(move |c| {
            c.backup.to = Some(to);
            c.backup.interval_minutes = 60;
            c.store.staff_email = Some("ops@example.com".into());
            configure(c);
        }),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Scheduled Tee", &["S"], 2500, 100)
        .await;
    json_of(
        super::media::upload(
            &app,
            &admin,
            &shirt.id,
            &[("file", Some("tee.png"), &super::media::png(40, 30))],
        )
        .await,
        201,
    )
    .await;
    let cart = app.guest_cart().await;
    json_of(app.add_to_cart(&cart, &shirt.variants[0], 1).await, 200).await;
    json_of(app.checkout(&cart, "scheduled", "US").await, 201).await;
    app
}

const MINUTE: i64 = 60_000;

#[tokio::test]
async fn scheduled_backups_run_once_per_interval_on_one_node_keep_their_retention_and_alert_on_failure()
 {
    let target = tempfile::tempdir().expect("target");
    let app = shop_backed_up_to(target.path().display().to_string(), |c| {
        c.backup.keep_hourly = 2;
        c.backup.keep_daily = 0;
        c.backup.keep_weekly = 0;
    })
    .await;
    let config = Arc::new(app.config().clone());
    // Two nodes look at the same moment: one takes the backup.
    let (one, two) = (
        BackupScheduler::new(app.db().clone(), config.clone())
            .expect("scheduler")
            .expect("scheduled"),
        BackupScheduler::new(app.db().clone(), config.clone())
            .expect("scheduler")
            .expect("scheduled"),
    );
    let t0 = emporium_core::outbox::now_ms();
    let (a, b) = tokio::join!(one.run_due(t0), two.run_due(t0));
    let outcomes = [a.expect("one"), b.expect("two")];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Succeeded { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::NotDue)),
        "{outcomes:?}"
    );
    // Not again within the interval; again once it has passed.
    assert!(matches!(
        one.run_due(t0 + 30 * MINUTE).await.expect("look"),
        Outcome::NotDue
    ));
    let location = Location::Dir(target.path().to_path_buf());
    for hours in 1..=3 {
        let outcome = two.run_due(t0 + hours * 61 * MINUTE).await.expect("look");
        assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    }
    // Four backups in four different hours; the two newest hours are kept.
    let kept = store::list(&config, &location).await.expect("list");
    assert_eq!(kept.len(), 2, "{kept:?}");
    let newest = target.path().join(kept.last().expect("newest"));
    backup::verify(&newest, &quiet)
        .await
        .expect("the newest backup checks out");
    let health = json_of(app.get("/readyz").await, 200).await;
    assert_eq!(health["backup"]["status"], "ok", "{health}");
    assert_eq!(health["backup"]["failures"], 0);

    // A target that cannot be written: the first failure mails staff, the next ones only
    // count, and readiness stays up with the failure in its detail.
    let blocker = target.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("file");
    let mut broken = (*config).clone();
    broken.backup.to = Some(blocker.join("backups").display().to_string());
    let broken = BackupScheduler::new(app.db().clone(), Arc::new(broken))
        .expect("scheduler")
        .expect("scheduled");
    for hours in 5..=6 {
        let outcome = broken
            .run_due(t0 + hours * 61 * MINUTE)
            .await
            .expect("look");
        assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
        app.drain_outbox().await;
    }
    let alerts = app.smtp.mails_to("ops@example.com");
    assert_eq!(alerts.len(), 1, "one email per run of failures");
    assert!(
        alerts[0].subject().contains("backup failed"),
        "{}",
        alerts[0].subject()
    );
    assert!(
        alerts[0].text().contains("not-a-dir"),
        "{}",
        alerts[0].text()
    );
    let health = json_of(app.get("/readyz").await, 200).await;
    assert_eq!(health["backup"]["status"], "failing", "{health}");
    assert_eq!(health["backup"]["failures"], 2);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("backup_consecutive_failures 2"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("backup"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Fixed: the next backup works and the failures are cleared.
    let outcome = one.run_due(t0 + 8 * 61 * MINUTE).await.expect("look");
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let health = json_of(app.get("/readyz").await, 200).await;
    assert_eq!(health["backup"]["status"], "ok", "{health}");
}

#[tokio::test]
async fn backups_go_to_an_s3_bucket_copy_media_once_and_restore_from_it() {
    use emporium_testkit::s3::*;
    let s3 = FakeS3::start().await;
    let endpoint = s3.endpoint();
    let app = shop_backed_up_to(format!("s3://{S3_BUCKET}/backups/shop"), |_| {}).await;
    let mut config = app.config().clone();
    config.backup.s3_endpoint = Some(endpoint);
    config.backup.s3_allow_http = true;
    config.backup.s3_region = Some("us-east-1".into());
    config.backup.s3_access_key_id = Some(S3_ACCESS_KEY.into());
    config.backup.s3_secret_access_key = Some(S3_SECRET_KEY.into());
    let location = Location::parse(config.backup.to.as_deref().expect("to")).expect("s3");
    let now = chrono::Utc::now();
    let (first, manifest) = store::backup_to(&config, &location, now, &quiet)
        .await
        .expect("the first backup");
    let media_objects = |keys: &[String]| {
        keys.iter()
            .filter(|k| k.starts_with("backups/shop/media/"))
            .count()
    };
    let media_after_one = media_objects(&s3.keys());
    assert!(media_after_one >= 1, "{:?}", s3.keys());
    let hashes: std::collections::BTreeSet<_> = manifest.media.values().collect();
    assert_eq!(
        media_after_one,
        hashes.len(),
        "one object per distinct file"
    );
    let (second, _) =
        store::backup_to(&config, &location, now + chrono::Duration::hours(2), &quiet)
            .await
            .expect("the second backup");
    assert_ne!(first, second);
    assert_eq!(
        media_objects(&s3.keys()),
        media_after_one,
        "media went up once"
    );
    assert_eq!(
        store::list(&config, &location).await.expect("list").len(),
        2
    );

    // Restored from the bucket into a fresh shop.
    let target = tempfile::tempdir().expect("target");
    let empty = TestDatabase::create().await;
    let mut fresh = config.clone();
    fresh.data_dir = target.path().to_path_buf();
    fresh.database_url = empty.is_postgres().then(|| empty.url().to_string().into());
    fresh.media.dir = None;
    let (dir, staging) = store::fetch(&fresh, &second, &quiet)
        .await
        .expect("downloaded");
    let restored = backup::restore(&fresh, &dir, false, &quiet)
        .await
        .expect("the restore");
    assert_eq!(restored.tables, manifest.tables);
    std::fs::remove_dir_all(staging.expect("staged")).expect("cleaned up");
    for key in manifest.media.keys() {
        assert!(target.path().join("media").join(key).exists(), "{key}");
    }

    // Retention of one: the older backup goes, the media the newer one lists stay.
    let pruned = store::prune(
        &config,
        &location,
        Retention {
            hourly: 1,
            daily: 0,
            weekly: 0,
        },
        now + chrono::Duration::hours(3),
    )
    .await
    .expect("pruned");
    assert_eq!((pruned.backups_kept, pruned.backups_deleted), (1, 1));
    assert_eq!(pruned.media_deleted, 0);
    assert_eq!(
        store::list(&config, &location).await.expect("list"),
        vec![
            second
                .to_string()
                .rsplit('/')
                .next()
                .expect("name")
                .to_string()
        ]
    );
    assert_eq!(media_objects(&s3.keys()), media_after_one);
    // A name that is not a backup is refused before anything is read.
    let wrong = Location::parse(&format!("s3://{S3_BUCKET}/backups/shop")).expect("s3");
    let refused = store::fetch(&fresh, &wrong, &quiet)
        .await
        .expect_err("not a backup");
    assert!(refused.to_string().contains("not a backup"), "{refused}");
}
