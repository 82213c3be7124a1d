//! Product feeds for Google Merchant Center (RSS with the `g:` namespace) and Meta (CSV),
//! read with real XML and CSV parsers: every item carries what Google requires with
//! values from its allowed sets, prices and availability equal the product's own, and a
//! price change is in the next fetch.

use emporium_testkit::{TestApp, TestOptions, json_of};
use quick_xml::events::Event;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One feed item: each `g:` element's values by name.
type Item = HashMap<String, Vec<String>>;

fn google_items(xml: &str) -> Vec<Item> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut items = Vec::new();
    let mut item: Option<Item> = None;
    let mut open: Option<String> = None;
    let mut text = String::new();
    let mut rss = false;
    // Inside `g:shipping`, whose parts (country, price) are not the item's own.
    let mut nested = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).expect("name");
                if name == "rss" {
                    rss = e
                        .attributes()
                        .filter_map(Result::ok)
                        .any(|a| a.value.as_ref() == b"http://base.google.com/ns/1.0");
                }
                if name == "item" {
                    item = Some(Item::new());
                } else if name == "g:shipping" {
                    nested += 1;
                } else if item.is_some() && nested == 0 {
                    open = Some(name.trim_start_matches("g:").to_string());
                    text.clear();
                }
            }
            Event::Text(t) => text.push_str(&t.decode().expect("utf-8")),
            Event::GeneralRef(r) => {
                let name = String::from_utf8(r.to_vec()).expect("entity");
                text.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unknown entity {other}"),
                });
            }
            Event::End(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).expect("name");
                if name == "item" {
                    items.push(item.take().expect("item"));
                } else if name == "g:shipping" {
                    nested -= 1;
                } else if let (Some(item), Some(open_name)) = (item.as_mut(), open.take()) {
                    item.entry(open_name).or_default().push(text.clone());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(rss, "an RSS 2.0 document with Google's namespace");
    items
}

fn one<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{name} missing in {item:?}"))
}

/// "19.99 USD" for 1999 cents.
fn shown(amount: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", amount / 100, amount % 100)
}

async fn seeded() -> TestApp {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.checkout.default_tax_country = Some("US".into())),
        ..TestOptions::default()
    })
    .await;
    app.state()
        .catalog
        .seed_demo(24, |_| {})
        .await
        .expect("seeded");
    app
}

async fn text(app: &TestApp, path: &str, status: u16) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), status, "{path}");
    response.text().await.expect("body")
}

#[tokio::test]
async fn the_google_feed_has_every_required_attribute_and_the_product_pages_prices() {
    let app = seeded().await;
    let admin = app.admin().await;
    let xml = text(&app, "/feeds/google/en-USD.xml", 200).await;
    let items = google_items(&xml);
    let mut products = HashMap::new();
    let mut variants = 0;
    let page: Value = app
        .get("/api/v1/products?limit=100")
        .await
        .json()
        .await
        .expect("list");
    for summary in page["data"].as_array().expect("data") {
        let slug = summary["slug"].as_str().expect("slug");
        let product: Value = app
            .get(&format!("/api/v1/products/{slug}?currency=USD"))
            .await
            .json()
            .await
            .expect("product");
        variants += product["variants"].as_array().expect("variants").len();
        products.insert(slug.to_string(), product);
    }
    assert_eq!(products.len(), 24);
    assert_eq!(items.len(), variants, "one item per priced variant");

    for item in &items {
        for required in [
            "id",
            "title",
            "description",
            "link",
            "image_link",
            "availability",
            "price",
            "brand",
            "condition",
            "item_group_id",
            "size",
            "color",
        ] {
            assert!(
                !one(item, required).trim().is_empty(),
                "{required} empty: {item:?}"
            );
        }
        assert!(
            item.contains_key("gtin")
                || item.contains_key("mpn")
                || one(item, "identifier_exists") == "no",
            "an identifier or identifier_exists=no: {item:?}"
        );
        let availability = one(item, "availability");
        assert!(
            ["in_stock", "out_of_stock", "preorder", "backorder"].contains(&availability),
            "{availability}"
        );
        assert!(["new", "refurbished", "used"].contains(&one(item, "condition")));
        let price = one(item, "price");
        let (amount, currency) = price.split_once(' ').expect("amount and currency");
        assert_eq!(currency, "USD");
        let (units, cents) = amount.split_once('.').expect("a decimal point");
        assert!(
            units.parse::<u64>().is_ok() && cents.len() == 2 && cents.parse::<u8>().is_ok(),
            "{price}"
        );
        for link in ["link", "image_link"] {
            let url = one(item, link);
            assert!(
                url.starts_with("http://") || url.starts_with("https://"),
                "{url}"
            );
        }
        // The US flat rate, as checkout charges it without shipping zones.
        assert!(xml.contains(
            "<g:shipping><g:country>US</g:country><g:price>5.00 USD</g:price></g:shipping>"
        ));

        // The same price and availability as the product itself.
        let link = url::Url::parse(one(item, "link")).expect("link");
        let slug = link.path().rsplit('/').next().expect("slug");
        let variant_id = link
            .query_pairs()
            .find(|(k, _)| k == "variant")
            .map(|(_, v)| v.to_string())
            .expect("variant in link");
        let product = &products[slug];
        let variant = product["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .find(|v| v["id"] == variant_id.as_str())
            .expect("the variant");
        assert_eq!(one(item, "id"), variant["sku"].as_str().expect("sku"));
        assert_eq!(
            price,
            shown(variant["price"]["amount"].as_i64().expect("amount"), "USD")
        );
        let available = variant["available"].as_bool().expect("available");
        assert_eq!(availability == "in_stock", available, "{item:?}");
        assert_eq!(
            one(item, "item_group_id"),
            product["id"].as_str().expect("id")
        );
    }

    let item = &items[0];
    let link = url::Url::parse(one(item, "link")).expect("link");
    let slug = link.path().rsplit('/').next().expect("slug");
    let product = &products[slug];
    let variant = &product["variants"][0];
    let sku = variant["sku"].as_str().expect("sku").to_string();
    // The product page's structured data names the same shipping.
    let page = text(&app, link.path(), 200).await;
    assert!(
        page.contains("\"shippingDetails\"")
            && page.contains("\"addressCountry\":\"US\"")
            && page.contains("\"value\":\"5.00\""),
        "{page}"
    );

    // A price change is in the next fetch: a sale, with the old price as the price.
    json_of(
        app.call(
            Method::PATCH,
            &format!(
                "/api/v1/admin/products/{}/variants/{}",
                product["id"].as_str().expect("id"),
                variant["id"].as_str().expect("variant id")
            ),
            Some(&admin.access_token),
            Some(&json!({"prices": {"USD": {"amount": 4242, "compare_at": 5000}}})),
        )
        .await,
        200,
    )
    .await;
    let changed = Instant::now();
    loop {
        let items = google_items(&text(&app, "/feeds/google/en-USD.xml", 200).await);
        let item = items
            .iter()
            .find(|i| one(i, "id") == sku)
            .expect("still listed");
        if item.get("sale_price").is_some() {
            assert_eq!(one(item, "sale_price"), "42.42 USD");
            assert_eq!(one(item, "price"), "50.00 USD");
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "the new price is in the feed within a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_meta_feed_is_csv_and_feeds_come_per_language_and_currency() {
    let app = seeded().await;
    let body = text(&app, "/feeds/meta/en-USD.csv", 200).await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    for column in [
        "id",
        "title",
        "description",
        "availability",
        "condition",
        "price",
        "link",
        "image_link",
        "brand",
    ] {
        assert!(headers.iter().any(|h| h == column), "{column}");
    }
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert!(rows.len() >= 24, "{}", rows.len());
    for row in &rows {
        assert!(["in stock", "out of stock"].contains(&&row[column("availability")]));
        assert!(row[column("price")].ends_with(" USD"));
        assert!(!row[column("title")].is_empty() && !row[column("image_link")].is_empty());
        assert!(row[column("shipping")].starts_with("US::Standard:"));
    }

    // German texts and euro prices, linking to the German pages in euros.
    let items = google_items(&text(&app, "/feeds/google/de-EUR.xml", 200).await);
    assert!(!items.is_empty());
    for item in &items {
        assert!(one(item, "price").ends_with(" EUR"));
        let link = one(item, "link");
        assert!(
            link.contains("/de/products/") && link.contains("currency=EUR"),
            "{link}"
        );
    }
    assert!(items.iter().any(|i| one(i, "title").contains("Jacke")));

    // Only the store's languages and currencies; nothing else is a feed.
    text(&app, "/feeds/google/xx-USD.xml", 404).await;
    text(&app, "/feeds/google/en-XYZ.xml", 404).await;
    text(&app, "/feeds/meta/en-USD.xml", 404).await;
}

#[tokio::test]
async fn a_feed_token_keeps_the_feeds_private() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.feeds.token = Some("feed-secret-7f3c".to_string().into())),
        ..TestOptions::default()
    })
    .await;
    let refused = text(&app, "/feeds/google/en-USD.xml", 403).await;
    assert!(refused.contains("[feeds] token"), "{refused}");
    text(&app, "/feeds/meta/en-USD.csv?token=wrong", 403).await;
    let empty = text(&app, "/feeds/google/en-USD.xml?token=feed-secret-7f3c", 200).await;
    assert!(google_items(&empty).is_empty());
}
