//! Request bodies and response views of the catalog routes.

use chrono::{DateTime, Utc};
use emporium_core::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::{OptionSpec, ProductStatus};

/// A category as products name it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A category with its children, for the tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<Uuid>,
    pub position: i32,
    #[schema(no_recursion)]
    pub children: Vec<CategoryView>,
    /// All translations (admin views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translations: Option<BTreeMap<String, CategoryText>>,
}

/// A category's text in one language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryText {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImageView {
    pub url: String,
    /// In the asked language, else the default.
    pub alt: Option<String>,
    pub id: Option<Uuid>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// The variants it shows (a red shirt's images); empty for all.
    pub variant_ids: Vec<Uuid>,
    /// WebP thumbnails by width, once made.
    pub thumbnails: BTreeMap<String, String>,
}

/// A variant as shoppers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantView {
    pub id: Uuid,
    pub sku: String,
    pub barcode: Option<String>,
    pub options: BTreeMap<String, String>,
    /// Null when the variant has no price in the asked currency (none is set, and no
    /// exchange rate converts the default one): it cannot be bought in that currency,
    /// and a cart in it answers 409 `no_price_in_currency`.
    pub price: Option<Money>,
    pub compare_at_price: Option<Money>,
    /// In stock (or sold on backorder) and priced in the asked currency.
    pub available: bool,
    pub weight_grams: Option<i32>,
    /// Explicit prices per currency (admin views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<BTreeMap<String, PriceBody>>,
}

/// SEO fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeoView {
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
}

/// A product with everything a product page needs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub brand: Option<String>,
    pub tags: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    pub tax_class: String,
    pub categories: Vec<CategoryRef>,
    pub options: Vec<OptionSpec>,
    pub images: Vec<ImageView>,
    pub variants: Vec<VariantView>,
    /// The lowest variant price; null when no variant has a price in the asked currency.
    pub price: Option<Money>,
    /// Some variant is available (in stock and priced in the asked currency).
    pub available: bool,
    /// Published reviews: count, average and distribution by stars.
    pub rating: crate::ratings::RatingView,
    pub seo: SeoView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// All translations (admin views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translations: Option<BTreeMap<String, ProductText>>,
}

/// A product in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductSummaryView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    pub status: ProductStatus,
    /// The lowest variant price; null when no variant has a price in the asked currency.
    pub price: Option<Money>,
    pub compare_at_price: Option<Money>,
    /// The same as the product page's: some variant is in stock and priced.
    pub available: bool,
    pub image: Option<ImageView>,
    /// Published reviews: count, average and distribution by stars.
    pub rating: crate::ratings::RatingView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPageView {
    pub data: Vec<ProductSummaryView>,
    pub next_cursor: Option<String>,
}

/// A product's text in one language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductText {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
}

/// A price in one currency, minor units.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    pub amount: i64,
    pub compare_at: Option<i64>,
}

/// A new variant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "sku": "NW-MCS-GREY-L",
    "barcode": "0842135571372",
    "options": { "color": "grey", "size": "L" },
    "prices": {
        "USD": { "amount": 8900, "compare_at": 11000 },
        "EUR": { "amount": 8200 }
    },
    "weight_grams": 340,
    "length_mm": 300,
    "width_mm": 250,
    "height_mm": 40
})))]
pub struct VariantBody {
    pub sku: String,
    pub barcode: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Prices by ISO 4217 code; the store's default currency is required.
    pub prices: BTreeMap<String, PriceBody>,
    pub weight_grams: Option<i32>,
    pub length_mm: Option<i32>,
    pub width_mm: Option<i32>,
    pub height_mm: Option<i32>,
    pub tax_class: Option<String>,
}

/// Changes to a variant; absent fields stay. `prices` sets the given currencies.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "prices": { "USD": { "amount": 7900, "compare_at": 8900 } },
    "weight_grams": 330
})))]
pub struct VariantPatchBody {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub options: Option<BTreeMap<String, String>>,
    pub prices: Option<BTreeMap<String, PriceBody>>,
    pub weight_grams: Option<i32>,
}

/// A new product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "slug": "merino-crew-sweater",
    "status": "published",
    "brand": "Northwind",
    "tags": ["knitwear", "merino"],
    "attributes": { "material": "100% merino wool", "care": "Hand wash cold" },
    "tax_class": "standard",
    "translations": {
        "en": {
            "title": "Merino Crew Sweater",
            "description": "A lightweight crew-neck sweater knitted from fine merino wool.",
            "meta_title": "Merino Crew Sweater | Northwind",
            "meta_description": "A soft, breathable merino wool sweater in navy and grey."
        },
        "de": {
            "title": "Merino-Pullover mit Rundhalsausschnitt",
            "description": "Ein leichter Pullover aus feiner Merinowolle."
        }
    },
    "options": [
        { "name": "color", "values": ["navy", "grey"] },
        { "name": "size", "values": ["S", "M", "L"] }
    ],
    "category_ids": ["0192ef7a-3c21-7e44-a1b9-5d6e7f809a1b"],
    "variants": [
        {
            "sku": "NW-MCS-NAVY-M",
            "barcode": "0842135571204",
            "options": { "color": "navy", "size": "M" },
            "prices": { "USD": { "amount": 8900 }, "EUR": { "amount": 8200 } },
            "weight_grams": 320
        }
    ]
})))]
pub struct ProductBody {
    /// Made from the default-language title when absent.
    pub slug: Option<String>,
    pub status: Option<ProductStatus>,
    pub brand: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub tax_class: Option<String>,
    /// Text by language; the store's default language is required.
    pub translations: BTreeMap<String, ProductText>,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub category_ids: Vec<Uuid>,
    #[serde(default)]
    pub variants: Vec<VariantBody>,
}

/// Changes to a product; absent fields stay. `translations` upserts the given languages;
/// `category_ids` and `options` replace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "status": "published",
    "tags": ["knitwear", "merino", "bestseller"],
    "translations": {
        "fr": {
            "title": "Pull col rond en mérinos",
            "description": "Un pull léger en laine mérinos fine."
        }
    }
})))]
pub struct ProductPatchBody {
    pub slug: Option<String>,
    pub status: Option<ProductStatus>,
    pub brand: Option<String>,
    pub tags: Option<Vec<String>>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub tax_class: Option<String>,
    pub translations: Option<BTreeMap<String, ProductText>>,
    pub options: Option<Vec<OptionSpec>>,
    pub category_ids: Option<Vec<Uuid>>,
}

/// A new category.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "slug": "knitwear",
    "parent_id": "0192ef79-8b10-7c2d-9e3f-4a5b6c7d8e9f",
    "position": 3,
    "translations": {
        "en": {
            "name": "Knitwear",
            "description": "Sweaters, cardigans and knitted vests."
        },
        "de": { "name": "Strickwaren" }
    }
})))]
pub struct CategoryBody {
    pub slug: Option<String>,
    pub parent_id: Option<Uuid>,
    pub position: Option<i32>,
    /// Text by language; the default language is required.
    pub translations: BTreeMap<String, CategoryText>,
}

/// Changes to a category; absent fields stay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "slug": "knitwear-and-sweaters",
    "position": 1,
    "translations": {
        "en": { "name": "Knitwear & sweaters" }
    }
})))]
pub struct CategoryPatchBody {
    pub slug: Option<String>,
    /// Move under another category (`null` keeps the parent; use `move_to_root`).
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub move_to_root: bool,
    pub position: Option<i32>,
    pub translations: Option<BTreeMap<String, CategoryText>>,
}

/// An exchange rate: units of the currency per unit of the default currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "rate": "0.92"
})))]
pub struct RateBody {
    /// A decimal string such as `"0.92"`; at most 9 decimals.
    pub rate: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateView {
    pub currency: String,
    pub rate: String,
    pub updated_at: DateTime<Utc>,
}

/// The image upload form (`multipart/form-data`), described for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(examples(json!({
    "file": "(binary JPEG, PNG or WebP data)",
    "alt": "Navy merino crew sweater, front view",
    "variant_ids": "0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d,0192f0c4-7a2b-7c3a-8e4f-5a6b7c8d9e0f",
    "position": 0
})))]
pub struct ImageUploadForm {
    /// The image: JPEG, PNG or WebP, checked by its content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Alt text in the default language; `alt.<lang>` parts give other languages.
    alt: Option<String>,
    /// Comma-separated ids of the variants the image shows.
    variant_ids: Option<String>,
    /// Where it goes among the product's images.
    position: Option<i32>,
}
