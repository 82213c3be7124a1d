//! Files on ticket messages: kept in the media store under the ticket
//! (`tickets/<ticket>/<hash>.<ext>`), never under the public `/media/` path, typed by
//! their content rather than their name, and served only to whoever may read the ticket,
//! always as a download.

use base64::Engine;
use bytes::Bytes;
use emporium_core::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::state::Support;
use crate::views::AttachmentBody;

/// At most this many files on one message, each at most this large.
pub const MAX_FILES: usize = 5;
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// A stored file as a message records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// `<hash>.<ext>`: the name under the ticket's folder and in its URL.
    pub file: String,
    /// The sender's name for it (shown, never used as a path).
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// The content type and extension `data` is, by its first bytes.
pub fn sniff(data: &[u8]) -> (&'static str, &'static str) {
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(b"%PDF-") {
        ("application/pdf", "pdf")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        ("image/png", "png")
    } else if starts(b"\xff\xd8\xff") {
        ("image/jpeg", "jpg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        ("image/gif", "gif")
    } else if data.len() >= 12 && starts(b"RIFF") && &data[8..12] == b"WEBP" {
        ("image/webp", "webp")
    } else if starts(b"PK\x03\x04") {
        ("application/zip", "zip")
    } else if !data.contains(&0) && std::str::from_utf8(data).is_ok() {
        ("text/plain; charset=utf-8", "txt")
    } else {
        ("application/octet-stream", "bin")
    }
}

/// A file name fit to show and to put in `Content-Disposition`: no path, no quotes or
/// control characters, at most 120 characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(120)
        .collect();
    if clean.trim().is_empty() {
        "attachment".into()
    } else {
        clean.trim().to_string()
    }
}

impl Support {
    /// Decodes, checks and stores `files` for `ticket`. Decoding and limits are checked
    /// for all before any is stored, so a refused message leaves nothing behind.
    pub(crate) async fn store_attachments(
        &self,
        ticket: Uuid,
        files: &[AttachmentBody],
    ) -> AppResult<Vec<Stored>> {
        if files.len() > MAX_FILES {
            return Err(AppError::invalid(
                "attachments",
                format!("at most {MAX_FILES} files on one message"),
            ));
        }
        let mut decoded = Vec::with_capacity(files.len());
        for (i, file) in files.iter().enumerate() {
            let data = base64::engine::general_purpose::STANDARD
                .decode(file.content_base64.trim())
                .map_err(|_| {
                    AppError::invalid(format!("attachments[{i}].content_base64"), "is not base64")
                })?;
            if data.is_empty() || data.len() > MAX_BYTES {
                return Err(AppError::invalid(
                    format!("attachments[{i}].content_base64"),
                    format!("a file is 1 byte to {} MiB", MAX_BYTES / 1024 / 1024),
                ));
            }
            decoded.push((clean_name(&file.name), data));
        }
        let mut stored = Vec::with_capacity(decoded.len());
        for (name, data) in decoded {
            let (content_type, ext) = sniff(&data);
            let hash: String = Sha256::digest(&data)
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
            let file = format!("{hash}.{ext}");
            let size = data.len();
            self.media
                .put(&format!("tickets/{ticket}/{file}"), Bytes::from(data))
                .await?;
            stored.push(Stored {
                file,
                name,
                content_type: content_type.into(),
                size,
            });
        }
        Ok(stored)
    }

    /// A stored file of `ticket` with its recorded name and type; `None` when the
    /// ticket has no such file.
    pub(crate) async fn attachment(
        &self,
        ticket: Uuid,
        file: &str,
    ) -> AppResult<Option<(Stored, Bytes)>> {
        let valid = file.len() <= 40
            && file
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
            && !file.contains("..");
        if !valid {
            return Ok(None);
        }
        let Some(meta) = self.attachment_meta(ticket, file).await? else {
            return Ok(None);
        };
        Ok(self
            .media
            .get(&format!("tickets/{ticket}/{file}"))
            .await?
            .map(|data| (meta, data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_type_not_the_name() {
        assert_eq!(sniff(b"%PDF-1.7 ...").0, "application/pdf");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0rest").1, "jpg");
        assert_eq!(sniff(b"plain words").1, "txt");
        assert_eq!(sniff(b"\x00\x01\x02").1, "bin");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b;c.pdf"), "abc.pdf");
        assert_eq!(clean_name(""), "attachment");
    }
}
