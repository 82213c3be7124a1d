//! Product feeds for the marketplaces: `/feeds/google/{lang}-{currency}.xml` (Google
//! Merchant Center's RSS 2.0 with the `g:` namespace) and `/feeds/meta/{lang}-{currency}.csv`
//! (Meta's catalog CSV). One item per variant that has a price in the feed's currency,
//! grouped by product (`item_group_id`), with the price and availability the product page
//! shows: both come from the same catalog read (`Catalog::store_products_after`), made
//! afresh on every fetch, so a change is in the next fetch. The feed is streamed a page of
//! products at a time, never built whole in memory; the compression layer gzips it.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_catalog::{PriceContext, ProductView, VariantView};
use emporium_core::locale::Lang;
use emporium_core::{AppError, Currency, Money};
use serde::Deserialize;
use uuid::Uuid;

use crate::state::Storefront;

/// Products read per database round trip while streaming.
const BATCH: u64 = 500;
/// Google's limits on a title and a description, in characters.
const TITLE_MAX: usize = 150;
const DESCRIPTION_MAX: usize = 5_000;
/// Google reads at most ten extra images.
const EXTRA_IMAGES_MAX: usize = 10;

#[derive(Debug, Deserialize)]
pub(crate) struct FeedQuery {
    token: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Google,
    Meta,
}

/// One line of a feed: a variant as a marketplace lists it.
struct Item {
    id: String,
    group: Option<String>,
    title: String,
    description: String,
    link: String,
    image: String,
    extra_images: Vec<String>,
    in_stock: bool,
    /// The regular price, and the price now when it is lower (a sale).
    price: Money,
    sale_price: Option<Money>,
    brand: String,
    gtin: Option<String>,
    mpn: Option<String>,
    condition: String,
    color: Option<String>,
    size: Option<String>,
    gender: Option<String>,
    age_group: Option<String>,
    product_type: Option<String>,
    google_category: Option<String>,
    /// The country and what shipping this item alone costs, when the store's flat rate
    /// is the same for every address.
    shipping: Option<(String, Money)>,
    weight_grams: Option<i32>,
}

/// What every item of one feed shares.
struct Feed {
    sf: Storefront,
    format: Format,
    lang: String,
    currency: Currency,
    prices: PriceContext,
    /// The product page's path prefix (`""` or `/de`) and currency query (`&currency=EUR`).
    prefix: String,
    currency_query: String,
    shop: String,
    /// The flat rate, when it applies everywhere.
    shipping: Option<crate::shop::FlatShipping>,
}

/// `GET /feeds/google/{lang}-{currency}.xml`
pub(crate) async fn google(
    State(sf): State<Storefront>,
    Path(file): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Response {
    serve(sf, Format::Google, &file, q).await
}

/// `GET /feeds/meta/{lang}-{currency}.csv`
pub(crate) async fn meta(
    State(sf): State<Storefront>,
    Path(file): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Response {
    serve(sf, Format::Meta, &file, q).await
}

async fn serve(sf: Storefront, format: Format, file: &str, q: FeedQuery) -> Response {
    if let Some(token) = &sf.config.feeds.token {
        use secrecy::ExposeSecret;
        let given = q.token.unwrap_or_default();
        if !emporium_core::crypto::constant_time_eq(
            given.as_bytes(),
            token.expose_secret().as_bytes(),
        ) {
            return AppError::forbidden(
                "this feed needs its token: add ?token= and the value of [feeds] token",
            )
            .into_response();
        }
    }
    let extension = match format {
        Format::Google => ".xml",
        Format::Meta => ".csv",
    };
    let store = &sf.config.store;
    let parsed = file
        .strip_suffix(extension)
        .and_then(|name| name.rsplit_once('-'))
        .and_then(|(lang, code)| {
            let currency = Currency::parse(&code.to_ascii_uppercase())?;
            let known_lang = store.languages.iter().any(|l| l == lang);
            let known_currency = store.currencies.iter().any(|c| c == currency.code());
            (known_lang && known_currency).then(|| (lang.to_string(), currency))
        });
    let Some((lang, currency)) = parsed else {
        return AppError::not_found(format!(
                "no such feed: the name is <language>-<currency>{extension}, with a language of [store] languages ({}) and a currency of [store] currencies ({})",
                store.languages.join(", "),
                store.currencies.join(", ")
            ))
        .into_response();
    };
    let prices = match sf.catalog.prices(currency).await {
        Ok(prices) => prices,
        Err(err) => return err.into_response(),
    };
    let shipping = crate::shop::shipping_rate(&sf, currency).await;
    let feed = Feed {
        prefix: if lang == store.default_language {
            String::new()
        } else {
            format!("/{lang}")
        },
        currency_query: if currency.code() == store.default_currency {
            String::new()
        } else {
            format!("&currency={}", currency.code())
        },
        shop: sf.config.shop_name().to_string(),
        sf,
        format,
        lang,
        currency,
        prices,
        shipping,
    };
    stream(feed)
}

/// The feed, a page of products per chunk. A failed read cuts the response short, so a
/// marketplace never takes a feed that ends early for a whole one (it would delist the
/// rest).
fn stream(feed: Feed) -> Response {
    let format = feed.format;
    let state = (Some(std::sync::Arc::new(feed)), None::<Uuid>, true);
    let chunks = futures::stream::unfold(state, |(feed, after, first)| async move {
        let feed = feed?;
        let lang = Lang {
            asked: &feed.lang,
            default: &feed.sf.config.store.default_language,
        };
        let products = match feed
            .sf
            .catalog
            .store_products_after(after, BATCH, &lang, &feed.prices)
            .await
        {
            Ok(products) => products,
            Err(err) => {
                tracing::warn!(error = %err, "feed page failed");
                return Some((
                    Err(std::io::Error::other(err.to_string())),
                    (None, after, false),
                ));
            }
        };
        let mut chunk = Vec::with_capacity(products.len() * 1_500);
        if first {
            feed.start(&mut chunk);
        }
        for product in &products {
            for item in feed.items(product) {
                feed.write(&mut chunk, &item);
            }
        }
        if (products.len() as u64) < BATCH {
            feed.end(&mut chunk);
            return Some((Ok::<_, std::io::Error>(chunk), (None, None, false)));
        }
        let last = products.last().map(|p| p.id);
        Some((Ok(chunk), (Some(feed), last, false)))
    });
    let content_type = match format {
        Format::Google => "application/xml; charset=utf-8",
        Format::Meta => "text/csv; charset=utf-8",
    };
    let mut response = (StatusCode::OK, Body::from_stream(chunks)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// The Meta catalog's columns, in order.
const META_COLUMNS: [&str; 21] = [
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "sale_price",
    "link",
    "image_link",
    "additional_image_link",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "color",
    "size",
    "gender",
    "age_group",
    "product_type",
    "google_product_category",
    "shipping",
];

impl Feed {
    fn start(&self, out: &mut Vec<u8>) {
        match self.format {
            Format::Google => {
                let channel = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:g=\"http://base.google.com/ns/1.0\">\n<channel>\n<title>{}</title>\n<link>{}</link>\n<description>{}</description>\n",
                    xml_text(&self.shop),
                    xml_text(&format!("{}/", self.sf.config.store_url())),
                    xml_text(&format!(
                        "{} products in {}, prices in {}",
                        self.shop,
                        self.lang,
                        self.currency.code()
                    )),
                );
                out.extend_from_slice(channel.as_bytes());
            }
            Format::Meta => csv_row(out, META_COLUMNS.iter().map(|c| c.to_string())),
        }
    }

    fn end(&self, out: &mut Vec<u8>) {
        if self.format == Format::Google {
            out.extend_from_slice(b"</channel>\n</rss>\n");
        }
    }

    fn write(&self, out: &mut Vec<u8>, item: &Item) {
        match self.format {
            Format::Google => google_item(out, item),
            Format::Meta => csv_row(out, meta_row(item)),
        }
    }

    /// The items of one product: each variant priced in the feed's currency. A product
    /// without an image is left out: both marketplaces refuse an item without one.
    fn items(&self, p: &ProductView) -> Vec<Item> {
        let Some(first_image) = p.images.first() else {
            return Vec::new();
        };
        let path = format!("{}/products/{}", self.prefix, p.slug);
        let several = p.variants.len() > 1;
        let attribute = |names: &[&str]| {
            p.attributes
                .iter()
                .find(|(k, _)| names.contains(&k.to_ascii_lowercase().as_str()))
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let product_type = (!p.categories.is_empty()).then(|| {
            p.categories
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" > ")
        });
        let description = if p.description.trim().is_empty() {
            p.title.clone()
        } else {
            p.description.clone()
        };
        p.variants
            .iter()
            .filter_map(|v| {
                let now = v.price?;
                let (price, sale_price) = match v.compare_at_price {
                    Some(was) if was.amount > now.amount && was.currency == now.currency => {
                        (was, Some(now))
                    }
                    _ => (now, None),
                };
                let option = |names: &[&str]| {
                    v.options
                        .iter()
                        .find(|(k, _)| names.contains(&k.to_ascii_lowercase().as_str()))
                        .map(|(_, value)| value.clone())
                };
                let title = if several && !v.options.is_empty() {
                    format!("{} ({})", p.title, label(v))
                } else {
                    p.title.clone()
                };
                let own: Vec<&str> = p
                    .images
                    .iter()
                    .filter(|i| i.variant_ids.contains(&v.id))
                    .map(|i| i.url.as_str())
                    .collect();
                let image = own.first().copied().unwrap_or(&first_image.url).to_string();
                let extra_images = p
                    .images
                    .iter()
                    .map(|i| i.url.as_str())
                    .filter(|u| *u != image)
                    .take(EXTRA_IMAGES_MAX)
                    .map(str::to_string)
                    .collect();
                let shipping = self
                    .shipping
                    .as_ref()
                    .map(|s| (s.country.clone(), s.for_price(&now)));
                Some(Item {
                    id: v.sku.clone(),
                    group: several.then(|| p.id.to_string()),
                    title: clip(&title, TITLE_MAX),
                    description: clip(&description, DESCRIPTION_MAX),
                    link: self
                        .sf
                        .absolute(&format!("{path}?variant={}{}", v.id, self.currency_query)),
                    image,
                    extra_images,
                    in_stock: v.available,
                    price,
                    sale_price,
                    brand: p.brand.clone().unwrap_or_else(|| self.shop.clone()),
                    gtin: v
                        .barcode
                        .as_deref()
                        .filter(|b| valid_gtin(b))
                        .map(str::to_string),
                    mpn: attribute(&["mpn"]),
                    condition: attribute(&["condition"])
                        .filter(|c| ["new", "refurbished", "used"].contains(&c.as_str()))
                        .unwrap_or_else(|| "new".to_string()),
                    color: option(&["color", "colour"]).or_else(|| attribute(&["color", "colour"])),
                    size: option(&["size"]),
                    gender: attribute(&["gender"])
                        .filter(|g| ["male", "female", "unisex"].contains(&g.as_str())),
                    age_group: attribute(&["age_group", "age group"]).filter(|a| {
                        ["newborn", "infant", "toddler", "kids", "adult"].contains(&a.as_str())
                    }),
                    product_type: product_type.clone(),
                    google_category: attribute(&["google_product_category"]),
                    shipping,
                    weight_grams: v.weight_grams,
                })
            })
            .collect()
    }
}

fn label(v: &VariantView) -> String {
    v.options.values().cloned().collect::<Vec<_>>().join(" / ")
}

/// At most `max` characters, cut at a character boundary.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

/// A GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) with a right check digit: Google disapproves
/// an item with a wrong one, so a barcode that is not one is left out.
fn valid_gtin(code: &str) -> bool {
    if !matches!(code.len(), 8 | 12 | 13 | 14) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    // From the right, every other digit weighs 3, starting next to the check digit.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// Text for an XML element: escaped, without the control characters XML 1.0 forbids.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push_str(&format!("<g:{name}>{}</g:{name}>", xml_text(value)));
}

fn google_item(out: &mut Vec<u8>, item: &Item) {
    let mut x = String::with_capacity(1_500);
    x.push_str("<item>");
    element(&mut x, "id", &item.id);
    element(&mut x, "title", &item.title);
    element(&mut x, "description", &item.description);
    element(&mut x, "link", &item.link);
    element(&mut x, "image_link", &item.image);
    for extra in &item.extra_images {
        element(&mut x, "additional_image_link", extra);
    }
    element(
        &mut x,
        "availability",
        if item.in_stock {
            "in_stock"
        } else {
            "out_of_stock"
        },
    );
    element(&mut x, "price", &item.price.to_string());
    if let Some(sale) = &item.sale_price {
        element(&mut x, "sale_price", &sale.to_string());
    }
    element(&mut x, "brand", &item.brand);
    match (&item.gtin, &item.mpn) {
        (None, None) => element(&mut x, "identifier_exists", "no"),
        (gtin, mpn) => {
            if let Some(gtin) = gtin {
                element(&mut x, "gtin", gtin);
            }
            if let Some(mpn) = mpn {
                element(&mut x, "mpn", mpn);
            }
        }
    }
    element(&mut x, "condition", &item.condition);
    let optional = [
        ("item_group_id", &item.group),
        ("color", &item.color),
        ("size", &item.size),
        ("gender", &item.gender),
        ("age_group", &item.age_group),
        ("product_type", &item.product_type),
        ("google_product_category", &item.google_category),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            element(&mut x, name, value);
        }
    }
    if let Some(grams) = item.weight_grams {
        element(&mut x, "shipping_weight", &format!("{grams} g"));
    }
    if let Some((country, cost)) = &item.shipping {
        x.push_str(&format!(
            "<g:shipping><g:country>{}</g:country><g:price>{}</g:price></g:shipping>",
            xml_text(country),
            xml_text(&cost.to_string())
        ));
    }
    x.push_str("</item>\n");
    out.extend_from_slice(x.as_bytes());
}

fn meta_row(item: &Item) -> impl Iterator<Item = String> {
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        item.id.clone(),
        item.title.clone(),
        item.description.clone(),
        if item.in_stock {
            "in stock"
        } else {
            "out of stock"
        }
        .to_string(),
        item.condition.clone(),
        item.price.to_string(),
        item.sale_price.map(|m| m.to_string()).unwrap_or_default(),
        item.link.clone(),
        item.image.clone(),
        item.extra_images.join(","),
        item.brand.clone(),
        or_empty(&item.gtin),
        or_empty(&item.mpn),
        or_empty(&item.group),
        or_empty(&item.color),
        or_empty(&item.size),
        or_empty(&item.gender),
        or_empty(&item.age_group),
        or_empty(&item.product_type),
        or_empty(&item.google_category),
        // Meta's form: country, region (none: all of it), service, price.
        item.shipping
            .as_ref()
            .map(|(country, cost)| format!("{country}::Standard:{cost}"))
            .unwrap_or_default(),
    ]
    .into_iter()
}

fn csv_row(out: &mut Vec<u8>, fields: impl Iterator<Item = String>) {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields);
    if let Ok(bytes) = writer.into_inner() {
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins_are_checked_by_their_check_digit() {
        assert!(valid_gtin("4006381333931")); // EAN-13
        assert!(valid_gtin("036000291452")); // UPC-A
        assert!(valid_gtin("96385074")); // EAN-8
        assert!(!valid_gtin("4006381333932"));
        assert!(!valid_gtin("SKU-1-S"));
        assert!(!valid_gtin("12345"));
    }

    #[test]
    fn xml_text_drops_what_xml_forbids() {
        assert_eq!(xml_text("a<b>&\u{1}c"), "a&lt;b&gt;&amp;c");
        assert_eq!(clip("héllo", 2), "hé");
    }
}
