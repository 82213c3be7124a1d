//! The reports page: sales over a range with its comparison period as an SVG chart and
//! tiles, the period table, and the breakdowns (products, customers, countries, coupons,
//! payments), each downloadable as CSV. Needs `reports.read`, like the API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_analytics::{
    BreakdownReport, CohortReport, FiguresView, FunnelReport, ReportKind, ReportQuery, SalesReport,
};
use emporium_core::{AppError, Money, to_decimal};
use serde_json::{Value, json};

use crate::chart::{self, Bar};
use crate::session::Console;
use crate::state::Admin;

const PERMISSION: &str = "reports.read";

/// The breakdowns shown under the chart: kind, heading, rows.
const BREAKDOWNS: [(ReportKind, &str, u64); 5] = [
    (ReportKind::Products, "Top products", 10),
    (ReportKind::Customers, "New and returning customers", 2),
    (ReportKind::Countries, "Countries", 10),
    (ReportKind::Coupons, "Coupons", 10),
    (ReportKind::Payments, "Payments by provider", 10),
];

/// The change from `before` to `now` as a signed percentage, when there was a before.
fn change(now: i64, before: i64) -> Option<String> {
    (before != 0).then(|| {
        let pct = (now - before) as f64 * 100.0 / before.abs() as f64;
        format!("{pct:+.1}%")
    })
}

fn tile(label: &str, id: &str, now: String, change: Option<String>) -> Value {
    json!({"label": label, "id": id, "value": now, "change": change})
}

/// Which amount of the figures a tile shows.
type Pick = fn(&FiguresView) -> Money;

fn tiles(now: &FiguresView, before: Option<&FiguresView>) -> Vec<Value> {
    let money = |f: &FiguresView, pick: Pick| pick(f).amount;
    let mut out = Vec::new();
    let rows: [(&str, &str, Pick); 4] = [
        ("Net sales", "net", |f| f.net),
        ("Total sales", "total", |f| f.total),
        ("Average order value", "aov", |f| f.average_order_value),
        ("Returns", "returns", |f| f.returns),
    ];
    for (label, id, pick) in rows {
        out.push(tile(
            label,
            id,
            pick(now).to_string(),
            before.and_then(|b| change(money(now, pick), money(b, pick))),
        ));
    }
    out.push(tile(
        "Orders",
        "orders",
        now.orders.to_string(),
        before.and_then(|b| change(now.orders, b.orders)),
    ));
    out.push(tile(
        "Units sold",
        "units",
        now.units.to_string(),
        before.and_then(|b| change(now.units, b.units)),
    ));
    out
}

fn figures_row(f: &FiguresView) -> Value {
    json!({"orders": f.orders, "units": f.units, "gross": f.gross.to_string(),
           "discounts": f.discounts.to_string(), "returns": f.returns.to_string(),
           "net": f.net.to_string(), "shipping": f.shipping.to_string(),
           "tax": f.tax.to_string(), "total": f.total.to_string(),
           "paid": f.paid.to_string()})
}

fn breakdown(report: &BreakdownReport) -> Vec<Value> {
    report
        .rows
        .iter()
        .map(|r| {
            let mut row = figures_row(&r.figures);
            row["label"] = json!(r.label);
            row
        })
        .collect()
}

fn sales_view(report: &SalesReport) -> Value {
    let currency = report.currency;
    let bars: Vec<Bar> = report
        .periods
        .iter()
        .map(|p| Bar {
            label: match report.group {
                emporium_analytics::Group::Day => p.from.format("%d %b").to_string(),
                _ => p.period.clone(),
            },
            value: p.figures.net.amount,
            hover: format!(
                "{}: {} net, {} orders",
                p.period, p.figures.net, p.figures.orders
            ),
        })
        .collect();
    let compare: Option<Vec<i64>> = report.compare.as_ref().map(|c| {
        let mut values: Vec<i64> = c.periods.iter().map(|p| p.figures.net.amount).collect();
        values.resize(bars.len(), 0);
        values
    });
    let svg = chart::bars(
        &format!("Net sales, {} to {}", report.from, report.to),
        &bars,
        compare.as_deref(),
        |v| to_decimal(v, currency),
    );
    let periods: Vec<Value> = report
        .periods
        .iter()
        .map(|p| {
            let mut row = figures_row(&p.figures);
            row["period"] = json!(p.period);
            row
        })
        .collect();
    json!({
        "chart": svg,
        "tiles": tiles(&report.totals, report.compare.as_ref().map(|c| &c.totals)),
        "periods": periods,
        "totals": figures_row(&report.totals),
        "compare": report.compare.as_ref().map(|c| json!({"from": c.from, "to": c.to})),
        "from": report.from, "to": report.to, "currency": currency.code(),
        "time_zone": report.time_zone,
    })
}

/// Cohorts as a table: a row per cohort, a cell per month after its first, shaded by
/// retention (classes, since the page's policy allows no inline styles).
fn cohorts_view(report: &CohortReport) -> Value {
    let width = report.cohorts.first().map_or(0, |c| c.months.len());
    json!({
        "offsets": (0..width).collect::<Vec<_>>(),
        "rows": report.cohorts.iter().map(|c| json!({
            "cohort": c.cohort, "customers": c.customers,
            "lifetime_value": c.lifetime_value.to_string(),
            "cells": c.months.iter().map(|m| json!({
                "text": m.retention.map(|r| format!("{r:.0}%")).unwrap_or_default(),
                "heat": m.retention.map_or(0, |r| ((r / 20.0).ceil() as i64).clamp(0, 5)),
                "title": format!("{}: {} customers, {} net", m.month, m.customers, m.net),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The funnel's steps as rows and a chart.
fn funnel_view(report: &FunnelReport) -> Value {
    const LABELS: [&str; 6] = [
        "Sessions",
        "Viewed a product",
        "Added to cart",
        "Started checkout",
        "Ordered",
        "Paid",
    ];
    let bars: Vec<Bar> = report
        .steps
        .iter()
        .zip(LABELS)
        .map(|(s, label)| Bar {
            label: label.to_string(),
            value: s.count,
            hover: format!("{label}: {}", s.count),
        })
        .collect();
    let pct = |p: Option<f64>| p.map(|p| format!("{p:.2}%"));
    json!({
        "chart": chart::bars("The shopping funnel", &bars, None, |v| v.to_string()),
        "steps": report.steps.iter().zip(LABELS).map(|(s, label)| json!({
            "label": label, "count": s.count,
            "of_sessions": pct(s.of_sessions), "of_previous": pct(s.of_previous),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /admin/reports`.
pub(crate) async fn page(
    State(admin): State<Admin>,
    console: Console,
    Query(q): Query<ReportQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let (q, error) = match admin.analytics.resolve(&q) {
        Ok(_) => (q, None),
        Err(AppError::Validation(errors)) => (
            ReportQuery::default(),
            Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(err) => return err.into_response(),
    };
    let sales = match admin.analytics.sales(&q).await {
        Ok(sales) => sales,
        Err(err) => return err.into_response(),
    };
    let mut sections = Vec::new();
    for (kind, heading, limit) in BREAKDOWNS {
        let q = ReportQuery {
            limit: Some(limit),
            ..q.clone()
        };
        match admin.analytics.breakdown(kind, &q).await {
            Ok(report) => sections.push(json!({"kind": kind.as_str(), "heading": heading,
                                               "rows": breakdown(&report)})),
            Err(err) => return err.into_response(),
        }
    }
    let funnel = match admin.analytics.funnel(&q).await {
        Ok(funnel) => funnel_view(&funnel),
        Err(err) => return err.into_response(),
    };
    let cohorts = match admin.analytics.cohorts(&q).await {
        Ok(report) => cohorts_view(&report),
        Err(err) => return err.into_response(),
    };
    let query = format!(
        "from={}&to={}&group={}&compare={}&currency={}",
        sales.from,
        sales.to,
        json!(sales.group).as_str().unwrap_or("day"),
        json!(q.compare.unwrap_or_default())
            .as_str()
            .unwrap_or("previous"),
        sales.currency.code()
    );
    let mut view = sales_view(&sales);
    view["group"] = json!(sales.group);
    view["compare_with"] = json!(q.compare.unwrap_or_default());
    admin
        .render(
            StatusCode::OK,
            "reports.html",
            console.context(
                "/admin/reports",
                json!({"title": "Reports", "sales": view, "sections": sections, "funnel": funnel,
                       "cohorts": cohorts,
                       "query": query, "error": error,
                       "currencies": admin.config.store.currencies.clone()}),
            ),
        )
        .into_response()
}

/// `GET /admin/reports/{kind}.csv`: a report (or the ledger) as the API's CSV.
pub(crate) async fn csv(
    State(admin): State<Admin>,
    console: Console,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    if let Err(page) = console.require(&admin, PERMISSION) {
        return page.into_response();
    }
    let kind = file.strip_suffix(".csv").unwrap_or(&file);
    admin
        .analytics
        .csv_download(kind, &q)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}
