//! Reviews brought from another platform (a CSV export of Judge.me, Yotpo, a spreadsheet):
//! published as they were moderated there, never verified (we cannot see their orders),
//! each keyed by the source's id so that importing the same file twice adds nothing.

use chrono::{DateTime, Utc};
use emporium_catalog::{adjust_rating_in, reviewable};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{review_history, reviews};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

use crate::model::{ReviewStatus, body_hash};
use crate::state::Reviews;

/// One row of the file: `product` (its slug or id), `rating`, `title`, `body`,
/// `author_name`, and optionally `lang`, `created_at` (RFC 3339) and `key` (the source's
/// id of the review; without it, the row's content is its key).
#[derive(Debug, Clone, Deserialize)]
pub struct ImportRow {
    pub product: String,
    pub rating: i64,
    #[serde(default)]
    pub title: String,
    pub body: String,
    pub author_name: String,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    /// Already imported (the same key for the same product).
    pub skipped: usize,
    /// Rows refused, with why: `(row number, message)`.
    pub errors: Vec<(usize, String)>,
}

const BATCH: usize = 500;

impl Reviews {
    /// Imports a CSV file of reviews in batches, each batch one transaction with its
    /// products' rating counts; `progress(done, total)` after each batch.
    pub async fn import_csv(
        &self,
        data: &[u8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> AppResult<ImportReport> {
        let mut reader = csv::Reader::from_reader(data);
        let mut rows = Vec::new();
        let mut report = ImportReport::default();
        for (i, record) in reader.deserialize::<ImportRow>().enumerate() {
            match record {
                Ok(row) => rows.push((i + 2, row)),
                Err(e) => report.errors.push((i + 2, e.to_string())),
            }
        }
        report.rows = rows.len() + report.errors.len();
        let total = rows.len();
        let mut products: HashMap<String, Uuid> = HashMap::new();
        for (done, batch) in rows.chunks(BATCH).enumerate() {
            let txn = self.db.begin().await?;
            let mut counts: HashMap<(Uuid, u8), i64> = HashMap::new();
            for (line, row) in batch {
                let product = match products.get(&row.product) {
                    Some(id) => *id,
                    None => match reviewable(&txn, &row.product).await {
                        Ok(p) => {
                            products.insert(row.product.clone(), p.id);
                            p.id
                        }
                        Err(_) => {
                            report
                                .errors
                                .push((*line, format!("no product {:?}", row.product)));
                            continue;
                        }
                    },
                };
                let model = match self.imported(product, row) {
                    Ok(model) => model,
                    Err(AppError::Validation(errors)) => {
                        let text = errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ");
                        report.errors.push((*line, text));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let inserted = reviews::Entity::insert(reviews::ActiveModel::from(model.clone()))
                    .on_conflict(
                        OnConflict::columns([
                            reviews::Column::ProductId,
                            reviews::Column::AuthorKey,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
                if inserted == 0 {
                    report.skipped += 1;
                    continue;
                }
                review_history::Entity::insert(review_history::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    review_id: Set(model.id),
                    product_id: Set(product),
                    action: Set("imported".into()),
                    reason: Set(None),
                    note: Set(None),
                    actor_id: Set(None),
                    actor: Set("system".into()),
                    created_at: Set(Utc::now()),
                })
                .exec_without_returning(&txn)
                .await?;
                *counts.entry((product, model.rating as u8)).or_default() += 1;
                report.imported += 1;
            }
            for ((product, stars), n) in counts {
                adjust_rating_in(&txn, product, stars, n).await?;
            }
            self.catalog.commit(txn).await?;
            progress(((done + 1) * BATCH).min(total), total);
        }
        Ok(report)
    }

    fn imported(&self, product: Uuid, row: &ImportRow) -> AppResult<reviews::Model> {
        let mut errors = Vec::new();
        if !(1..=5).contains(&row.rating) {
            errors.push(FieldError::new("rating", "must be 1 to 5 stars"));
        }
        if row.body.trim().is_empty() && row.title.trim().is_empty() {
            errors.push(FieldError::new("body", "a title or a body is required"));
        }
        let name = row.author_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("author_name", "is 1 to 100 characters"));
        }
        let lang = row
            .lang
            .clone()
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| self.config.store.default_language.clone());
        let created = match row.created_at.as_deref().filter(|t| !t.is_empty()) {
            None => Utc::now(),
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.push(FieldError::new("created_at", "is not an RFC 3339 time"));
                    Utc::now()
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let key = row
            .key
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| {
                Sha256::digest(format!(
                    "{}\n{}\n{}\n{}",
                    row.rating, row.title, row.body, name
                ))
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect()
            });
        Ok(reviews::Model {
            id: Uuid::now_v7(),
            product_id: product,
            author_key: format!("import:{}", key.chars().take(100).collect::<String>()),
            customer_id: None,
            order_id: None,
            rating: row.rating as i16,
            title: row.title.trim().chars().take(200).collect(),
            body: row.body.trim().chars().take(5000).collect(),
            lang,
            author_name: name.to_string(),
            author_email: None,
            verified: false,
            source: "import".into(),
            status: ReviewStatus::Published.as_str().into(),
            held_for: None,
            reject_reason: None,
            reject_note: None,
            moderated_by: None,
            moderated_at: None,
            reply: None,
            replied_at: None,
            photos: "[]".into(),
            photo_count: 0,
            helpful: 0,
            unhelpful: 0,
            reports: 0,
            body_hash: body_hash(&row.body),
            created_at: created,
            updated_at: created,
            published_at: Some(created),
        })
    }
}
