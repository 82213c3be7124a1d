//! Products in and out as CSV: an import with good and bad rows (bad products refused
//! whole, the rest in), updates by handle, and an export that imports back.

use emporium_testkit::{Session, TestApp, problem};
use reqwest::Method;
use serde_json::Value;

async fn import(app: &TestApp, admin: &Session, csv: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/admin/products/import")
        .bearer_auth(&admin.access_token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("sent")
}

async fn report(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("json")
}

const HEADER: &str = "Handle,Title,Body (HTML),Vendor,Tags,Status,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Grams,Variant Price,Variant Compare At Price";

#[tokio::test]
async fn an_import_takes_good_products_and_reports_bad_rows() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let csv = format!(
        "{HEADER}\n\
         linen-shirt,Linen Shirt,<p>Breathes.</p>,Acme,\"summer, linen\",active,Size,S,Color,White,LS-S-W,180,39.00,49.00\n\
         linen-shirt,,,,,,,M,,White,LS-M-W,190,39.00,\n\
         linen-shirt,,,,,,,L,,Blue,LS-L-B,200,41.50,\n\
         wool-hat,Wool Hat,,Acme,,draft,Size,One,,,WH-1,90,twenty,\n\
         wool-hat,,,,,,,Two,,,WH-2,90,20.00,\n\
         ,No Handle,,,,,,,,,NH-1,,1.00,\n\
         scarf,Scarf,,,,active,,,,,,,15.00,\n\
         boots,Boots,,,,active,Size,40,,,BT-40,1200,120.00,\n\
         dupe,Dupe,,,,active,,,,,LS-S-W,,5.00,\n"
    );
    let body = report(import(&app, &admin, &csv).await).await;
    assert_eq!(body["rows"], 9);
    assert_eq!(body["products_created"], 2, "{body}");
    assert_eq!(body["variants_written"], 4);
    assert_eq!(body["rows_refused"], 5);
    let errors = body["errors"].as_array().expect("errors");
    let at = |row: u64| {
        errors
            .iter()
            .filter(|e| e["row"] == row)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(at(5)[0]["field"], "Variant Price");
    assert!(
        at(5)[0]["message"]
            .as_str()
            .expect("message")
            .contains("USD")
    );
    // The hat's good row went nowhere: a product goes in whole or not at all.
    assert!(at(6).is_empty());
    assert_eq!(at(7)[0]["field"], "Handle");
    assert_eq!(at(8)[0]["field"], "Variant SKU");
    assert_eq!(at(10).len(), 1, "the duplicate SKU is named: {errors:?}");

    let shirt = app.get("/api/v1/products/linen-shirt").await;
    assert_eq!(shirt.status(), 200);
    let shirt: Value = shirt.json().await.expect("json");
    assert_eq!(shirt["title"], "Linen Shirt");
    assert_eq!(shirt["variants"].as_array().expect("variants").len(), 3);
    let options: Vec<&str> = shirt["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(options, vec!["Size", "Color"]);
    let large = shirt["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["sku"] == "LS-L-B")
        .expect("LS-L-B")
        .clone();
    assert_eq!(large["price"]["amount"], 4150);
    assert_eq!(app.get("/api/v1/products/wool-hat").await.status(), 404);
    // Boots are published; nothing is half-made of the hat or the dupe.
    assert_eq!(app.get("/api/v1/products/boots").await.status(), 200);
    assert_eq!(app.get("/api/v1/products/dupe").await.status(), 404);

    // The same file again updates by handle, and a fixed hat goes in.
    let fixed = format!(
        "{HEADER}\n\
         linen-shirt,Linen Shirt II,<p>Still breathes.</p>,Acme,linen,active,Size,S,Color,White,LS-S-W,180,35.00,\n\
         linen-shirt,,,,,,,XL,,White,LS-XL-W,210,39.00,\n\
         wool-hat,Wool Hat,,Acme,,active,Size,One,,,WH-1,90,20.00,\n"
    );
    let body = report(import(&app, &admin, &fixed).await).await;
    assert_eq!(
        (
            body["products_created"].clone(),
            body["products_updated"].clone()
        ),
        (1.into(), 1.into()),
        "{body}"
    );
    let shirt: Value = app
        .get("/api/v1/products/linen-shirt")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shirt["title"], "Linen Shirt II");
    let skus: Vec<&str> = shirt["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .filter_map(|v| v["sku"].as_str())
        .collect();
    assert_eq!(skus.len(), 4, "{skus:?}");
    let small = shirt["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["sku"] == "LS-S-W")
        .expect("LS-S-W")
        .clone();
    assert_eq!(small["price"]["amount"], 3500);
}

#[tokio::test]
async fn an_export_imports_back_and_bad_files_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let csv = format!(
        "{HEADER}\n\
         tote,Canvas Tote,\"<p>Big, \"\"sturdy\"\".</p>\",Acme,\"canvas, bags\",active,Color,Natural,,,TOTE-N,400,18.00,22.00\n\
         tote,,,,,,,Black,,,TOTE-B,400,18.00,\n"
    );
    report(import(&app, &admin, &csv).await).await;
    let exported = app
        .call(
            Method::GET,
            "/api/v1/admin/products/export",
            Some(&admin.access_token),
            None,
        )
        .await;
    assert_eq!(exported.status(), 200);
    assert!(
        exported.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = exported.text().await.expect("csv");
    assert!(text.starts_with("Handle,Title,Body (HTML)"), "{text}");
    assert!(text.contains("tote,Canvas Tote,\"<p>Big, \"\"sturdy\"\".</p>\",Acme,\"canvas, bags\",active,Color,Natural"), "{text}");
    assert!(text.contains("TOTE-B,,400,18.00,"), "{text}");

    // Into another shop, unchanged.
    let other = TestApp::spawn().await;
    let other_admin = other.admin().await;
    let body = report(import(&other, &other_admin, &text).await).await;
    assert_eq!(body["products_created"], 1, "{body}");
    assert_eq!(body["rows_refused"], 0);
    let again = other
        .call(
            Method::GET,
            "/api/v1/admin/products/export",
            Some(&other_admin.access_token),
            None,
        )
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(again, text);

    // A file without the columns it needs, or not CSV at all.
    let missing = problem(import(&app, &admin, "Title,Price\nA,1\n").await, 422).await;
    assert_eq!(missing["errors"].as_array().expect("errors").len(), 3);
    let wrong_type = app
        .request(Method::POST, "/api/v1/admin/products/import")
        .bearer_auth(&admin.access_token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong_type.status(), 415);
    // Generated clients upload files as bytes: the same import.
    let bytes = app
        .request(Method::POST, "/api/v1/admin/products/import")
        .bearer_auth(&admin.access_token)
        .header("content-type", "application/octet-stream")
        .body(csv.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(bytes.status(), 200);
    let clerk = app.staff(&["products.read"]).await;
    assert_eq!(import(&app, &clerk, &csv).await.status(), 403);
}
