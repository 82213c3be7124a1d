//! Cursor pagination as API.md fixes it: `?limit=` (default 20, max 100) and `?cursor=`,
//! answered as `{"data": [...], "next_cursor": "..." | null}`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The query parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The checked page size.
    pub fn limit(&self) -> Result<u32, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid("limit", "must be between 1 and 100")),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from `limit + 1` rows read in list order: the extra row only says there is
    /// more, and the cursor is that of the last row kept.
    pub fn of_rows<R>(
        mut rows: Vec<R>,
        limit: u32,
        cursor: impl Fn(&R) -> String,
        view: impl FnMut(R) -> T,
    ) -> Self {
        let limit = limit as usize;
        let next_cursor = (rows.len() > limit).then(|| cursor(&rows[limit - 1]));
        rows.truncate(limit);
        Self {
            data: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn the_extra_row_only_says_there_is_more() {
        let page = Page::of_rows(vec![1, 2, 3], 2, |n| n.to_string(), |n| n * 10);
        assert_eq!(
            (page.data, page.next_cursor),
            (vec![10, 20], Some("2".into()))
        );
        let last = Page::of_rows(vec![1, 2], 2, |n| n.to_string(), |n| n);
        assert_eq!((last.data, last.next_cursor), (vec![1, 2], None));
    }
}
