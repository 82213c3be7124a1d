//! The index schema: per-language text fields with that language's stemmer and stop
//! words, a plain field for exact SKU hits, facet fields for categories and attributes, and
//! fast fields for prices per currency, stock, rating, popularity and age.

use std::collections::BTreeMap;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument, Term};

/// Bumped whenever the schema or analysis changes: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// The stemmer of a language code, when there is one.
fn language(code: &str) -> Option<Language> {
    Some(match code {
        "en" => Language::English,
        "de" => Language::German,
        "fr" => Language::French,
        "es" => Language::Spanish,
        "it" => Language::Italian,
        "pt" => Language::Portuguese,
        "nl" => Language::Dutch,
        "sv" => Language::Swedish,
        "da" => Language::Danish,
        "no" | "nb" => Language::Norwegian,
        "fi" => Language::Finnish,
        "ru" => Language::Russian,
        _ => return None,
    })
}

/// The analyzer of a language: words, lower-cased, accents folded, stop words dropped,
/// stemmed.
pub fn analyzer(code: &str) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .dynamic();
    match language(code) {
        Some(lang) => {
            let stop = StopWordFilter::new(lang);
            let with_stop = match stop {
                Some(stop) => base.filter_dynamic(stop),
                None => base,
            };
            with_stop
                .filter_dynamic(Stemmer::new(lang))
                .filter_dynamic(AsciiFoldingFilter)
                .build()
        }
        None => base.filter_dynamic(AsciiFoldingFilter).build(),
    }
}

/// Words without stemming: brands, tags, category names, option values.
pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Handles on every field.
#[derive(Clone)]
pub struct Fields {
    pub id: Field,
    pub slug: Field,
    /// The titles per language, as stored JSON for hits.
    pub titles: Field,
    pub brand: Field,
    pub title: BTreeMap<String, Field>,
    pub description: BTreeMap<String, Field>,
    /// Brand, tags, category names and option values, unstemmed.
    pub text: Field,
    pub sku: Field,
    pub category: Field,
    pub attr: Field,
    pub price: BTreeMap<String, Field>,
    pub in_stock: Field,
    pub rating: Field,
    pub popularity: Field,
    pub created: Field,
}

fn text_options(tokenizer: &str, stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

/// The schema for a store's languages and currencies.
pub fn build(languages: &[String], currencies: &[String]) -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED);
    let slug = b.add_text_field("slug", STORED);
    let titles = b.add_text_field("titles", STORED);
    let brand = b.add_text_field("brand", STORED);
    let mut title = BTreeMap::new();
    let mut description = BTreeMap::new();
    for lang in languages {
        let tokenizer = format!("lang_{lang}");
        title.insert(
            lang.clone(),
            b.add_text_field(&format!("title_{lang}"), text_options(&tokenizer, false)),
        );
        description.insert(
            lang.clone(),
            b.add_text_field(
                &format!("description_{lang}"),
                text_options(&tokenizer, false),
            ),
        );
    }
    let text = b.add_text_field("text", text_options("plain", false));
    let sku = b.add_text_field("sku", STRING);
    let category = b.add_facet_field("category", tantivy::schema::FacetOptions::default());
    let attr = b.add_facet_field("attr", tantivy::schema::FacetOptions::default());
    let mut price = BTreeMap::new();
    for code in currencies {
        let code = code.to_ascii_uppercase();
        price.insert(
            code.clone(),
            b.add_i64_field(&format!("price_{code}"), INDEXED | FAST),
        );
    }
    let in_stock = b.add_u64_field("in_stock", INDEXED | FAST);
    let rating = b.add_f64_field("rating", INDEXED | FAST);
    let popularity = b.add_u64_field("popularity", FAST);
    let created = b.add_i64_field("created", FAST);
    let fields = Fields {
        id,
        slug,
        titles,
        brand,
        title,
        description,
        text,
        sku,
        category,
        attr,
        price,
        in_stock,
        rating,
        popularity,
        created,
    };
    (b.build(), fields)
}

/// Registers the analyzers an index of this schema needs (after creating or opening it).
pub fn register_analyzers(index: &Index, languages: &[String]) {
    let manager = index.tokenizers();
    for lang in languages {
        manager.register(&format!("lang_{lang}"), analyzer(lang));
    }
    manager.register("plain", plain_analyzer());
}

/// The term that identifies a product's document.
pub fn id_term(fields: &Fields, id: uuid::Uuid) -> Term {
    Term::from_field_text(fields.id, &id.to_string())
}

/// An empty document.
pub fn new_doc() -> TantivyDocument {
    TantivyDocument::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn each_language_stems_and_drops_its_stop_words() {
        assert_eq!(
            words(&mut analyzer("en"), "The running Jackets"),
            ["run", "jacket"]
        );
        assert_eq!(
            words(&mut analyzer("de"), "Die roten Jacken"),
            ["rot", "jack"]
        );
        assert_eq!(
            words(&mut analyzer("fr"), "Les vestes rouges"),
            ["vest", "roug"]
        );
        assert_eq!(
            words(&mut analyzer("es"), "Las chaquetas rojas"),
            ["chaquet", "roj"]
        );
        assert_eq!(
            words(&mut plain_analyzer(), "Crème Brûlée"),
            ["creme", "brulee"]
        );
    }
}
