//! Substring filters in SQL: a shopper's or staff member's text taken literally inside a
//! LIKE pattern on both backends (`%`, `_` and `\` escaped, `ESCAPE '\'` declared).

use sea_orm::sea_query::LikeExpr;

/// `%text%` with `text` matched literally.
pub fn contains(text: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Expr, ExprTrait, Query, SqliteQueryBuilder};

    #[test]
    fn wildcards_are_taken_literally() {
        let sql = Query::select()
            .expr(Expr::val("x"))
            .and_where(Expr::col(sea_orm::sea_query::Alias::new("a")).like(contains("50%_a\\b")))
            .to_string(SqliteQueryBuilder);
        assert!(sql.contains(r"'%50\%\_a\\b%'"), "{sql}");
        assert!(sql.contains(r"ESCAPE '\'"), "{sql}");
    }
}
