//! The restore drill, on the backend the suite runs on: a shop backed up while orders
//! keep coming, checked against its manifest, restored into a fresh database, and
//! served again.

use emporium_server::backup::{self, Manifest};
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
