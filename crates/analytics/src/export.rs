//! Reports as CSV (amounts as decimals in the report's currency) and the sales ledger
//! itself as a streamed CSV: pages of rows are read and written one after another, so an
//! export of millions of rows runs in flat memory.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone};
use emporium_core::{AppResult, Currency, to_decimal};
use emporium_db::entity::sales_ledger;
use futures::{Stream, TryStreamExt};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::reports::{
    BreakdownReport, CohortReport, FiguresView, FunnelReport, Report, ReportKind, ReportQuery,
    SalesReport, unknown,
};
use crate::state::Analytics;

/// Ledger rows read per page of an export.
const PAGE: u64 = 5_000;

const FIGURES: [&str; 14] = [
    "orders",
    "cancelled",
    "units",
    "units_returned",
    "gross",
    "discounts",
    "returns",
    "net",
    "shipping",
    "tax",
    "total",
    "payments",
    "paid",
    "refunded",
];

fn figures(f: &FiguresView) -> Vec<String> {
    let d = |m: &emporium_core::Money| to_decimal(m.amount, m.currency);
    vec![
        f.orders.to_string(),
        f.cancelled.to_string(),
        f.units.to_string(),
        f.units_returned.to_string(),
        d(&f.gross),
        d(&f.discounts),
        d(&f.returns),
        d(&f.net),
        d(&f.shipping),
        d(&f.tax),
        d(&f.total),
        f.payments.to_string(),
        d(&f.paid),
        d(&f.refunded),
    ]
}

fn write(header: Vec<&str>, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record(&header);
    for row in rows {
        let _ = out.write_record(&row);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Sales over time as CSV: one row per period.
pub fn sales_csv(report: &SalesReport) -> String {
    let mut header = vec!["period", "from", "to", "currency"];
    header.extend(FIGURES);
    write(
        header,
        report.periods.iter().map(|p| {
            let mut row = vec![
                p.period.clone(),
                p.from.to_string(),
                p.to.to_string(),
                report.currency.code().to_string(),
            ];
            row.extend(figures(&p.figures));
            row
        }),
    )
}

/// A breakdown as CSV: one row per key.
pub fn breakdown_csv(report: &BreakdownReport) -> String {
    let mut header = vec!["key", "label", "currency"];
    header.extend(FIGURES);
    write(
        header,
        report.rows.iter().map(|r| {
            let mut row = vec![
                r.key.clone(),
                r.label.clone(),
                report.currency.code().to_string(),
            ];
            row.extend(figures(&r.figures));
            row
        }),
    )
}

/// The funnel as CSV: one row per period.
pub fn funnel_csv(report: &FunnelReport) -> String {
    write(
        vec![
            "period",
            "from",
            "to",
            "sessions",
            "product_viewed",
            "added_to_cart",
            "checkout_started",
            "orders",
            "paid",
        ],
        report.periods.iter().map(|p| {
            vec![
                p.period.clone(),
                p.from.to_string(),
                p.to.to_string(),
                p.sessions.to_string(),
                p.product_viewed.to_string(),
                p.added_to_cart.to_string(),
                p.checkout_started.to_string(),
                p.orders.to_string(),
                p.paid.to_string(),
            ]
        }),
    )
}

/// Cohorts as CSV: one row per cohort and month.
pub fn cohorts_csv(report: &CohortReport) -> String {
    write(
        vec![
            "cohort",
            "cohort_customers",
            "offset",
            "month",
            "customers",
            "retention_percent",
            "net",
            "currency",
        ],
        report.cohorts.iter().flat_map(|c| {
            c.months.iter().map(move |m| {
                vec![
                    c.cohort.clone(),
                    c.customers.to_string(),
                    m.offset.to_string(),
                    m.month.clone(),
                    m.customers.to_string(),
                    m.retention.map(|r| format!("{r:.2}")).unwrap_or_default(),
                    to_decimal(m.net.amount, m.net.currency),
                    m.net.currency.code().to_string(),
                ]
            })
        }),
    )
}

const LEDGER_HEADER: [&str; 20] = [
    "id",
    "occurred_at",
    "day",
    "kind",
    "order_id",
    "ref_id",
    "currency",
    "gross",
    "discounts",
    "returns",
    "net",
    "shipping",
    "tax",
    "total",
    "units",
    "units_returned",
    "country",
    "customer_type",
    "provider",
    "reason",
];

/// A CSV file download.
fn attachment(name: &str, body: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body.into(),
    )
        .into_response()
}

impl Analytics {
    /// A report, or `ledger` (the sales ledger's rows of the range, streamed), as a CSV
    /// download: what the API answers with `format=csv` and the console's links fetch.
    pub async fn csv_download(&self, kind: &str, q: &ReportQuery) -> AppResult<Response> {
        if kind == "ledger" {
            let (range, _) = self.resolve(q)?;
            let stream = self
                .ledger_csv(range.from, range.to)
                .map_err(|e| std::io::Error::other(e.to_string()));
            return Ok(attachment(
                &format!("sales-ledger-{}-{}", range.from, range.to),
                Body::from_stream(stream),
            ));
        }
        let kind = ReportKind::parse(kind).ok_or_else(|| unknown(kind))?;
        Ok(match self.report(kind, q).await? {
            Report::Sales(r) => attachment(&format!("sales-{}-{}", r.from, r.to), sales_csv(&r)),
            Report::Breakdown(r) => attachment(
                &format!("{}-{}-{}", r.kind.as_str(), r.from, r.to),
                breakdown_csv(&r),
            ),
            Report::Funnel(r) => attachment(&format!("funnel-{}-{}", r.from, r.to), funnel_csv(&r)),
            Report::Cohorts(r) => {
                attachment(&format!("cohorts-{}-{}", r.from, r.to), cohorts_csv(&r))
            }
        })
    }

    /// The ledger rows of the local days `from..=to`, as CSV chunks, in the order they
    /// were written.
    pub fn ledger_csv(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Stream<Item = AppResult<Vec<u8>>> + Send + 'static {
        let tz = self.tz();
        let start = tz
            .from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.to_utc());
        let end = to
            .succ_opt()
            .and_then(|d| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest())
            .map(|t| t.to_utc());
        let db = self.db.clone();
        let default = self.default_currency();
        type Cursor = Option<(chrono::DateTime<chrono::Utc>, Uuid)>;
        let begin: Option<Cursor> = Some(None);
        futures::stream::unfold((begin, true), move |(cursor, first)| {
            let db = db.clone();
            async move {
                let after: Cursor = cursor?;
                let mut out = csv::Writer::from_writer(Vec::with_capacity(1 << 20));
                if first {
                    let _ = out.write_record(LEDGER_HEADER);
                }
                // Pages follow the time index: each starts at the last one's time (a range
                // the index answers), skipping the rows of that instant already sent, so
                // every page costs the same and the export stays linear.
                let mut find = sales_ledger::Entity::find()
                    .order_by_asc(sales_ledger::Column::OccurredAt)
                    .order_by_asc(sales_ledger::Column::Id)
                    .limit(PAGE);
                if let Some(end) = end {
                    find = find.filter(sales_ledger::Column::OccurredAt.lt(end));
                }
                match after {
                    Some((at, id)) => {
                        find = find
                            .filter(sales_ledger::Column::OccurredAt.gte(at))
                            .filter(
                                Condition::any()
                                    .add(sales_ledger::Column::OccurredAt.gt(at))
                                    .add(sales_ledger::Column::Id.gt(id)),
                            );
                    }
                    None => {
                        if let Some(start) = start {
                            find = find.filter(sales_ledger::Column::OccurredAt.gte(start));
                        }
                    }
                }
                let rows = match find.all(db.reader()).await {
                    Ok(rows) => rows,
                    Err(e) => return Some((Err(e.into()), (None, false))),
                };
                let next = if rows.len() as u64 == PAGE {
                    rows.last().map(|r| Some((r.occurred_at, r.id)))
                } else {
                    None
                };
                for r in &rows {
                    let currency = Currency::parse(&r.currency).unwrap_or(default);
                    let d = |amount| to_decimal(amount, currency);
                    let _ = out.write_record([
                        r.id.to_string(),
                        r.occurred_at.to_rfc3339(),
                        r.occurred_at.with_timezone(&tz).date_naive().to_string(),
                        r.kind.clone(),
                        r.order_id.to_string(),
                        r.ref_id.map(|id| id.to_string()).unwrap_or_default(),
                        r.currency.clone(),
                        d(r.gross),
                        d(r.discounts),
                        d(r.returns),
                        d(r.gross - r.discounts - r.returns),
                        d(r.shipping),
                        d(r.tax),
                        d(r.total),
                        r.units.to_string(),
                        r.units_returned.to_string(),
                        r.country.clone().unwrap_or_default(),
                        r.customer_type.clone(),
                        r.provider.clone().unwrap_or_default(),
                        r.reason.clone().unwrap_or_default(),
                    ]);
                }
                let bytes = out.into_inner().unwrap_or_default();
                if bytes.is_empty() {
                    return None;
                }
                Some((Ok(bytes), (next, false)))
            }
        })
    }
}
