//! A local S3-compatible object store for tests: path-style `PUT` and `GET` of objects in
//! one bucket, requests signed with AWS Signature Version 4 by the access key it expects
//! (the header's shape and credential are checked, not the signature itself).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const S3_BUCKET: &str = "emporium-media";
pub const S3_ACCESS_KEY: &str = "AKIAEMPORIUMTEST";
pub const S3_SECRET_KEY: &str = "emporium-s3-secret";

#[derive(Default)]
struct Bucket {
    objects: HashMap<String, Bytes>,
    signed_puts: usize,
}

/// The running store; stops when dropped.
pub struct FakeS3 {
    pub addr: SocketAddr,
    bucket: Arc<Mutex<Bucket>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn xml_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"),
    )
        .into_response()
}

async fn handle(
    State(bucket): State<Arc<Mutex<Bucket>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with(&format!("AWS4-HMAC-SHA256 Credential={S3_ACCESS_KEY}/")))
        && headers.contains_key("x-amz-date");
    if !signed {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied");
    }
    let Some(key) = uri
        .path()
        .strip_prefix(&format!("/{S3_BUCKET}/"))
        .map(str::to_string)
    else {
        return xml_error(StatusCode::NOT_FOUND, "NoSuchBucket");
    };
    let etag = |data: &[u8]| {
        let digest = Sha256::digest(data);
        format!(
            "\"{}\"",
            digest
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    let mut bucket = bucket.lock().expect("lock");
    match method {
        Method::PUT => {
            let tag = etag(&body);
            bucket.objects.insert(key, body);
            bucket.signed_puts += 1;
            (StatusCode::OK, [(header::ETAG, tag)]).into_response()
        }
        Method::GET | Method::HEAD => match bucket.objects.get(&key) {
            Some(data) => (
                StatusCode::OK,
                [
                    (header::ETAG, etag(data)),
                    (
                        header::LAST_MODIFIED,
                        "Fri, 27 Nov 2026 12:00:00 GMT".to_string(),
                    ),
                    (header::CONTENT_LENGTH, data.len().to_string()),
                ],
                if method == Method::HEAD {
                    Bytes::new()
                } else {
                    data.clone()
                },
            )
                .into_response(),
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchKey"),
        },
        _ => xml_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}

impl FakeS3 {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake s3");
        let addr = listener.local_addr().expect("addr");
        let bucket = Arc::new(Mutex::new(Bucket::default()));
        let app = Router::new().fallback(handle).with_state(bucket.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, bucket, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The keys stored so far.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .bucket
            .lock()
            .expect("lock")
            .objects
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}
