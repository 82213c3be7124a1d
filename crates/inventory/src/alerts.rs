//! What a stock change tells people: the catalog when a variant sells out or comes back
//! (search's in-stock flag), shoppers who asked to hear when it is back (one email each),
//! and staff who asked for low-stock alerts (one email per crossing of the threshold, not
//! one per order). Also the low-stock report, restock dates, and stock locations.
//!
//! A crossing is read after the level's guarded update, inside the same transaction: on
//! PostgreSQL that row stays locked until commit, so two concurrent sales see each
//! other's effect and only one of them crosses.

use chrono::{DateTime, Utc};
use emporium_core::error::ErrorCode;
use emporium_core::events::{StockBack, StockLow, StockOut, publish};
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{
    stock_alert_subscribers, stock_locations, stock_notifications, stock_policies,
};
use emporium_notify::{EmailJob, enqueue_email};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    QueryFilter, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::{locations, net_of};
use crate::state::Inventory;

/// A variant at or under its low-stock threshold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LowStockView {
    pub variant_id: Uuid,
    pub sku: String,
    pub available: i64,
    pub threshold: i64,
    pub incoming: i64,
    pub restock_expected_at: Option<DateTime<Utc>>,
}

/// A stock location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// Lower is used first.
    pub priority: i32,
    /// ISO country codes it ships to; empty ships anywhere.
    pub countries: Vec<String>,
}

/// `POST /admin/stock-locations` and `PATCH /admin/stock-locations/{id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "code": "sfo-main",
    "name": "San Francisco warehouse",
    "priority": 1,
    "countries": ["US", "CA", "MX"]
})))]
pub struct LocationBody {
    pub code: Option<String>,
    pub name: Option<String>,
    pub priority: Option<i32>,
    pub countries: Option<Vec<String>>,
}

/// `POST /stock-notifications`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "variant_id": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d",
    "email": "jane.doe@example.com",
    "lang": "en"
})))]
pub struct NotifyBody {
    pub variant_id: Uuid,
    pub email: String,
    /// The language of the email (the store's default when unset).
    pub lang: Option<String>,
}

/// A back-in-stock request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotifyView {
    pub variant_id: Uuid,
    pub email: String,
    /// When more is expected, if staff said.
    pub restock_expected_at: Option<DateTime<Utc>>,
}

fn location_view(l: stock_locations::Model) -> LocationView {
    LocationView {
        countries: serde_json::from_str(&l.countries).unwrap_or_default(),
        id: l.id,
        code: l.code,
        name: l.name,
        priority: l.priority,
    }
}

fn clean_countries(countries: Vec<String>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, c) in countries.iter().enumerate() {
        let c = c.trim().to_ascii_uppercase();
        if !emporium_core::geo::is_country(&c) {
            errors.push(FieldError::new(
                format!("countries[{i}]"),
                "must be an ISO 3166-1 alpha-2 code",
            ));
        } else if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl Inventory {
    /// Call after a variant's levels moved by `delta` (net available) inside `conn`.
    pub(crate) async fn stock_moved<C: ConnectionTrait>(
        &self,
        conn: &C,
        variant_id: Uuid,
        delta: i64,
    ) -> AppResult<()> {
        if delta == 0 {
            return Ok(());
        }
        let after = net_of(conn, variant_id).await?;
        let before = after - delta;
        if (before > 0) != (after > 0) {
            emporium_catalog::record_variant_change(conn, variant_id).await?;
        }
        // What follows from a crossing (emails to the waiting shoppers and to staff,
        // later webhooks) runs from these events, outside this transaction: a popular
        // variant may have thousands of requests waiting.
        if before <= 0 && after > 0 {
            publish(
                conn,
                StockBack {
                    variant_id,
                    available: after,
                },
            )
            .await?;
        }
        if before > 0 && after <= 0 {
            publish(conn, StockOut { variant_id }).await?;
        }
        if delta < 0 {
            let threshold = stock_policies::Entity::find_by_id(variant_id)
                .one(conn)
                .await?
                .and_then(|p| p.low_stock_threshold)
                .unwrap_or(self.config.inventory.low_stock_threshold);
            if before > threshold && after <= threshold {
                publish(
                    conn,
                    StockLow {
                        variant_id,
                        available: after,
                        threshold,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The variant's SKU and its product's slug and title (in `lang`, else the default).
    async fn describe<C: ConnectionTrait>(
        &self,
        conn: &C,
        variant_id: Uuid,
        lang: &str,
    ) -> AppResult<(String, String, String)> {
        let default = &self.config.store.default_language;
        let label = emporium_catalog::variant_label(conn, variant_id, lang, default)
            .await?
            .unwrap_or_default();
        Ok((label.sku, label.slug, label.title))
    }

    /// Emails everyone waiting for `variant_id`, once each (a guarded claim per request),
    /// if it is still in stock; a variant that sold out again keeps its requests for the
    /// next time. Answers how many were emailed.
    pub async fn send_back_in_stock(&self, variant_id: Uuid) -> AppResult<usize> {
        let base = self.config.public_base_url();
        let mut sent = 0;
        let mut described: HashMap<String, (String, String, String)> = HashMap::new();
        loop {
            let txn = self.db.begin().await?;
            if net_of(&txn, variant_id).await? <= 0 {
                return Ok(sent);
            }
            let waiting = stock_notifications::Entity::find()
                .filter(stock_notifications::Column::VariantId.eq(variant_id))
                .filter(stock_notifications::Column::NotifiedAt.is_null())
                .limit(200)
                .all(&txn)
                .await?;
            if waiting.is_empty() {
                return Ok(sent);
            }
            for request in waiting {
                let claimed = stock_notifications::Entity::update_many()
                    .col_expr(
                        stock_notifications::Column::NotifiedAt,
                        Expr::value(Utc::now()),
                    )
                    .filter(stock_notifications::Column::Id.eq(request.id))
                    .filter(stock_notifications::Column::NotifiedAt.is_null())
                    .exec(&txn)
                    .await?;
                if claimed.rows_affected == 0 {
                    continue;
                }
                if !described.contains_key(&request.lang) {
                    let text = self.describe(&txn, variant_id, &request.lang).await?;
                    described.insert(request.lang.clone(), text);
                }
                let (sku, slug, title) = &described[&request.lang];
                enqueue_email(
                    &txn,
                    &EmailJob {
                        to: request.email.clone(),
                        template: "back_in_stock".into(),
                        context: serde_json::json!({
                            "title": title,
                            "sku": sku,
                            "link": format!("{base}/api/v1/products/{slug}"),
                        }),
                        lang: Some(request.lang.clone()),
                        thread: None,
                    },
                )
                .await?;
                sent += 1;
            }
            txn.commit().await?;
        }
    }

    /// Emails every subscribed staff member that `variant_id` runs low.
    pub(crate) async fn alert_low_stock(
        &self,
        variant_id: Uuid,
        available: i64,
        threshold: i64,
    ) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let conn = &txn;
        let staff = stock_alert_subscribers::Entity::find().all(conn).await?;
        if staff.is_empty() {
            return Ok(());
        }
        let lang = self.config.store.default_language.clone();
        let (sku, _, title) = self.describe(conn, variant_id, &lang).await?;
        for member in staff {
            enqueue_email(
                conn,
                &EmailJob {
                    to: member.email,
                    template: "low_stock".into(),
                    context: serde_json::json!({
                        "title": title,
                        "sku": sku,
                        "available": available,
                        "threshold": threshold,
                        "link": format!("{}/api/v1/admin/inventory/{variant_id}", self.config.public_base_url()),
                    }),
                    lang: None,
                    thread: None,
                },
            )
            .await?;
        }
        txn.commit().await?;
        metrics::counter!("low_stock_alerts_total").increment(1);
        Ok(())
    }

    /// Starts or stops low-stock emails to a staff member (at `email`, their account's).
    pub async fn set_alert_subscription(
        &self,
        user_id: Uuid,
        email: &str,
        subscribed: bool,
    ) -> AppResult<()> {
        let conn = self.db.writer();
        if !subscribed {
            stock_alert_subscribers::Entity::delete_by_id(user_id)
                .exec(conn)
                .await?;
            return Ok(());
        }
        stock_alert_subscribers::Entity::insert(stock_alert_subscribers::ActiveModel {
            user_id: Set(user_id),
            email: Set(email.to_string()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(stock_alert_subscribers::Column::UserId)
                .update_column(stock_alert_subscribers::Column::Email)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    /// Variants at or under their threshold, lowest first, with what is on its way. One
    /// grouped query, however large the catalog.
    /// Only variants with some location at or under the highest threshold in use can be
    /// low (a variant's available stock is the sum of its locations'), so the aggregate
    /// runs over those, found through the index on `on_hand - reserved`, not over every
    /// variant.
    pub async fn low_stock(&self, limit: u64) -> AppResult<Vec<LowStockView>> {
        let conn = self.db.current();
        let backend = conn.get_database_backend();
        let (p1, p2) = match backend {
            DatabaseBackend::Postgres => ("$1", "$2"),
            _ => ("?", "?"),
        };
        let sql = format!(
            "SELECT l.variant_id AS variant_id, v.sku AS sku, \
             CAST(SUM(l.on_hand - l.reserved) AS BIGINT) AS available, \
             COALESCE(p.low_stock_threshold, {p1}) AS threshold, \
             COALESCE(p.incoming, 0) AS incoming, p.restock_expected_at AS restock_expected_at \
             FROM stock_levels l JOIN variants v ON v.id = l.variant_id \
             LEFT JOIN stock_policies p ON p.variant_id = l.variant_id \
             WHERE l.variant_id IN (SELECT c.variant_id FROM stock_levels c \
               WHERE c.on_hand - c.reserved <= (SELECT MAX(t) FROM (SELECT {p1} AS t \
               UNION ALL SELECT MAX(low_stock_threshold) FROM stock_policies) m)) \
             GROUP BY l.variant_id, v.sku, p.low_stock_threshold, p.incoming, p.restock_expected_at \
             HAVING SUM(l.on_hand - l.reserved) <= COALESCE(p.low_stock_threshold, {p1}) \
             ORDER BY available ASC, v.sku ASC LIMIT {p2}"
        );
        let default = self.config.inventory.low_stock_threshold;
        let sql = if backend == DatabaseBackend::Postgres {
            sql
        } else {
            // SQLite numbers `?` by position: the default appears twice.
            sql.replacen(
                "COALESCE(p.low_stock_threshold, ?)",
                "COALESCE(p.low_stock_threshold, ?1)",
                2,
            )
            .replace("SELECT ? AS t", "SELECT ?1 AS t")
            .replace("LIMIT ?", "LIMIT ?2")
        };
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [default.into(), (limit as i64).into()],
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(LowStockView {
                variant_id: row.try_get("", "variant_id")?,
                sku: row.try_get("", "sku")?,
                available: row.try_get("", "available")?,
                threshold: row.try_get("", "threshold")?,
                incoming: row.try_get("", "incoming")?,
                restock_expected_at: row.try_get("", "restock_expected_at")?,
            });
        }
        Ok(out)
    }

    /// Records when more of a variant is expected and how much.
    pub async fn set_restock(
        &self,
        variant_id: Uuid,
        expected_at: Option<DateTime<Utc>>,
        incoming: i64,
    ) -> AppResult<()> {
        if incoming < 0 {
            return Err(AppError::invalid("incoming", "must not be negative"));
        }
        let txn = self.db.begin().await?;
        if !emporium_catalog::variant_exists(&txn, variant_id).await? {
            return Err(AppError::not_found("no such variant"));
        }
        stock_policies::Entity::insert(stock_policies::ActiveModel {
            variant_id: Set(variant_id),
            allow_backorder: Set(false),
            backorder_limit: Set(None),
            low_stock_threshold: Set(None),
            restock_expected_at: Set(expected_at),
            incoming: Set(incoming),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(stock_policies::Column::VariantId)
                .update_columns([
                    stock_policies::Column::RestockExpectedAt,
                    stock_policies::Column::Incoming,
                    stock_policies::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A shopper asks to hear when a sold-out variant is back. Asking twice is one
    /// request; a variant in stock now is 409.
    pub async fn request_back_in_stock(&self, body: NotifyBody) -> AppResult<NotifyView> {
        let email = emporium_core::email::Email::parse(&body.email)
            .map_err(|e| AppError::Validation(vec![e]))?
            .as_str()
            .to_string();
        let lang = body
            .lang
            .filter(|l| self.config.store.languages.contains(l))
            .unwrap_or_else(|| self.config.store.default_language.clone());
        let txn = self.db.begin().await?;
        if !emporium_catalog::variant_exists(&txn, body.variant_id).await? {
            return Err(AppError::not_found("no such variant"));
        }
        if net_of(&txn, body.variant_id).await? > 0 {
            return Err(AppError::conflict(
                ErrorCode::InStock,
                "this variant is in stock now",
            ));
        }
        stock_notifications::Entity::insert(stock_notifications::ActiveModel {
            id: Set(Uuid::now_v7()),
            variant_id: Set(body.variant_id),
            email: Set(email.clone()),
            lang: Set(lang),
            created_at: Set(Utc::now()),
            notified_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                stock_notifications::Column::VariantId,
                stock_notifications::Column::Email,
            ])
            .update_column(stock_notifications::Column::NotifiedAt)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let policy = stock_policies::Entity::find_by_id(body.variant_id)
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(NotifyView {
            variant_id: body.variant_id,
            email,
            restock_expected_at: policy.and_then(|p| p.restock_expected_at),
        })
    }

    pub async fn list_locations(&self) -> AppResult<Vec<LocationView>> {
        Ok(locations(self.db.current())
            .await?
            .into_iter()
            .map(location_view)
            .collect())
    }

    /// Creates a location, or changes one when `id` is set.
    pub async fn save_location(
        &self,
        id: Option<Uuid>,
        body: LocationBody,
    ) -> AppResult<LocationView> {
        let mut errors = Vec::new();
        let code = body.code.map(|c| c.trim().to_ascii_lowercase());
        if let Some(code) = &code
            && (code.is_empty()
                || code.len() > 64
                || !code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            errors.push(FieldError::new("code", "1 to 64 letters, digits, - or _"));
        }
        let name = body.name.map(|n| n.trim().to_string());
        if name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > 200)
        {
            errors.push(FieldError::new("name", "1 to 200 characters"));
        }
        let countries = body.countries.map(|c| clean_countries(c, &mut errors));
        if id.is_none() {
            if code.is_none() {
                errors.push(FieldError::new("code", "is required"));
            }
            if name.is_none() {
                errors.push(FieldError::new("name", "is required"));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let conn = self.db.writer();
        if let Some(code) = &code {
            let taken = stock_locations::Entity::find()
                .filter(stock_locations::Column::Code.eq(code.clone()))
                .one(conn)
                .await?;
            if taken.is_some_and(|t| Some(t.id) != id) {
                return Err(AppError::conflict(
                    ErrorCode::CodeTaken,
                    "another location has this code",
                ));
            }
        }
        let saved = match id {
            Some(id) => {
                let existing = stock_locations::Entity::find_by_id(id)
                    .one(conn)
                    .await?
                    .ok_or_else(|| AppError::not_found("no such stock location"))?;
                let mut model: stock_locations::ActiveModel = existing.into();
                if let Some(code) = code {
                    model.code = Set(code);
                }
                if let Some(name) = name {
                    model.name = Set(name);
                }
                if let Some(priority) = body.priority {
                    model.priority = Set(priority);
                }
                if let Some(countries) = countries {
                    model.countries =
                        Set(serde_json::to_string(&countries).map_err(anyhow::Error::from)?);
                }
                model.update(conn).await?
            }
            None => {
                stock_locations::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    code: Set(code.unwrap_or_default()),
                    name: Set(name.unwrap_or_default()),
                    priority: Set(body.priority.unwrap_or(100)),
                    countries: Set(serde_json::to_string(&countries.unwrap_or_default())
                        .map_err(anyhow::Error::from)?),
                    created_at: Set(Utc::now()),
                }
                .insert(conn)
                .await?
            }
        };
        Ok(location_view(saved))
    }
}
