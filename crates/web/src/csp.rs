//! Where browsers report what the Content-Security-Policy blocked (`report-uri
//! /csp-reports` in every page's policy). A report means a page asked for something
//! that is not the node's own (a template override with a CDN link, an injected
//! script), so each is logged and counted (`csp_violations_total` by directive); the
//! console's page test fails on any.

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::Deserialize;

/// The path every page's policy sends reports to.
pub const REPORT_PATH: &str = "/csp-reports";

/// The old `report-uri` body (`application/csp-report`), which Chromium and Firefox send.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "csp-report")]
    report: Report,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Report {
    document_uri: String,
    effective_directive: String,
    violated_directive: String,
    blocked_uri: String,
}

/// The directives a report may name, as metric labels.
const DIRECTIVES: &[&str] = &[
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "object-src",
    "frame-src",
    "frame-ancestors",
    "form-action",
    "base-uri",
    "worker-src",
    "manifest-src",
];

fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// `POST /csp-reports`: logged and counted; always 204, so a browser never retries.
pub async fn report(body: Bytes) -> StatusCode {
    let Ok(Envelope { report }) = serde_json::from_slice::<Envelope>(&body) else {
        return StatusCode::NO_CONTENT;
    };
    let directive = if report.effective_directive.is_empty() {
        report.violated_directive.split(' ').next().unwrap_or("")
    } else {
        report.effective_directive.as_str()
    };
    // The directive is a label: only a known short name, so a forged report cannot
    // grow the metric's cardinality.
    let label = DIRECTIVES
        .iter()
        .find(|d| **d == directive)
        .copied()
        .unwrap_or("other");
    metrics::counter!("csp_violations_total", "directive" => label).increment(1);
    tracing::warn!(
        directive = label,
        blocked = clip(&report.blocked_uri, 200),
        page = clip(&report.document_uri, 200),
        "content security policy violation"
    );
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "hé");
        assert_eq!(clip("hi", 10), "hi");
    }
}
