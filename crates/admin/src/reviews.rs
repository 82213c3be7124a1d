//! Reviews in the console: the moderation queue (pending first, with the screen's reason
//! and shoppers' reports), bulk approve or reject with a reason from the fixed list, and
//! one review with its whole history, where staff approve, reject or reply publicly or
//! privately. Every decision goes through the reviews service, which records who, when
//! and why.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_reviews::{AdminReviewQuery, ModerateBody, Moderator, RejectReason, ReplyBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::session::Console;
use crate::state::Admin;
use crate::{after_form, when};

const PERMISSION: &str = "reviews.moderate";

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct QueueQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stars: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reported: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    done: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn reasons() -> Value {
    json!(
        RejectReason::ALL
            .iter()
            .map(|r| json!({"value": r.as_str(), "label": r.label()}))
            .collect::<Vec<_>>()
    )
}

fn stars(n: i16) -> String {
    let n = n.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

/// `GET /admin/reviews`: the queue, pending reviews first by default.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<QueueQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let status = match q.status.as_deref() {
        None => Some("pending".to_string()),
        Some("") | Some("all") => None,
        Some(s) => Some(s.to_string()),
    };
    let stars_filter = q.stars.as_deref().and_then(|s| s.parse::<i16>().ok());
    let reported = q.reported.as_deref() == Some("1");
    let query = AdminReviewQuery {
        status: status.clone(),
        product_id: None,
        stars: stars_filter,
        reported: reported.then_some(true),
        limit: Some(50),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let page = match admin.reviews.admin_list(query).await {
        Ok(page) => page,
        Err(err) => return err.into_response(),
    };
    let ids: Vec<Uuid> = page.data.iter().map(|r| r.review.product_id).collect();
    let slugs = admin
        .catalog
        .product_slug_map(&ids)
        .await
        .unwrap_or_default();
    let rows: Vec<Value> = page
        .data
        .iter()
        .map(|r| {
            json!({"id": r.review.id, "stars": stars(r.review.rating), "rating": r.review.rating,
                   "title": r.review.title, "body": r.review.body.chars().take(140).collect::<String>(),
                   "author": r.review.author_name, "verified": r.review.verified,
                   "status": r.review.status, "held_for": r.held_for, "reports": r.reports,
                   "product_id": r.review.product_id,
                   "product": slugs.get(&r.review.product_id).cloned().unwrap_or_default(),
                   "created_at": when(r.review.created_at)})
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        let next = QueueQuery {
            status: Some(status.clone().unwrap_or_else(|| "all".into())),
            stars: q.stars.clone(),
            reported: q.reported.clone(),
            cursor: Some(c),
            ..QueueQuery::default()
        };
        format!(
            "/admin/reviews?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    admin
        .render(
            StatusCode::OK,
            "reviews.html",
            console.context(
                "/admin/reviews",
                json!({"title": "Reviews", "rows": rows, "next": next,
                       "status": status.unwrap_or_else(|| "all".into()),
                       "stars": stars_filter, "reported": reported, "reasons": reasons(),
                       "done": q.done, "error": q.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/reviews/bulk`: the checked reviews approved or rejected at once.
pub(crate) async fn bulk(
    State(admin): State<Admin>,
    console: Console,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form: HashMap<String, String> = pairs.iter().cloned().collect();
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let ids: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let body = ModerateBody {
        ids,
        action: form.get("action").cloned().unwrap_or_default(),
        reason: form.get("reason").cloned().filter(|r| !r.is_empty()),
        note: form.get("note").cloned().filter(|n| !n.trim().is_empty()),
    };
    let approve = body.action == "approve";
    let outcome = admin
        .reviews
        .moderate(
            Moderator {
                user_id: console.user_id,
            },
            body,
        )
        .await
        .map(|done| {
            format!(
                "{} {} review{}.",
                if approve { "Published" } else { "Rejected" },
                done.changed,
                if done.changed == 1 { "" } else { "s" }
            )
        });
    after_form("/admin/reviews", outcome)
}

/// `GET /admin/reviews/{id}`: one review with its history.
pub(crate) async fn detail(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(flash): Query<QueueQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let review = match admin.reviews.admin_review(id).await {
        Ok(review) => review,
        Err(err) => return err.into_response(),
    };
    let product = admin
        .catalog
        .product_slugs(&[review.review.product_id])
        .await
        .ok()
        .and_then(|s| s.into_iter().next())
        .unwrap_or_default();
    let history: Vec<Value> = review
        .history
        .iter()
        .flatten()
        .map(|h| {
            json!({"action": h.action.replace('_', " "), "reason": h.reason, "note": h.note,
                   "actor": h.actor, "at": when(h.at)})
        })
        .collect();
    let r = &review.review;
    admin
        .render(
            StatusCode::OK,
            "review.html",
            console.context(
                "/admin/reviews",
                json!({"title": "Review", "review": {
                        "id": r.id, "stars": stars(r.rating), "rating": r.rating, "title": r.title,
                        "body": r.body, "author": r.author_name, "verified": r.verified,
                        "status": r.status, "held_for": review.held_for, "reports": review.reports,
                        "reject_reason": review.reject_reason, "reject_note": review.reject_note,
                        "reply": r.reply, "photos": r.photos.iter().map(|p| p.url.clone()).collect::<Vec<_>>(),
                        "helpful": r.helpful, "unhelpful": r.unhelpful, "lang": r.lang,
                        "source": review.source, "created_at": when(r.created_at),
                        "product": product, "product_id": r.product_id},
                       "history": history, "reasons": reasons(),
                       "done": flash.done, "error": flash.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/reviews/{id}/moderation`: approve, or reject with a reason.
pub(crate) async fn moderate(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let action = form.get("action").cloned().unwrap_or_default();
    let body = ModerateBody {
        ids: vec![id],
        action: action.clone(),
        reason: form.get("reason").cloned().filter(|r| !r.is_empty()),
        note: form.get("note").cloned().filter(|n| !n.trim().is_empty()),
    };
    let outcome = admin
        .reviews
        .moderate(
            Moderator {
                user_id: console.user_id,
            },
            body,
        )
        .await
        .map(|_| {
            if action == "approve" {
                "Published.".to_string()
            } else {
                "Rejected; the reason is kept in its history.".to_string()
            }
        });
    after_form(&format!("/admin/reviews/{id}"), outcome)
}

/// `POST /admin/reviews/{id}/reply`: a public answer, or a private email.
pub(crate) async fn reply(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, PERMISSION, &form) {
        return page.into_response();
    }
    let public = form.get("public").is_none_or(|v| v != "false");
    let body = ReplyBody {
        body: form.get("body").cloned().unwrap_or_default(),
        public,
    };
    let outcome = admin
        .reviews
        .reply(
            Moderator {
                user_id: console.user_id,
            },
            id,
            body,
        )
        .await
        .map(|_| {
            if public {
                "Your reply shows under the review.".to_string()
            } else {
                "Your reply was emailed to the author.".to_string()
            }
        });
    after_form(&format!("/admin/reviews/{id}"), outcome)
}
