//! The shop's catalog pages: home, product, category and search. Each is served in every
//! configured language (the default at `/`, the others under `/{lang}/`) and currency
//! (`?currency=`, so a page's content follows from its URL alone and a CDN may cache it),
//! with the tags search engines read: title and description, a canonical URL, hreflang
//! alternates, OpenGraph and Twitter cards, and JSON-LD.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use emporium_catalog::{Found, ImageView, ListQuery, PriceContext, ProductView, Rendered, Sort};
use emporium_core::locale::Lang;
use emporium_core::{Currency, Money};
use serde_json::{Value, json};
use std::future::Future;
use std::hash::{Hash, Hasher};
use uuid::Uuid;

use crate::state::Storefront;
use crate::text;

/// Products on one page of a list.
const PAGE: u32 = 24;

/// What a catalog page handler produced: a page to render (and cache), or another answer.
pub(crate) enum Out {
    Page {
        template: &'static str,
        context: Value,
        /// The product a product page shows (its change drops the page).
        product: Option<Uuid>,
    },
    Other(Response),
}

/// A public page's answer: 304 when the client has this version, else the page, with
/// the headers every page carries, its ETag and a CDN-friendly cache policy.
fn respond(headers: &HeaderMap, status: StatusCode, html: Bytes, etag: &str) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let mut response = if matches && status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, html).into_response()
    };
    emporium_web::page_headers(response.headers_mut(), false);
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0, must-revalidate"),
    );
    response
}

/// What a catalog page handler reads from its request.
pub(crate) struct PageRequest {
    sf: Storefront,
    params: RawPathParams,
    query: Vec<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
}

impl FromRequestParts<Storefront> for PageRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Storefront) -> Result<Self, Response> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(query) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            sf: state.clone(),
            params,
            query,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl PageRequest {
    /// The page `make` renders, from the node's read cache when it is there.
    async fn cached<F, Fut>(self, make: F) -> Response
    where
        F: FnOnce(Storefront, RawPathParams, Vec<(String, String)>) -> Fut,
        Fut: Future<Output = Out>,
    {
        let (sf, headers, uri) = (self.sf.clone(), self.headers, self.uri);
        sf.cached(&headers, &uri, make(self.sf, self.params, self.query))
            .await
    }
}

/// The language and currency a page is asked in, and the prices in that currency; the
/// 404 page when the language or currency is none of the shop's.
async fn opening(
    sf: &Storefront,
    params: &RawPathParams,
    query: &[(String, String)],
) -> Result<(Ctx, PriceContext), Response> {
    let Some(ctx) = sf.ctx(
        param(params, "lang").as_deref(),
        query_value(query, "currency"),
    ) else {
        return Err(sf.missing(None, "There is no such page."));
    };
    match sf.catalog.prices(ctx.currency).await {
        Ok(prices) => Ok((ctx, prices)),
        Err(err) => Err(sf.missing(Some(&ctx), &err.to_string())),
    }
}

/// The language, path prefix and currency of a request.
pub(crate) struct Ctx {
    pub lang: String,
    pub default_lang: String,
    /// `""` for the default language, `/de` for the others.
    pub prefix: String,
    pub currency: Currency,
    /// `?currency=EUR` when the page is not in the default currency, else `""`.
    pub currency_query: String,
}

impl Ctx {
    pub fn lang(&self) -> Lang<'_> {
        Lang {
            asked: &self.lang,
            default: &self.default_lang,
        }
    }
}

/// A path parameter by name.
pub(crate) fn param(params: &RawPathParams, name: &str) -> Option<String> {
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// The value of `key` in a query's pairs.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `1999` USD as `19.99`: the amount as structured data writes it.
pub(crate) fn decimal(money: &Money) -> String {
    let text = money.to_string();
    text.rsplit_once(' ')
        .map(|(amount, _)| amount.to_string())
        .unwrap_or(text)
}

/// JSON for a `<script type="application/ld+json">`: `<` escaped so no text can close it.
fn ld(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

impl Storefront {
    /// The request's language (from the path's first segment) and currency; `None` when
    /// the prefix is no language of the store's, or the currency none it sells in.
    pub(crate) fn ctx(&self, lang: Option<&str>, currency: Option<&str>) -> Option<Ctx> {
        let store = &self.config.store;
        let lang = match lang {
            None => store.default_language.clone(),
            Some(l) if l != store.default_language && store.languages.iter().any(|s| s == l) => {
                l.to_string()
            }
            Some(_) => return None,
        };
        let default = Currency::parse(&store.default_currency).unwrap_or(Currency::USD);
        let currency = match currency.filter(|c| !c.is_empty()) {
            None => default,
            Some(code) => Currency::parse(code).filter(|c| {
                store
                    .currencies
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(c.code()))
            })?,
        };
        Some(Ctx {
            prefix: if lang == store.default_language {
                String::new()
            } else {
                format!("/{lang}")
            },
            currency_query: if currency == default {
                String::new()
            } else {
                format!("?currency={}", currency.code())
            },
            lang,
            default_lang: store.default_language.clone(),
            currency,
        })
    }

    /// What every page's template sees.
    pub(crate) fn base(&self, ctx: &Ctx) -> serde_json::Map<String, Value> {
        let mut map = serde_json::Map::new();
        map.insert("lang".into(), json!(ctx.lang));
        map.insert("prefix".into(), json!(ctx.prefix));
        map.insert("currency".into(), json!(ctx.currency.code()));
        map.insert("currency_query".into(), json!(ctx.currency_query));
        map.insert("currencies".into(), json!(self.config.store.currencies));
        map.insert("t".into(), text::strings(&ctx.lang));
        map.insert("noindex".into(), json!(false));
        map
    }

    /// An absolute URL on the shop's origin.
    pub(crate) fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.config.store_url())
    }

    /// The page at `path` (after the language prefix) in every language, and `x-default`.
    pub(crate) fn alternates(&self, path: &str) -> Vec<Value> {
        let store = &self.config.store;
        let href = |lang: &str| {
            if lang == store.default_language {
                self.absolute(path)
            } else {
                self.absolute(&format!("/{lang}{path}"))
            }
        };
        let mut out: Vec<Value> = store
            .languages
            .iter()
            .map(|l| json!({"hreflang": l, "href": href(l)}))
            .collect();
        out.push(json!({"hreflang": "x-default", "href": href(&store.default_language)}));
        out
    }

    /// A page anyone may see and cache: an ETag from its bytes, answered with 304 when
    /// the browser or CDN already has it, and revalidated on every use (a catalog change
    /// shows at once).
    pub(crate) fn public(
        &self,
        headers: &HeaderMap,
        status: StatusCode,
        template: &str,
        context: &Value,
    ) -> Response {
        match self.render_public(template, context) {
            Some((html, etag)) => respond(headers, status, html, &etag),
            None => self.broken(template, context),
        }
    }

    /// The page and its ETag; `None` when the template fails (a shop's own, with a
    /// mistake), which is logged.
    fn render_public(&self, template: &str, context: &Value) -> Option<(Bytes, String)> {
        let html = self
            .pages
            .render(template, context)
            .map_err(
                |err| tracing::error!(template, error = %err, "a page template failed to render"),
            )
            .ok()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        html.hash(&mut hasher);
        Some((Bytes::from(html), format!("\"{:016x}\"", hasher.finish())))
    }

    /// The short error page a visitor gets when a template fails.
    fn broken(&self, template: &str, context: &Value) -> Response {
        self.pages
            .private_page(StatusCode::INTERNAL_SERVER_ERROR, template, context)
            .into_response()
    }

    /// A catalog page from the node's read cache, which follows the catalog change log
    /// like the API's: a product's change drops its pages and every list, on every node
    /// within the follower's interval (at once on the node that wrote). `page` runs only
    /// on a miss; only a rendered page (not a redirect or a 404) is kept.
    pub(crate) async fn cached(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        page: impl Future<Output = Out>,
    ) -> Response {
        let cache = self.catalog.cache();
        let key = format!("html:{uri}");
        if let Some(hit) = cache.get(&key) {
            return respond(headers, StatusCode::OK, hit.body, &hit.etag);
        }
        let generation = cache.generation();
        match page.await {
            Out::Other(response) => response,
            Out::Page {
                template,
                context,
                product,
            } => match self.render_public(template, &context) {
                Some((html, etag)) => {
                    cache.put(
                        key,
                        Rendered {
                            body: html.clone(),
                            etag: etag.as_str().into(),
                            product,
                        },
                        generation,
                    );
                    respond(headers, StatusCode::OK, html, &etag)
                }
                None => self.broken(template, &context),
            },
        }
    }

    /// The shop's 404 page.
    pub(crate) fn missing(&self, ctx: Option<&Ctx>, message: &str) -> Response {
        let ctx = ctx
            .map(|c| self.base(c))
            .or_else(|| self.ctx(None, None).map(|c| self.base(&c)))
            .unwrap_or_default();
        let mut context = ctx;
        context.insert("message".into(), json!(message));
        context.insert("noindex".into(), json!(true));
        self.page(
            StatusCode::NOT_FOUND,
            "not_found.html",
            Value::Object(context),
        )
        .into_response()
    }

    /// An image as the templates show it: alt text always (the product's title when the
    /// image has none), its size, and a `srcset` of its thumbnails.
    fn image(&self, image: &ImageView, fallback_alt: &str) -> Value {
        let mut widths: Vec<(u32, &String)> = image
            .thumbnails
            .iter()
            .filter_map(|(w, url)| w.trim_end_matches('w').parse().ok().map(|w| (w, url)))
            .collect();
        widths.sort();
        let mut srcset: Vec<String> = widths.iter().map(|(w, u)| format!("{u} {w}w")).collect();
        if let Some(width) = image.width {
            srcset.push(format!("{} {width}w", image.url));
        }
        json!({
            "url": image.url,
            "alt": image.alt.clone().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| fallback_alt.to_string()),
            "width": image.width,
            "height": image.height,
            "srcset": if srcset.len() > 1 { srcset.join(", ") } else { String::new() },
        })
    }

    fn card(&self, p: &emporium_catalog::ProductSummaryView) -> Value {
        json!({
            "slug": p.slug, "title": p.title, "brand": p.brand,
            "price": p.price.map(|m| m.to_string()),
            "compare_at_price": p.compare_at_price.map(|m| m.to_string()),
            "available": p.available,
            "image": p.image.as_ref().map(|i| self.image(i, &p.title)),
            "rating_count": p.rating.count,
            "average": p.rating.average.map(|a| format!("{a:.1}")),
            "stars": crate::reviews::stars(p.rating.average.unwrap_or(0.0).round() as i64),
        })
    }
}

/// What a page tells search engines and sharing previews.
struct Seo<'a> {
    /// The page's path after the language prefix.
    path: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    image: Option<&'a str>,
    /// OpenGraph's type: `website` or `product`.
    kind: &'a str,
    json_ld: Vec<Value>,
}

fn seo(sf: &Storefront, context: &mut serde_json::Map<String, Value>, ctx: &Ctx, page: Seo<'_>) {
    let Seo {
        path,
        title,
        description,
        image,
        kind,
        json_ld,
    } = page;
    let canonical = sf.absolute(&format!("{}{path}", ctx.prefix));
    let description = description
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|d| match d.char_indices().nth(160) {
            Some((at, _)) => format!("{}…", &d[..at]),
            None => d,
        });
    context.insert("canonical".into(), json!(canonical));
    context.insert("alternates".into(), json!(sf.alternates(path)));
    context.insert("description".into(), json!(description));
    context.insert(
        "og".into(),
        json!({"type": kind, "title": title, "image": image}),
    );
    context.insert(
        "json_ld".into(),
        json!(json_ld.iter().map(ld).collect::<Vec<_>>()),
    );
}

fn breadcrumbs_ld(items: &[(String, Option<String>)]) -> Value {
    json!({
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": items.iter().enumerate().map(|(i, (name, href))| {
            let mut item = json!({"@type": "ListItem", "position": i + 1, "name": name});
            if let Some(href) = href {
                item["item"] = json!(href);
            }
            item
        }).collect::<Vec<_>>(),
    })
}

/// `GET /` and `GET /{lang}/`: categories and the newest products.
pub(crate) async fn home(request: PageRequest) -> Response {
    request.cached(home_page).await
}

async fn home_page(sf: Storefront, params: RawPathParams, query: Vec<(String, String)>) -> Out {
    let (ctx, prices) = match opening(&sf, &params, &query).await {
        Ok(opened) => opened,
        Err(response) => return Out::Other(response),
    };
    let lang = ctx.lang();
    let products = sf
        .catalog
        .list_products(
            ListQuery {
                category: None,
                collection: None,
                status: None,
                search: None,
                sort: Sort::Newest,
                cursor: None,
                limit: 12,
            },
            true,
            &lang,
            &prices,
        )
        .await
        .map(|(list, _)| list)
        .unwrap_or_default();
    let categories = sf
        .catalog
        .category_tree(&lang, false)
        .await
        .unwrap_or_default();
    let collections = sf
        .catalog
        .collections(&lang, false)
        .await
        .unwrap_or_default();
    let mut context = sf.base(&ctx);
    context.insert(
        "collections".into(),
        json!(
            collections
                .iter()
                .map(|c| json!({"slug": c.slug, "name": c.name}))
                .collect::<Vec<_>>()
        ),
    );
    context.insert(
        "products".into(),
        json!(products.iter().map(|p| sf.card(p)).collect::<Vec<_>>()),
    );
    context.insert(
        "categories".into(),
        json!(
            categories
                .iter()
                .map(|c| json!({"slug": c.slug, "name": c.name}))
                .collect::<Vec<_>>()
        ),
    );
    let shop = sf.config.shop_name();
    let website = json!({
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": shop,
        "url": sf.absolute(&format!("{}/", ctx.prefix)),
        "potentialAction": {
            "@type": "SearchAction",
            "target": {"@type": "EntryPoint",
                       "urlTemplate": sf.absolute(&format!("{}/search?q={{search_term_string}}", ctx.prefix))},
            "query-input": "required name=search_term_string",
        },
    });
    seo(
        &sf,
        &mut context,
        &ctx,
        Seo {
            path: "/",
            title: &shop,
            description: None,
            image: None,
            kind: "website",
            json_ld: vec![website],
        },
    );
    Out::Page {
        template: "home.html",
        context: Value::Object(context),
        product: None,
    }
}

/// `GET /products/{slug}` (and under a language prefix): the product with its variants,
/// a variant picker that adds to the cart, and its structured data. A renamed slug
/// answers 301 to the current one.
pub(crate) async fn product(request: PageRequest) -> Response {
    let (sf, headers) = (request.sf.clone(), request.headers.clone());
    let response = request.cached(product_page).await;
    crate::visit::count(
        &sf,
        &headers,
        emporium_analytics::Step::ProductViewed,
        response,
    )
}

async fn product_page(sf: Storefront, params: RawPathParams, query: Vec<(String, String)>) -> Out {
    let (ctx, prices) = match opening(&sf, &params, &query).await {
        Ok(opened) => opened,
        Err(response) => return Out::Other(response),
    };
    let slug = param(&params, "slug").unwrap_or_default();
    let product = match sf.catalog.store_product(&slug, &ctx.lang(), &prices).await {
        Ok(Found::Product(p)) => p,
        Ok(Found::Moved(current)) => {
            // 301, the status search engines carry a page's standing over with.
            let to = format!("{}/products/{current}{}", ctx.prefix, ctx.currency_query);
            return Out::Other(
                (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response(),
            );
        }
        Err(_) => return Out::Other(sf.missing(Some(&ctx), "We could not find that product.")),
    };
    let mut context = sf.base(&ctx);
    let path = format!("/products/{}", product.slug);
    let canonical = sf.absolute(&format!("{}{path}", ctx.prefix));
    let selected = query_value(&query, "variant")
        .and_then(|v| product.variants.iter().find(|x| x.id.to_string() == v))
        .or_else(|| product.variants.iter().find(|v| v.available))
        .map(|v| v.id.to_string());
    let images: Vec<Value> = product
        .images
        .iter()
        .map(|i| sf.image(i, &product.title))
        .collect();
    let first_category = product.categories.first();
    let mut crumbs = vec![(
        text::word(&ctx.lang, "home", "Home"),
        Some(sf.absolute(&format!("{}/", ctx.prefix))),
    )];
    if let Some(c) = first_category {
        crumbs.push((
            c.name.clone(),
            Some(sf.absolute(&format!("{}/categories/{}", ctx.prefix, c.slug))),
        ));
    }
    crumbs.push((product.title.clone(), None));
    context.insert(
        "breadcrumbs".into(),
        json!(
            crumbs
                .iter()
                .map(|(name, href)| json!({"name": name, "href": href}))
                .collect::<Vec<_>>()
        ),
    );
    context.insert(
        "product".into(),
        json!({
            "title": product.title, "brand": product.brand, "description": product.description,
            "price": product.price.map(|m| m.to_string()),
            "compare_at_price": product.variants.iter().find_map(|v| v.compare_at_price).map(|m| m.to_string()),
            "available": product.available,
            "images": images,
            "selected": selected,
            "slug": product.slug,
            "sold_out": product.variants.iter().filter(|v| !v.available && v.price.is_some()).map(|v| json!({
                "id": v.id,
                "label": if v.options.is_empty() { v.sku.clone() } else { v.options.values().cloned().collect::<Vec<_>>().join(" / ") },
            })).collect::<Vec<_>>(),
            "variants": product.variants.iter().map(|v| json!({
                "id": v.id, "available": v.available,
                "label": if v.options.is_empty() { v.sku.clone() } else { v.options.values().cloned().collect::<Vec<_>>().join(" / ") },
                "price": v.price.map(|m| m.to_string()),
            })).collect::<Vec<_>>(),
        }),
    );
    // The newest reviews come with the page; a publish changes the product's rating,
    // which drops the cached page on every node.
    let newest = if product.rating.count > 0 {
        sf.reviews
            .list(
                &product.id.to_string(),
                emporium_reviews::ReviewQuery {
                    limit: Some(5),
                    ..Default::default()
                },
            )
            .await
            .map(|page| page.data)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    context.insert(
        "rating".into(),
        crate::reviews::rating_context(&product.rating),
    );
    context.insert(
        "reviews".into(),
        json!(
            newest
                .iter()
                .map(crate::reviews::review_context)
                .collect::<Vec<_>>()
        ),
    );
    let meta_title = product
        .seo
        .meta_title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| product.title.clone());
    context.insert("meta_title".into(), json!(meta_title));
    let description = product
        .seo
        .meta_description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| product.description.clone());
    let shipping = shipping_rate(&sf, ctx.currency).await;
    let product_ld = product_ld(&product, &canonical, &images, &newest, shipping.as_ref());
    let breadcrumb_ld = breadcrumbs_ld(
        &crumbs
            .iter()
            .map(|(n, h)| (n.clone(), h.clone().or_else(|| Some(canonical.clone()))))
            .collect::<Vec<_>>(),
    );
    let image = images
        .first()
        .and_then(|i| i["url"].as_str())
        .map(str::to_string);
    seo(
        &sf,
        &mut context,
        &ctx,
        Seo {
            path: &path,
            title: &meta_title,
            description: Some(&description),
            image: image.as_deref(),
            kind: "product",
            json_ld: vec![product_ld, breadcrumb_ld],
        },
    );
    Out::Page {
        template: "product.html",
        context: Value::Object(context),
        product: Some(product.id),
    }
}

/// The store's shipping when one rate applies to every address: the country it is known
/// for, the flat rate and the subtotal from which shipping is free (no shipping zones,
/// and `[checkout] default_tax_country` set). With zones the rate hangs on the address.
pub(crate) struct FlatShipping {
    pub country: String,
    pub rate: Money,
    pub free_from: Option<i64>,
}

impl FlatShipping {
    /// What shipping one unit priced `price` alone costs.
    pub fn for_price(&self, price: &Money) -> Money {
        if self.free_from.is_some_and(|from| price.amount >= from) {
            Money::new(0, self.rate.currency)
        } else {
            self.rate
        }
    }
}

pub(crate) async fn shipping_rate(sf: &Storefront, currency: Currency) -> Option<FlatShipping> {
    let country = sf.config.checkout.default_tax_country.clone()?;
    let (rate, free_from) = sf.checkout.flat_shipping(currency).await.ok().flatten()?;
    Some(FlatShipping {
        country,
        rate: Money::new(rate, currency),
        free_from,
    })
}

/// `Product` (one variant) or `ProductGroup` (several) with an `Offer` per variant.
fn product_ld(
    p: &ProductView,
    canonical: &str,
    images: &[Value],
    reviews: &[emporium_reviews::ReviewView],
    shipping: Option<&FlatShipping>,
) -> Value {
    let image_urls: Vec<&str> = images.iter().filter_map(|i| i["url"].as_str()).collect();
    let offer = |v: &emporium_catalog::VariantView| {
        v.price.map(|price| {
            let mut offer = json!({
                "@type": "Offer",
                "url": format!("{canonical}?variant={}", v.id),
                "price": decimal(&price),
                "priceCurrency": price.currency.code(),
                "availability": if v.available { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
                "itemCondition": "https://schema.org/NewCondition",
            });
            if let Some(shipping) = shipping {
                let cost = shipping.for_price(&price);
                offer["shippingDetails"] = json!({
                    "@type": "OfferShippingDetails",
                    "shippingRate": {"@type": "MonetaryAmount", "value": decimal(&cost), "currency": cost.currency.code()},
                    "shippingDestination": {"@type": "DefinedRegion", "addressCountry": shipping.country},
                });
            }
            offer
        })
    };
    let brand = p
        .brand
        .as_ref()
        .map(|b| json!({"@type": "Brand", "name": b}));
    let mut out = if p.variants.len() == 1 {
        let v = &p.variants[0];
        json!({"@context": "https://schema.org", "@type": "Product", "name": p.title,
               "sku": v.sku, "url": canonical, "offers": offer(v)})
    } else {
        json!({
            "@context": "https://schema.org", "@type": "ProductGroup", "name": p.title,
            "url": canonical, "productGroupID": p.id,
            "variesBy": p.options.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
            "hasVariant": p.variants.iter().map(|v| json!({
                "@type": "Product",
                "name": format!("{} ({})", p.title, v.options.values().cloned().collect::<Vec<_>>().join(" / ")),
                "sku": v.sku, "offers": offer(v),
            })).collect::<Vec<_>>(),
        })
    };
    if !p.description.trim().is_empty() {
        out["description"] = json!(p.description);
    }
    if !image_urls.is_empty() {
        out["image"] = json!(image_urls);
    }
    if let Some(brand) = brand {
        out["brand"] = brand;
    }
    // Google shows review stars from these; only real, published reviews are named.
    if let Some(average) = p.rating.average {
        out["aggregateRating"] = json!({
            "@type": "AggregateRating", "ratingValue": average,
            "reviewCount": p.rating.count, "bestRating": 5, "worstRating": 1,
        });
        out["review"] = json!(reviews.iter().map(|r| json!({
            "@type": "Review",
            "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5, "worstRating": 1},
            "author": {"@type": "Person", "name": r.author_name},
            "datePublished": r.published_at.unwrap_or(r.created_at).format("%Y-%m-%d").to_string(),
            "name": r.title, "reviewBody": r.body,
        })).collect::<Vec<_>>());
    }
    out
}

fn sorts(ctx: &Ctx, search: bool) -> Vec<Value> {
    let w = |key, english| text::word(&ctx.lang, key, english);
    let mut out = Vec::new();
    if search {
        out.push(json!({"value": "relevance", "label": w("sort_relevance", "Best match")}));
    }
    out.push(json!({"value": "newest", "label": w("sort_newest", "Newest")}));
    out.push(json!({"value": "price", "label": w("sort_price", "Price, low to high")}));
    out.push(json!({"value": "-price", "label": w("sort_price_desc", "Price, high to low")}));
    if !search {
        out.push(json!({"value": "title", "label": w("sort_title", "Name")}));
    }
    out
}

/// A query string from pairs.
fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let s = s.finish();
    if s.is_empty() { s } else { format!("?{s}") }
}

/// What a product list is of.
enum Of {
    Category,
    Collection,
}

/// `GET /categories/{slug}` (and under a language prefix): the category's products (and
/// its subcategories'), sorted, a page at a time.
pub(crate) async fn category(request: PageRequest) -> Response {
    request
        .cached(|sf, params, query| list_page(sf, Of::Category, params, query))
        .await
}

/// `GET /collections/{slug}` (and under a language prefix): a collection's products.
pub(crate) async fn collection(request: PageRequest) -> Response {
    request
        .cached(|sf, params, query| list_page(sf, Of::Collection, params, query))
        .await
}

async fn list_page(
    sf: Storefront,
    of: Of,
    params: RawPathParams,
    query: Vec<(String, String)>,
) -> Out {
    let (ctx, prices) = match opening(&sf, &params, &query).await {
        Ok(opened) => opened,
        Err(response) => return Out::Other(response),
    };
    let slug = param(&params, "slug").unwrap_or_default();
    let lang = ctx.lang();
    let found = match of {
        Of::Category => sf
            .catalog
            .category(&slug, &lang, false)
            .await
            .map(|c| (c.slug, c.name, c.description, "categories")),
        Of::Collection => sf
            .catalog
            .collection(&slug, &lang, false)
            .await
            .map(|c| (c.slug, c.name, c.description, "collections")),
    };
    let Ok((slug, name, description, section)) = found else {
        return Out::Other(sf.missing(Some(&ctx), "We could not find that page."));
    };
    let sort_text = query_value(&query, "sort").unwrap_or("newest").to_string();
    let sort = Sort::parse(Some(&sort_text)).unwrap_or(Sort::Newest);
    let (products, next) = match sf
        .catalog
        .list_products(
            ListQuery {
                category: matches!(of, Of::Category).then_some(slug.as_str()),
                collection: matches!(of, Of::Collection).then_some(slug.as_str()),
                status: None,
                search: None,
                sort,
                cursor: query_value(&query, "cursor"),
                limit: PAGE,
            },
            true,
            &lang,
            &prices,
        )
        .await
    {
        Ok(found) => found,
        Err(_) => {
            return Out::Other(sf.missing(Some(&ctx), "That page of the list does not exist."));
        }
    };
    let path = format!("/{section}/{slug}");
    let mut context = sf.base(&ctx);
    context.insert("heading".into(), json!(name));
    context.insert("sort".into(), json!(sort_text));
    context.insert("sorts".into(), json!(sorts(&ctx, false)));
    context.insert(
        "products".into(),
        json!(products.iter().map(|p| sf.card(p)).collect::<Vec<_>>()),
    );
    if let Some(cursor) = next {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "cursor")
            .cloned()
            .collect();
        pairs.push(("cursor".into(), cursor));
        context.insert(
            "next_href".into(),
            json!(format!("{}{path}{}", ctx.prefix, query_string(&pairs))),
        );
    }
    let crumbs = breadcrumbs_ld(&[
        (
            text::word(&ctx.lang, "home", "Home"),
            Some(sf.absolute(&format!("{}/", ctx.prefix))),
        ),
        (
            name.clone(),
            Some(sf.absolute(&format!("{}{path}", ctx.prefix))),
        ),
    ]);
    seo(
        &sf,
        &mut context,
        &ctx,
        Seo {
            path: &path,
            title: &name,
            description: description.as_deref(),
            image: None,
            kind: "website",
            json_ld: vec![crumbs],
        },
    );
    Out::Page {
        template: "listing.html",
        context: Value::Object(context),
        product: None,
    }
}

/// `GET /search?q=` (and under a language prefix): the search engine's answer with its
/// typo tolerance, filters and facets; results are not indexed by search engines.
pub(crate) async fn search(request: PageRequest) -> Response {
    let PageRequest {
        sf,
        params,
        query,
        headers,
        ..
    } = request;
    let Some(ctx) = sf.ctx(
        param(&params, "lang").as_deref(),
        query_value(&query, "currency"),
    ) else {
        return sf.missing(None, "There is no such page.");
    };
    let q = query_value(&query, "q").unwrap_or("").trim().to_string();
    let raw: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "page" && k != "limit" && k != "offset")
        .cloned()
        .collect();
    let page: usize = query_value(&query, "page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=40).contains(p))
        .unwrap_or(1);
    let mut context = sf.base(&ctx);
    context.insert("q".into(), json!(q));
    context.insert("noindex".into(), json!(true));
    context.insert(
        "heading".into(),
        json!(if q.is_empty() {
            text::word(&ctx.lang, "search", "Search")
        } else {
            format!("“{q}”")
        }),
    );
    context.insert(
        "sort".into(),
        json!(query_value(&query, "sort").unwrap_or("relevance")),
    );
    context.insert("sorts".into(), json!(sorts(&ctx, true)));
    let checked =
        emporium_search::query::check(Some(q.clone()), ctx.lang.clone(), ctx.currency, &raw).map(
            |mut p| {
                p.limit = PAGE as usize;
                p.offset = (page - 1) * PAGE as usize;
                p
            },
        );
    seo(
        &sf,
        &mut context,
        &ctx,
        Seo {
            path: "/search",
            title: "Search",
            description: None,
            image: None,
            kind: "website",
            json_ld: vec![],
        },
    );
    let found = match checked.and_then(|p| sf.search.search(&p)) {
        Ok(found) => found,
        Err(err) => {
            context.insert("products".into(), json!([]));
            context.insert("total".into(), json!(0));
            context.insert("error".into(), json!(err.to_string()));
            return sf.public(
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                "listing.html",
                &Value::Object(context),
            );
        }
    };
    let products: Vec<Value> = found
        .hits
        .iter()
        .map(|h| {
            json!({"slug": h.slug, "title": h.title, "brand": h.brand,
                   "price": h.price.map(|m| m.to_string()), "available": true})
        })
        .collect();
    let facets: Vec<Value> = found
        .facets
        .iter()
        .filter(|(name, values)| name.as_str() != "price" && !values.is_empty())
        .map(|(name, values)| {
            json!({
                "name": name.strip_prefix("attr.").unwrap_or(name),
                "values": values.iter().take(12).map(|v| {
                    let mut pairs: Vec<(String, String)> = query.iter().filter(|(k, _)| k != "page" && k != name).cloned().collect();
                    pairs.push((name.clone(), v.value.clone()));
                    json!({"value": v.value, "count": v.count,
                           "href": format!("{}/search{}", ctx.prefix, query_string(&pairs))})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    if (page * PAGE as usize) < found.total as usize {
        let mut pairs: Vec<(String, String)> =
            query.iter().filter(|(k, _)| k != "page").cloned().collect();
        pairs.push(("page".into(), (page + 1).to_string()));
        context.insert(
            "next_href".into(),
            json!(format!("{}/search{}", ctx.prefix, query_string(&pairs))),
        );
    }
    context.insert("products".into(), json!(products));
    context.insert("total".into(), json!(found.total));
    context.insert("facets".into(), json!(facets));
    sf.public(
        &headers,
        StatusCode::OK,
        "listing.html",
        &Value::Object(context),
    )
}
