//! An HTML page as a response, with the headers every page carries.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// No CDN, no external request, no inline script or style: everything a page uses is
/// served by the node. Forms post only to the node; no site may frame a page. What a
/// browser blocks is reported to [`crate::csp::REPORT_PATH`].
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'; report-uri /csp-reports";

/// A rendered page.
pub struct Page {
    pub status: StatusCode,
    pub html: String,
    /// Pages with secrets in their URL or personal data (account links, order pages)
    /// are kept out of caches and search engines.
    pub private: bool,
}

impl Page {
    pub fn private(status: StatusCode, html: String) -> Self {
        Self {
            status,
            html,
            private: true,
        }
    }
}

/// The headers every HTML page carries.
pub fn page_headers(headers: &mut HeaderMap, private: bool) {
    let set = |headers: &mut HeaderMap, name, value| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // Account links carry their token in the query string: never pass it on.
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if private {
        set(headers, header::CACHE_CONTROL, "no-store");
        set(
            headers,
            header::HeaderName::from_static("x-robots-tag"),
            "noindex",
        );
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        page_headers(response.headers_mut(), self.private);
        response
    }
}
