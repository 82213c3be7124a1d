//! Title completions: every typed word but the last must match, the last as a prefix.

use emporium_core::AppResult;
use std::collections::BTreeMap;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use crate::replica::Replica;
use crate::state::Suggestion;

/// Up to `limit` product titles completing `q`.
pub fn products(
    replica: &Replica,
    q: &str,
    lang: &str,
    limit: usize,
) -> AppResult<Vec<Suggestion>> {
    let f = &replica.fields;
    let Some(field) = f
        .title
        .get(lang)
        .or_else(|| f.title.values().next())
        .copied()
    else {
        return Ok(Vec::new());
    };
    let Ok(mut analyzer) = replica.index.tokenizer_for_field(field) else {
        return Ok(Vec::new());
    };
    let mut words = Vec::new();
    let mut stream = analyzer.token_stream(q);
    while let Some(token) = stream.next() {
        words.push(token.text.clone());
    }
    let Some(last) = words.pop() else {
        return Ok(Vec::new());
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .take(crate::query::MAX_WORDS)
        .map(|w| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::Basic,
                )),
            )
        })
        .collect();
    clauses.push((
        Occur::Must,
        Box::new(FuzzyTermQuery::new_prefix(
            Term::from_field_text(field, &last),
            0,
            true,
        )),
    ));
    let searcher = replica.reader.searcher();
    let top = searcher
        .search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit * 2).order_by_score(),
        )
        .map_err(anyhow::Error::from)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (_, addr) in top {
        let doc: TantivyDocument = searcher.doc(addr).map_err(anyhow::Error::from)?;
        let get = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let titles: BTreeMap<String, String> =
            serde_json::from_str(&get(f.titles)).unwrap_or_default();
        let title = titles
            .get(lang)
            .or_else(|| titles.values().next())
            .cloned()
            .unwrap_or_default();
        if seen.insert(title.clone()) {
            out.push(Suggestion {
                text: title,
                kind: "product".into(),
                slug: Some(get(f.slug)),
            });
        }
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}
