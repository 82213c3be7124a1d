//! Wire types of reviews: `...Body` in, `...View` out.

use chrono::{DateTime, Utc};
use emporium_catalog::RatingView;
use emporium_db::entity::{review_history, reviews};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::model::ReviewStatus;

/// A new review.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "rating": 5,
    "title": "Warm and light",
    "body": "Wore it all winter; the zip still runs smoothly.",
    "author_name": "Ana P.",
    "lang": "en"
})))]
pub struct ReviewBody {
    /// 1 to 5 stars.
    pub rating: i64,
    #[serde(default)]
    pub title: String,
    pub body: String,
    /// The name shown with the review (1 to 100 characters).
    pub author_name: String,
    /// The review's language; the store's default when unset.
    pub lang: Option<String>,
    /// Keys of photos uploaded with `POST /reviews/photos`, at most 6.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// Changes to one's own review. The stars can change only until it is published.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"body": "After a season: the zip got better with use."})))]
pub struct ReviewPatchBody {
    pub rating: Option<i64>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub author_name: Option<String>,
    pub photos: Option<Vec<String>>,
}

/// A photo with a review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhotoView {
    pub key: String,
    pub url: String,
    /// A WebP at most 320 pixels wide.
    pub thumbnail_url: String,
}

/// A published review, as shoppers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub rating: i16,
    pub title: String,
    pub body: String,
    pub lang: String,
    pub author_name: String,
    /// The author has a delivered order of this product; staff cannot set it.
    pub verified: bool,
    pub photos: Vec<PhotoView>,
    pub helpful: i64,
    pub unhelpful: i64,
    /// The shop's public answer.
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub status: ReviewStatus,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// One page of a product's reviews, with the product's rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPageView {
    pub data: Vec<ReviewView>,
    pub next_cursor: Option<String>,
    pub rating: RatingView,
}

/// How to read a product's reviews.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `newest` (default), `helpful`, `highest` or `lowest`.
    pub sort: Option<String>,
    /// Only reviews with this many stars.
    pub stars: Option<i16>,
    /// Only verified buyers' reviews.
    pub verified: Option<bool>,
    /// Only reviews with photos.
    pub photos: Option<bool>,
    /// Only reviews in this language.
    pub lang: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A guest's review link (from the review-request email): the order and its token.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    pub order: Option<Uuid>,
    pub token: Option<String>,
}

/// A helpful / not helpful vote.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"helpful": true, "voter_token": "b7f1c2d9e0a34f5b8c6d7e8f9a0b1c2d"})))]
pub struct VoteBody {
    pub helpful: bool,
    /// A guest's random browser token (16 to 128 characters); signed-in shoppers vote
    /// as their account.
    pub voter_token: Option<String>,
}

/// A review's vote counts after a vote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VotesView {
    pub helpful: i64,
    pub unhelpful: i64,
}

/// A report that a review is abusive.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"reason": "spam", "note": "Advertises another shop"})))]
pub struct ReportBody {
    /// `spam`, `offensive`, `off_topic`, `personal_data`, `fake` or `other`.
    pub reason: String,
    pub note: Option<String>,
    pub voter_token: Option<String>,
}

/// A stored review photo.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadedPhotoView {
    /// What a review's `photos` names.
    pub key: String,
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// A review as staff see it: everything, with its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminReviewView {
    #[serde(flatten)]
    pub review: ReviewView,
    pub source: String,
    /// Why the automatic screen held it, if it did.
    pub held_for: Option<String>,
    pub reject_reason: Option<String>,
    pub reject_note: Option<String>,
    pub moderated_by: Option<Uuid>,
    pub moderated_at: Option<DateTime<Utc>>,
    pub reports: i64,
    pub customer_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryView>>,
}

/// One step of a review's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    /// `created`, `held`, `published`, `rejected`, `edited`, `replied`,
    /// `replied_privately`, `deleted`.
    pub action: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    /// `customer`, `staff` or `system`.
    pub actor: String,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<review_history::Model> for HistoryView {
    fn from(h: review_history::Model) -> Self {
        Self {
            action: h.action,
            reason: h.reason,
            note: h.note,
            actor: h.actor,
            actor_id: h.actor_id,
            at: h.created_at,
        }
    }
}

/// One page of the moderation queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminReviewPageView {
    pub data: Vec<AdminReviewView>,
    pub next_cursor: Option<String>,
}

/// The moderation queue's filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminReviewQuery {
    /// `pending`, `published` or `rejected`.
    pub status: Option<String>,
    pub product_id: Option<Uuid>,
    pub stars: Option<i16>,
    /// Only reviews shoppers reported.
    pub reported: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A moderation decision on one or many reviews.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"ids": ["0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d"], "action": "reject", "reason": "spam", "note": "Link to a shop"})))]
pub struct ModerateBody {
    /// The reviews (at most 200); a single review's route fills it in.
    #[serde(default)]
    pub ids: Vec<Uuid>,
    /// `approve` or `reject`.
    pub action: String,
    /// Required to reject: `spam`, `off_topic`, `shipping_only`, `personal_data`,
    /// `offensive`.
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// What a bulk decision did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModeratedView {
    /// Reviews whose state changed.
    pub changed: u64,
    /// Reviews already in the asked state.
    pub unchanged: u64,
}

/// The shop's answer to a review: shown under it, or emailed to its author only.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"body": "Thank you! The next batch has a new zip.", "public": true})))]
pub struct ReplyBody {
    pub body: String,
    /// Shown under the review (default), or emailed privately.
    #[serde(default = "yes")]
    pub public: bool,
}

fn yes() -> bool {
    true
}

pub(crate) fn photos_of(row: &reviews::Model, media_base: &str) -> Vec<PhotoView> {
    let keys: Vec<String> = serde_json::from_str(&row.photos).unwrap_or_default();
    keys.into_iter()
        .map(|key| PhotoView {
            url: format!("{media_base}/{key}"),
            thumbnail_url: format!(
                "{media_base}/{}",
                emporium_catalog::media::loose_thumbnail_key(&key)
            ),
            key,
        })
        .collect()
}

pub(crate) fn review_view(row: &reviews::Model, media_base: &str) -> ReviewView {
    ReviewView {
        id: row.id,
        product_id: row.product_id,
        rating: row.rating,
        title: row.title.clone(),
        body: row.body.clone(),
        lang: row.lang.clone(),
        author_name: row.author_name.clone(),
        verified: row.verified,
        photos: photos_of(row, media_base),
        helpful: row.helpful,
        unhelpful: row.unhelpful,
        reply: row.reply.clone(),
        replied_at: row.replied_at,
        status: ReviewStatus::parse(&row.status).unwrap_or(ReviewStatus::Pending),
        created_at: row.created_at,
        published_at: row.published_at,
    }
}

pub(crate) fn admin_view(
    row: &reviews::Model,
    media_base: &str,
    history: Option<Vec<HistoryView>>,
) -> AdminReviewView {
    AdminReviewView {
        review: review_view(row, media_base),
        source: row.source.clone(),
        held_for: row.held_for.clone(),
        reject_reason: row.reject_reason.clone(),
        reject_note: row.reject_note.clone(),
        moderated_by: row.moderated_by,
        moderated_at: row.moderated_at,
        reports: row.reports,
        customer_id: row.customer_id,
        order_id: row.order_id,
        history,
    }
}
