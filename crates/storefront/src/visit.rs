//! The visit the funnel counts steps by: a first-party cookie holding a random id, set on
//! the first page and living 30 minutes from there (a visit), never sent anywhere else.
//! It is set only when missing, and that response is marked private, so the shared cache
//! headers of catalog pages stay true for everyone else.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use emporium_analytics::Step;

use crate::session::cookie_value;
use crate::state::Storefront;

const VISIT: &str = "emporium_visit";
const VISIT_SECS: u64 = 30 * 60;

/// Counts `step` for the shopper's visit when `response` shows it happened, opening a
/// visit when there is none.
pub(crate) fn count(
    sf: &Storefront,
    headers: &HeaderMap,
    step: Step,
    mut response: Response,
) -> Response {
    let status = response.status();
    let happened = match step {
        Step::AddedToCart => status == StatusCode::SEE_OTHER,
        _ => status.is_success() || status == StatusCode::NOT_MODIFIED,
    };
    if !happened {
        return response;
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let existing = cookie_value(headers, VISIT)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let visit = existing.clone().unwrap_or_else(|| {
        use rand::Rng;
        format!("{:032x}", rand::thread_rng().r#gen::<u128>())
    });
    if sf.analytics.record(step, &visit, agent) && existing.is_none() {
        let h = response.headers_mut();
        h.append(header::SET_COOKIE, sf.cookie(VISIT, &visit, VISIT_SECS));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}
