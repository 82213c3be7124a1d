//! The rules of reviews that need no I/O: states, rejection reasons, the automatic screen
//! that holds a review for a human, and the sort orders with their cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use emporium_core::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a review is in moderation. Only published reviews are shown and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Published,
    Rejected,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Published => "published",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Published, Self::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Why staff rejected a review. A fixed list, so that every rejection can be accounted
/// for (16 CFR 465 forbids suppressing reviews for being negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Spam,
    OffTopic,
    /// About delivery or service only, not the product.
    ShippingOnly,
    PersonalData,
    Offensive,
}

impl RejectReason {
    pub const ALL: [Self; 5] = [
        Self::Spam,
        Self::OffTopic,
        Self::ShippingOnly,
        Self::PersonalData,
        Self::Offensive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::OffTopic => "off_topic",
            Self::ShippingOnly => "shipping_only",
            Self::PersonalData => "personal_data",
            Self::Offensive => "offensive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason as staff read it in the console.
    pub fn label(self) -> &'static str {
        match self {
            Self::Spam => "Spam or advertising",
            Self::OffTopic => "Not about the product",
            Self::ShippingOnly => "About shipping or service only",
            Self::PersonalData => "Contains personal data",
            Self::Offensive => "Offensive or abusive",
        }
    }
}

/// Why a shopper reports a review.
pub const REPORT_REASONS: [&str; 6] = [
    "spam",
    "offensive",
    "off_topic",
    "personal_data",
    "fake",
    "other",
];

/// What the automatic screen found, if anything: the review waits for a human.
pub fn screen(title: &str, body: &str, held_words: &[String]) -> Option<String> {
    let text = format!("{title}\n{body}").to_lowercase();
    if ["http://", "https://", "www."]
        .iter()
        .any(|m| text.contains(m))
    {
        return Some("contains a link".into());
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(word) = held_words.iter().find(|held| {
        let held = held.to_lowercase();
        words.iter().any(|w| *w == held)
    }) {
        return Some(format!("contains a listed word ({word})"));
    }
    // The same word five times in a row, or one character ten times: filler, not words.
    let mut run = 1;
    for pair in words.windows(2) {
        run = if pair[0] == pair[1] { run + 1 } else { 1 };
        if run >= 5 {
            return Some("repeated text".into());
        }
    }
    let mut last = None;
    let mut run = 0;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        run = if Some(c) == last { run + 1 } else { 1 };
        last = Some(c);
        if run >= 10 {
            return Some("repeated text".into());
        }
    }
    None
}

/// The fingerprint of a review's words, to find the same text posted again: lower case,
/// whitespace collapsed. Short texts ("Great!") are common and not held.
pub fn body_hash(body: &str) -> String {
    let normal: Vec<String> = body.split_whitespace().map(str::to_lowercase).collect();
    let normal = normal.join(" ");
    if normal.chars().count() < 40 {
        return String::new();
    }
    Sha256::digest(normal.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The orders in which a product's reviews can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewSort {
    Newest,
    MostHelpful,
    Highest,
    Lowest,
}

impl ReviewSort {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        Ok(match s.unwrap_or("newest") {
            "newest" => Self::Newest,
            "helpful" => Self::MostHelpful,
            "highest" => Self::Highest,
            "lowest" => Self::Lowest,
            _ => {
                return Err(AppError::invalid(
                    "sort",
                    "must be newest, helpful, highest or lowest",
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::MostHelpful => "helpful",
            Self::Highest => "highest",
            Self::Lowest => "lowest",
        }
    }
}

/// Where the next page starts: the last review's sort key, publication time and id, so a
/// deep page costs what the first does (an index range, never an offset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort's own key (helpful votes or stars); 0 for newest.
    pub k: i64,
    /// Microseconds since the epoch.
    pub t: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> AppResult<Self> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this list gave"))
    }

    pub fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.t).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_holds_links_listed_words_and_filler() {
        let words = vec!["scam".to_string()];
        assert_eq!(screen("Nice", "Fits well, warm.", &words), None);
        assert!(screen("Nice", "see www.example.com", &words).is_some());
        assert!(screen("Nice", "Buy at HTTPS://x.example", &words).is_some());
        assert!(screen("Total SCAM", "no", &words).is_some());
        // A listed word inside another word is not held.
        assert_eq!(screen("Scampi", "tasty", &words), None);
        assert!(screen("a", "good good good good good", &words).is_some());
        assert!(screen("a", "!!!!!!!!!!", &words).is_some());
    }

    #[test]
    fn the_same_words_hash_the_same_and_short_texts_are_not_compared() {
        let a = body_hash("This jacket kept me warm through the whole winter, great.");
        let b = body_hash("  this jacket kept me   WARM through the whole winter, great.");
        assert_eq!(a, b);
        assert!(!a.is_empty());
        assert_eq!(body_hash("Great!"), "");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_422() {
        let c = Cursor {
            k: 4,
            t: 1_700_000_000_000_000,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).expect("cursor"), c);
        assert!(Cursor::decode("nope").is_err());
        assert!(ReviewSort::parse(Some("best")).is_err());
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::parse(r.as_str()), Some(r));
        }
    }
}
