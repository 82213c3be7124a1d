//! The rules of a ticket that need no database: its statuses and which count as open
//! work, priorities, tags, the signed token of its link and reply address, and how a mail
//! subject is read.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Opened, no one has worked on it yet.
    New,
    /// Someone works on it; the next move is the shop's.
    Open,
    /// The shop answered and waits for the customer.
    Pending,
    /// Put aside until a time or the customer's reply, whichever comes first.
    Snoozed,
    /// Answered; the customer's reply reopens it.
    Resolved,
    /// Done; a customer's reply still reopens it rather than starting a duplicate.
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        Self::New,
        Self::Open,
        Self::Pending,
        Self::Snoozed,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the ticket occupies its agent: the next move is the shop's. A pending or
    /// snoozed ticket waits on someone else and leaves room for another.
    pub fn holds_agent(self) -> bool {
        matches!(self, Self::New | Self::Open)
    }

    /// Whether the conversation is over until the customer speaks again.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// At most this many tags on a ticket, each at most this long.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LEN: usize = 24;

/// Tags as stored: lower case, letters, digits, `-` and `_`, deduplicated, sorted, in
/// `,a,b,` form (so a filter is one `LIKE '%,a,%'`). `None` names the first bad tag.
pub fn tags_column(tags: &[String]) -> Result<String, String> {
    let mut clean: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim().to_lowercase();
        if t.is_empty()
            || t.len() > MAX_TAG_LEN
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "\"{tag}\": a tag is 1 to {MAX_TAG_LEN} letters, digits, - or _"
            ));
        }
        clean.push(t);
    }
    clean.sort();
    clean.dedup();
    if clean.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(if clean.is_empty() {
        String::new()
    } else {
        format!(",{},", clean.join(","))
    })
}

/// The tags of a stored `,a,b,` column.
pub fn tags_of(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The subject of a reply, without the `Re:`/`Fwd:` prefixes mail clients add (in the
/// languages they add them in) and without our `[#1042]` tag, for comparison.
pub fn bare_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let before = s;
        for prefix in [
            "re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "tr:", "antw:",
        ] {
            if s.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            {
                s = s[prefix.len()..].trim_start();
            }
        }
        if let Some(rest) = s.strip_prefix("[#")
            && let Some(end) = rest.find(']')
            && rest[..end].bytes().all(|b| b.is_ascii_digit())
        {
            s = rest[end + 1..].trim_start();
        }
        if s == before {
            break;
        }
    }
    s.to_lowercase()
}

/// The ticket number in a subject's `[#1042]` tag, wherever it stands.
pub fn subject_number(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(at) = rest.find("[#") {
        let after = &rest[at + 2..];
        if let Some(end) = after.find(']')
            && let Ok(n) = after[..end].parse::<i64>()
        {
            return Some(n);
        }
        rest = after;
    }
    None
}

/// The first `limit` characters of `text`, for a summary line.
pub fn excerpt(text: &str, limit: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= limit {
        one_line
    } else {
        let cut: String = one_line.chars().take(limit).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefixes_and_our_tag_are_not_the_subject() {
        assert_eq!(
            bare_subject("Re: AW: [#1042] Where is my parcel?"),
            "where is my parcel?"
        );
        assert_eq!(
            bare_subject("Fwd: RE: where is my parcel?"),
            "where is my parcel?"
        );
        assert_eq!(bare_subject("Reply needed"), "reply needed");
        assert_eq!(subject_number("Re: [#1042] Where"), Some(1042));
        assert_eq!(subject_number("Re: [#abc] [#7] x"), Some(7));
        assert_eq!(subject_number("no tag"), None);
    }

    #[test]
    fn tags_are_clean_sorted_and_unique() {
        assert_eq!(
            tags_column(&["VIP".into(), "refund".into(), "vip".into()]).as_deref(),
            Ok(",refund,vip,")
        );
        assert_eq!(tags_column(&[]).as_deref(), Ok(""));
        assert!(tags_column(&["a,b".into()]).is_err());
        assert_eq!(tags_of(",refund,vip,"), vec!["refund", "vip"]);
    }
}
