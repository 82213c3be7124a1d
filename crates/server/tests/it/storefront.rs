//! The shop in the browser: a guest finds a product by a misspelled search, picks a
//! variant, checks out with the manual provider's test card and lands on the order's
//! page; and what search engines read: titles, canonical URLs, hreflang alternates,
//! JSON-LD, robots.txt and the sitemaps.

use emporium_testkit::browser::{Browser, click, fill, text_of};
use emporium_testkit::{TestApp, json_of};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Waits until the node's search index has the product (the change-log follower runs
/// every node's replica within a second).
async fn searchable(app: &TestApp, query: &str, slug: &str) {
    let started = Instant::now();
    loop {
        let found = json_of(app.get(&format!("/api/v1/search?q={query}")).await, 200).await;
        if found["hits"]
            .as_array()
            .is_some_and(|h| h.iter().any(|hit| hit["slug"] == slug))
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{slug} never became searchable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The JSON-LD blocks of a page.
fn json_ld(html: &str) -> Vec<Value> {
    html.split("<script type=\"application/ld+json\">")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>"))
        .map(|(block, _)| serde_json::from_str(block).expect("JSON-LD parses"))
        .collect()
}

/// `href`s of `<link rel="alternate" hreflang=...>` by language.
fn alternates(html: &str) -> Vec<(String, String)> {
    html.split("<link rel=\"alternate\" hreflang=\"")
        .skip(1)
        .filter_map(|rest| {
            let (lang, rest) = rest.split_once('"')?;
            let href = rest.split_once("href=\"")?.1.split_once('"')?.0;
            Some((lang.to_string(), href.replace("&amp;", "&")))
        })
        .collect()
}

fn canonical(html: &str) -> String {
    html.split_once("<link rel=\"canonical\" href=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| href.to_string())
        .expect("a canonical link")
}

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

#[tokio::test]
async fn a_guest_finds_a_product_by_a_misspelled_search_and_buys_it_in_a_browser() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Linen Shirt", &["S", "M"], 2500, 20)
        .await;
    json_of(
        super::media::upload(
            &app,
            &admin,
            &shirt.id,
            &[("file", Some("shirt.png"), &super::media::png(120, 90))],
        )
        .await,
        201,
    )
    .await;
    app.drain_outbox().await;
    let rate = app
        .call(
            Method::PUT,
            "/api/v1/admin/exchange-rates/EUR",
            Some(&admin.access_token),
            Some(&json!({"rate": "0.9"})),
        )
        .await;
    assert_eq!(rate.status(), 200);
    searchable(&app, "linen", &shirt.slug).await;
    let home = app.url("/");
    let origin = app.url("");
    let product_page = app.url(&format!("/products/{}", shirt.slug));
    let slug = shirt.slug.clone();
    let medium = shirt.variants[1].clone();
    let mut number = String::new();
    let ran = Browser::run(|b| {
        let number = &mut number;
        async move {
            b.goto(&home).await.expect("home");
            // Misspelled: one letter too many.
            fill(&b, "#q", "linnen").await;
            click(&b, "form.search button[type=submit]").await;
            assert!(text_of(&b, "#result-count").await.starts_with('1'));
            b.find(Locator::LinkText("Linen Shirt"))
                .await
                .expect("the hit")
                .click()
                .await
                .expect("opened");
            assert_eq!(text_of(&b, "#product-title").await, "Linen Shirt");
            super::admin::screenshot(&b, "store-product.png").await;
            assert_eq!(text_of(&b, "#product-price").await, "25.00 USD");
            b.find(Locator::Css("#variant"))
                .await
                .expect("the variant picker")
                .select_by_value(&medium)
                .await
                .expect("size M");
            fill(&b, "#quantity", "2").await;
            click(&b, "#add-to-cart").await;
            assert_eq!(text_of(&b, "#cart-subtotal").await, "50.00 USD");
            super::admin::screenshot(&b, "store-cart.png").await;
            assert!(text_of(&b, "table").await.contains("M"));
            click(&b, "#to-checkout").await;
            fill(&b, "#email", "guest.buyer@example.com").await;
            fill(&b, "#name", "Grace Guest").await;
            fill(&b, "#line1", "1 Market St").await;
            fill(&b, "#postal_code", "94105").await;
            fill(&b, "#city", "San Francisco").await;
            fill(&b, "#region", "CA").await;
            click(&b, "#to-delivery").await;
            let total = text_of(&b, "#checkout-total").await;
            assert!(total.ends_with("USD"), "{total}");
            click(&b, "#place-order").await;
            // The manual provider's test page, then back to the order's page.
            let source = b.source().await.expect("source");
            assert!(source.contains("Pay for your order"), "{source}");
            fill(&b, "#card_number", "4242 4242 4242 4242").await;
            click(&b, "button[type=submit]").await;
            assert_eq!(text_of(&b, "h1").await, "Paid");
            click(&b, "#continue").await;
            let heading = text_of(&b, "h1").await;
            assert!(heading.starts_with("Order #"), "{heading}");
            assert_eq!(text_of(&b, "#order-status").await, "paid");
            assert_eq!(text_of(&b, "#order-total").await, total);
            *number = heading.trim_start_matches("Order #").to_string();

            // The same in German with euro prices: the cart and checkout speak the
            // cart's language and charge in its currency.
            b.goto(&format!("{origin}/de/products/{slug}?currency=EUR"))
                .await
                .expect("German page");
            assert_eq!(text_of(&b, "#product-price").await, "22.50 EUR");
            click(&b, "#add-to-cart").await;
            assert_eq!(text_of(&b, "h1").await, "Warenkorb");
            assert_eq!(text_of(&b, "#cart-subtotal").await, "22.50 EUR");
            click(&b, "#to-checkout").await;
            assert_eq!(text_of(&b, "h1").await, "Zur Kasse");
            fill(&b, "#email", "gast@example.de").await;
            fill(&b, "#name", "Greta Gast").await;
            fill(&b, "#line1", "Unter den Linden 1").await;
            fill(&b, "#postal_code", "10117").await;
            fill(&b, "#city", "Berlin").await;
            b.find(Locator::Css("#country"))
                .await
                .expect("countries")
                .select_by_value("DE")
                .await
                .expect("Germany");
            click(&b, "#to-delivery").await;
            let euros = text_of(&b, "#checkout-total").await;
            assert!(euros.ends_with("EUR"), "{euros}");
            click(&b, "#place-order").await;
            fill(&b, "#card_number", "4242 4242 4242 4242").await;
            click(&b, "main button[type=submit]").await;
            click(&b, "#continue").await;
            assert_eq!(text_of(&b, "#order-status").await, "paid");
            assert_eq!(text_of(&b, "#order-total").await, euros);

            // What a page-speed audit checks: nothing render-blocking from elsewhere,
            // images with alt text and dimensions, and a 360 px phone without sideways
            // scrolling.
            b.set_window_size(360, 800).await.expect("narrow window");
            for page in [home.clone(), product_page.clone(), format!("{origin}/cart"), format!("{origin}/search?q=shirt")] {
                b.goto(&page).await.expect("page");
                let audit: Value = b
                    .execute(
                        "const w = document.documentElement.clientWidth; return {
                           overflow: document.documentElement.scrollWidth - w,
                           wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 5).map(e => e.tagName + '.' + e.className),
                           foreign: [...document.querySelectorAll('link[rel=stylesheet], script[src]')].map(e => e.href || e.src).filter(u => !u.startsWith(location.origin)),
                           images: document.images.length,
                           bare: [...document.images].filter(i => !i.getAttribute('alt') || !i.getAttribute('width') || !i.getAttribute('height')).map(i => i.src),
                         }",
                        vec![],
                    )
                    .await
                    .expect("audit");
                assert_eq!(audit["overflow"], 0, "{page} at 360 px: {audit}");
                assert_eq!(audit["foreign"], json!([]), "{page}: {audit}");
                assert_eq!(audit["bare"], json!([]), "{page}: {audit}");
                if page == product_page {
                    assert!(audit["images"].as_i64() >= Some(1), "{audit}");
                }
            }
        }
    })
    .await;
    if ran.is_none() {
        return;
    }
    // The order is in the admin, paid, with the size chosen.
    let orders = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/orders?q=guest.buyer@example.com",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let order = orders["data"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|o| {
                    o["number"].as_i64().map(|n| n.to_string()).as_deref() == Some(number.as_str())
                })
                .cloned()
        })
        .unwrap_or_else(|| panic!("order {number} in {orders}"));
    assert_eq!(order["status"], "paid", "{order}");
}

#[tokio::test]
async fn product_pages_carry_what_search_engines_read_in_every_language() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Wool Sweater", &["S", "M"], 4900, 5)
        .await;
    let single = app.product(&admin, "Wool Hat", &["One"], 1500, 0).await;
    let rate = app
        .call(
            Method::PUT,
            "/api/v1/admin/exchange-rates/EUR",
            Some(&admin.access_token),
            Some(&json!({"rate": "0.9"})),
        )
        .await;
    assert_eq!(rate.status(), 200);
    let origin = app.config().store_url();

    // English, default currency.
    let path = format!("/products/{}", shirt.slug);
    let (status, page) = html(&app, &path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<title>Wool Sweater · "), "{page}");
    assert!(!page.contains("name=\"robots\" content=\"noindex\""));
    assert_eq!(canonical(&page), format!("{origin}{path}"));
    assert!(page.contains("<meta property=\"og:type\" content=\"product\">"));
    let blocks = json_ld(&page);
    let group = blocks
        .iter()
        .find(|b| b["@type"] == "ProductGroup")
        .expect("a ProductGroup");
    assert_eq!(group["name"], "Wool Sweater");
    for variant in group["hasVariant"].as_array().expect("variants") {
        let offer = &variant["offers"];
        assert_eq!(offer["price"], "49.00");
        assert_eq!(offer["priceCurrency"], "USD");
        assert_eq!(offer["availability"], "https://schema.org/InStock");
        assert!(variant["name"].as_str().is_some_and(|n| !n.is_empty()));
    }
    let crumbs = blocks
        .iter()
        .find(|b| b["@type"] == "BreadcrumbList")
        .expect("breadcrumbs");
    assert_eq!(crumbs["itemListElement"][0]["position"], 1);
    // One variant: a Product with its Offer, sold out.
    let (_, hat) = html(&app, &format!("/products/{}", single.slug)).await;
    let product = json_ld(&hat)
        .into_iter()
        .find(|b| b["@type"] == "Product")
        .expect("a Product");
    assert_eq!(product["offers"]["price"], "15.00");
    assert_eq!(
        product["offers"]["availability"],
        "https://schema.org/OutOfStock"
    );
    // Sold out: the page offers to email when it is back, and the form does that.
    assert!(hat.contains("id=\"notify-me\""), "{hat}");
    let form = [
        ("variant_id", single.variants[0].as_str()),
        ("email", "waiting@example.com"),
        ("product", single.slug.as_str()),
    ];
    let foreign = reqwest::Client::new()
        .post(app.url("/stock-notifications"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .expect("posted");
    assert_eq!(foreign.status(), 403, "another site cannot post it");
    let asked = reqwest::Client::new()
        .post(app.url("/stock-notifications"))
        .form(&form)
        .send()
        .await
        .expect("posted");
    assert_eq!(asked.status(), 200);
    assert!(
        asked
            .text()
            .await
            .expect("page")
            .contains("waiting@example.com")
    );

    // Alternates are absolute and reciprocal: each language's page lists the same set.
    let listed = alternates(&page);
    let languages: Vec<&str> = listed.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(languages, ["en", "de", "fr", "es", "x-default"]);
    for (lang, href) in &listed {
        assert!(href.starts_with(&origin), "{href}");
        let local = href.trim_start_matches(&origin);
        let (status, other) = html(&app, local).await;
        assert_eq!(status, 200, "{lang} {href}");
        assert_eq!(
            alternates(&other),
            listed,
            "{lang} lists the same alternates"
        );
        assert_eq!(canonical(&other), *href, "{lang} is its own canonical");
    }

    // German with euro prices: the words, the price and the structured data follow.
    let (status, german) = html(&app, &format!("/de{path}?currency=EUR")).await;
    assert_eq!(status, 200);
    assert!(german.contains("<html lang=\"de\">"));
    assert!(german.contains("In den Warenkorb"), "{german}");
    assert!(german.contains("44.10 EUR"), "{german}");
    let offer = &json_ld(&german)
        .into_iter()
        .find(|b| b["@type"] == "ProductGroup")
        .expect("group")["hasVariant"][0]["offers"];
    assert_eq!(offer["priceCurrency"], "EUR");
    assert_eq!(offer["price"], "44.10");
    assert_eq!(
        canonical(&german),
        format!("{origin}/de{path}"),
        "the currency is not part of the canonical URL"
    );

    // A shop's own template replaces the built-in one, without a rebuild.
    let dir = app.config().data_dir.join("templates").join("store");
    std::fs::create_dir_all(&dir).expect("template dir");
    std::fs::write(
        dir.join("product_card.html"),
        "<li class=\"mine\">{{ p.title }} for {{ p.price }}</li>",
    )
    .expect("override");
    let (_, home) = html(&app, "/").await;
    assert!(
        home.contains("<li class=\"mine\">Wool Sweater for 49.00 USD</li>"),
        "{home}"
    );
    // Not a language of the shop, not a product: 404 pages, not errors.
    assert_eq!(html(&app, &format!("/xx{path}")).await.0, 404);
    assert_eq!(html(&app, "/products/no-such-thing").await.0, 404);
    // A renamed product answers 301 to its new address.
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/products/{}", shirt.id),
            Some(&admin.access_token),
            Some(&json!({"slug": "wool-sweater-renamed"})),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let moved = client.get(app.url(&path)).send().await.expect("old slug");
    assert_eq!(moved.status(), 301);
    assert_eq!(
        moved.headers()["location"],
        "/products/wool-sweater-renamed"
    );
    // An unchanged page is revalidated, not sent again.
    let fresh = client
        .get(app.url("/products/wool-sweater-renamed"))
        .send()
        .await
        .expect("page");
    let etag = fresh.headers()["etag"].clone();
    let again = client
        .get(app.url("/products/wool-sweater-renamed"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 304);
    // Pages are cached on each node and follow the catalog change log: a new price shows
    // on the node that wrote it at once and on another node within a second.
    let sibling = app.sibling().await;
    let renamed_path = "/products/wool-sweater-renamed";
    for node in [app.url(renamed_path), sibling.url(renamed_path)] {
        let page = client
            .get(&node)
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(page.contains("49.00 USD"), "{page}");
    }
    let repriced = app
        .call(
            Method::PATCH,
            &format!(
                "/api/v1/admin/products/{}/variants/{}",
                shirt.id, shirt.variants[0]
            ),
            Some(&admin.access_token),
            Some(&json!({"prices": {"USD": {"amount": 5900}}})),
        )
        .await;
    assert_eq!(
        repriced.status(),
        200,
        "{}",
        repriced.text().await.unwrap_or_default()
    );
    let here = html(&app, renamed_path).await.1;
    assert!(here.contains("59.00 USD"), "the writing node: {here}");
    let started = Instant::now();
    loop {
        let there = client
            .get(sibling.url(renamed_path))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        if there.contains("59.00 USD") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the other node: {there}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The cart and checkout are never indexed.
    let (_, cart) = html(&app, "/cart").await;
    assert!(cart.contains("name=\"robots\" content=\"noindex\""));
}

/// An XML element: its name, its text and its attributes.
type Element = (String, String, Vec<(String, String)>);

/// Every element, in document order.
fn xml_elements(text: &str) -> Vec<Element> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).to_string(),
                            String::from_utf8_lossy(&a.value).to_string(),
                        )
                    })
                    .collect();
                out.push((
                    String::from_utf8_lossy(e.name().as_ref()).to_string(),
                    String::new(),
                    attrs,
                ));
                open.push(out.len() - 1);
            }
            Event::Text(t) => {
                if let Some(&at) = open.last() {
                    out[at].1.push_str(&t.decode().expect("text"));
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn robots_and_sitemaps_follow_the_protocol() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for title in ["Linen Shirt", "Cotton Shirt", "Silk Scarf"] {
        app.product(&admin, title, &["M"], 2000, 3).await;
    }
    let picked = app
        .call(
            Method::POST,
            "/api/v1/admin/collections",
            Some(&admin.access_token),
            Some(
                &json!({"slug": "summer", "kind": "rule", "rule": {"price_min": 0},
                         "translations": {"en": {"name": "Summer"}}}),
            ),
        )
        .await;
    let picked_status = picked.status();
    assert_eq!(
        picked_status,
        201,
        "{}",
        picked.text().await.unwrap_or_default()
    );
    let (status, summer) = html(&app, "/collections/summer").await;
    assert_eq!(status, 200, "{summer}");
    assert!(summer.contains("<h1>Summer</h1>"));
    let origin = app.config().store_url();
    let robots = app.get("/robots.txt").await.text().await.expect("robots");
    assert!(robots.contains("Disallow: /checkout"), "{robots}");
    assert!(robots.contains(&format!("Sitemap: {origin}/sitemap.xml")));

    let index = app.get("/sitemap.xml").await;
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/xml"))
    );
    let index = xml_elements(&index.text().await.expect("index"));
    assert_eq!(index[0].0, "sitemapindex");
    assert!(index[0].2.contains(&(
        "xmlns".into(),
        "http://www.sitemaps.org/schemas/sitemap/0.9".into()
    )));
    let children: Vec<String> = index
        .iter()
        .filter(|e| e.0 == "loc")
        .map(|e| e.1.clone())
        .collect();
    assert!(children.len() >= 2, "{children:?}");
    let mut product_urls = 0;
    for child in children {
        assert!(child.starts_with(&origin), "{child}");
        let response = app.get(child.trim_start_matches(&origin)).await;
        assert_eq!(response.status(), 200, "{child}");
        let text = response.text().await.expect("child");
        assert!(text.len() < 50 * 1024 * 1024);
        let elements = xml_elements(&text);
        assert_eq!(elements[0].0, "urlset");
        let urls = elements.iter().filter(|e| e.0 == "url").count();
        assert!(urls <= 50_000);
        for e in &elements {
            match e.0.as_str() {
                "loc" => assert!(e.1.starts_with(&origin), "{}", e.1),
                "lastmod" => {
                    chrono::DateTime::parse_from_rfc3339(&e.1).expect("a W3C datetime");
                }
                "xhtml:link" => {
                    let href = &e.2.iter().find(|(k, _)| k == "href").expect("href").1;
                    assert!(href.starts_with(&origin), "{href}");
                }
                _ => {}
            }
        }
        if child.contains("/products-") {
            product_urls += urls;
        }
    }
    assert_eq!(product_urls, 3);
    let (_, pages) = html(&app, "/sitemaps/pages.xml").await;
    assert!(
        pages.contains(&format!("<loc>{origin}/collections/summer</loc>")),
        "{pages}"
    );
}
