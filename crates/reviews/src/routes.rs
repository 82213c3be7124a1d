//! Reviews over HTTP: shoppers read, write, vote and report under `/products/{id}/reviews`
//! and `/reviews`; staff moderate under `/admin/reviews`.

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_auth::{Auth, Principal, Staff, perm};
use emporium_core::error::ErrorCode;
use emporium_core::extract::{Json, Path, Query};
use emporium_core::{AppError, AppResult};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::{Moderator, Voter, Writer};
use crate::state::Reviews;
use crate::views::{
    AdminReviewPageView, AdminReviewQuery, AdminReviewView, LinkQuery, ModerateBody, ModeratedView,
    ReplyBody, ReportBody, ReviewBody, ReviewPageView, ReviewPatchBody, ReviewQuery, ReviewView,
    UploadedPhotoView, VoteBody, VotesView,
};

type Problem = emporium_core::error::Problem;

/// The routes of reviews.
pub fn router<S>() -> OpenApiRouter<S>
where
    Reviews: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_reviews, create_review))
        .routes(routes!(edit_review, delete_review))
        .routes(routes!(vote))
        .routes(routes!(report))
        .routes(routes!(upload_photo))
        .routes(routes!(admin_list))
        .routes(routes!(admin_export))
        .routes(routes!(admin_get))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(bulk))
        .routes(routes!(reply))
}

/// The author: a signed-in customer, or the holder of a review link (`?order=&token=`).
fn writer(principal: Option<Principal>, link: LinkQuery) -> AppResult<Writer> {
    match (principal, link.order, link.token) {
        (Some(p), _, _) => Ok(Writer::Customer {
            user_id: p.user_id,
            email: p.email,
        }),
        (None, Some(order_id), Some(token)) => Ok(Writer::Link { order_id, token }),
        _ => Err(AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "sign in, or use the review link from your email (?order=&token=)",
        )),
    }
}

fn voter(principal: Option<Principal>, token: Option<String>) -> AppResult<Voter> {
    match (principal, token) {
        (Some(p), _) => Ok(Voter::Account(p.user_id)),
        (None, Some(t))
            if (16..=128).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Voter::Browser(t))
        }
        (None, Some(_)) => Err(AppError::invalid(
            "voter_token",
            "must be 16 to 128 visible ASCII characters",
        )),
        (None, None) => Err(AppError::unauthorized(
            ErrorCode::Unauthenticated,
            "sign in, or send a voter_token that identifies this browser",
        )),
    }
}

/// A product's published reviews with its rating (count, average, distribution by
/// stars). Sorted newest, most helpful, highest or lowest first; filtered by stars,
/// verified buyers, photos or language; cursor-paged, so a deep page is as fast as the
/// first.
#[utoipa::path(get, path = "/api/v1/products/{id}/reviews", tag = "reviews",
    params(("id" = String, Path, description = "product id or slug"), ReviewQuery),
    responses((status = 200, body = ReviewPageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_reviews(
    State(reviews): State<Reviews>,
    Path(id): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> AppResult<axum::Json<ReviewPageView>> {
    Ok(axum::Json(reviews.list(&id, q).await?))
}

/// Reviews a product: a signed-in customer who ordered it (or any customer, when the
/// store allows), or a guest through the link of a review-request email. One review per
/// author and product (409). Verified when a delivered order holds the product. Published
/// at once when the store's rules allow and the screen holds nothing; else pending.
#[utoipa::path(post, path = "/api/v1/products/{id}/reviews", tag = "reviews",
    params(("id" = String, Path, description = "product id or slug"), LinkQuery),
    request_body = ReviewBody,
    responses((status = 201, body = ReviewView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn create_review(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
    Json(body): Json<ReviewBody>,
) -> AppResult<(StatusCode, axum::Json<ReviewView>)> {
    let writer = writer(principal, link)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(reviews.create(&id, writer, body).await?),
    ))
}

/// The author changes their review: its words and photos; its stars only until it is
/// published. Changed words pass the automatic screen again.
#[utoipa::path(patch, path = "/api/v1/reviews/{id}", tag = "reviews",
    params(("id" = Uuid, Path), LinkQuery), request_body = ReviewPatchBody,
    responses((status = 200, body = ReviewView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn edit_review(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkQuery>,
    Json(body): Json<ReviewPatchBody>,
) -> AppResult<axum::Json<ReviewView>> {
    let writer = writer(principal, link)?;
    Ok(axum::Json(reviews.edit(id, writer, body).await?))
}

/// The author deletes their review (its moderation history is kept).
#[utoipa::path(delete, path = "/api/v1/reviews/{id}", tag = "reviews",
    params(("id" = Uuid, Path), LinkQuery),
    responses((status = 204), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
async fn delete_review(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkQuery>,
) -> AppResult<StatusCode> {
    reviews.delete(id, writer(principal, link)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Helpful or not: one vote per account (or per browser token for guests); voting again
/// changes the vote, never adds one.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/votes", tag = "reviews",
    params(("id" = Uuid, Path)), request_body = VoteBody,
    responses((status = 200, body = VotesView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
async fn vote(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Json(body): Json<VoteBody>,
) -> AppResult<axum::Json<VotesView>> {
    let voter = voter(principal, body.voter_token.clone())?;
    Ok(axum::Json(reviews.vote(id, voter, body).await?))
}

/// Reports a review as abusive (once per account or browser token).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/reports", tag = "reviews",
    params(("id" = Uuid, Path)), request_body = ReportBody,
    responses((status = 202), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn report(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Path(id): Path<Uuid>,
    Json(body): Json<ReportBody>,
) -> AppResult<StatusCode> {
    let voter = voter(principal, body.voter_token.clone())?;
    reviews.report(id, voter, body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The form of a photo upload.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(examples(json!({"file": "(binary JPEG, PNG or WebP data)"})))]
struct PhotoForm {
    /// A JPEG, PNG or WebP image (checked by its content).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a photo for a review (JPEG, PNG or WebP, checked by its content, not its
/// name); name its `key` in the review's `photos`.
#[utoipa::path(post, path = "/api/v1/reviews/photos", tag = "reviews",
    params(LinkQuery),
    request_body(content = PhotoForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadedPhotoView), (status = 401, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
async fn upload_photo(
    State(reviews): State<Reviews>,
    principal: Option<Principal>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
    form: axum::extract::Multipart,
) -> AppResult<Response> {
    if let Writer::Link { order_id, token } = writer(principal, link)? {
        reviews.check_link(order_id, &token).await?;
    }
    let upload = reviews.catalog.read_image_upload(&headers, form).await?;
    let view = reviews.store_photo(upload.file).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// The moderation queue, newest first: by status (`pending` for the queue), product,
/// stars, or reported by shoppers.
#[utoipa::path(get, path = "/api/v1/admin/reviews", tag = "admin",
    params(AdminReviewQuery),
    responses((status = 200, body = AdminReviewPageView), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_list(
    _staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Query(q): Query<AdminReviewQuery>,
) -> AppResult<axum::Json<AdminReviewPageView>> {
    Ok(axum::Json(reviews.admin_list(q).await?))
}

/// Every review as CSV (with its status, rejection reason and reply).
#[utoipa::path(get, path = "/api/v1/admin/reviews/export.csv", tag = "admin",
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn admin_export(
    _staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
) -> AppResult<Response> {
    let csv = reviews.export_csv().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reviews.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// One review with its whole history (who decided what, when and why).
#[utoipa::path(get, path = "/api/v1/admin/reviews/{id}", tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminReviewView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_get(
    _staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<AdminReviewView>> {
    Ok(axum::Json(reviews.admin_review(id).await?))
}

/// Publishes a review.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/approve", tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminReviewView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn approve(
    staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<AdminReviewView>> {
    let body = ModerateBody {
        ids: vec![id],
        action: "approve".into(),
        reason: None,
        note: None,
    };
    reviews
        .moderate(
            Moderator {
                user_id: staff.user_id,
            },
            body,
        )
        .await?;
    Ok(axum::Json(reviews.admin_review(id).await?))
}

/// Why a review is rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"reason": "off_topic", "note": "About another product"})))]
pub struct RejectBody {
    /// `spam`, `off_topic`, `shipping_only`, `personal_data` or `offensive`.
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// Rejects a review, with a reason from the fixed list (required) and an optional note;
/// both are kept in its history.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/reject", tag = "admin",
    params(("id" = Uuid, Path)), request_body = RejectBody,
    responses((status = 200, body = AdminReviewView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn reject(
    staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Path(id): Path<Uuid>,
    Json(body): Json<RejectBody>,
) -> AppResult<axum::Json<AdminReviewView>> {
    let body = ModerateBody {
        ids: vec![id],
        action: "reject".into(),
        reason: body.reason,
        note: body.note,
    };
    reviews
        .moderate(
            Moderator {
                user_id: staff.user_id,
            },
            body,
        )
        .await?;
    Ok(axum::Json(reviews.admin_review(id).await?))
}

/// Approves or rejects up to 200 reviews at once, in one transaction.
#[utoipa::path(post, path = "/api/v1/admin/reviews/bulk", tag = "admin",
    request_body = ModerateBody,
    responses((status = 200, body = ModeratedView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn bulk(
    staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Json(body): Json<ModerateBody>,
) -> AppResult<axum::Json<ModeratedView>> {
    Ok(axum::Json(
        reviews
            .moderate(
                Moderator {
                    user_id: staff.user_id,
                },
                body,
            )
            .await?,
    ))
}

/// The shop's reply: shown under the review (`public`, the default), or emailed to its
/// author only.
#[utoipa::path(put, path = "/api/v1/admin/reviews/{id}/reply", tag = "admin",
    params(("id" = Uuid, Path)), request_body = ReplyBody,
    responses((status = 200, body = AdminReviewView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn reply(
    staff: Staff<perm::ReviewsModerate>,
    State(reviews): State<Reviews>,
    Path(id): Path<Uuid>,
    Json(body): Json<ReplyBody>,
) -> AppResult<axum::Json<AdminReviewView>> {
    Ok(axum::Json(
        reviews
            .reply(
                Moderator {
                    user_id: staff.user_id,
                },
                id,
                body,
            )
            .await?,
    ))
}
