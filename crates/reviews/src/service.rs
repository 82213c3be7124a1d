//! Writing, moderating and reading reviews. Every change of what shoppers see runs in one
//! transaction with the product's star counts (`emporium_catalog::adjust_rating_in`), the
//! review's history row and, when it is published, the `review.published` event.

use chrono::Utc;
use emporium_catalog::{RatingView, adjust_rating_in, reviewable};
use emporium_core::audit::{self, AuditEntry};
use emporium_core::crypto::token_hash;
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, ReviewPublished};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{review_history, review_reports, review_requests, review_votes, reviews};
use emporium_notify::{EmailJob, enqueue_email};
use emporium_orders::{Buyer, Purchase};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::model::{
    Cursor, REPORT_REASONS, RejectReason, ReviewSort, ReviewStatus, body_hash, screen,
};
use crate::state::Reviews;
use crate::views::{
    AdminReviewPageView, AdminReviewQuery, AdminReviewView, HistoryView, ModerateBody,
    ModeratedView, ReplyBody, ReportBody, ReviewBody, ReviewPageView, ReviewPatchBody, ReviewQuery,
    ReviewView, VoteBody, VotesView, admin_view, review_view,
};

/// At most this many photos per review.
pub const MAX_PHOTOS: usize = 6;

/// Who writes a review.
#[derive(Debug, Clone)]
pub enum Writer {
    /// A signed-in customer.
    Customer { user_id: Uuid, email: String },
    /// Whoever holds a review link of a delivered order (a guest, or a customer who
    /// followed the email without signing in).
    Link { order_id: Uuid, token: String },
}

/// Who votes or reports.
#[derive(Debug, Clone)]
pub enum Voter {
    Account(Uuid),
    /// A guest's browser token (stored hashed).
    Browser(String),
}

impl Voter {
    fn key(&self) -> String {
        match self {
            Self::Account(id) => format!("user:{id}"),
            Self::Browser(token) => format!("token:{}", token_hash(token)),
        }
    }
}

/// A staff member acting on reviews.
#[derive(Debug, Clone, Copy)]
pub struct Moderator {
    pub user_id: Uuid,
}

/// The author as the review records them, after their link or account was checked.
struct Author {
    key: String,
    customer_id: Option<Uuid>,
    order_id: Option<Uuid>,
    email: Option<String>,
    buyer: Buyer,
    source: &'static str,
    /// The order's language, for a review written through its link.
    lang: Option<String>,
}

async fn history<C: ConnectionTrait>(
    conn: &C,
    review: &reviews::Model,
    action: &str,
    reason: Option<String>,
    note: Option<String>,
    actor: (&str, Option<Uuid>),
) -> AppResult<()> {
    review_history::Entity::insert(review_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        review_id: Set(review.id),
        product_id: Set(review.product_id),
        action: Set(action.to_string()),
        reason: Set(reason),
        note: Set(note),
        actor_id: Set(actor.1),
        actor: Set(actor.0.to_string()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Moves the product's counts when a review enters or leaves the published set.
async fn count<C: ConnectionTrait>(conn: &C, review: &reviews::Model, delta: i64) -> AppResult<()> {
    adjust_rating_in(conn, review.product_id, review.rating as u8, delta).await
}

fn text_errors(errors: &mut Vec<FieldError>, title: &str, body: &str, author_name: Option<&str>) {
    if title.chars().count() > 200 {
        errors.push(FieldError::new("title", "is at most 200 characters"));
    }
    let body_len = body.trim().chars().count();
    if body_len == 0 {
        errors.push(FieldError::new("body", "is required"));
    } else if body_len > 5000 {
        errors.push(FieldError::new("body", "is at most 5000 characters"));
    }
    if let Some(name) = author_name {
        let n = name.trim().chars().count();
        if n == 0 || n > 100 {
            errors.push(FieldError::new("author_name", "is 1 to 100 characters"));
        }
    }
}

fn check_photos(errors: &mut Vec<FieldError>, photos: &[String]) {
    if photos.len() > MAX_PHOTOS {
        errors.push(FieldError::new(
            "photos",
            format!("at most {MAX_PHOTOS} photos"),
        ));
    }
    for (i, key) in photos.iter().enumerate() {
        // Only keys the photo upload hands out: `images/<sha256>.<ext>`.
        let ok = key
            .strip_prefix("images/")
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(hash, ext)| {
                hash.len() == 64
                    && hash.bytes().all(|b| b.is_ascii_hexdigit())
                    && matches!(ext, "jpg" | "png" | "webp")
            });
        if !ok {
            errors.push(FieldError::new(
                format!("photos[{i}]"),
                "is not a photo uploaded with POST /reviews/photos",
            ));
        }
    }
}

impl Reviews {
    async fn author(&self, txn: &DatabaseTransaction, writer: &Writer) -> AppResult<Author> {
        match writer {
            Writer::Customer { user_id, email } => Ok(Author {
                key: format!("customer:{user_id}"),
                customer_id: Some(*user_id),
                order_id: None,
                email: Some(email.clone()),
                buyer: Buyer::Customer(*user_id),
                source: "customer",
                lang: None,
            }),
            Writer::Link { order_id, token } => {
                let request = self.request_by_link(txn, *order_id, token).await?;
                Ok(Author {
                    // A customer's review is theirs however they reached the form.
                    key: match request.customer_id {
                        Some(id) => format!("customer:{id}"),
                        None => format!("order:{order_id}"),
                    },
                    customer_id: request.customer_id,
                    order_id: Some(*order_id),
                    email: Some(request.email),
                    buyer: Buyer::Order(*order_id),
                    source: "review_link",
                    lang: Some(request.lang),
                })
            }
        }
    }

    /// The review request a link names, if its token is one of the two it was sent with.
    pub(crate) async fn request_by_link<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: Uuid,
        token: &str,
    ) -> AppResult<review_requests::Model> {
        let hash = token_hash(token);
        review_requests::Entity::find_by_id(order_id)
            .one(conn)
            .await?
            .filter(|r| {
                r.token_hash.as_deref() == Some(hash.as_str())
                    || r.reminder_token_hash.as_deref() == Some(hash.as_str())
            })
            .ok_or_else(|| {
                AppError::unauthorized(
                    ErrorCode::InvalidToken,
                    "this review link is not valid; use the link from your email",
                )
            })
    }

    /// Takes a review of `product` (an id or slug). Published at once when the store's
    /// rules allow and the screen finds nothing; otherwise it waits in the queue.
    pub async fn create(
        &self,
        product: &str,
        writer: Writer,
        body: ReviewBody,
    ) -> AppResult<ReviewView> {
        let settings = &self.config.reviews;
        let mut errors = Vec::new();
        if !(1..=5).contains(&body.rating) {
            errors.push(FieldError::new("rating", "must be 1 to 5 stars"));
        }
        text_errors(
            &mut errors,
            &body.title,
            &body.body,
            Some(&body.author_name),
        );
        if let Some(lang) = &body.lang
            && !self.config.store.languages.contains(lang)
        {
            errors.push(FieldError::new(
                "lang",
                format!(
                    "must be one of the store's languages: {}",
                    self.config.store.languages.join(", ")
                ),
            ));
        }
        check_photos(&mut errors, &body.photos);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let product = reviewable(&txn, product).await?;
        let author = self.author(&txn, &writer).await?;
        // Without a language given, a review through a link is in its order's language.
        let lang = body
            .lang
            .clone()
            .or_else(|| author.lang.clone())
            .filter(|l| self.config.store.languages.contains(l))
            .unwrap_or_else(|| self.config.store.default_language.clone());
        let purchase = self
            .orders
            .purchase_of(&txn, author.buyer, product.id)
            .await?;
        if purchase == Purchase::None && !settings.open_to_all_customers {
            return Err(AppError::forbidden_because(
                ErrorCode::PurchaseRequired,
                "only customers who ordered this product may review it",
            ));
        }
        let existing = reviews::Entity::find()
            .filter(reviews::Column::ProductId.eq(product.id))
            .filter(reviews::Column::AuthorKey.eq(&author.key))
            .count(&txn)
            .await?;
        if existing > 0 {
            return Err(AppError::conflict(
                ErrorCode::AlreadyExists,
                "you already reviewed this product; edit that review instead",
            ));
        }
        let verified = purchase == Purchase::Delivered;
        let hash = body_hash(&body.body);
        let held = self.screen(&txn, &body.title, &body.body, &hash).await?;
        let publish = held.is_none()
            && ((verified && settings.auto_publish_verified)
                || (settings.auto_publish_min_stars > 0
                    && body.rating >= i64::from(settings.auto_publish_min_stars)));
        let now = Utc::now();
        let row = reviews::Model {
            id: Uuid::now_v7(),
            product_id: product.id,
            author_key: author.key,
            customer_id: author.customer_id,
            order_id: author.order_id,
            rating: body.rating as i16,
            title: body.title.trim().to_string(),
            body: body.body.trim().to_string(),
            lang,
            author_name: body.author_name.trim().to_string(),
            author_email: author.email,
            verified,
            source: author.source.to_string(),
            status: if publish {
                ReviewStatus::Published
            } else {
                ReviewStatus::Pending
            }
            .as_str()
            .to_string(),
            held_for: held.clone(),
            reject_reason: None,
            reject_note: None,
            moderated_by: None,
            moderated_at: None,
            reply: None,
            replied_at: None,
            photos: serde_json::to_string(&body.photos).map_err(anyhow::Error::from)?,
            photo_count: body.photos.len() as i32,
            helpful: 0,
            unhelpful: 0,
            reports: 0,
            body_hash: hash,
            created_at: now,
            updated_at: now,
            published_at: publish.then_some(now),
        };
        reviews::Entity::insert(reviews::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        let actor = match writer {
            Writer::Customer { user_id, .. } => ("customer", Some(user_id)),
            Writer::Link { .. } => ("customer", author.customer_id),
        };
        history(&txn, &row, "created", None, None, actor).await?;
        if let Some(why) = held {
            history(&txn, &row, "held", None, Some(why), ("system", None)).await?;
        }
        if publish {
            history(&txn, &row, "published", None, None, ("system", None)).await?;
            self.published(&txn, &row).await?;
        }
        self.catalog.commit(txn).await?;
        Ok(review_view(&row, &self.media_base()))
    }

    /// Why the automatic screen holds this text, if it does: links, filler, listed words,
    /// or the same words as a review already written.
    async fn screen<C: ConnectionTrait>(
        &self,
        conn: &C,
        title: &str,
        body: &str,
        hash: &str,
    ) -> AppResult<Option<String>> {
        if let Some(why) = screen(title, body, &self.config.reviews.held_words) {
            return Ok(Some(why));
        }
        if !hash.is_empty()
            && reviews::Entity::find()
                .filter(reviews::Column::BodyHash.eq(hash))
                .count(conn)
                .await?
                > 0
        {
            return Ok(Some("the same text as another review".into()));
        }
        Ok(None)
    }

    /// A review entering the published set: counted, and announced.
    async fn published<C: ConnectionTrait>(&self, conn: &C, row: &reviews::Model) -> AppResult<()> {
        count(conn, row, 1).await?;
        events::publish(
            conn,
            ReviewPublished {
                review_id: row.id,
                product_id: row.product_id,
                rating: row.rating as u8,
                verified: row.verified,
            },
        )
        .await?;
        Ok(())
    }

    async fn own_review(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
        writer: &Writer,
    ) -> AppResult<(reviews::Model, Option<Uuid>)> {
        let author = self.author(txn, writer).await?;
        let row = reviews::Entity::find_by_id(id)
            .one(txn)
            .await?
            .filter(|r| r.author_key == author.key)
            .ok_or_else(|| AppError::not_found("no such review of yours"))?;
        Ok((row, author.customer_id))
    }

    /// The author changes their review's words (and its stars, until it is published).
    /// Changed words pass the screen again; held, a published review waits again.
    pub async fn edit(
        &self,
        id: Uuid,
        writer: Writer,
        patch: ReviewPatchBody,
    ) -> AppResult<ReviewView> {
        let txn = self.db.begin().await?;
        let (row, actor) = self.own_review(&txn, id, &writer).await?;
        let status = ReviewStatus::parse(&row.status).unwrap_or(ReviewStatus::Pending);
        let mut errors = Vec::new();
        if let Some(rating) = patch.rating {
            if !(1..=5).contains(&rating) {
                errors.push(FieldError::new("rating", "must be 1 to 5 stars"));
            } else if rating != i64::from(row.rating) && status == ReviewStatus::Published {
                errors.push(FieldError::new(
                    "rating",
                    "cannot change once the review is published",
                ));
            }
        }
        let title = patch.title.clone().unwrap_or_else(|| row.title.clone());
        let body = patch.body.clone().unwrap_or_else(|| row.body.clone());
        text_errors(&mut errors, &title, &body, patch.author_name.as_deref());
        if let Some(photos) = &patch.photos {
            check_photos(&mut errors, photos);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let words_changed = title.trim() != row.title || body.trim() != row.body;
        let hash = if words_changed {
            body_hash(&body)
        } else {
            row.body_hash.clone()
        };
        let held = if words_changed {
            // The review's own old text is not "another review".
            match screen(&title, &body, &self.config.reviews.held_words) {
                Some(why) => Some(why),
                None if !hash.is_empty() && hash != row.body_hash => {
                    self.screen(&txn, "", "", &hash).await?
                }
                None => None,
            }
        } else {
            None
        };
        let mut next = row.clone();
        next.title = title.trim().to_string();
        next.body = body.trim().to_string();
        next.body_hash = hash;
        if let Some(rating) = patch.rating {
            next.rating = rating as i16;
        }
        if let Some(name) = &patch.author_name {
            next.author_name = name.trim().to_string();
        }
        if let Some(photos) = &patch.photos {
            next.photos = serde_json::to_string(photos).map_err(anyhow::Error::from)?;
            next.photo_count = photos.len() as i32;
        }
        next.updated_at = Utc::now();
        let unpublish = held.is_some() && status == ReviewStatus::Published;
        if held.is_some() {
            next.held_for = held.clone();
        }
        if unpublish {
            next.status = ReviewStatus::Pending.as_str().to_string();
            next.published_at = None;
        }
        self.save(&txn, &row, &next).await?;
        history(&txn, &next, "edited", None, None, ("customer", actor)).await?;
        if let Some(why) = held {
            history(&txn, &next, "held", None, Some(why), ("system", None)).await?;
        }
        if unpublish {
            count(&txn, &row, -1).await?;
        }
        self.catalog.commit(txn).await?;
        Ok(review_view(&next, &self.media_base()))
    }

    /// Writes `next` over `row`, guarded by the old status so that a concurrent
    /// moderation is 409, never counted twice (the product's counts follow the status).
    async fn save<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &reviews::Model,
        next: &reviews::Model,
    ) -> AppResult<()> {
        // `From<Model>` marks every value unchanged, which an update skips: set them all.
        let mut active = reviews::ActiveModel::from(next.clone()).reset_all();
        active.id = sea_orm::ActiveValue::NotSet;
        // Votes and reports move on their own, by increments: never written back stale.
        active.helpful = sea_orm::ActiveValue::NotSet;
        active.unhelpful = sea_orm::ActiveValue::NotSet;
        active.reports = sea_orm::ActiveValue::NotSet;
        let updated = reviews::Entity::update_many()
            .set(active)
            .filter(reviews::Column::Id.eq(row.id))
            .filter(reviews::Column::Status.eq(&row.status))
            .exec(conn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(AppError::conflict(
                ErrorCode::AlreadyExists,
                "the review changed meanwhile; reload it and try again",
            ));
        }
        Ok(())
    }

    /// The author removes their review. Its history stays.
    pub async fn delete(&self, id: Uuid, writer: Writer) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let (row, actor) = self.own_review(&txn, id, &writer).await?;
        let deleted = reviews::Entity::delete_many()
            .filter(reviews::Column::Id.eq(row.id))
            .filter(reviews::Column::Status.eq(&row.status))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 1 && row.status == ReviewStatus::Published.as_str() {
            count(&txn, &row, -1).await?;
        }
        history(&txn, &row, "deleted", None, None, ("customer", actor)).await?;
        self.catalog.commit(txn).await?;
        Ok(())
    }

    /// Approves or rejects reviews (a rejection needs a reason from the fixed list; the
    /// decision, reason, note, actor and time are kept). Reviews already in the asked
    /// state are left alone.
    pub async fn moderate(&self, staff: Moderator, body: ModerateBody) -> AppResult<ModeratedView> {
        let mut errors = Vec::new();
        let approve = match body.action.as_str() {
            "approve" => true,
            "reject" => false,
            _ => {
                errors.push(FieldError::new("action", "must be approve or reject"));
                false
            }
        };
        let reason = match (&body.reason, approve) {
            (Some(r), false) => match RejectReason::parse(r) {
                Some(r) => Some(r),
                None => {
                    errors.push(FieldError::new(
                        "reason",
                        "must be spam, off_topic, shipping_only, personal_data or offensive",
                    ));
                    None
                }
            },
            (None, false) => {
                errors.push(FieldError::new(
                    "reason",
                    "is required to reject a review (spam, off_topic, shipping_only, personal_data or offensive)",
                ));
                None
            }
            (_, true) => None,
        };
        if body.ids.is_empty() || body.ids.len() > 200 {
            errors.push(FieldError::new("ids", "name 1 to 200 reviews"));
        }
        if body.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errors.push(FieldError::new("note", "is at most 2000 characters"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let rows = reviews::Entity::find()
            .filter(reviews::Column::Id.is_in(body.ids.clone()))
            .all(&txn)
            .await?;
        if rows.len() != body.ids.len() {
            return Err(AppError::not_found("some of these reviews do not exist"));
        }
        let (mut changed, mut unchanged) = (0, 0);
        let now = Utc::now();
        for row in rows {
            let status = ReviewStatus::parse(&row.status).unwrap_or(ReviewStatus::Pending);
            let target = if approve {
                ReviewStatus::Published
            } else {
                ReviewStatus::Rejected
            };
            if status == target {
                unchanged += 1;
                continue;
            }
            let mut next = row.clone();
            next.status = target.as_str().to_string();
            next.moderated_by = Some(staff.user_id);
            next.moderated_at = Some(now);
            next.updated_at = now;
            if approve {
                next.published_at = Some(now);
                next.reject_reason = None;
                next.reject_note = None;
            } else {
                next.published_at = None;
                next.reject_reason = reason.map(|r| r.as_str().to_string());
                next.reject_note = body.note.clone();
            }
            self.save(&txn, &row, &next).await?;
            if approve {
                self.published(&txn, &next).await?;
            } else if status == ReviewStatus::Published {
                count(&txn, &row, -1).await?;
            }
            history(
                &txn,
                &next,
                if approve { "published" } else { "rejected" },
                reason.map(|r| r.as_str().to_string()),
                body.note.clone(),
                ("staff", Some(staff.user_id)),
            )
            .await?;
            audit::record(
                &txn,
                AuditEntry {
                    actor: Some(staff.user_id),
                    action: if approve {
                        "admin.review.approve"
                    } else {
                        "admin.review.reject"
                    },
                    target_type: Some("review"),
                    target_id: Some(row.id.to_string()),
                    ip: None,
                    detail: serde_json::json!({"reason": reason.map(|r| r.as_str())}),
                },
            )
            .await?;
            changed += 1;
        }
        self.catalog.commit(txn).await?;
        Ok(ModeratedView { changed, unchanged })
    }

    /// The shop answers a review: shown under it, or emailed to its author only.
    pub async fn reply(
        &self,
        staff: Moderator,
        id: Uuid,
        body: ReplyBody,
    ) -> AppResult<AdminReviewView> {
        let text = body.body.trim().to_string();
        let n = text.chars().count();
        if n == 0 || n > 5000 {
            return Err(AppError::invalid("body", "is 1 to 5000 characters"));
        }
        let txn = self.db.begin().await?;
        let row = reviews::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("no such review"))?;
        let mut next = row.clone();
        if body.public {
            next.reply = Some(text.clone());
            next.replied_at = Some(Utc::now());
            next.updated_at = Utc::now();
            self.save(&txn, &row, &next).await?;
            history(
                &txn,
                &next,
                "replied",
                None,
                Some(text),
                ("staff", Some(staff.user_id)),
            )
            .await?;
        } else {
            let to = row.author_email.clone().ok_or_else(|| {
                AppError::conflict(
                    ErrorCode::AlreadyExists,
                    "this review has no author address to write to",
                )
            })?;
            let product = self.catalog.product_slugs(&[row.product_id]).await?;
            enqueue_email(
                &txn,
                &EmailJob {
                    to,
                    template: "review_reply".into(),
                    context: serde_json::json!({
                        "name": row.author_name,
                        "title": row.title,
                        "reply": text,
                        "link": format!(
                            "{}/products/{}",
                            self.config.store_url(),
                            product.first().cloned().unwrap_or_default()
                        ),
                    }),
                    lang: Some(row.lang.clone()),
                    thread: None,
                },
            )
            .await?;
            history(
                &txn,
                &next,
                "replied_privately",
                None,
                Some(text),
                ("staff", Some(staff.user_id)),
            )
            .await?;
        }
        self.catalog.commit(txn).await?;
        self.admin_review(id).await
    }

    /// A helpful / not helpful vote: one per voter and review; voting again changes it.
    pub async fn vote(&self, id: Uuid, voter: Voter, body: VoteBody) -> AppResult<VotesView> {
        let key = voter.key();
        let txn = self.db.begin().await?;
        let row = self.published_review(&txn, id).await?;
        let before = review_votes::Entity::find_by_id((id, key.clone()))
            .one(&txn)
            .await?;
        let (helpful, unhelpful): (i64, i64) = match before {
            Some(v) if v.helpful == body.helpful => (0, 0),
            Some(_) => {
                review_votes::Entity::update_many()
                    .col_expr(review_votes::Column::Helpful, Expr::value(body.helpful))
                    .filter(review_votes::Column::ReviewId.eq(id))
                    .filter(review_votes::Column::Voter.eq(&key))
                    .exec(&txn)
                    .await?;
                if body.helpful { (1, -1) } else { (-1, 1) }
            }
            None => {
                review_votes::Entity::insert(review_votes::ActiveModel {
                    review_id: Set(id),
                    voter: Set(key),
                    helpful: Set(body.helpful),
                    created_at: Set(Utc::now()),
                })
                .exec_without_returning(&txn)
                .await?;
                if body.helpful { (1, 0) } else { (0, 1) }
            }
        };
        if helpful != 0 || unhelpful != 0 {
            reviews::Entity::update_many()
                .col_expr(
                    reviews::Column::Helpful,
                    Expr::col(reviews::Column::Helpful).add(helpful),
                )
                .col_expr(
                    reviews::Column::Unhelpful,
                    Expr::col(reviews::Column::Unhelpful).add(unhelpful),
                )
                .filter(reviews::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        self.catalog.commit(txn).await?;
        Ok(VotesView {
            helpful: row.helpful + helpful,
            unhelpful: row.unhelpful + unhelpful,
        })
    }

    /// A shopper reports a review; once per reporter. Staff see the count in the queue.
    pub async fn report(&self, id: Uuid, voter: Voter, body: ReportBody) -> AppResult<()> {
        if !REPORT_REASONS.contains(&body.reason.as_str()) {
            return Err(AppError::invalid(
                "reason",
                format!("must be one of {}", REPORT_REASONS.join(", ")),
            ));
        }
        if body.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(AppError::invalid("note", "is at most 2000 characters"));
        }
        let key = voter.key();
        let txn = self.db.begin().await?;
        self.published_review(&txn, id).await?;
        let seen = review_reports::Entity::find_by_id((id, key.clone()))
            .one(&txn)
            .await?;
        if seen.is_none() {
            review_reports::Entity::insert(review_reports::ActiveModel {
                review_id: Set(id),
                reporter: Set(key),
                reason: Set(body.reason),
                note: Set(body.note),
                created_at: Set(Utc::now()),
            })
            .exec_without_returning(&txn)
            .await?;
            reviews::Entity::update_many()
                .col_expr(
                    reviews::Column::Reports,
                    Expr::col(reviews::Column::Reports).add(1),
                )
                .filter(reviews::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        self.catalog.commit(txn).await?;
        Ok(())
    }

    async fn published_review<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
    ) -> AppResult<reviews::Model> {
        reviews::Entity::find_by_id(id)
            .one(conn)
            .await?
            .filter(|r| r.status == ReviewStatus::Published.as_str())
            .ok_or_else(|| AppError::not_found("no such review"))
    }

    /// A product's published reviews, one page, with its rating.
    pub async fn list(&self, product: &str, q: ReviewQuery) -> AppResult<ReviewPageView> {
        let sort = ReviewSort::parse(q.sort.as_deref())?;
        let limit = emporium_core::pagination::PageQuery {
            limit: q.limit,
            cursor: None,
        }
        .limit()? as u64;
        let after = q.cursor.as_deref().map(Cursor::decode).transpose()?;
        if q.stars.is_some_and(|s| !(1..=5).contains(&s)) {
            return Err(AppError::invalid("stars", "must be 1 to 5"));
        }
        let conn = self.db.reader();
        let product = reviewable(conn, product).await?;
        let mut query = reviews::Entity::find()
            .filter(reviews::Column::ProductId.eq(product.id))
            .filter(reviews::Column::Status.eq(ReviewStatus::Published.as_str()));
        if let Some(stars) = q.stars {
            query = query.filter(reviews::Column::Rating.eq(stars));
        }
        if q.verified == Some(true) {
            query = query.filter(reviews::Column::Verified.eq(true));
        }
        if q.photos == Some(true) {
            query = query.filter(reviews::Column::PhotoCount.gt(0));
        }
        if let Some(lang) = &q.lang {
            query = query.filter(reviews::Column::Lang.eq(lang));
        }
        // Keyset order: the sort's key, then newest first, then id, all in one index.
        let key = match sort {
            ReviewSort::Newest => None,
            ReviewSort::MostHelpful => Some((reviews::Column::Helpful, true)),
            ReviewSort::Highest => Some((reviews::Column::Rating, true)),
            ReviewSort::Lowest => Some((reviews::Column::Rating, false)),
        };
        if let Some(c) = &after {
            // Row values, which both backends read as one range of the sort's index; the
            // same condition spelled with OR made SQLite scan, and a deep page cost double.
            let (t, id) = (c.time(), c.id);
            let tuple = |cols: &[reviews::Column]| {
                Expr::tuple(cols.iter().map(|c| Expr::col(*c)).collect::<Vec<_>>())
            };
            let later = tuple(&[reviews::Column::PublishedAt, reviews::Column::Id])
                .lt(Expr::tuple([Expr::value(t), Expr::value(id)]));
            query = query.filter(match key {
                None => later,
                Some((col, true)) => {
                    tuple(&[col, reviews::Column::PublishedAt, reviews::Column::Id]).lt(
                        Expr::tuple([Expr::value(c.k), Expr::value(t), Expr::value(id)]),
                    )
                }
                // Stars up, then newest first: the directions differ, so two ranges.
                Some((col, false)) => Expr::col(col).gt(c.k).or(Expr::col(col).eq(c.k).and(later)),
            });
        }
        if let Some((col, desc)) = key {
            query = if desc {
                query.order_by_desc(col)
            } else {
                query.order_by_asc(col)
            };
        }
        let rows = query
            .order_by_desc(reviews::Column::PublishedAt)
            .order_by_desc(reviews::Column::Id)
            .limit(limit + 1)
            .all(conn)
            .await?;
        let more = rows.len() as u64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        let next_cursor = more.then(|| rows.last()).flatten().map(|r| {
            Cursor {
                k: match sort {
                    ReviewSort::Newest => 0,
                    ReviewSort::MostHelpful => r.helpful,
                    ReviewSort::Highest | ReviewSort::Lowest => i64::from(r.rating),
                },
                t: r.published_at.unwrap_or(r.created_at).timestamp_micros(),
                id: r.id,
            }
            .encode()
        });
        let base = self.media_base();
        Ok(ReviewPageView {
            data: rows.iter().map(|r| review_view(r, &base)).collect(),
            next_cursor,
            rating: product.rating,
        })
    }

    /// A product's rating (count, average, distribution), from its exact counts.
    pub async fn rating(&self, product: &str) -> AppResult<RatingView> {
        Ok(reviewable(self.db.reader(), product).await?.rating)
    }

    /// The moderation queue, newest first.
    pub async fn admin_list(&self, q: AdminReviewQuery) -> AppResult<AdminReviewPageView> {
        let limit = emporium_core::pagination::PageQuery {
            limit: q.limit,
            cursor: None,
        }
        .limit()? as u64;
        let mut query = reviews::Entity::find();
        if let Some(status) = &q.status {
            let status = ReviewStatus::parse(status).ok_or_else(|| {
                AppError::invalid("status", "must be pending, published or rejected")
            })?;
            query = query.filter(reviews::Column::Status.eq(status.as_str()));
        }
        if let Some(product) = q.product_id {
            query = query.filter(reviews::Column::ProductId.eq(product));
        }
        if let Some(stars) = q.stars {
            query = query.filter(reviews::Column::Rating.eq(stars));
        }
        if q.reported == Some(true) {
            query = query.filter(reviews::Column::Reports.gt(0));
        }
        if let Some(c) = q.cursor.as_deref().map(Cursor::decode).transpose()? {
            let t = c.time();
            query = query.filter(
                Condition::any().add(reviews::Column::CreatedAt.lt(t)).add(
                    Condition::all()
                        .add(reviews::Column::CreatedAt.eq(t))
                        .add(reviews::Column::Id.lt(c.id)),
                ),
            );
        }
        let rows = query
            .order_by_desc(reviews::Column::CreatedAt)
            .order_by_desc(reviews::Column::Id)
            .limit(limit + 1)
            .all(self.db.current())
            .await?;
        let more = rows.len() as u64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        let next_cursor = more.then(|| rows.last()).flatten().map(|r| {
            Cursor {
                k: 0,
                t: r.created_at.timestamp_micros(),
                id: r.id,
            }
            .encode()
        });
        let base = self.media_base();
        Ok(AdminReviewPageView {
            data: rows.iter().map(|r| admin_view(r, &base, None)).collect(),
            next_cursor,
        })
    }

    /// One review with its whole history.
    pub async fn admin_review(&self, id: Uuid) -> AppResult<AdminReviewView> {
        let conn = self.db.current();
        let row = reviews::Entity::find_by_id(id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such review"))?;
        let steps = self.history_of(conn, id).await?;
        Ok(admin_view(&row, &self.media_base(), Some(steps)))
    }

    /// A review's history, oldest first; it outlives the review.
    pub async fn history_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
    ) -> AppResult<Vec<HistoryView>> {
        Ok(review_history::Entity::find()
            .filter(review_history::Column::ReviewId.eq(id))
            .order_by_asc(review_history::Column::CreatedAt)
            .order_by_asc(review_history::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(HistoryView::from)
            .collect())
    }

    /// Every review as CSV, oldest first, read in pages so memory stays flat.
    pub async fn export_csv(&self) -> AppResult<Vec<u8>> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = [
            "id",
            "product_id",
            "status",
            "rating",
            "verified",
            "title",
            "body",
            "lang",
            "author_name",
            "source",
            "helpful",
            "unhelpful",
            "reports",
            "reject_reason",
            "reject_note",
            "reply",
            "created_at",
            "published_at",
        ];
        out.write_record(header).map_err(anyhow::Error::from)?;
        let conn = self.db.reader();
        let mut after: Option<Uuid> = None;
        loop {
            let mut query = reviews::Entity::find().order_by_asc(reviews::Column::Id);
            if let Some(id) = after {
                query = query.filter(reviews::Column::Id.gt(id));
            }
            let rows = query.limit(1000).all(conn).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            for r in &rows {
                out.write_record([
                    r.id.to_string(),
                    r.product_id.to_string(),
                    r.status.clone(),
                    r.rating.to_string(),
                    r.verified.to_string(),
                    r.title.clone(),
                    r.body.clone(),
                    r.lang.clone(),
                    r.author_name.clone(),
                    r.source.clone(),
                    r.helpful.to_string(),
                    r.unhelpful.to_string(),
                    r.reports.to_string(),
                    r.reject_reason.clone().unwrap_or_default(),
                    r.reject_note.clone().unwrap_or_default(),
                    r.reply.clone().unwrap_or_default(),
                    r.created_at.to_rfc3339(),
                    r.published_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ])
                .map_err(anyhow::Error::from)?;
            }
        }
        Ok(out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
    }

    /// Stores a review photo (any signed-in customer or review-link holder may upload).
    pub async fn store_photo(
        &self,
        data: bytes::Bytes,
    ) -> AppResult<crate::views::UploadedPhotoView> {
        let (key, width, height) = self.catalog.store_loose_image(data).await?;
        Ok(crate::views::UploadedPhotoView {
            url: format!("{}/{key}", self.media_base()),
            key,
            width,
            height,
        })
    }

    /// Whether a link-holder's order may still be used (for the storefront's form).
    pub async fn check_link(&self, order_id: Uuid, token: &str) -> AppResult<Vec<(Uuid, String)>> {
        let request = self
            .request_by_link(self.db.current(), order_id, token)
            .await?;
        let products: Vec<emporium_core::events::DeliveredProduct> =
            serde_json::from_str(&request.products).unwrap_or_default();
        Ok(products
            .into_iter()
            .map(|p| (p.product_id, p.title))
            .collect())
    }
}
