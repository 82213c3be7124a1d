//! The storefront's words in the languages it ships (English is the templates' default
//! text). A shop changes or adds words by overriding the templates.

use serde_json::{Value, json};

const GERMAN: &[(&str, &str)] = &[
    ("search", "Suchen"),
    ("search_placeholder", "Produkte suchen"),
    ("cart", "Warenkorb"),
    ("currency", "Währung"),
    ("switch", "Wechseln"),
    ("sold_out", "Ausverkauft"),
    ("home_title", "Willkommen"),
    ("categories", "Kategorien"),
    ("new_products", "Neue Produkte"),
    ("breadcrumbs", "Brotkrümel"),
    ("in_stock", "Auf Lager"),
    ("choose", "Auswahl"),
    ("quantity", "Menge"),
    ("add_to_cart", "In den Warenkorb"),
    ("results", "Treffer"),
    ("sort", "Sortieren nach"),
    ("apply", "Anwenden"),
    ("nothing_found", "Nichts gefunden."),
    ("more", "Mehr"),
    ("not_found", "Nicht gefunden"),
    ("back_home", "Zurück zum Shop"),
    ("item", "Artikel"),
    ("total", "Summe"),
    ("remove", "Entfernen"),
    ("account", "Konto"),
    ("your_account", "Ihr Konto"),
    ("reviews_heading", "Bewertungen"),
    ("review", "Bewertung"),
    ("reviews", "Bewertungen"),
    ("reviews_of", "Bewertungen für"),
    ("all_reviews", "Alle Bewertungen"),
    ("no_reviews_yet", "Noch keine Bewertungen."),
    ("no_reviews", "Keine passenden Bewertungen."),
    ("more_reviews", "Weitere Bewertungen"),
    ("verified_buyer", "Verifizierter Kauf"),
    ("verified_only", "Nur verifizierte Käufe"),
    ("helpful", "Hilfreich"),
    ("not_helpful", "Nicht hilfreich"),
    ("report", "Melden"),
    ("report_reason", "Was stimmt nicht?"),
    ("most_helpful", "Hilfreichste"),
    ("highest", "Beste zuerst"),
    ("lowest", "Schlechteste zuerst"),
    ("stars", "Sterne"),
    ("all", "Alle"),
    ("review_photo", "Foto aus der Bewertung"),
    ("subtotal", "Zwischensumme"),
    ("discount", "Rabatt"),
    ("coupon", "Gutscheincode"),
    ("enter_code", "Code eingeben"),
    ("checkout", "Zur Kasse"),
    ("cart_empty", "Ihr Warenkorb ist leer."),
    ("contact", "Kontakt"),
    ("email", "E-Mail"),
    ("shipping_address", "Lieferadresse"),
    ("name", "Vollständiger Name"),
    ("address", "Adresse"),
    ("address_more", "Wohnung, Etage"),
    ("postal_code", "Postleitzahl"),
    ("city", "Stadt"),
    ("region", "Bundesland oder Region"),
    ("country", "Land"),
    ("delivery", "Lieferung"),
    ("payment", "Zahlung"),
    ("shipping", "Versand"),
    ("tax", "MwSt."),
    ("included", "enthalten"),
    ("place_order", "Kaufen und bezahlen"),
    ("continue", "Weiter zur Lieferung"),
    ("home", "Start"),
    ("sort_relevance", "Beste Treffer"),
    ("sort_newest", "Neueste"),
    ("sort_price", "Preis aufsteigend"),
    ("sort_price_desc", "Preis absteigend"),
    ("sort_title", "Name"),
    ("test_card", "Karte (Testzahlungen)"),
    ("notify_heading", "Ausverkauft? Wir benachrichtigen Sie"),
    ("notify_me", "Benachrichtigen, wenn wieder da"),
];

/// The words of `lang` the templates read as `t.<key>`; empty for English.
pub(crate) fn strings(lang: &str) -> Value {
    match lang {
        "de" => GERMAN
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => json!({}),
    }
}

/// One word in `lang`, else the English.
pub(crate) fn word(lang: &str, key: &str, english: &str) -> String {
    strings(lang)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or(english)
        .to_string()
}
