//! A local S3-compatible object store for tests: path-style `PUT`, `GET`, `HEAD`,
//! `DELETE`, multipart uploads, `ListObjectsV2` (one page) and `DeleteObjects` in one
//! bucket, requests signed with AWS Signature Version 4 by the access key it expects (the
//! header's shape and credential are checked, not the signature itself).

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
    /// Each object with when it was last written.
    objects: HashMap<String, (Bytes, chrono::DateTime<chrono::Utc>)>,
    signed_puts: usize,
    /// Multipart uploads in progress: their parts by number.
    uploads: HashMap<String, Vec<(u32, Bytes)>>,
    next_upload: u64,
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
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let path = uri.path();
    let mut bucket = bucket.lock().expect("lock");
    if path == format!("/{S3_BUCKET}") || path == format!("/{S3_BUCKET}/") {
        return bucket_request(&mut bucket, &method, &query, &body);
    }
    let Some(key) = path.strip_prefix(&format!("/{S3_BUCKET}/")).map(|k| {
        percent_encoding::percent_decode_str(k)
            .decode_utf8_lossy()
            .into_owned()
    }) else {
        return xml_error(StatusCode::NOT_FOUND, "NoSuchBucket");
    };
    match method {
        // Multipart uploads: begin, parts, complete, abort.
        Method::POST if query.contains_key("uploads") => {
            bucket.next_upload += 1;
            let id = format!("upload-{}", bucket.next_upload);
            bucket.uploads.insert(id.clone(), Vec::new());
            xml_ok(format!(
                "<InitiateMultipartUploadResult><Bucket>{S3_BUCKET}</Bucket><Key>{key}</Key>\
                 <UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
            ))
        }
        Method::PUT if query.contains_key("uploadId") => {
            let (Some(parts), Some(number)) = (
                bucket.uploads.get_mut(&query["uploadId"]),
                query.get("partNumber").and_then(|n| n.parse::<u32>().ok()),
            ) else {
                return xml_error(StatusCode::NOT_FOUND, "NoSuchUpload");
            };
            parts.retain(|(n, _)| *n != number);
            parts.push((number, body.clone()));
            (StatusCode::OK, [(header::ETAG, etag(&body))]).into_response()
        }
        Method::POST if query.contains_key("uploadId") => {
            let Some(mut parts) = bucket.uploads.remove(&query["uploadId"]) else {
                return xml_error(StatusCode::NOT_FOUND, "NoSuchUpload");
            };
            parts.sort_by_key(|(n, _)| *n);
            let whole: Vec<u8> = parts.iter().flat_map(|(_, b)| b.iter().copied()).collect();
            let tag = etag(&whole);
            bucket
                .objects
                .insert(key.clone(), (Bytes::from(whole), now()));
            bucket.signed_puts += 1;
            xml_ok(format!(
                "<CompleteMultipartUploadResult><Bucket>{S3_BUCKET}</Bucket><Key>{key}</Key>\
                 <ETag>{tag}</ETag></CompleteMultipartUploadResult>"
            ))
        }
        Method::DELETE if query.contains_key("uploadId") => {
            bucket.uploads.remove(&query["uploadId"]);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::DELETE => {
            bucket.objects.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PUT => {
            let tag = etag(&body);
            bucket.objects.insert(key, (body, now()));
            bucket.signed_puts += 1;
            (StatusCode::OK, [(header::ETAG, tag)]).into_response()
        }
        Method::GET | Method::HEAD => match bucket.objects.get(&key) {
            Some((data, modified)) => (
                StatusCode::OK,
                [
                    (header::ETAG, etag(data)),
                    (
                        header::LAST_MODIFIED,
                        modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
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

fn etag(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    format!(
        "\"{}\"",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn xml_ok(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"),
    )
        .into_response()
}

/// `ListObjectsV2` (one page, no delimiter) and `DeleteObjects`.
fn bucket_request(
    bucket: &mut Bucket,
    method: &Method,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if *method == Method::GET && query.get("list-type").map(String::as_str) == Some("2") {
        let prefix = query.get("prefix").cloned().unwrap_or_default();
        let mut keys: Vec<&String> = bucket
            .objects
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .collect();
        keys.sort();
        let contents: String = keys
            .iter()
            .map(|k| {
                let (data, modified) = &bucket.objects[*k];
                format!(
                    "<Contents><Key>{k}</Key><LastModified>{}</LastModified><ETag>{}</ETag>\
                     <Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                    modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    etag(data),
                    data.len()
                )
            })
            .collect();
        return xml_ok(format!(
            "<ListBucketResult><Name>{S3_BUCKET}</Name><Prefix>{prefix}</Prefix>\
             <KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>\
             {contents}</ListBucketResult>",
            keys.len()
        ));
    }
    if *method == Method::POST && query.contains_key("delete") {
        let text = String::from_utf8_lossy(body);
        let mut deleted = String::new();
        for piece in text.split("<Key>").skip(1) {
            if let Some((key, _)) = piece.split_once("</Key>") {
                bucket.objects.remove(key);
                deleted.push_str(&format!("<Deleted><Key>{key}</Key></Deleted>"));
            }
        }
        return xml_ok(format!("<DeleteResult>{deleted}</DeleteResult>"));
    }
    xml_error(StatusCode::NOT_IMPLEMENTED, "NotImplemented")
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
