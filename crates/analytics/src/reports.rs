//! Reports read from the rollups: sales over time (by day, ISO week or month, with a
//! comparison period), breakdowns by product, variant, country, coupon, customer type and
//! payment provider, and the dashboard. A year of sales reads 365 rollup rows whatever the
//! number of orders, so reports stay fast as a shop grows.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use emporium_core::{AppError, AppResult, Currency, FieldError, Money, div_round};
use emporium_db::entity::{cohort_activity, customer_cohorts, sales_rollups};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::rollup::Measures;
use crate::state::Analytics;

/// The longest range a report covers.
const MAX_DAYS: i64 = 3_660;

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Sales over time.
    Sales,
    /// Products by net sales.
    Products,
    /// Variants by net sales.
    Variants,
    /// Shipping countries.
    Countries,
    /// Coupon codes used.
    Coupons,
    /// New and returning customers.
    Customers,
    /// Money taken per payment provider.
    Payments,
    /// Sessions, product views, adds to cart, checkouts, orders and payments.
    Funnel,
    /// First-order cohorts by month: retention and lifetime value.
    Cohorts,
}

impl ReportKind {
    pub const ALL: [ReportKind; 9] = [
        Self::Sales,
        Self::Products,
        Self::Variants,
        Self::Countries,
        Self::Coupons,
        Self::Customers,
        Self::Payments,
        Self::Funnel,
        Self::Cohorts,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sales => "sales",
            Self::Products => "products",
            Self::Variants => "variants",
            Self::Countries => "countries",
            Self::Coupons => "coupons",
            Self::Customers => "customers",
            Self::Payments => "payments",
            Self::Funnel => "funnel",
            Self::Cohorts => "cohorts",
        }
    }

    /// The rollup dimension a breakdown reads.
    fn dim(self) -> &'static str {
        match self {
            Self::Sales | Self::Funnel => "all",
            Self::Cohorts => "cohort",
            Self::Products => "product",
            Self::Variants => "variant",
            Self::Countries => "country",
            Self::Coupons => "coupon",
            Self::Customers => "customer_type",
            Self::Payments => "provider",
        }
    }
}

/// The 404 for a report that does not exist, naming those that do.
pub(crate) fn unknown(kind: &str) -> AppError {
    AppError::not_found(format!(
        "no report `{kind}`; reports are {} and ledger",
        ReportKind::ALL.map(ReportKind::as_str).join(", ")
    ))
}

/// How sales over time are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    #[default]
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

/// What a report is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The same number of days just before.
    #[default]
    Previous,
    /// The same dates a year earlier.
    Year,
    None,
}

/// A report's range and options. Days are the shop's local days (`store.time_zone`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// Last day, included (default: today).
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
    /// `day`, `week` or `month` (sales only; default `day`).
    #[param(example = "week", value_type = Option<String>)]
    pub group: Option<Group>,
    /// `previous`, `year` or `none` (sales only; default `previous`).
    #[param(example = "previous", value_type = Option<String>)]
    pub compare: Option<Compare>,
    /// ISO 4217 code (default: the store's currency).
    #[param(example = "USD")]
    pub currency: Option<String>,
    /// Rows of a breakdown, 1 to 1000 (default 50).
    #[param(example = 50)]
    pub limit: Option<u64>,
    /// `json` (default) or `csv`.
    #[param(example = "json")]
    pub format: Option<String>,
}

/// First and last day (or month start) of a stretch.
type Days = (NaiveDate, NaiveDate);

/// A checked range.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Range {
    fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    fn buckets(&self) -> (String, String) {
        (self.from.to_string(), self.to.to_string())
    }

    /// The whole months inside the range, as (first, last) month starts, and the days
    /// before and after them.
    fn split(&self) -> (Option<Days>, Vec<Days>) {
        let first = if self.from.day() == 1 {
            Some(self.from)
        } else {
            self.from
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        };
        let after_to = self.to + Duration::days(1);
        let last_end = if after_to.day() == 1 {
            Some(self.to)
        } else {
            self.to.with_day(1).map(|d| d - Duration::days(1))
        };
        match (first, last_end) {
            (Some(first), Some(last_end)) if first <= last_end => {
                let mut days = Vec::new();
                if self.from < first {
                    days.push((self.from, first - Duration::days(1)));
                }
                if last_end < self.to {
                    days.push((last_end + Duration::days(1), self.to));
                }
                let last = last_end.with_day(1).unwrap_or(last_end);
                (Some((first, last)), days)
            }
            _ => (None, vec![(self.from, self.to)]),
        }
    }

    /// Which rollup rows of `dim` make up the range: day rows at the ends, month rows for
    /// the whole months between when the dimension keeps them.
    fn spans(&self, dim: &str) -> Condition {
        let rows = |dim: &str, from: String, to: String| {
            Condition::all()
                .add(sales_rollups::Column::Dim.eq(dim))
                .add(sales_rollups::Column::Bucket.between(from, to))
        };
        let Some(month_dim) = crate::rollup::monthly(dim) else {
            let (from, to) = self.buckets();
            return rows(dim, from, to);
        };
        let (months, days) = self.split();
        let mut any = Condition::any();
        for (from, to) in days {
            any = any.add(rows(dim, from.to_string(), to.to_string()));
        }
        if let Some((first, last)) = months {
            any = any.add(rows(
                month_dim,
                first.format("%Y-%m").to_string(),
                last.format("%Y-%m").to_string(),
            ));
        }
        any
    }
}

/// Figures for a period, in the report's currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiguresView {
    /// Orders placed.
    pub orders: i64,
    /// Orders cancelled.
    pub cancelled: i64,
    /// Units sold.
    pub units: i64,
    /// Units given back (refunded or on cancelled orders).
    pub units_returned: i64,
    /// The lines' worth before discounts, without tax.
    pub gross: Money,
    pub discounts: Money,
    /// Goods given back: refunds' goods and unpaid orders cancelled.
    pub returns: Money,
    /// Gross less discounts less returns.
    pub net: Money,
    pub shipping: Money,
    pub tax: Money,
    /// Net plus shipping plus tax: what shoppers paid, less what went back.
    pub total: Money,
    /// (Gross less discounts) per order placed.
    pub average_order_value: Money,
    /// Payments taken.
    pub payments: i64,
    /// Money captured.
    pub paid: Money,
    /// Money refunded.
    pub refunded: Money,
}

impl FiguresView {
    pub fn of(m: &Measures, currency: Currency) -> Self {
        let money = |amount| Money::new(amount, currency);
        let aov = if m.orders > 0 {
            div_round(i128::from(m.gross - m.discounts), i128::from(m.orders))
        } else {
            0
        };
        Self {
            orders: m.orders,
            cancelled: m.cancelled,
            units: m.units,
            units_returned: m.units_returned,
            gross: money(m.gross),
            discounts: money(m.discounts),
            returns: money(m.returns),
            net: money(m.net()),
            shipping: money(m.shipping),
            tax: money(m.tax),
            total: money(m.total),
            average_order_value: money(aov),
            payments: m.payments,
            paid: money(m.paid),
            refunded: money(m.refunded),
        }
    }
}

/// One period of sales over time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodView {
    /// `2026-12-07`, `2026-W49` or `2026-12`.
    pub period: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// The comparison period's totals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparisonView {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub totals: FiguresView,
    /// Its periods, aligned with the report's.
    pub periods: Vec<PeriodView>,
}

/// `GET /admin/reports/sales`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesReport {
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub group: Group,
    pub periods: Vec<PeriodView>,
    pub totals: FiguresView,
    pub compare: Option<ComparisonView>,
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakdownRow {
    /// The product or variant id, country code, coupon code, `new`/`returning`, or
    /// provider.
    pub key: String,
    /// For people: the product's title, the variant's title and SKU.
    pub label: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// `GET /admin/reports/{products,variants,countries,coupons,customers,payments}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreakdownReport {
    pub kind: ReportKind,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// By net sales (payments: by money taken), largest first.
    pub rows: Vec<BreakdownRow>,
}

/// A report of either shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Report {
    Sales(Box<SalesReport>),
    Breakdown(BreakdownReport),
    Funnel(Box<FunnelReport>),
    Cohorts(Box<CohortReport>),
}

/// A cohort in one month after its first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortMonthView {
    /// `YYYY-MM`.
    pub month: String,
    /// Months after the cohort's first (0: the first).
    pub offset: u32,
    /// Customers of the cohort who ordered that month.
    pub customers: i64,
    /// Percent of the cohort, two decimals.
    pub retention: Option<f64>,
    /// The cohort's net sales that month (its refunds and cancellations included).
    pub net: Money,
}

/// Customers whose first order fell in one month, and what they did after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortView {
    /// `YYYY-MM`.
    pub cohort: String,
    pub customers: i64,
    /// Net sales per customer of the cohort so far.
    pub lifetime_value: Money,
    pub months: Vec<CohortMonthView>,
}

/// `GET /admin/reports/cohorts`: the cohorts of the months `from` to `to`, each followed
/// to `to`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortReport {
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    pub from: String,
    pub to: String,
    pub cohorts: Vec<CohortView>,
}

/// The months from `from`'s to `to`'s, `YYYY-MM`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        out.push(m.format("%Y-%m").to_string());
        m = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    out
}

/// A step of the funnel over the whole range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelStepView {
    /// `sessions`, `product_viewed`, `added_to_cart`, `checkout_started`, `orders`, `paid`.
    pub step: String,
    /// Sessions that reached it (orders and payments: how many).
    pub count: i64,
    /// Percent of the sessions, two decimals (the conversion rate at `orders`).
    pub of_sessions: Option<f64>,
    /// Percent of the step before.
    pub of_previous: Option<f64>,
}

/// The funnel in one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelPeriodView {
    pub period: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub sessions: i64,
    pub product_viewed: i64,
    pub added_to_cart: i64,
    pub checkout_started: i64,
    pub orders: i64,
    pub paid: i64,
}

/// `GET /admin/reports/funnel`: sessions are counted once a day per step, so a range's
/// figure is the sum of its days'.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelReport {
    pub time_zone: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub group: Group,
    pub steps: Vec<FunnelStepView>,
    pub periods: Vec<FunnelPeriodView>,
}

/// The funnel's steps in order, as reports name them.
pub const FUNNEL_STEPS: [&str; 6] = [
    "sessions",
    "product_viewed",
    "added_to_cart",
    "checkout_started",
    "orders",
    "paid",
];

fn percent(part: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (part as f64 * 10_000.0 / of as f64).round() / 100.0)
}

/// `GET /admin/dashboard`: the home page's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardView {
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub time_zone: String,
    #[schema(value_type = String, format = Date)]
    pub today: NaiveDate,
    pub today_figures: FiguresView,
    pub yesterday: FiguresView,
    /// Today so far, hour by hour (local hours `00` to the current one).
    pub today_by_hour: Vec<HourView>,
    /// The last 30 days, today included.
    pub last_30_days: FiguresView,
    /// The 30 days before those.
    pub previous_30_days: FiguresView,
    /// Net sales of each of the last 30 days.
    pub daily: Vec<PeriodView>,
    /// The five best-selling products of the last 30 days.
    pub top_products: Vec<BreakdownRow>,
}

/// An hour of today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HourView {
    /// `00` to `23`.
    pub hour: String,
    pub orders: i64,
    pub net: Money,
    pub total: Money,
}

#[derive(Debug, FromQueryResult)]
struct SumRow {
    key: String,
    label: String,
    orders: i64,
    cancelled: i64,
    units: i64,
    units_returned: i64,
    gross: i64,
    discounts: i64,
    returns: i64,
    shipping: i64,
    tax: i64,
    total: i64,
    payments: i64,
    paid: i64,
    refunded: i64,
}

impl SumRow {
    fn measures(&self) -> Measures {
        Measures {
            orders: self.orders,
            cancelled: self.cancelled,
            units: self.units,
            units_returned: self.units_returned,
            gross: self.gross,
            discounts: self.discounts,
            returns: self.returns,
            shipping: self.shipping,
            tax: self.tax,
            total: self.total,
            payments: self.payments,
            paid: self.paid,
            refunded: self.refunded,
        }
    }
}

fn parse_day(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(day) => Some(day),
        Err(_) => {
            errors.push(FieldError::new(field, "must be a date, YYYY-MM-DD"));
            None
        }
    }
}

/// The start of the period `day` falls in.
fn period_start(group: Group, day: NaiveDate) -> NaiveDate {
    match group {
        Group::Day => day,
        Group::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Group::Month => day.with_day(1).unwrap_or(day),
    }
}

fn period_name(group: Group, start: NaiveDate) -> String {
    match group {
        Group::Day => start.to_string(),
        Group::Week => {
            let week = start.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        Group::Month => start.format("%Y-%m").to_string(),
    }
}

/// Days `range` split into periods, each with its figures from `daily`.
fn periods(
    group: Group,
    range: Range,
    daily: &std::collections::HashMap<String, Measures>,
    currency: Currency,
) -> Vec<PeriodView> {
    let mut out: Vec<(NaiveDate, NaiveDate, Measures)> = Vec::new();
    let mut day = range.from;
    while day <= range.to {
        let start = period_start(group, day);
        let m = daily.get(&day.to_string()).copied().unwrap_or_default();
        match out.last_mut() {
            Some(last) if period_start(group, last.0) == start => {
                last.1 = day;
                last.2.add(&m);
            }
            _ => out.push((day, day, m)),
        }
        day += Duration::days(1);
    }
    out.into_iter()
        .map(|(from, to, m)| PeriodView {
            period: period_name(group, period_start(group, from)),
            from,
            to,
            figures: FiguresView::of(&m, currency),
        })
        .collect()
}

impl Analytics {
    /// The shop's local date now.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.tz()).date_naive()
    }

    /// Checks a query's range and currency.
    pub fn resolve(&self, q: &ReportQuery) -> AppResult<(Range, Currency)> {
        let mut errors = Vec::new();
        let to = match &q.to {
            Some(t) => parse_day("to", t, &mut errors),
            None => Some(self.today()),
        };
        let from = match &q.from {
            Some(f) => parse_day("from", f, &mut errors),
            None => to.map(|t| t - Duration::days(29)),
        };
        let currency = match &q.currency {
            Some(c) => Currency::parse(c)
                .filter(|c| {
                    self.config
                        .store
                        .currencies
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(c.code()))
                })
                .or_else(|| {
                    errors.push(FieldError::new(
                        "currency",
                        format!(
                            "must be one of the store's currencies: {}",
                            self.config.store.currencies.join(", ")
                        ),
                    ));
                    None
                }),
            None => Some(self.default_currency()),
        };
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                errors.push(FieldError::new("from", "must not be after `to`"));
            } else if (to - from).num_days() >= MAX_DAYS {
                errors.push(FieldError::new(
                    "from",
                    format!("a report covers at most {MAX_DAYS} days"),
                ));
            }
        }
        if let Some(limit) = q.limit
            && !(1..=1_000).contains(&limit)
        {
            errors.push(FieldError::new("limit", "must be 1 to 1000"));
        }
        match (from, to, currency) {
            (Some(from), Some(to), Some(currency)) if errors.is_empty() => {
                Ok((Range { from, to }, currency))
            }
            _ => Err(AppError::Validation(errors)),
        }
    }

    /// The shop's figures per local day of `range`.
    async fn daily(
        &self,
        range: Range,
        currency: Currency,
    ) -> AppResult<std::collections::HashMap<String, Measures>> {
        let (from, to) = range.buckets();
        let rows = sales_rollups::Entity::find()
            .filter(sales_rollups::Column::Dim.eq("all"))
            .filter(sales_rollups::Column::Currency.eq(currency.code()))
            .filter(sales_rollups::Column::Bucket.between(from, to))
            .all(self.db.reader())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.bucket.clone(), Measures::of_rollup(&r)))
            .collect())
    }

    /// Sales over time, with the comparison period.
    pub async fn sales(&self, q: &ReportQuery) -> AppResult<SalesReport> {
        let (range, currency) = self.resolve(q)?;
        let group = q.group.unwrap_or_default();
        let daily = self.daily(range, currency).await?;
        let periods_now = periods(group, range, &daily, currency);
        let mut totals = Measures::default();
        daily.values().for_each(|m| totals.add(m));
        let compare = match q.compare.unwrap_or_default() {
            Compare::None => None,
            how => {
                let before = match how {
                    Compare::Year => Range {
                        from: range
                            .from
                            .with_year(range.from.year() - 1)
                            .unwrap_or(range.from - Duration::days(365)),
                        to: range
                            .to
                            .with_year(range.to.year() - 1)
                            .unwrap_or(range.to - Duration::days(365)),
                    },
                    _ => Range {
                        from: range.from - Duration::days(range.days()),
                        to: range.from - Duration::days(1),
                    },
                };
                let daily = self.daily(before, currency).await?;
                let mut totals = Measures::default();
                daily.values().for_each(|m| totals.add(m));
                Some(ComparisonView {
                    from: before.from,
                    to: before.to,
                    totals: FiguresView::of(&totals, currency),
                    periods: periods(group, before, &daily, currency),
                })
            }
        };
        Ok(SalesReport {
            currency,
            time_zone: self.tz().name().to_string(),
            from: range.from,
            to: range.to,
            group,
            periods: periods_now,
            totals: FiguresView::of(&totals, currency),
            compare,
        })
    }

    /// A breakdown of `range` by one dimension, largest first.
    pub async fn breakdown(&self, kind: ReportKind, q: &ReportQuery) -> AppResult<BreakdownReport> {
        let (range, currency) = self.resolve(q)?;
        let rows = self
            .top(kind, range, currency, q.limit.unwrap_or(50))
            .await?;
        Ok(BreakdownReport {
            kind,
            currency,
            time_zone: self.tz().name().to_string(),
            from: range.from,
            to: range.to,
            rows,
        })
    }

    async fn top(
        &self,
        kind: ReportKind,
        range: Range,
        currency: Currency,
        limit: u64,
    ) -> AppResult<Vec<BreakdownRow>> {
        let mut select = sales_rollups::Entity::find()
            .select_only()
            .column(sales_rollups::Column::Key)
            .column_as(Expr::cust("MAX(label)"), "label");
        for col in crate::rollup::SUMMED {
            let col = sea_orm::IdenStatic::as_str(&col);
            // PostgreSQL sums BIGINTs as NUMERIC: cast back.
            select = select.column_as(Expr::cust(format!("CAST(SUM({col}) AS BIGINT)")), col);
        }
        let order = if kind == ReportKind::Payments {
            "SUM(paid)"
        } else {
            "SUM(gross) - SUM(discounts) - SUM(returns)"
        };
        let rows = select
            .filter(sales_rollups::Column::Currency.eq(currency.code()))
            .filter(range.spans(kind.dim()))
            .group_by(sales_rollups::Column::Key)
            .order_by_desc(Expr::cust(order))
            .order_by_asc(sales_rollups::Column::Key)
            .limit(limit)
            .into_model::<SumRow>()
            .all(self.db.reader())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| BreakdownRow {
                figures: FiguresView::of(&r.measures(), currency),
                label: if r.label.is_empty() {
                    r.key.clone()
                } else {
                    r.label.clone()
                },
                key: r.key,
            })
            .collect())
    }

    /// The funnel over `range`, every currency's orders together.
    pub async fn funnel(&self, q: &ReportQuery) -> AppResult<FunnelReport> {
        let (range, _) = self.resolve(q)?;
        let group = q.group.unwrap_or_default();
        let steps = self.funnel_days(range.from, range.to).await?;
        let (from, to) = range.buckets();
        let orders: Vec<(String, i64, i64)> = sales_rollups::Entity::find()
            .select_only()
            .column(sales_rollups::Column::Bucket)
            .column_as(Expr::cust("CAST(SUM(orders) AS BIGINT)"), "orders")
            .column_as(Expr::cust("CAST(SUM(payments) AS BIGINT)"), "payments")
            .filter(sales_rollups::Column::Dim.eq("all"))
            .filter(sales_rollups::Column::Bucket.between(from, to))
            .group_by(sales_rollups::Column::Bucket)
            .into_tuple()
            .all(self.db.reader())
            .await?;
        let step = |day: &str, name: &str| {
            steps
                .get(&(day.to_string(), name.to_string()))
                .copied()
                .unwrap_or(0)
        };
        let mut periods: Vec<FunnelPeriodView> = Vec::new();
        let mut day = range.from;
        while day <= range.to {
            let d = day.to_string();
            let (o, p) = orders
                .iter()
                .find(|(b, ..)| *b == d)
                .map_or((0, 0), |(_, o, p)| (*o, *p));
            let start = period_start(group, day);
            let fresh = FunnelPeriodView {
                period: period_name(group, start),
                from: day,
                to: day,
                sessions: step(&d, crate::funnel::SESSION),
                product_viewed: step(&d, "product_viewed"),
                added_to_cart: step(&d, "added_to_cart"),
                checkout_started: step(&d, "checkout_started"),
                orders: o,
                paid: p,
            };
            match periods.last_mut() {
                Some(last) if last.period == fresh.period => {
                    last.to = day;
                    last.sessions += fresh.sessions;
                    last.product_viewed += fresh.product_viewed;
                    last.added_to_cart += fresh.added_to_cart;
                    last.checkout_started += fresh.checkout_started;
                    last.orders += fresh.orders;
                    last.paid += fresh.paid;
                }
                _ => periods.push(fresh),
            }
            day += Duration::days(1);
        }
        let totals: [i64; 6] = [
            periods.iter().map(|p| p.sessions).sum(),
            periods.iter().map(|p| p.product_viewed).sum(),
            periods.iter().map(|p| p.added_to_cart).sum(),
            periods.iter().map(|p| p.checkout_started).sum(),
            periods.iter().map(|p| p.orders).sum(),
            periods.iter().map(|p| p.paid).sum(),
        ];
        let steps = FUNNEL_STEPS
            .iter()
            .enumerate()
            .map(|(i, name)| FunnelStepView {
                step: (*name).to_string(),
                count: totals[i],
                of_sessions: (i > 0).then(|| percent(totals[i], totals[0])).flatten(),
                of_previous: (i > 0).then(|| percent(totals[i], totals[i - 1])).flatten(),
            })
            .collect();
        Ok(FunnelReport {
            time_zone: self.tz().name().to_string(),
            from: range.from,
            to: range.to,
            group,
            steps,
            periods,
        })
    }

    /// Monthly first-order cohorts: by default the last twelve months'.
    pub async fn cohorts(&self, q: &ReportQuery) -> AppResult<CohortReport> {
        let (mut range, currency) = self.resolve(q)?;
        if q.from.is_none() {
            range.from = range
                .to
                .with_day(1)
                .and_then(|d| d.checked_sub_months(chrono::Months::new(11)))
                .unwrap_or(range.from);
        }
        let months = months(range.from, range.to);
        let (first, last) = (
            months.first().cloned().unwrap_or_default(),
            months.last().cloned().unwrap_or_default(),
        );
        let conn = self.db.reader();
        let sizes: Vec<(String, i64)> = customer_cohorts::Entity::find()
            .select_only()
            .column(customer_cohorts::Column::Cohort)
            .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
            .filter(customer_cohorts::Column::Cohort.between(first.clone(), last.clone()))
            .group_by(customer_cohorts::Column::Cohort)
            .into_tuple()
            .all(conn)
            .await?;
        let active: Vec<(String, String, i64)> = cohort_activity::Entity::find()
            .select_only()
            .column(cohort_activity::Column::Cohort)
            .column(cohort_activity::Column::Month)
            .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
            .filter(cohort_activity::Column::Cohort.between(first.clone(), last.clone()))
            .group_by(cohort_activity::Column::Cohort)
            .group_by(cohort_activity::Column::Month)
            .into_tuple()
            .all(conn)
            .await?;
        let revenue: std::collections::HashMap<(String, String), i64> =
            sales_rollups::Entity::find()
                .filter(sales_rollups::Column::Dim.eq("cohort"))
                .filter(sales_rollups::Column::Currency.eq(currency.code()))
                .filter(sales_rollups::Column::Key.between(first, last))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| {
                    let net = r.gross - r.discounts - r.returns;
                    ((r.key, r.bucket), net)
                })
                .collect();
        let cohorts = months
            .iter()
            .enumerate()
            .map(|(i, cohort)| {
                let customers = sizes
                    .iter()
                    .find(|(c, _)| c == cohort)
                    .map_or(0, |(_, n)| *n);
                let cells: Vec<CohortMonthView> = months[i..]
                    .iter()
                    .enumerate()
                    .map(|(offset, month)| {
                        let n = active
                            .iter()
                            .find(|(c, m, _)| c == cohort && m == month)
                            .map_or(0, |(.., n)| *n);
                        CohortMonthView {
                            month: month.clone(),
                            offset: offset as u32,
                            customers: n,
                            retention: percent(n, customers),
                            net: Money::new(
                                revenue
                                    .get(&(cohort.clone(), month.clone()))
                                    .copied()
                                    .unwrap_or(0),
                                currency,
                            ),
                        }
                    })
                    .collect();
                let total: i64 = cells.iter().map(|c| c.net.amount).sum();
                CohortView {
                    cohort: cohort.clone(),
                    customers,
                    lifetime_value: Money::new(
                        if customers > 0 {
                            div_round(i128::from(total), i128::from(customers))
                        } else {
                            0
                        },
                        currency,
                    ),
                    months: cells,
                }
            })
            .collect();
        Ok(CohortReport {
            currency,
            time_zone: self.tz().name().to_string(),
            from: months.first().cloned().unwrap_or_default(),
            to: months.last().cloned().unwrap_or_default(),
            cohorts,
        })
    }

    /// A report by kind.
    pub async fn report(&self, kind: ReportKind, q: &ReportQuery) -> AppResult<Report> {
        Ok(match kind {
            ReportKind::Sales => Report::Sales(Box::new(self.sales(q).await?)),
            ReportKind::Funnel => Report::Funnel(Box::new(self.funnel(q).await?)),
            ReportKind::Cohorts => Report::Cohorts(Box::new(self.cohorts(q).await?)),
            other => Report::Breakdown(self.breakdown(other, q).await?),
        })
    }

    /// The dashboard's figures.
    pub async fn dashboard(&self) -> AppResult<DashboardView> {
        let currency = self.default_currency();
        let today = self.today();
        let last_30 = Range {
            from: today - Duration::days(29),
            to: today,
        };
        let previous = Range {
            from: today - Duration::days(59),
            to: today - Duration::days(30),
        };
        let daily = self
            .daily(
                Range {
                    from: previous.from,
                    to: today,
                },
                currency,
            )
            .await?;
        let sum = |range: Range| {
            let mut m = Measures::default();
            let mut day = range.from;
            while day <= range.to {
                if let Some(d) = daily.get(&day.to_string()) {
                    m.add(d);
                }
                day += Duration::days(1);
            }
            m
        };
        let hours = sales_rollups::Entity::find()
            .filter(sales_rollups::Column::Dim.eq("hour"))
            .filter(sales_rollups::Column::Currency.eq(currency.code()))
            .filter(
                sales_rollups::Column::Bucket.between(format!("{today}T00"), format!("{today}T23")),
            )
            .all(self.db.reader())
            .await?;
        let now_hour = Utc::now()
            .with_timezone(&self.tz())
            .format("%H")
            .to_string();
        let today_by_hour = (0..24)
            .map(|h| format!("{h:02}"))
            .take_while(|h| *h <= now_hour)
            .map(|hour| {
                let m = hours
                    .iter()
                    .find(|r| r.bucket.ends_with(&format!("T{hour}")))
                    .map(Measures::of_rollup)
                    .unwrap_or_default();
                HourView {
                    hour,
                    orders: m.orders,
                    net: Money::new(m.net(), currency),
                    total: Money::new(m.total, currency),
                }
            })
            .collect();
        Ok(DashboardView {
            currency,
            time_zone: self.tz().name().to_string(),
            today,
            today_figures: FiguresView::of(
                &sum(Range {
                    from: today,
                    to: today,
                }),
                currency,
            ),
            yesterday: FiguresView::of(
                &sum(Range {
                    from: today - Duration::days(1),
                    to: today - Duration::days(1),
                }),
                currency,
            ),
            today_by_hour,
            last_30_days: FiguresView::of(&sum(last_30), currency),
            previous_30_days: FiguresView::of(&sum(previous), currency),
            daily: periods(Group::Day, last_30, &daily, currency),
            top_products: self.top(ReportKind::Products, last_30, currency, 5).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn a_range_splits_into_whole_months_and_the_days_at_its_ends() {
        let split = |from: &str, to: &str| {
            Range {
                from: day(from),
                to: day(to),
            }
            .split()
        };
        assert_eq!(
            split("2025-12-08", "2026-12-07"),
            (
                Some((day("2026-01-01"), day("2026-11-01"))),
                vec![
                    (day("2025-12-08"), day("2025-12-31")),
                    (day("2026-12-01"), day("2026-12-07"))
                ]
            )
        );
        assert_eq!(
            split("2026-02-01", "2026-03-31"),
            (Some((day("2026-02-01"), day("2026-03-01"))), vec![])
        );
        assert_eq!(
            split("2026-02-03", "2026-03-20"),
            (None, vec![(day("2026-02-03"), day("2026-03-20"))])
        );
        assert_eq!(
            split("2026-02-01", "2026-02-27"),
            (None, vec![(day("2026-02-01"), day("2026-02-27"))])
        );
    }
}
