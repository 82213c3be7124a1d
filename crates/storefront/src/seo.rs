//! `/robots.txt` and the sitemaps: `/sitemap.xml` is a sitemap index naming
//! `/sitemaps/pages.xml` (home, categories and collections) and `/sitemaps/products-<n>.xml`, each of at
//! most 50,000 product URLs with their alternates in every language and their last
//! change. Product sitemaps are streamed a few thousand rows at a time, never built whole
//! in memory; the compression layer gzips them for clients that accept it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::state::Storefront;

/// URLs per sitemap file (the protocol's limit).
pub const PER_FILE: u64 = 50_000;
/// Rows read per database round trip while streaming.
const BATCH: u64 = 2_000;

fn xml(body: Body) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn w3c(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /robots.txt`: everything but the private pages, and where the sitemap is.
/// `[store] robots_txt` replaces the rules.
pub(crate) async fn robots(State(sf): State<Storefront>) -> Response {
    let rules = sf.config.store.robots_txt.clone().unwrap_or_else(|| {
        "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /account/\nDisallow: /orders/\nDisallow: /search\nDisallow: /admin\nDisallow: /api/\n".to_string()
    });
    let body = format!(
        "{}\nSitemap: {}\n",
        rules.trim_end(),
        sf.absolute("/sitemap.xml")
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `GET /sitemap.xml`: the index.
pub(crate) async fn index(State(sf): State<Storefront>) -> Response {
    let (count, newest) = match sf.catalog.published_extent().await {
        Ok(extent) => extent,
        Err(err) => return err.into_response(),
    };
    let files = count.div_ceil(PER_FILE).max(1);
    let lastmod = newest
        .map(|t| format!("<lastmod>{}</lastmod>", w3c(&t)))
        .unwrap_or_default();
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    out.push_str(&format!(
        "<sitemap><loc>{}</loc>{lastmod}</sitemap>\n",
        escape(&sf.absolute("/sitemaps/pages.xml"))
    ));
    for n in 1..=files {
        out.push_str(&format!(
            "<sitemap><loc>{}</loc>{lastmod}</sitemap>\n",
            escape(&sf.absolute(&format!("/sitemaps/products-{n}.xml")))
        ));
    }
    out.push_str("</sitemapindex>\n");
    xml(Body::from(out))
}

/// One `<url>` with its alternates in every language.
fn url_entry(sf: &Storefront, path: &str, lastmod: Option<&DateTime<Utc>>) -> String {
    let mut out = format!("<url><loc>{}</loc>", escape(&sf.absolute(path)));
    if let Some(t) = lastmod {
        out.push_str(&format!("<lastmod>{}</lastmod>", w3c(t)));
    }
    if sf.config.store.languages.len() > 1 {
        for alternate in sf.alternates(path) {
            out.push_str(&format!(
                "<xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>",
                escape(alternate["hreflang"].as_str().unwrap_or_default()),
                escape(alternate["href"].as_str().unwrap_or_default())
            ));
        }
    }
    out.push_str("</url>\n");
    out
}

const URLSET: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n";

/// `GET /sitemaps/{file}`: `pages.xml` or `products-<n>.xml`.
pub(crate) async fn child(State(sf): State<Storefront>, Path(file): Path<String>) -> Response {
    if file == "pages.xml" {
        let lang = emporium_core::locale::Lang {
            asked: &sf.config.store.default_language,
            default: &sf.config.store.default_language,
        };
        let mut out = String::from(URLSET);
        out.push_str(&url_entry(&sf, "/", None));
        let mut stack = sf
            .catalog
            .category_tree(&lang, false)
            .await
            .unwrap_or_default();
        while let Some(category) = stack.pop() {
            out.push_str(&url_entry(
                &sf,
                &format!("/categories/{}", category.slug),
                None,
            ));
            stack.extend(category.children);
        }
        for collection in sf
            .catalog
            .collections(&lang, false)
            .await
            .unwrap_or_default()
        {
            out.push_str(&url_entry(
                &sf,
                &format!("/collections/{}", collection.slug),
                None,
            ));
        }
        out.push_str("</urlset>\n");
        return xml(Body::from(out));
    }
    let Some(n) = file
        .strip_prefix("products-")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n >= 1)
    else {
        return (StatusCode::NOT_FOUND, "no such sitemap").into_response();
    };
    let skip = (n - 1) * PER_FILE;
    // (what is left to send in this file, the last id sent)
    let state = (Some(sf), PER_FILE, None::<Uuid>, true);
    let stream = futures::stream::unfold(state, move |(sf, left, after, first)| async move {
        let sf = sf?;
        if left == 0 {
            return None;
        }
        let rows = match sf
            .catalog
            .published_slugs(after, skip, BATCH.min(left))
            .await
        {
            Ok(rows) => rows,
            Err(err) => {
                // Cut the response short: a crawler must not read a sitemap that ends
                // early as a whole one (it would drop the missing pages).
                tracing::warn!(error = %err, "sitemap page failed");
                return Some((
                    Err(std::io::Error::other(err.to_string())),
                    (None, 0, after, false),
                ));
            }
        };
        let mut chunk = if first {
            String::from(URLSET)
        } else {
            String::new()
        };
        for (_, slug, updated) in &rows {
            chunk.push_str(&url_entry(&sf, &format!("/products/{slug}"), Some(updated)));
        }
        let done = (rows.len() as u64) < BATCH.min(left);
        let last = rows.last().map(|(id, _, _)| *id);
        if done {
            chunk.push_str("</urlset>\n");
            // Nothing more after this chunk.
            return Some((Ok::<_, std::io::Error>(chunk), (None, 0, last, false)));
        }
        let left = left - rows.len() as u64;
        if left == 0 {
            chunk.push_str("</urlset>\n");
        }
        Some((Ok(chunk), (Some(sf), left, last, false)))
    });
    xml(Body::from_stream(stream))
}
