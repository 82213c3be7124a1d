//! Stylesheets and scripts built into the binary, served under URLs that carry a hash of
//! their content (`/assets/store.3f9c2a1b7d0e.css`), so browsers keep them for a year
//! and a new release is fetched at once.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Path prefix of every asset URL.
pub const PREFIX: &str = "/assets/";

const BUILT_IN: &[(&str, &str, &[u8])] = &[
    (
        "store.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/store.css"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/admin.css"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/chat.js"),
    ),
];

struct Asset {
    name: &'static str,
    hashed: String,
    content_type: &'static str,
    body: &'static [u8],
}

fn table() -> &'static [Asset] {
    static TABLE: OnceLock<Vec<Asset>> = OnceLock::new();
    TABLE.get_or_init(|| {
        BUILT_IN
            .iter()
            .map(|(name, content_type, body)| {
                let digest = Sha256::digest(body);
                let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
                let hashed = match name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                    None => format!("{name}.{hash}"),
                };
                Asset {
                    name,
                    hashed,
                    content_type,
                    body,
                }
            })
            .collect()
    })
}

/// The URL of asset `name` (`store.css`), or an empty string for a name that is not
/// built in, so a template typo shows as a missing style rather than a failed page.
pub fn url(name: &str) -> String {
    table()
        .iter()
        .find(|a| a.name == name)
        .map(|a| format!("{PREFIX}{}", a.hashed))
        .unwrap_or_default()
}

/// `GET /assets/{file}`: a hashed name answers with a year-long immutable cache.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = table().iter().find(|a| a.hashed == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_content_hash() {
        let u = url("store.css");
        assert!(
            u.starts_with("/assets/store.") && u.ends_with(".css"),
            "{u}"
        );
        assert_eq!(u.len(), "/assets/store..css".len() + 12);
        assert_eq!(url("missing.css"), "");
    }
}
