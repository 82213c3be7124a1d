//! Promotions stored and counted: the admin's reads and writes, coupon codes, the
//! active set every cart is priced with (cached for a second), and the redemptions
//! checkout writes inside its transaction by guarded updates.

use chrono::{DateTime, Utc};
use emporium_core::error::ErrorCode;
use emporium_core::events::{self, PromotionCreated, PromotionDeleted, PromotionUpdated};
use emporium_core::pagination::{Page, PageQuery};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{
    promotion_codes, promotion_customer_uses, promotion_redemptions, promotions,
};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::engine::{Applied, Promotion};
use crate::model::{
    self, PromotionBody, PromotionView, engine_promotion, json_text, normalize_code,
};
use crate::state::Promotions;

/// How long a node prices carts with the promotions it loaded before it looks again;
/// usage limits and budgets are enforced by checkout's guarded updates regardless.
const ACTIVE_TTL: Duration = Duration::from_secs(1);

/// Codes generated in one request, at most.
const MAX_BATCH: u32 = 100_000;

/// What a promotion has brought in, per currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult)]
pub struct PerformanceView {
    pub currency: String,
    pub orders: i64,
    /// Order totals, as paid (after every discount).
    pub revenue: i64,
    pub discount: i64,
}

/// A promotion with its codes count and performance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PromotionDetailView {
    #[serde(flatten)]
    pub promotion: PromotionView,
    pub codes: u64,
    pub performance: Vec<PerformanceView>,
}

/// Codes to add to a promotion: one given `code`, or `count` generated ones.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"count": 500, "prefix": "BF-", "usage_limit": 1})))]
pub struct CodesBody {
    #[serde(default)]
    pub code: Option<String>,
    /// How many unique codes to generate (1 to 100000).
    #[serde(default)]
    pub count: Option<u32>,
    /// Put before each generated code.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Random characters per generated code (6 to 32, default 10).
    #[serde(default)]
    pub length: Option<u32>,
    /// Uses of each code (absent: only the promotion's limits apply).
    #[serde(default)]
    pub usage_limit: Option<i32>,
}

/// One coupon code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CodeView {
    pub id: Uuid,
    pub code: String,
    pub usage_limit: Option<i32>,
    pub used: i32,
    pub created_at: DateTime<Utc>,
}

/// Codes just added.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CodesAddedView {
    pub added: usize,
    /// The codes, when at most 1000 were added (else export them as CSV).
    pub codes: Vec<String>,
}

/// One order's use of a promotion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RedemptionView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub code: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub order_total: i64,
    /// `held` (counted) or `released` (the order was cancelled before payment).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

/// A code a shopper entered, as found.
#[derive(Debug, Clone)]
pub struct CodeLookup {
    pub code: String,
    /// The promotion it belongs to, when it can be used now.
    pub promotion_id: Option<Uuid>,
    /// Why not, when it cannot: a stable reason and a message.
    pub problem: Option<(&'static str, String)>,
}

/// What checkout records for an order's promotions.
pub struct Redemption<'a> {
    pub order_id: Uuid,
    /// `c:<customer id>` or `e:<email>`.
    pub customer_key: String,
    pub currency: &'a str,
    pub order_total: i64,
    pub applied: &'a [Applied],
}

/// The key per-customer limits count by: the account, else the email.
pub fn customer_key(customer_id: Option<Uuid>, email: Option<&str>) -> Option<String> {
    match (customer_id, email) {
        (Some(id), _) => Some(format!("c:{id}")),
        (None, Some(email)) => Some(format!("e:{}", email.trim().to_lowercase())),
        (None, None) => None,
    }
}

/// The active set as loaded.
pub(crate) struct Loaded {
    at: Instant,
    set: Arc<Vec<Promotion>>,
}

/// The 422 a refused code answers, with its stable `reason`.
pub fn refusal(reason: &str, message: impl Into<String>) -> AppError {
    let mut extensions = serde_json::Map::new();
    extensions.insert("reason".into(), reason.into());
    AppError::Refused {
        code: ErrorCode::CouponRefused,
        detail: message.into(),
        extensions,
    }
}

fn generated(prefix: &str, length: usize) -> String {
    // No 0/O or 1/I: codes are read aloud and typed from print.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..length)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

impl Promotions {
    async fn row(&self, id: Uuid) -> AppResult<promotions::Model> {
        promotions::Entity::find_by_id(id)
            .one(self.db.current())
            .await?
            .ok_or_else(|| AppError::not_found("no such promotion"))
    }

    /// Orders and discount given per promotion, from the redemptions still held: the
    /// figures shown, for capped and uncapped promotions alike.
    async fn usage<C: ConnectionTrait>(
        conn: &C,
        ids: Vec<Uuid>,
    ) -> AppResult<std::collections::HashMap<Uuid, (i64, i64)>> {
        let rows: Vec<(Uuid, i64, Option<i64>)> = promotion_redemptions::Entity::find()
            .select_only()
            .column(promotion_redemptions::Column::PromotionId)
            .column_as(promotion_redemptions::Column::Id.count(), "n")
            .column_as(
                promotion_redemptions::Column::Amount
                    .sum()
                    .cast_as("BIGINT"),
                "given",
            )
            .filter(promotion_redemptions::Column::PromotionId.is_in(ids))
            .filter(promotion_redemptions::Column::Status.eq("held"))
            .group_by(promotion_redemptions::Column::PromotionId)
            .into_tuple()
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, n, given)| (id, (n, given.unwrap_or(0))))
            .collect())
    }

    /// A promotion's view with its use counted from its redemptions.
    async fn counted_view<C: ConnectionTrait>(
        conn: &C,
        row: &promotions::Model,
    ) -> AppResult<PromotionView> {
        with_usage(row, &Self::usage(conn, vec![row.id]).await?)
    }

    /// Promotions, newest first.
    pub async fn list(&self, q: &PageQuery) -> AppResult<Page<PromotionView>> {
        let limit = q.limit()?;
        let mut find = promotions::Entity::find().order_by_desc(promotions::Column::Id);
        if let Some(after) = uuid_cursor(q)? {
            find = find.filter(promotions::Column::Id.lt(after));
        }
        let rows = find
            .limit(u64::from(limit) + 1)
            .all(self.db.reader())
            .await?;
        let page = Page::of_rows(rows, limit, |r| r.id.to_string(), |r| r);
        let usage = Self::usage(self.db.reader(), page.data.iter().map(|r| r.id).collect()).await?;
        Ok(Page {
            data: page
                .data
                .iter()
                .map(|row| with_usage(row, &usage))
                .collect::<AppResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Creates a promotion (and its one code, when given).
    pub async fn create(&self, body: PromotionBody) -> AppResult<PromotionView> {
        let c = body.check()?;
        let now = Utc::now();
        let id = Uuid::now_v7();
        let txn = self.db.begin().await?;
        promotions::Entity::insert(promotions::ActiveModel {
            id: Set(id),
            name: Set(c.name),
            description: Set(c.description),
            class: Set(c.class.as_str().into()),
            action: Set(json_text(&c.action)?),
            conditions: Set(json_text(&c.conditions)?),
            currency: Set(c.currency),
            automatic: Set(c.automatic),
            enabled: Set(c.enabled),
            starts_at: Set(c.starts_at),
            ends_at: Set(c.ends_at),
            priority: Set(c.priority),
            combines_with: Set(json_text(&c.combines_with)?),
            usage_limit: Set(c.usage_limit),
            per_customer_limit: Set(c.per_customer_limit),
            budget: Set(c.budget),
            used: Set(0),
            discount_given: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some(code) = c.code {
            insert_code(&txn, id, &code, None).await?;
        }
        events::publish(&txn, PromotionCreated { promotion_id: id }).await?;
        txn.commit().await?;
        self.forget();
        Self::counted_view(self.db.current(), &self.row(id).await?).await
    }

    /// A promotion with its codes count and performance.
    pub async fn detail(&self, id: Uuid) -> AppResult<PromotionDetailView> {
        let row = self.row(id).await?;
        let conn = self.db.current();
        let codes = promotion_codes::Entity::find()
            .filter(promotion_codes::Column::PromotionId.eq(id))
            .count(conn)
            .await?;
        let performance = promotion_redemptions::Entity::find()
            .select_only()
            .column(promotion_redemptions::Column::Currency)
            .column_as(promotion_redemptions::Column::Id.count(), "orders")
            .column_as(
                promotion_redemptions::Column::OrderTotal
                    .sum()
                    .cast_as("BIGINT"),
                "revenue",
            )
            .column_as(
                promotion_redemptions::Column::Amount
                    .sum()
                    .cast_as("BIGINT"),
                "discount",
            )
            .filter(promotion_redemptions::Column::PromotionId.eq(id))
            .filter(promotion_redemptions::Column::Status.eq("held"))
            .group_by(promotion_redemptions::Column::Currency)
            .order_by_asc(promotion_redemptions::Column::Currency)
            .into_model::<PerformanceView>()
            .all(conn)
            .await?;
        Ok(PromotionDetailView {
            promotion: Self::counted_view(conn, &row).await?,
            codes,
            performance,
        })
    }

    /// Changes a promotion: the patch's fields replace the stored ones and the whole is
    /// checked again. Its class, currency and codes stay as they are.
    pub async fn update(&self, id: Uuid, patch: serde_json::Value) -> AppResult<PromotionView> {
        let row = self.row(id).await?;
        let serde_json::Value::Object(patch) = patch else {
            return Err(AppError::invalid("body", "must be a JSON object"));
        };
        let mut merged =
            serde_json::to_value(model::view(&row)?.into_body()).map_err(anyhow::Error::from)?;
        let fixed = ["class", "currency", "automatic", "code"];
        let mut errors = Vec::new();
        for (key, value) in patch {
            if fixed.contains(&key.as_str()) {
                errors.push(FieldError::new(
                    key,
                    "cannot be changed; create another promotion",
                ));
            } else if let Some(slot) = merged.get_mut(&key) {
                *slot = value;
            } else {
                errors.push(FieldError::new(key, "is not a field of a promotion"));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let body: PromotionBody = serde_json::from_value(merged)
            .map_err(|e| AppError::invalid("body", format!("does not fit a promotion: {e}")))?;
        let c = body.check()?;
        let txn = self.db.begin().await?;
        promotions::Entity::update_many()
            .col_expr(promotions::Column::Name, Expr::value(c.name))
            .col_expr(promotions::Column::Description, Expr::value(c.description))
            .col_expr(
                promotions::Column::Action,
                Expr::value(json_text(&c.action)?),
            )
            .col_expr(
                promotions::Column::Conditions,
                Expr::value(json_text(&c.conditions)?),
            )
            .col_expr(promotions::Column::Enabled, Expr::value(c.enabled))
            .col_expr(promotions::Column::StartsAt, Expr::value(c.starts_at))
            .col_expr(promotions::Column::EndsAt, Expr::value(c.ends_at))
            .col_expr(promotions::Column::Priority, Expr::value(c.priority))
            .col_expr(
                promotions::Column::CombinesWith,
                Expr::value(json_text(&c.combines_with)?),
            )
            .col_expr(promotions::Column::UsageLimit, Expr::value(c.usage_limit))
            .col_expr(
                promotions::Column::PerCustomerLimit,
                Expr::value(c.per_customer_limit),
            )
            .col_expr(promotions::Column::Budget, Expr::value(c.budget))
            .col_expr(promotions::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(promotions::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        // A cap set now counts what was used before it: the counters the guarded updates
        // check are set from the redemptions (an uncapped promotion keeps none).
        let (used, given) = Self::usage(&txn, vec![id])
            .await?
            .get(&id)
            .copied()
            .unwrap_or((0, 0));
        promotions::Entity::update_many()
            .col_expr(promotions::Column::Used, Expr::value(used as i32))
            .col_expr(promotions::Column::DiscountGiven, Expr::value(given))
            .filter(promotions::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        events::publish(&txn, PromotionUpdated { promotion_id: id }).await?;
        txn.commit().await?;
        self.forget();
        Self::counted_view(self.db.current(), &self.row(id).await?).await
    }

    /// Deletes a promotion no order has used; one that was used can only be disabled,
    /// so its orders keep their record.
    pub async fn delete(&self, id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let used = promotion_redemptions::Entity::find()
            .filter(promotion_redemptions::Column::PromotionId.eq(id))
            .count(&txn)
            .await?;
        if used > 0 {
            return Err(AppError::conflict(
                ErrorCode::PromotionInUse,
                "orders used this promotion; disable it instead",
            ));
        }
        promotion_codes::Entity::delete_many()
            .filter(promotion_codes::Column::PromotionId.eq(id))
            .exec(&txn)
            .await?;
        promotion_customer_uses::Entity::delete_many()
            .filter(promotion_customer_uses::Column::PromotionId.eq(id))
            .exec(&txn)
            .await?;
        let deleted = promotions::Entity::delete_by_id(id).exec(&txn).await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such promotion"));
        }
        events::publish(&txn, PromotionDeleted { promotion_id: id }).await?;
        txn.commit().await?;
        self.forget();
        Ok(())
    }

    /// Adds one code or a batch of generated unique ones.
    pub async fn add_codes(&self, id: Uuid, body: CodesBody) -> AppResult<CodesAddedView> {
        self.row(id).await?;
        let mut errors = Vec::new();
        if body.usage_limit.is_some_and(|l| l <= 0) {
            errors.push(FieldError::new("usage_limit", "must be above 0"));
        }
        match (&body.code, body.count) {
            (Some(_), Some(_)) | (None, None) => errors.push(FieldError::new(
                "code",
                "give either a code or a count of codes to generate",
            )),
            (Some(code), None) if normalize_code(code).is_none() => errors.push(FieldError::new(
                "code",
                "must be 3 to 64 letters, digits, - or _",
            )),
            (None, Some(n)) if n == 0 || n > MAX_BATCH => errors.push(FieldError::new(
                "count",
                format!("must be 1 to {MAX_BATCH}"),
            )),
            _ => {}
        }
        let prefix = body.prefix.as_deref().unwrap_or("").trim().to_uppercase();
        let length = body.length.unwrap_or(10);
        if !(6..=32).contains(&length) {
            errors.push(FieldError::new("length", "must be 6 to 32"));
        }
        if !prefix.is_empty() && normalize_code(&format!("{prefix}XXXXXX")).is_none()
            || prefix.len() + length as usize > 64
        {
            errors.push(FieldError::new(
                "prefix",
                "must be letters, digits, - or _, and leave the code at most 64 long",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if let Some(code) = body.code.as_deref().and_then(normalize_code) {
            let txn = self.db.begin().await?;
            insert_code(&txn, id, &code, body.usage_limit).await?;
            txn.commit().await?;
            return Ok(CodesAddedView {
                added: 1,
                codes: vec![code],
            });
        }
        let wanted = body.count.unwrap_or(0) as usize;
        let mut added = Vec::with_capacity(wanted);
        let now = Utc::now();
        // Batches of 500 in one transaction each; a code that exists already is skipped
        // and another drawn, so the count is exact.
        while added.len() < wanted {
            let n = (wanted - added.len()).min(500);
            let batch: Vec<String> = (0..n)
                .map(|_| generated(&prefix, length as usize))
                .collect();
            let txn = self.db.begin().await?;
            for code in batch {
                let inserted = promotion_codes::Entity::insert(promotion_codes::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    promotion_id: Set(id),
                    code: Set(code.clone()),
                    usage_limit: Set(body.usage_limit),
                    used: Set(0),
                    created_at: Set(now),
                })
                .on_conflict(
                    OnConflict::column(promotion_codes::Column::Code)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
                if inserted == 1 {
                    added.push(code);
                }
            }
            txn.commit().await?;
        }
        Ok(CodesAddedView {
            added: added.len(),
            codes: if added.len() <= 1000 {
                added
            } else {
                Vec::new()
            },
        })
    }

    /// A page of a promotion's codes.
    pub async fn codes(&self, id: Uuid, q: &PageQuery) -> AppResult<Page<CodeView>> {
        self.row(id).await?;
        let limit = q.limit()?;
        let mut find = promotion_codes::Entity::find()
            .filter(promotion_codes::Column::PromotionId.eq(id))
            .order_by_asc(promotion_codes::Column::Code);
        if let Some(cursor) = &q.cursor {
            find = find.filter(promotion_codes::Column::Code.gt(cursor.clone()));
        }
        let rows = find
            .limit(u64::from(limit) + 1)
            .all(self.db.reader())
            .await?;
        Ok(Page::of_rows(rows, limit, |r| r.code.clone(), code_view))
    }

    /// Every code of a promotion as CSV (code, usage_limit, used), for printing or a
    /// mailing tool.
    pub async fn codes_csv(&self, id: Uuid) -> AppResult<Vec<u8>> {
        self.row(id).await?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let write = |out: &mut csv::Writer<Vec<u8>>, fields: [String; 3]| {
            out.write_record(fields)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("writing codes CSV: {e}")))
        };
        write(
            &mut out,
            ["code".into(), "usage_limit".into(), "used".into()],
        )?;
        let mut after = String::new();
        loop {
            let rows = promotion_codes::Entity::find()
                .filter(promotion_codes::Column::PromotionId.eq(id))
                .filter(promotion_codes::Column::Code.gt(after.clone()))
                .order_by_asc(promotion_codes::Column::Code)
                .limit(5_000)
                .all(self.db.reader())
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.code.clone();
            for r in rows {
                write(
                    &mut out,
                    [
                        r.code,
                        r.usage_limit.map(|l| l.to_string()).unwrap_or_default(),
                        r.used.to_string(),
                    ],
                )?;
            }
        }
        out.into_inner()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("writing codes CSV: {e}")))
    }

    /// A page of the orders that used a promotion, newest first.
    pub async fn redemptions(&self, id: Uuid, q: &PageQuery) -> AppResult<Page<RedemptionView>> {
        self.row(id).await?;
        let limit = q.limit()?;
        let mut find = promotion_redemptions::Entity::find()
            .filter(promotion_redemptions::Column::PromotionId.eq(id))
            .order_by_desc(promotion_redemptions::Column::Id);
        if let Some(after) = uuid_cursor(q)? {
            find = find.filter(promotion_redemptions::Column::Id.lt(after));
        }
        let rows = find
            .limit(u64::from(limit) + 1)
            .all(self.db.reader())
            .await?;
        Ok(Page::of_rows(
            rows,
            limit,
            |r| r.id.to_string(),
            |r| RedemptionView {
                id: r.id,
                order_id: r.order_id,
                code: r.code,
                amount: r.amount,
                currency: r.currency,
                order_total: r.order_total,
                status: r.status,
                created_at: r.created_at,
                released_at: r.released_at,
            },
        ))
    }

    /// Drops this node's copy of the active set (after a change made here).
    pub(crate) fn forget(&self) {
        if let Ok(mut loaded) = self.active.write() {
            *loaded = None;
        }
    }

    /// The promotions carts are priced with now: enabled, not ended, not used up
    /// (scheduled ones included; the engine waits for their start). Loaded at most once
    /// a second per node; while one request reloads, others use the previous set.
    pub async fn active(&self) -> AppResult<Arc<Vec<Promotion>>> {
        let stale = match self.active.read() {
            Ok(loaded) => match loaded.as_ref() {
                Some(l) if l.at.elapsed() < ACTIVE_TTL => return Ok(l.set.clone()),
                Some(l) => Some(l.set.clone()),
                None => None,
            },
            Err(_) => None,
        };
        let _guard = match (self.reloading.try_lock(), &stale) {
            (Ok(guard), _) => guard,
            (Err(_), Some(set)) => return Ok(set.clone()),
            (Err(_), None) => self.reloading.lock().await,
        };
        if let Ok(loaded) = self.active.read()
            && let Some(l) = loaded.as_ref()
            && l.at.elapsed() < ACTIVE_TTL
        {
            return Ok(l.set.clone());
        }
        let now = Utc::now();
        let rows = promotions::Entity::find()
            .filter(promotions::Column::Enabled.eq(true))
            .filter(
                Condition::any()
                    .add(promotions::Column::EndsAt.is_null())
                    .add(promotions::Column::EndsAt.gt(now)),
            )
            .order_by_asc(promotions::Column::Id)
            .all(self.db.current())
            .await?;
        let mut set = Vec::with_capacity(rows.len());
        for row in rows
            .iter()
            .filter(|r| model::status_of(r, now) != "used_up")
        {
            match engine_promotion(row) {
                Ok(p) => set.push(p),
                Err(e) => tracing::error!(promotion_id = %row.id, error = %e, "promotion skipped"),
            }
        }
        let set = Arc::new(set);
        if let Ok(mut loaded) = self.active.write() {
            *loaded = Some(Loaded {
                at: Instant::now(),
                set: set.clone(),
            });
        }
        Ok(set)
    }

    /// Where capped promotions stand now, read fresh (the cached set may be a second
    /// old): those used up are left out, the others carry their budget's remainder.
    pub async fn current<C: ConnectionTrait>(
        &self,
        conn: &C,
        candidates: &[&Promotion],
    ) -> AppResult<Vec<Promotion>> {
        let ids: Vec<Uuid> = candidates
            .iter()
            .filter(|p| p.limited)
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = promotions::Entity::find()
            .filter(promotions::Column::Id.is_in(ids))
            .all(conn)
            .await?;
        let now = Utc::now();
        Ok(candidates
            .iter()
            .filter(|p| p.limited)
            .filter_map(|p| {
                let row = rows.iter().find(|r| r.id == p.id)?;
                if model::status_of(row, now) == "used_up" || !row.enabled {
                    return None;
                }
                let mut fresh = (*p).clone();
                fresh.budget_left = row.budget.map(|b| b - row.discount_given);
                Some(fresh)
            })
            .collect())
    }

    /// The codes a cart holds, each with the promotion it brings in or why it cannot.
    pub async fn lookup_codes<C: ConnectionTrait>(
        &self,
        conn: &C,
        codes: &[String],
    ) -> AppResult<Vec<CodeLookup>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let rows = promotion_codes::Entity::find()
            .filter(promotion_codes::Column::Code.is_in(codes.iter().cloned()))
            .all(conn)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.promotion_id).collect();
        let promos = promotions::Entity::find()
            .filter(promotions::Column::Id.is_in(ids))
            .all(conn)
            .await?;
        let now = Utc::now();
        Ok(codes
            .iter()
            .map(|code| {
                let row = rows.iter().find(|r| &r.code == code);
                let promo = row.and_then(|r| promos.iter().find(|p| p.id == r.promotion_id));
                let problem = match (row, promo) {
                    (None, _) | (_, None) => Some(("unknown", "there is no such code".into())),
                    (Some(r), Some(_)) if r.usage_limit.is_some_and(|l| r.used >= l) => Some((
                        "limit_reached",
                        "this code has been used as many times as it may be".into(),
                    )),
                    (Some(_), Some(p)) => match model::status_of(p, now) {
                        "disabled" => Some(("unknown", "there is no such code".into())),
                        "ended" => Some(("expired", "this code has expired".into())),
                        "used_up" => Some((
                            "limit_reached",
                            "this offer has been used as many times as it may be".into(),
                        )),
                        _ => None,
                    },
                };
                CodeLookup {
                    code: code.clone(),
                    promotion_id: if problem.is_none() {
                        promo.map(|p| p.id)
                    } else {
                        None
                    },
                    problem,
                }
            })
            .collect())
    }

    /// 422 when the customer has used the promotion as often as it allows.
    pub async fn check_customer_limit<C: ConnectionTrait>(
        &self,
        conn: &C,
        promotion_id: Uuid,
        key: &str,
    ) -> AppResult<()> {
        let Some(limit) = promotions::Entity::find_by_id(promotion_id)
            .one(conn)
            .await?
            .and_then(|p| p.per_customer_limit)
        else {
            return Ok(());
        };
        let used = promotion_customer_uses::Entity::find_by_id((promotion_id, key.to_string()))
            .one(conn)
            .await?
            .map(|u| u.used)
            .unwrap_or(0);
        if used >= limit {
            return Err(refusal(
                "customer_limit_reached",
                "you have already used this offer as many times as it allows",
            ));
        }
        Ok(())
    }

    /// Counts an order's promotions inside checkout's transaction. Every count is a
    /// guarded update (`used < limit`, `given + amount <= budget`), so concurrent
    /// checkouts can never use a promotion or code more than it allows: the one that
    /// would overstep gets 409 `promotion_unavailable` and its order is not placed.
    pub async fn redeem(&self, txn: &DatabaseTransaction, r: Redemption<'_>) -> AppResult<()> {
        let ids: Vec<Uuid> = r.applied.iter().map(|a| a.promotion_id).collect();
        let limits: Vec<Caps> = promotions::Entity::find()
            .select_only()
            .column(promotions::Column::Id)
            .column(promotions::Column::UsageLimit)
            .column(promotions::Column::Budget)
            .column(promotions::Column::PerCustomerLimit)
            .filter(promotions::Column::Id.is_in(ids))
            .into_tuple()
            .all(txn)
            .await?;
        // In id order, so concurrent checkouts lock promotion rows in the same order and
        // never deadlock.
        let mut applied_in_order: Vec<&Applied> = r.applied.iter().collect();
        applied_in_order.sort_by_key(|a| a.promotion_id);
        for applied in applied_in_order {
            let Some(&(_, usage_limit, budget, per_customer)) =
                limits.iter().find(|l| l.0 == applied.promotion_id)
            else {
                return Err(unavailable(&applied.name));
            };
            // Only a capped promotion keeps counters on its row: an uncapped one used by
            // every checkout would otherwise make its row a point every order waits on.
            if usage_limit.is_some() || budget.is_some() {
                self.count_use(txn, applied).await?;
            }
            let code_id = match &applied.code {
                Some(code) => Some(count_code(txn, code).await?),
                None => None,
            };
            if let Some(limit) = per_customer {
                count_customer(txn, applied, &r.customer_key, limit).await?;
            }
            promotion_redemptions::Entity::insert(promotion_redemptions::ActiveModel {
                id: Set(Uuid::now_v7()),
                promotion_id: Set(applied.promotion_id),
                code_id: Set(code_id),
                code: Set(applied.code.clone()),
                order_id: Set(r.order_id),
                customer_key: Set(r.customer_key.clone()),
                amount: Set(applied.amount),
                currency: Set(r.currency.to_string()),
                order_total: Set(r.order_total),
                status: Set("held".into()),
                created_at: Set(Utc::now()),
                released_at: Set(None),
            })
            .exec_without_returning(txn)
            .await?;
        }
        Ok(())
    }

    /// Counts one use of a capped promotion, if its limit and budget allow.
    async fn count_use(&self, txn: &DatabaseTransaction, applied: &Applied) -> AppResult<()> {
        let counted = promotions::Entity::update_many()
            .col_expr(
                promotions::Column::Used,
                Expr::col(promotions::Column::Used).add(1),
            )
            .col_expr(
                promotions::Column::DiscountGiven,
                Expr::col(promotions::Column::DiscountGiven).add(applied.amount),
            )
            .filter(promotions::Column::Id.eq(applied.promotion_id))
            .filter(promotions::Column::Enabled.eq(true))
            .filter(
                Condition::any()
                    .add(promotions::Column::UsageLimit.is_null())
                    .add(
                        Expr::col(promotions::Column::Used)
                            .lt(Expr::col(promotions::Column::UsageLimit)),
                    ),
            )
            .filter(
                Condition::any()
                    .add(promotions::Column::Budget.is_null())
                    .add(
                        Expr::col(promotions::Column::DiscountGiven)
                            .add(applied.amount)
                            .lte(Expr::col(promotions::Column::Budget)),
                    ),
            )
            .exec(txn)
            .await?;
        if counted.rows_affected != 1 {
            self.forget();
            return Err(unavailable(&applied.name));
        }
        Ok(())
    }

    /// Gives back what an order's promotions counted (the order was cancelled or expired
    /// before payment). Each redemption is released by one guarded update, so a repeated
    /// event releases nothing twice. Answers how many were released.
    pub async fn release(&self, order_id: Uuid) -> AppResult<usize> {
        let txn = self.db.begin().await?;
        let held = promotion_redemptions::Entity::find()
            .filter(promotion_redemptions::Column::OrderId.eq(order_id))
            .filter(promotion_redemptions::Column::Status.eq("held"))
            .all(&txn)
            .await?;
        let mut released = 0;
        for r in held {
            let moved = promotion_redemptions::Entity::update_many()
                .col_expr(
                    promotion_redemptions::Column::Status,
                    Expr::value("released"),
                )
                .col_expr(
                    promotion_redemptions::Column::ReleasedAt,
                    Expr::value(Some(Utc::now())),
                )
                .filter(promotion_redemptions::Column::Id.eq(r.id))
                .filter(promotion_redemptions::Column::Status.eq("held"))
                .exec(&txn)
                .await?;
            if moved.rows_affected != 1 {
                continue;
            }
            promotions::Entity::update_many()
                .col_expr(
                    promotions::Column::Used,
                    Expr::col(promotions::Column::Used).sub(1),
                )
                .col_expr(
                    promotions::Column::DiscountGiven,
                    Expr::col(promotions::Column::DiscountGiven).sub(r.amount),
                )
                .filter(promotions::Column::Id.eq(r.promotion_id))
                // Only capped promotions keep counters (see `redeem`).
                .filter(
                    Condition::any()
                        .add(promotions::Column::UsageLimit.is_not_null())
                        .add(promotions::Column::Budget.is_not_null()),
                )
                .filter(promotions::Column::Used.gt(0))
                .exec(&txn)
                .await?;
            if let Some(code_id) = r.code_id {
                promotion_codes::Entity::update_many()
                    .col_expr(
                        promotion_codes::Column::Used,
                        Expr::col(promotion_codes::Column::Used).sub(1),
                    )
                    .filter(promotion_codes::Column::Id.eq(code_id))
                    .filter(promotion_codes::Column::Used.gt(0))
                    .exec(&txn)
                    .await?;
            }
            promotion_customer_uses::Entity::update_many()
                .col_expr(
                    promotion_customer_uses::Column::Used,
                    Expr::col(promotion_customer_uses::Column::Used).sub(1),
                )
                .filter(promotion_customer_uses::Column::PromotionId.eq(r.promotion_id))
                .filter(promotion_customer_uses::Column::CustomerKey.eq(r.customer_key.clone()))
                .filter(promotion_customer_uses::Column::Used.gt(0))
                .exec(&txn)
                .await?;
            released += 1;
        }
        txn.commit().await?;
        if released > 0 {
            self.forget();
            tracing::info!(order_id = %order_id, released, "promotion redemptions released");
        }
        Ok(released)
    }
}

/// A promotion's view with its use from `usage` (see [`Promotions::usage`]).
fn with_usage(
    row: &promotions::Model,
    usage: &std::collections::HashMap<Uuid, (i64, i64)>,
) -> AppResult<PromotionView> {
    let mut view = model::view(row)?;
    let (used, given) = usage.get(&row.id).copied().unwrap_or((0, 0));
    view.used = used as i32;
    view.discount_given = given;
    Ok(view)
}

/// The id a page of a newest-first list starts after.
fn uuid_cursor(q: &PageQuery) -> AppResult<Option<Uuid>> {
    q.cursor
        .as_deref()
        .map(|c| {
            c.parse()
                .map_err(|_| AppError::invalid("cursor", "is not a cursor this list gave"))
        })
        .transpose()
}

/// A promotion's id, usage limit, budget and per-customer limit.
type Caps = (Uuid, Option<i32>, Option<i64>, Option<i32>);

fn unavailable(what: &str) -> AppError {
    AppError::conflict(
        ErrorCode::PromotionUnavailable,
        format!(
            "{what} has just reached its limit and no longer applies; review the cart's \
             new total and check out again"
        ),
    )
}

/// Counts one use of a code, if its own limit allows; answers the code's id.
async fn count_code(txn: &DatabaseTransaction, code: &str) -> AppResult<Uuid> {
    let row = promotion_codes::Entity::find()
        .filter(promotion_codes::Column::Code.eq(code))
        .one(txn)
        .await?
        .ok_or_else(|| unavailable(code))?;
    let counted = promotion_codes::Entity::update_many()
        .col_expr(
            promotion_codes::Column::Used,
            Expr::col(promotion_codes::Column::Used).add(1),
        )
        .filter(promotion_codes::Column::Id.eq(row.id))
        .filter(
            Condition::any()
                .add(promotion_codes::Column::UsageLimit.is_null())
                .add(
                    Expr::col(promotion_codes::Column::Used)
                        .lt(Expr::col(promotion_codes::Column::UsageLimit)),
                ),
        )
        .exec(txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(unavailable(code));
    }
    Ok(row.id)
}

/// Counts one use by a customer, inserting their count or adding to it only while it is
/// under the limit.
async fn count_customer(
    txn: &DatabaseTransaction,
    applied: &Applied,
    customer_key: &str,
    limit: i32,
) -> AppResult<()> {
    let column = (
        promotion_customer_uses::Entity,
        promotion_customer_uses::Column::Used,
    );
    let counted = promotion_customer_uses::Entity::insert(promotion_customer_uses::ActiveModel {
        promotion_id: Set(applied.promotion_id),
        customer_key: Set(customer_key.to_string()),
        used: Set(1),
    })
    .on_conflict(
        OnConflict::columns([
            promotion_customer_uses::Column::PromotionId,
            promotion_customer_uses::Column::CustomerKey,
        ])
        .value(
            promotion_customer_uses::Column::Used,
            Expr::col(column).add(1),
        )
        .action_and_where(Expr::col(column).lt(limit))
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    if counted != 1 {
        return Err(AppError::conflict(
            ErrorCode::PromotionUnavailable,
            format!(
                "{} can be used {limit} time(s) per customer, and this customer has; \
                 remove it from the cart and check out again",
                applied.code.as_deref().unwrap_or(&applied.name)
            ),
        ));
    }
    Ok(())
}

async fn insert_code(
    txn: &DatabaseTransaction,
    promotion_id: Uuid,
    code: &str,
    usage_limit: Option<i32>,
) -> AppResult<()> {
    let inserted = promotion_codes::Entity::insert(promotion_codes::ActiveModel {
        id: Set(Uuid::now_v7()),
        promotion_id: Set(promotion_id),
        code: Set(code.to_string()),
        usage_limit: Set(usage_limit),
        used: Set(0),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(promotion_codes::Column::Code)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    if inserted == 0 {
        return Err(AppError::conflict(
            ErrorCode::CodeTaken,
            format!("the code {code} is taken"),
        ));
    }
    Ok(())
}

fn code_view(r: promotion_codes::Model) -> CodeView {
    CodeView {
        id: r.id,
        code: r.code,
        usage_limit: r.usage_limit,
        used: r.used,
        created_at: r.created_at,
    }
}
