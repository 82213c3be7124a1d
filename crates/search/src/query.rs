//! Turns a search request into a tantivy query and runs it: typo-tolerant words (edit
//! distance by word length), a prefix on the last word, a title phrase boost, exact SKU
//! hits first, filters that do not score, sorts, facet counts on the filtered result, and
//! offset pagination with the total.

use emporium_core::{AppError, AppResult, Currency, FieldError, Money};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Bound;
use tantivy::collector::{Collector, Count, FacetCollector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::{
    DocAddress, DocId, Order, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};
use utoipa::ToSchema;

use crate::replica::Replica;

/// Longest accepted query text.
pub const MAX_QUERY_CHARS: usize = 200;
/// Words of a query that count; more are ignored.
pub const MAX_WORDS: usize = 10;
/// Deepest accepted page.
pub const MAX_OFFSET: usize = 10_000;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    Popularity,
    /// Best rated first.
    Rating,
}

impl SortBy {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        Ok(match s.unwrap_or("relevance") {
            "relevance" => Self::Relevance,
            "price" => Self::PriceAsc,
            "-price" => Self::PriceDesc,
            "newest" => Self::Newest,
            "popularity" => Self::Popularity,
            "rating" => Self::Rating,
            _ => {
                return Err(AppError::invalid(
                    "sort",
                    "must be relevance, price, -price, newest, popularity or rating",
                ));
            }
        })
    }
}

/// A checked search request.
#[derive(Debug, Clone)]
pub struct SearchParams {
    pub q: String,
    pub lang: String,
    pub currency: Currency,
    /// Category slug path from the root (`["men", "shirts"]`).
    pub category: Option<Vec<String>>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub in_stock: bool,
    pub rating_min: Option<f64>,
    /// `attr.color=red` (or `attr[color]=red`) filters, lower-cased.
    pub attrs: Vec<(String, String)>,
    pub sort: SortBy,
    pub limit: usize,
    pub offset: usize,
}

impl SearchParams {
    /// The same request always gives the same key (filters in a fixed order).
    pub fn cache_key(&self) -> String {
        let mut attrs = self.attrs.clone();
        attrs.sort();
        format!(
            "{}|{}|{}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{}|{}",
            self.q.trim().to_lowercase(),
            self.lang,
            self.currency,
            self.category,
            self.price_min,
            self.price_max,
            self.in_stock,
            self.rating_min,
            attrs,
            self.sort,
            self.limit,
            self.offset
        )
    }
}

/// One hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitView {
    /// The product id.
    pub id: String,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    /// The lowest price in the asked currency.
    pub price: Option<Money>,
    pub score: f32,
}

/// One facet value and how many results have it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// A search answer (API.md).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchView {
    pub hits: Vec<HitView>,
    pub total: u64,
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// Allowed edit distance for a word of `len` characters (5+: 1, 9+: 2).
pub fn edit_distance(len: usize) -> u8 {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The words of `text` as the field's analyzer makes them.
fn analyze(replica: &Replica, field: tantivy::schema::Field, text: &str) -> Vec<String> {
    let Ok(mut analyzer) = replica.index.tokenizer_for_field(field) else {
        return Vec::new();
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        if out.len() >= MAX_WORDS {
            break;
        }
        out.push(token.text.clone());
    }
    out
}

fn exact_query(field: tantivy::schema::Field, word: &str, boost: f32) -> Box<dyn Query> {
    let term = Term::from_field_text(field, word);
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
        boost,
    ))
}

/// One word in one field. A word the index knows is matched as it is (typo tolerance
/// would only add noise and cost); an unknown one with the edit distance its length allows,
/// and the last word also as a prefix (the shopper may still be typing).
fn word_query(
    searcher: &tantivy::Searcher,
    field: tantivy::schema::Field,
    word: &str,
    last: bool,
    boost: f32,
) -> Box<dyn Query> {
    let term = Term::from_field_text(field, word);
    if searcher.doc_freq(&term).unwrap_or(0) > 0 {
        return exact_query(field, word, boost * 2.0);
    }
    let distance = edit_distance(word.chars().count());
    let loose: Box<dyn Query> = if last {
        Box::new(FuzzyTermQuery::new_prefix(term, distance, true))
    } else {
        Box::new(FuzzyTermQuery::new(term, distance, true))
    };
    Box::new(BoostQuery::new(loose, boost))
}

fn filter(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

/// Builds the scoring part of the query (`None` for an empty query).
fn text_query(
    replica: &Replica,
    searcher: &tantivy::Searcher,
    params: &SearchParams,
) -> Option<Box<dyn Query>> {
    let f = &replica.fields;
    let lang = if f.title.contains_key(&params.lang) {
        params.lang.clone()
    } else {
        f.title.keys().next()?.clone()
    };
    let title = *f.title.get(&lang)?;
    let description = *f.description.get(&lang)?;
    let stemmed = analyze(replica, title, &params.q);
    let plain = analyze(replica, f.text, &params.q);
    if stemmed.is_empty() && plain.is_empty() {
        return None;
    }
    let mut per_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let n = stemmed.len().max(plain.len());
    for i in 0..n {
        let last = i + 1 == n;
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(word) = stemmed.get(i) {
            alternatives.push((Occur::Should, word_query(searcher, title, word, last, 3.0)));
            // Descriptions match exactly: typo tolerance there costs more than it finds.
            alternatives.push((Occur::Should, exact_query(description, word, 1.0)));
        }
        if let Some(word) = plain.get(i) {
            alternatives.push((Occur::Should, word_query(searcher, f.text, word, last, 1.5)));
        }
        per_word.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    let mut top: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Should, Box::new(BooleanQuery::new(per_word)))];
    if stemmed.len() > 1 {
        let terms = stemmed
            .iter()
            .map(|w| Term::from_field_text(title, w))
            .collect();
        top.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(PhraseQuery::new(terms)), 5.0)),
        ));
    }
    let sku = params.q.trim().to_lowercase();
    if !sku.is_empty() {
        let exact = TermQuery::new(Term::from_field_text(f.sku, &sku), IndexRecordOption::Basic);
        top.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(exact), 1000.0)),
        ));
    }
    Some(Box::new(BooleanQuery::new(top)))
}

/// The whole query: text (or everything) and the filters.
fn build(
    replica: &Replica,
    searcher: &tantivy::Searcher,
    params: &SearchParams,
) -> AppResult<Box<dyn Query>> {
    let f = &replica.fields;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    match text_query(replica, searcher, params) {
        Some(q) => clauses.push((Occur::Must, q)),
        // Text with no searchable word in it (`*`, `-`, an emoji) matches nothing rather
        // than the whole catalog: the shopper asked for something we cannot read.
        None if !params.q.trim().is_empty() => {
            clauses.push((Occur::Must, Box::new(tantivy::query::EmptyQuery)));
        }
        None => clauses.push((Occur::Must, Box::new(AllQuery))),
    }
    if let Some(path) = &params.category {
        let facet = Facet::from_path(path.iter().map(String::as_str));
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_facet(f.category, &facet),
            IndexRecordOption::Basic,
        ))));
    }
    for (name, value) in &params.attrs {
        let facet = Facet::from_path([name.as_str(), value.as_str()]);
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_facet(f.attr, &facet),
            IndexRecordOption::Basic,
        ))));
    }
    if params.price_min.is_some() || params.price_max.is_some() {
        let field = *f
            .price
            .get(params.currency.code())
            .ok_or_else(|| AppError::invalid("currency", "is not one of the store's currencies"))?;
        let lower = params.price_min.map_or(Bound::Unbounded, |v| {
            Bound::Included(Term::from_field_i64(field, v))
        });
        let upper = params.price_max.map_or(Bound::Unbounded, |v| {
            Bound::Included(Term::from_field_i64(field, v))
        });
        clauses.push(filter(Box::new(RangeQuery::new(lower, upper))));
    }
    if params.in_stock {
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_field_u64(f.in_stock, 1),
            IndexRecordOption::Basic,
        ))));
    }
    if let Some(min) = params.rating_min {
        clauses.push(filter(Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_f64(f.rating, min)),
            Bound::Unbounded,
        ))));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// Counts results per price bucket, from the asked currency's fast field.
struct PriceBuckets {
    field: String,
    edges: Vec<i64>,
}

struct PriceBucketsSegment {
    column: Option<Column<i64>>,
    edges: Vec<i64>,
    counts: Vec<u64>,
}

impl Collector for PriceBuckets {
    type Fruit = Vec<u64>;
    type Child = PriceBucketsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(PriceBucketsSegment {
            column: segment.fast_fields().i64(&self.field).ok(),
            edges: self.edges.clone(),
            counts: vec![0; self.edges.len() + 1],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        let mut total = vec![0; self.edges.len() + 1];
        for fruit in fruits {
            for (t, c) in total.iter_mut().zip(fruit) {
                *t += c;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for PriceBucketsSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(price) = self.column.as_ref().and_then(|c| c.first(doc)) {
            let bucket = self.edges.iter().take_while(|e| price >= **e).count();
            self.counts[bucket] += 1;
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

/// Bucket edges in minor units: 25, 50, 100, 200, 500 major units.
fn price_edges(currency: Currency) -> Vec<i64> {
    let scale = 10i64.pow(currency.minor_units());
    [25, 50, 100, 200, 500].iter().map(|m| m * scale).collect()
}

fn hit(
    replica: &Replica,
    searcher: &tantivy::Searcher,
    addr: DocAddress,
    score: f32,
    params: &SearchParams,
) -> AppResult<HitView> {
    let f = &replica.fields;
    let doc: TantivyDocument = searcher.doc(addr).map_err(anyhow::Error::from)?;
    let text = |field| {
        doc.get_first(field)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let titles: BTreeMap<String, String> =
        serde_json::from_str(&text(f.titles)).unwrap_or_default();
    let title = titles
        .get(&params.lang)
        .or_else(|| titles.values().next())
        .cloned()
        .unwrap_or_default();
    let price = f.price.get(params.currency.code()).and_then(|field| {
        let name = replica.schema.get_field_name(*field);
        searcher
            .segment_reader(addr.segment_ord)
            .fast_fields()
            .i64(name)
            .ok()
            .and_then(|c| c.first(addr.doc_id))
            .map(|a| Money::new(a, params.currency))
    });
    let brand = text(f.brand);
    Ok(HitView {
        id: text(f.id),
        slug: text(f.slug),
        title,
        brand: (!brand.is_empty()).then_some(brand),
        price,
        score,
    })
}

/// The top documents by a fast field (scores are not computed: 0).
fn by_fast_field<T>(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    top: TopDocs,
    field: &str,
    order: Order,
) -> AppResult<Vec<(f32, DocAddress)>>
where
    T: tantivy::fastfield::FastValue,
    tantivy::collector::sort_key::ComparatorEnum:
        tantivy::collector::sort_key::Comparator<Option<T>>,
{
    Ok(searcher
        .search(
            query,
            &top.order_by_fast_field::<T>(field.to_string(), order),
        )
        .map_err(anyhow::Error::from)?
        .into_iter()
        .map(|(_, a)| (0.0, a))
        .collect())
}

/// Runs a search on `replica`.
pub fn run(
    replica: &Replica,
    params: &SearchParams,
    attr_names: &[String],
) -> AppResult<SearchView> {
    let searcher = replica.reader.searcher();
    let query = build(replica, &searcher, params)?;
    let top = TopDocs::with_limit(params.limit.max(1)).and_offset(params.offset);
    let price_field = replica
        .fields
        .price
        .get(params.currency.code())
        .map(|f| replica.schema.get_field_name(*f).to_string())
        .unwrap_or_default();
    let mut categories = FacetCollector::for_field("category");
    let parent = match &params.category {
        Some(path) => Facet::from_path(path.iter().map(String::as_str)),
        None => Facet::root(),
    };
    categories.add_facet(parent.clone());
    let mut attrs = FacetCollector::for_field("attr");
    for name in attr_names {
        attrs.add_facet(Facet::from_path([name.as_str()]));
    }
    let buckets = PriceBuckets {
        field: price_field.clone(),
        edges: price_edges(params.currency),
    };
    let (count, cats, attr_counts, price_counts) = searcher
        .search(&query, &(Count, categories, attrs, buckets))
        .map_err(anyhow::Error::from)?;
    let scored: Vec<(f32, DocAddress)> = match params.sort {
        SortBy::Relevance => searcher
            .search(&query, &top.order_by_score())
            .map_err(anyhow::Error::from)?,
        SortBy::PriceAsc => by_fast_field::<i64>(&searcher, &query, top, &price_field, Order::Asc)?,
        SortBy::PriceDesc => {
            by_fast_field::<i64>(&searcher, &query, top, &price_field, Order::Desc)?
        }
        SortBy::Newest => by_fast_field::<i64>(&searcher, &query, top, "created", Order::Desc)?,
        SortBy::Popularity => {
            by_fast_field::<u64>(&searcher, &query, top, "popularity", Order::Desc)?
        }
        SortBy::Rating => by_fast_field::<f64>(&searcher, &query, top, "rating", Order::Desc)?,
    };
    let hits = scored
        .into_iter()
        .map(|(score, addr)| hit(replica, &searcher, addr, score, params))
        .collect::<AppResult<Vec<_>>>()?;
    let mut facets = BTreeMap::new();
    let category_counts: Vec<FacetCount> = cats
        .get(parent)
        .map(|(facet, count)| FacetCount {
            value: facet
                .to_path()
                .last()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            count,
        })
        .collect();
    facets.insert("category".to_string(), category_counts);
    for name in attr_names {
        let values: Vec<FacetCount> = attr_counts
            .get(Facet::from_path([name.as_str()]))
            .map(|(facet, count)| FacetCount {
                value: facet
                    .to_path()
                    .last()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                count,
            })
            .collect();
        if !values.is_empty() {
            facets.insert(format!("attr.{name}"), values);
        }
    }
    let edges = price_edges(params.currency);
    let price: Vec<FacetCount> = price_counts
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c > 0)
        .map(|(i, count)| {
            let low = if i == 0 { 0 } else { edges[i - 1] };
            let value = match edges.get(i) {
                Some(high) => format!("{low}-{}", high - 1),
                None => format!("{low}-"),
            };
            FacetCount { value, count }
        })
        .collect();
    facets.insert("price".to_string(), price);
    Ok(SearchView {
        hits,
        total: count as u64,
        facets,
    })
}

/// Checks raw request values into [`SearchParams`].
#[allow(clippy::too_many_arguments)]
pub fn check(
    q: Option<String>,
    lang: String,
    currency: Currency,
    raw: &[(String, String)],
) -> AppResult<SearchParams> {
    let mut errors = Vec::new();
    let q = q.unwrap_or_default();
    if q.chars().count() > MAX_QUERY_CHARS {
        errors.push(FieldError::new(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut params = SearchParams {
        q,
        lang,
        currency,
        category: None,
        price_min: None,
        price_max: None,
        in_stock: false,
        rating_min: None,
        attrs: Vec::new(),
        sort: SortBy::Relevance,
        limit: 20,
        offset: 0,
    };
    let mut sort = None;
    for (key, value) in raw {
        match key.as_str() {
            "q" | "lang" | "currency" => {}
            "category" => {
                let path: Vec<String> = value
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if path.is_empty() || path.len() > 10 {
                    errors.push(FieldError::new("category", "must be a category slug"));
                } else {
                    params.category = Some(path);
                }
            }
            "price_min" | "price_max" => match value.parse::<i64>() {
                Ok(v) if v >= 0 => {
                    if key == "price_min" {
                        params.price_min = Some(v);
                    } else {
                        params.price_max = Some(v);
                    }
                }
                _ => errors.push(FieldError::new(
                    key.clone(),
                    "must be a non-negative amount in minor units",
                )),
            },
            "in_stock" => match value.as_str() {
                "true" | "1" => params.in_stock = true,
                "false" | "0" => params.in_stock = false,
                _ => errors.push(FieldError::new("in_stock", "must be true or false")),
            },
            "rating_min" => match value.parse::<f64>() {
                Ok(v) if (0.0..=5.0).contains(&v) => params.rating_min = Some(v),
                _ => errors.push(FieldError::new(
                    "rating_min",
                    "must be a number from 0 to 5",
                )),
            },
            "sort" => sort = Some(value.clone()),
            "limit" => match value.parse::<usize>() {
                Ok(v) if (1..=100).contains(&v) => params.limit = v,
                _ => errors.push(FieldError::new("limit", "must be between 1 and 100")),
            },
            "offset" => match value.parse::<usize>() {
                Ok(v) if v <= MAX_OFFSET => params.offset = v,
                _ => errors.push(FieldError::new(
                    "offset",
                    format!("must be between 0 and {MAX_OFFSET}"),
                )),
            },
            // `attr.color` as documented since the start; `attr[color]` as OpenAPI's
            // deepObject style writes it, so generated clients can send it.
            other => match other.strip_prefix("attr.").or_else(|| {
                other
                    .strip_prefix("attr[")
                    .and_then(|rest| rest.strip_suffix(']'))
            }) {
                Some(name)
                    if !name.is_empty()
                        && name.len() <= 64
                        && !value.is_empty()
                        && value.len() <= 100 =>
                {
                    params
                        .attrs
                        .push((name.to_lowercase(), value.to_lowercase()));
                }
                _ => errors.push(FieldError::new(
                    other.to_string(),
                    "is not a search parameter",
                )),
            },
        }
    }
    if let (Some(min), Some(max)) = (params.price_min, params.price_max)
        && min > max
    {
        errors.push(FieldError::new("price_min", "must not exceed price_max"));
    }
    match SortBy::parse(sort.as_deref()) {
        Ok(s) => params.sort = s,
        Err(AppError::Validation(mut e)) => errors.append(&mut e),
        Err(e) => return Err(e),
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_grows_with_word_length() {
        assert_eq!(edit_distance(4), 0);
        assert_eq!(edit_distance(5), 1);
        assert_eq!(edit_distance(8), 1);
        assert_eq!(edit_distance(9), 2);
    }

    #[test]
    fn bad_parameters_are_field_errors() {
        let raw = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let err = check(
            None,
            "en".into(),
            Currency::USD,
            &raw(&[("price_min", "-1"), ("sort", "cheapest"), ("facet", "x")]),
        );
        let Err(AppError::Validation(errors)) = err else {
            panic!("expected 422")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["price_min", "facet", "sort"]);
        let ok = check(
            Some("red shirt".into()),
            "en".into(),
            Currency::USD,
            &raw(&[("attr.Color", "Red"), ("in_stock", "true")]),
        )
        .expect("valid");
        assert_eq!(ok.attrs, [("color".to_string(), "red".to_string())]);
        assert!(ok.in_stock);
        let deep = check(
            None,
            "en".into(),
            Currency::USD,
            &raw(&[("attr[Color]", "Red")]),
        )
        .expect("the deepObject spelling");
        assert_eq!(deep.attrs, ok.attrs);
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        assert!(check(Some(long), "en".into(), Currency::USD, &[]).is_err());
    }
}
