//! Product images: checked by content, limited in bytes and pixels, stored under content
//! hashes, served immutable, thumbnailed by a job, with alt text per language and ties to
//! variants.

use emporium_testkit::{Session, TestApp, TestOptions, problem};
use reqwest::Method;
use serde_json::{Value, json};

/// A `multipart/form-data` body: `(name, filename, content)` parts.
pub(crate) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "emporium-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

pub(crate) async fn upload(
    app: &TestApp,
    user: &Session,
    product: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> reqwest::Response {
    let (content_type, body) = multipart(parts);
    app.request(
        Method::POST,
        &format!("/api/v1/admin/products/{product}/images"),
    )
    .bearer_auth(&user.access_token)
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .expect("sent")
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "unexpected status, body: {text}");
    serde_json::from_str(&text).expect("json body")
}

fn small_limits() -> TestOptions {
    TestOptions {
        configure: Box::new(|config| {
            config.media.max_upload_bytes = 400_000;
            config.media.max_pixels = 2_000_000;
        }),
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn images_are_checked_stored_served_and_thumbnailed() {
    let app = TestApp::spawn_with(small_limits()).await;
    let admin = app.admin().await;
    let shirt = app
        .product(&admin, "Oxford Shirt", &["red", "blue"], 4500, 3)
        .await;
    let picture = png(1600, 900);
    let red = shirt.variants[0].clone();
    let image = json_of(
        upload(
            &app,
            &admin,
            &shirt.id,
            &[
                ("file", Some("front.png"), &picture),
                ("alt", None, b"Red shirt, front"),
                ("alt.de", None, "Rotes Hemd, vorne".as_bytes()),
                ("variant_ids", None, red.as_bytes()),
            ],
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (image["width"].clone(), image["height"].clone()),
        (json!(1600), json!(900))
    );
    let url = image["url"].as_str().expect("url").to_string();
    assert!(
        url.contains("/media/images/") && url.ends_with(".png"),
        "{url}"
    );
    assert_eq!(image["variant_ids"], json!([red]));

    // Served from its content-hashed name, cacheable forever.
    let served = app.client.get(&url).send().await.expect("get");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = served.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(
        served.bytes().await.expect("bytes").as_ref(),
        picture.as_slice()
    );
    let again = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    assert_eq!(
        app.get("/media/images/..%2F..%2Fetc%2Fpasswd")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/media/images/0000.png").await.status(), 404);

    // Thumbnails come from a job, off the request path.
    app.drain_outbox().await;
    let page = json_of(
        app.get(&format!("/api/v1/products/{}", shirt.slug)).await,
        200,
    )
    .await;
    let shown = &page["images"][0];
    assert_eq!(shown["alt"], "Red shirt, front");
    let thumbnails = shown["thumbnails"].as_object().expect("thumbnails");
    assert_eq!(
        thumbnails.keys().cloned().collect::<Vec<_>>(),
        vec!["1200", "200", "600"]
    );
    let small = app
        .client
        .get(thumbnails["200"].as_str().expect("url"))
        .send()
        .await
        .expect("get");
    assert_eq!(small.headers()["content-type"], "image/webp");
    let decoded = image::load_from_memory(&small.bytes().await.expect("bytes")).expect("webp");
    assert_eq!((decoded.width(), decoded.height()), (200, 112));

    // Alt text per language, falling back to the default.
    let german = json_of(
        app.get(&format!("/api/v1/products/{}?lang=de", shirt.slug))
            .await,
        200,
    )
    .await;
    assert_eq!(german["images"][0]["alt"], "Rotes Hemd, vorne");
    let french = json_of(
        app.get(&format!("/api/v1/products/{}?lang=fr", shirt.slug))
            .await,
        200,
    )
    .await;
    assert_eq!(french["images"][0]["alt"], "Red shirt, front");
    let list = json_of(app.get("/api/v1/products?limit=5").await, 200).await;
    let summary = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["id"] == shirt.id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(summary["image"]["url"], url);

    // Changed and removed.
    let id = image["id"].as_str().expect("id");
    let path = format!("/api/v1/admin/products/{}/images/{id}", shirt.id);
    let changed = json_of(
        app.call(
            Method::PATCH,
            &path,
            Some(&admin.access_token),
            Some(&json!({"alt": {"fr": "Chemise rouge", "de": ""}, "variant_ids": []})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["variant_ids"], json!([]));
    let french = json_of(
        app.get(&format!("/api/v1/products/{}?lang=fr", shirt.slug))
            .await,
        200,
    )
    .await;
    assert_eq!(french["images"][0]["alt"], "Chemise rouge");
    let german = json_of(
        app.get(&format!("/api/v1/products/{}?lang=de", shirt.slug))
            .await,
        200,
    )
    .await;
    assert_eq!(
        german["images"][0]["alt"], "Red shirt, front",
        "the German text was removed"
    );
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&admin.access_token), None)
            .await
            .status(),
        204
    );
    let page = json_of(
        app.get(&format!("/api/v1/products/{}", shirt.slug)).await,
        200,
    )
    .await;
    assert!(page["images"].as_array().expect("images").is_empty());
    assert_eq!(
        app.call(Method::DELETE, &path, Some(&admin.access_token), None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_with_the_reason() {
    let app = TestApp::spawn_with(small_limits()).await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Mug", &["one"], 1200, 1).await;

    // A text file named .jpg is not an image.
    let text = problem(
        upload(
            &app,
            &admin,
            &product.id,
            &[("file", Some("photo.jpg"), b"just some words, not a picture")],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(text["errors"][0]["field"], "file");
    // Too many pixels, known from the header alone.
    let huge = problem(
        upload(
            &app,
            &admin,
            &product.id,
            &[("file", Some("big.png"), &png(2000, 1500))],
        )
        .await,
        422,
    )
    .await;
    assert!(
        huge["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("2000x1500"),
        "{huge}"
    );
    // Too many bytes: refused on the declared length.
    let noise: Vec<u8> = (0..600_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (content_type, body) = multipart(&[("file", Some("noise.jpg"), &noise)]);
    let started = std::time::Instant::now();
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/admin/products/{}/images", product.id),
        )
        .bearer_auth(&admin.access_token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 413);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // No file, a stranger's variant, a product that does not exist.
    let missing = problem(
        upload(&app, &admin, &product.id, &[("alt", None, b"x")]).await,
        422,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "file");
    let other = app.product(&admin, "Plate", &["one"], 900, 1).await;
    let picture = png(300, 300);
    let wrong = problem(
        upload(
            &app,
            &admin,
            &product.id,
            &[
                ("file", Some("a.png"), &picture),
                ("variant_ids", None, other.variants[0].as_bytes()),
            ],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "variant_ids[0]");
    let nowhere = upload(
        &app,
        &admin,
        &uuid::Uuid::now_v7().to_string(),
        &[("file", Some("a.png"), &picture)],
    )
    .await;
    assert_eq!(nowhere.status(), 404);
    let clerk = app.staff(&["products.read"]).await;
    assert_eq!(
        upload(
            &app,
            &clerk,
            &product.id,
            &[("file", Some("a.png"), &picture)]
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn images_can_live_in_an_s3_compatible_bucket() {
    use emporium_testkit::s3::*;
    let s3 = FakeS3::start().await;
    let endpoint = s3.endpoint();
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(move |config| {
            let m = &mut config.media;
            m.s3_bucket = Some(S3_BUCKET.into());
            m.s3_endpoint = Some(endpoint);
            m.s3_allow_http = true;
            m.s3_access_key_id = Some(S3_ACCESS_KEY.into());
            m.s3_secret_access_key = Some(S3_SECRET_KEY.into());
        }),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Lamp", &["one"], 3000, 1).await;
    let picture = png(800, 600);
    let image = json_of(
        upload(
            &app,
            &admin,
            &product.id,
            &[("file", Some("lamp.png"), &picture)],
        )
        .await,
        201,
    )
    .await;
    let url = image["url"].as_str().expect("url");
    let key = url.split("/media/").nth(1).expect("key").to_string();
    assert_eq!(s3.keys(), vec![key]);
    app.drain_outbox().await;
    // Thumbnails under 800 px went to the bucket too, and everything is served from it.
    assert_eq!(s3.keys().len(), 3, "{:?}", s3.keys());
    let served = app.client.get(url).send().await.expect("get");
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().await.expect("bytes").as_ref(),
        picture.as_slice()
    );
    assert_eq!(app.get("/media/images/00ff.png").await.status(), 404);
}

#[tokio::test]
async fn a_truncated_image_is_refused_before_it_is_stored() {
    let app = TestApp::spawn_with(small_limits()).await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Desk Lamp", &["one"], 3000, 1).await;
    let whole = png(400, 300);
    // The header (and so the dimensions) survive; most of the pixel data does not.
    let truncated = &whole[..whole.len() / 3];
    let refused = problem(
        upload(
            &app,
            &admin,
            &product.id,
            &[("file", Some("lamp.png"), truncated)],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "file");
    let detail = app
        .call(
            Method::GET,
            &format!("/api/v1/admin/products/{}", product.id),
            Some(&admin.access_token),
            None,
        )
        .await;
    let detail = json_of(detail, 200).await;
    assert_eq!(detail["images"], json!([]), "nothing was stored");
}
