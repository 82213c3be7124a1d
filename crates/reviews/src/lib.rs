//! Reviews: a customer's stars and words about a product, with "verified buyer" only when
//! a delivered order holds the product; moderation (pending, published, rejected with a
//! reason from a fixed list, every step kept in the review's history); an automatic screen
//! that holds links, filler, listed words and repeated text for a human; helpful votes
//! and abuse reports, one per voter; the shop's public or private replies; photos; and
//! review requests emailed after delivery, with one reminder.
//!
//! The product's rating (count per star, hence average and distribution) is the
//! catalog's, moved by one in the same transaction as each publish or unpublish through
//! `emporium_catalog::adjust_rating_in`, so it is exact and never recounted; the catalog
//! change log carries it to search and to every node's cache.
//!
//! Owns: `reviews`, `review_history`, `review_votes`, `review_reports`,
//! `review_requests`, `review_opt_outs`.
//! May call: `core`, `db`, `auth`, `notify` (emails), `catalog` (the product, its rating
//! counts, photo storage) and `orders` (whether the author bought the product).
//! Events: publishes `review.published`; consumes `order.delivered` (`jobs.rs`).

mod import;
pub mod jobs;
pub mod model;
mod requests;
mod routes;
mod service;
mod state;
mod views;

pub use import::{ImportReport, ImportRow};
pub use model::{RejectReason, ReviewSort, ReviewStatus};
pub use requests::RequestReport;
pub use routes::router;
pub use service::{MAX_PHOTOS, Moderator, Voter, Writer};
pub use state::Reviews;
pub use views::{
    AdminReviewPageView, AdminReviewQuery, AdminReviewView, HistoryView, LinkQuery, ModerateBody,
    ModeratedView, PhotoView, ReplyBody, ReportBody, ReviewBody, ReviewPageView, ReviewPatchBody,
    ReviewQuery, ReviewView, VoteBody, VotesView,
};
