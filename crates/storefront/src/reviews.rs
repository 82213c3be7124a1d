//! Reviews in the shop: every review of a product with sorts, filters and pages
//! (`/products/{slug}/reviews`), helpful votes and abuse reports (a browser cookie,
//! `emporium_voter`, counts a guest once), and the pages a review-request email opens:
//! the review form (`/reviews/write?order=&token=&product=`) and the opt-out
//! (`/reviews/unsubscribe`). The product page's summary and newest reviews are rendered
//! with the product (`shop.rs`).

use axum::Form;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use emporium_core::AppError;
use emporium_core::crypto::random_token;
use emporium_reviews::{ReviewBody, ReviewQuery, ReviewView, VoteBody, Voter, Writer};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::cart::{cross_site, refused};
use crate::shop::param;
use crate::state::Storefront;

const VOTER: &str = "emporium_voter";

/// Five characters of stars for a whole number of them.
pub(crate) fn stars(n: i64) -> String {
    let n = n.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

/// A review as the templates show it.
pub(crate) fn review_context(r: &ReviewView) -> Value {
    json!({
        "id": r.id, "rating": r.rating, "stars": stars(i64::from(r.rating)),
        "title": r.title, "body": r.body, "author_name": r.author_name,
        "verified": r.verified, "helpful": r.helpful, "unhelpful": r.unhelpful,
        "reply": r.reply,
        "date": r.published_at.unwrap_or(r.created_at).format("%Y-%m-%d").to_string(),
        "photos": r.photos.iter().map(|p| json!({"url": p.url, "thumbnail": p.thumbnail_url})).collect::<Vec<_>>(),
    })
}

/// The rating as the templates show it: rounded stars, average, count, a bar per star.
pub(crate) fn rating_context(r: &emporium_catalog::RatingView) -> Value {
    let average = r.average.unwrap_or(0.0);
    json!({
        "count": r.count,
        "average": r.average.map(|a| format!("{a:.1}")),
        "stars": stars(average.round() as i64),
        "bars": (1..=5).rev().map(|s| {
            let n = r.distribution[s as usize - 1];
            json!({"stars": s, "count": n,
                   "percent": if r.count > 0 { n * 100 / r.count } else { 0 }})
        }).collect::<Vec<_>>(),
    })
}

fn voter_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{VOTER}=")))
        .filter(|v| (16..=128).contains(&v.len()))
        .map(str::to_string)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    stars: Option<String>,
    #[serde(default)]
    verified: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /products/{slug}/reviews` (and under `/{lang}/`): every published review.
pub(crate) async fn reviews_page(
    State(sf): State<Storefront>,
    params: RawPathParams,
    Query(q): Query<ListQuery>,
) -> Response {
    let lang = param(&params, "lang");
    let Some(ctx) = sf.ctx(lang.as_deref(), None) else {
        return sf.missing(None, "We could not find that page.");
    };
    let slug = param(&params, "slug").unwrap_or_default();
    let stars_filter = q.stars.as_deref().and_then(|s| s.parse::<i16>().ok());
    let query = ReviewQuery {
        sort: q.sort.clone().filter(|s| !s.is_empty()),
        stars: stars_filter,
        verified: q.verified.as_deref().map(|v| v == "1" || v == "true"),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(20),
        ..ReviewQuery::default()
    };
    let page = match sf.reviews.list(&slug, query).await {
        Ok(page) => page,
        Err(AppError::NotFound { .. }) => {
            return sf.missing(Some(&ctx), "We could not find that product.");
        }
        // A hand-edited query (a bad cursor or sort): the first page rather than an error.
        Err(_) => match sf.reviews.list(&slug, ReviewQuery::default()).await {
            Ok(page) => page,
            Err(_) => return sf.missing(Some(&ctx), "We could not find that product."),
        },
    };
    let title = match sf.catalog.prices(ctx.currency).await {
        Ok(prices) => match sf.catalog.store_product(&slug, &ctx.lang(), &prices).await {
            Ok(emporium_catalog::Found::Product(p)) => p.title,
            _ => String::new(),
        },
        Err(_) => String::new(),
    };
    let base_path = format!("{}/products/{slug}/reviews", ctx.prefix);
    let filters = |cursor: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(s) = &q.sort {
            parts.push(format!("sort={s}"));
        }
        if let Some(s) = stars_filter {
            parts.push(format!("stars={s}"));
        }
        if q.verified.is_some() {
            parts.push("verified=1".to_string());
        }
        if let Some(c) = cursor {
            parts.push(format!("cursor={c}"));
        }
        if parts.is_empty() {
            base_path.clone()
        } else {
            format!("{base_path}?{}", parts.join("&"))
        }
    };
    let mut context = Map::new();
    context.insert("title".into(), json!(title));
    context.insert("slug".into(), json!(slug));
    context.insert("rating".into(), rating_context(&page.rating));
    context.insert(
        "reviews".into(),
        json!(page.data.iter().map(review_context).collect::<Vec<_>>()),
    );
    context.insert(
        "next_url".into(),
        json!(page.next_cursor.as_deref().map(|c| filters(Some(c)))),
    );
    context.insert("here".into(), json!(filters(None)));
    context.insert(
        "sort".into(),
        json!(q.sort.clone().unwrap_or_else(|| "newest".into())),
    );
    context.insert("stars_filter".into(), json!(stars_filter));
    context.insert("verified".into(), json!(q.verified.is_some()));
    context.insert("action".into(), json!(base_path));
    for (k, v) in sf.base(&ctx) {
        context.entry(k).or_insert(v);
    }
    sf.page(StatusCode::OK, "reviews.html", Value::Object(context))
        .into_response()
}

/// Where a form goes back to: one of our own paths, never another site.
fn back_to(back: &str) -> String {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        back.to_string()
    } else {
        "/".into()
    }
}

/// A guest's voter cookie, set on the answer when it is new.
fn voter(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match voter_cookie(headers) {
        Some(token) => (token, None),
        None => {
            let token = random_token(24);
            let cookie = HeaderValue::from_str(&format!(
                "{VOTER}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
            ))
            .ok();
            (token, cookie)
        }
    }
}

fn back_with(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// What a vote or a report starts from: a same-site post about a review, and the
/// browser's voter token (with its cookie when it is new).
fn voting(
    sf: &Storefront,
    params: &RawPathParams,
    headers: &HeaderMap,
) -> Result<(Uuid, String, Option<HeaderValue>), Box<Response>> {
    if cross_site(headers) {
        return Err(Box::new(refused()));
    }
    let Some(id) = param(params, "id").and_then(|i| i.parse::<Uuid>().ok()) else {
        return Err(Box::new(sf.missing(None, "We could not find that review.")));
    };
    let (token, cookie) = voter(headers);
    Ok((id, token, cookie))
}

#[derive(Debug, Deserialize)]
pub(crate) struct VoteForm {
    helpful: String,
    #[serde(default)]
    back: String,
}

/// `POST /reviews/{id}/vote`: helpful or not, once per browser.
pub(crate) async fn vote(
    State(sf): State<Storefront>,
    params: RawPathParams,
    headers: HeaderMap,
    Form(form): Form<VoteForm>,
) -> Response {
    let (id, token, cookie) = match voting(&sf, &params, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let body = VoteBody {
        helpful: form.helpful == "1",
        voter_token: None,
    };
    if sf
        .reviews
        .vote(id, Voter::Browser(token), body)
        .await
        .is_err()
    {
        return sf.missing(None, "We could not find that review.");
    }
    back_with(&back_to(&form.back), cookie)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReportForm {
    reason: String,
    #[serde(default)]
    back: String,
}

/// `POST /reviews/{id}/report`: tells the shop a review is abusive.
pub(crate) async fn report(
    State(sf): State<Storefront>,
    params: RawPathParams,
    headers: HeaderMap,
    Form(form): Form<ReportForm>,
) -> Response {
    let (id, token, cookie) = match voting(&sf, &params, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let body = emporium_reviews::ReportBody {
        reason: form.reason,
        note: None,
        voter_token: None,
    };
    let next = back_to(&form.back);
    let mut response = match sf.reviews.report(id, Voter::Browser(token), body).await {
        Ok(()) => sf.notice(
            StatusCode::OK,
            "Thank you",
            "We will look at this review.",
            "good",
            Some((&next, "Back to the reviews")),
        ),
        Err(err) => sf.notice(
            err.status(),
            "That did not work",
            &err.to_string(),
            "bad",
            Some((&next, "Back to the reviews")),
        ),
    }
    .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    order: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    product: String,
}

fn bad_link(sf: &Storefront) -> Response {
    sf.notice(
        StatusCode::UNAUTHORIZED,
        "This link no longer works",
        "Use the link from your most recent email, copied in full.",
        "bad",
        Some(("/", "Go to the shop")),
    )
    .into_response()
}

/// `GET /reviews/write`: the review form for one product of a delivered order.
pub(crate) async fn write_page(
    State(sf): State<Storefront>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let Ok(order) = q.order.parse::<Uuid>() else {
        return bad_link(&sf);
    };
    let Ok(products) = sf.reviews.check_link(order, &q.token).await else {
        return bad_link(&sf);
    };
    let chosen = q.product.parse::<Uuid>().ok();
    let Some((product, title)) = products
        .iter()
        .find(|(id, _)| Some(*id) == chosen)
        .or_else(|| products.first())
        .cloned()
    else {
        return bad_link(&sf);
    };
    form_page(
        &sf,
        StatusCode::OK,
        order,
        &q.token,
        product,
        &title,
        &Map::new(),
        None,
    )
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    sf: &Storefront,
    status: StatusCode,
    order: Uuid,
    token: &str,
    product: Uuid,
    title: &str,
    values: &Map<String, Value>,
    error: Option<String>,
) -> Response {
    sf.page(
        status,
        "review_write.html",
        json!({"order": order, "token": token, "product": product, "title": title,
               "values": values, "error": error}),
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct WriteForm {
    #[serde(default)]
    order: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    author_name: String,
}

/// `POST /reviews/write`: takes the review; the link's token is the proof.
pub(crate) async fn write(State(sf): State<Storefront>, Form(form): Form<WriteForm>) -> Response {
    let (Ok(order), Ok(product)) = (form.order.parse::<Uuid>(), form.product.parse::<Uuid>())
    else {
        return bad_link(&sf);
    };
    let Ok(products) = sf.reviews.check_link(order, &form.token).await else {
        return bad_link(&sf);
    };
    let Some((_, title)) = products.iter().find(|(id, _)| *id == product).cloned() else {
        return bad_link(&sf);
    };
    let body = ReviewBody {
        rating: form.rating.parse().unwrap_or(0),
        title: form.title.clone(),
        body: form.body.clone(),
        author_name: form.author_name.clone(),
        lang: None,
        photos: Vec::new(),
    };
    let writer = Writer::Link {
        order_id: order,
        token: form.token.clone(),
    };
    match sf.reviews.create(&product.to_string(), writer, body).await {
        Ok(review) => {
            let slug = sf
                .catalog
                .product_slugs(&[product])
                .await
                .ok()
                .and_then(|s| s.into_iter().next())
                .unwrap_or_default();
            let back = format!("/products/{slug}");
            let message = if review.status == emporium_reviews::ReviewStatus::Published {
                "Your review is on the product page now."
            } else {
                "We read every review before it goes up; yours will appear soon."
            };
            sf.notice(
                StatusCode::CREATED,
                "Thank you for your review",
                message,
                "good",
                Some((&back, "See the product")),
            )
            .into_response()
        }
        Err(AppError::Validation(errors)) => {
            let message = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            let mut values = Map::new();
            values.insert("rating".into(), json!(form.rating));
            values.insert("title".into(), json!(form.title));
            values.insert("body".into(), json!(form.body));
            values.insert("author_name".into(), json!(form.author_name));
            form_page(
                &sf,
                StatusCode::UNPROCESSABLE_ENTITY,
                order,
                &form.token,
                product,
                &title,
                &values,
                Some(message),
            )
        }
        Err(err) if err.status() == StatusCode::CONFLICT => sf
            .notice(
                StatusCode::CONFLICT,
                "You reviewed this already",
                "There is one review per product and shopper.",
                "good",
                Some(("/", "Go to the shop")),
            )
            .into_response(),
        Err(err) => sf
            .notice(
                err.status(),
                "That did not work",
                &err.to_string(),
                "bad",
                None,
            )
            .into_response(),
    }
}

/// `GET /reviews/unsubscribe`: asks before it acts (mail scanners follow links).
pub(crate) async fn unsubscribe_page(
    State(sf): State<Storefront>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let Ok(order) = q.order.parse::<Uuid>() else {
        return bad_link(&sf);
    };
    if sf.reviews.check_link(order, &q.token).await.is_err() {
        return bad_link(&sf);
    }
    sf.page(
        StatusCode::OK,
        "review_unsubscribe.html",
        json!({"order": order, "token": q.token}),
    )
    .into_response()
}

/// `POST /reviews/unsubscribe`: no more review requests to this order's address.
pub(crate) async fn unsubscribe(
    State(sf): State<Storefront>,
    Form(form): Form<LinkQuery>,
) -> Response {
    let Ok(order) = form.order.parse::<Uuid>() else {
        return bad_link(&sf);
    };
    match sf.reviews.opt_out(order, &form.token).await {
        Ok(email) => sf
            .notice(
                StatusCode::OK,
                "You will get no more review requests",
                &format!("We will not ask {email} for reviews again."),
                "good",
                Some(("/", "Go to the shop")),
            )
            .into_response(),
        Err(_) => bad_link(&sf),
    }
}
