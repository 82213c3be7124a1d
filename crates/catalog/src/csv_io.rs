//! Products as CSV, one row per variant with Shopify-like columns: export, and an import
//! that checks every row, groups rows by handle, and writes each product whole or not at
//! all (a bad row refuses its product and says why; the rest of the file goes in).

use emporium_core::{AppError, AppResult, Currency, FieldError, from_decimal, to_decimal};
use emporium_db::entity::{
    product_options, product_translations, products, variant_prices, variants,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::{OptionSpec, ProductStatus};
use crate::state::Catalog;
use crate::views::*;

/// The columns, in export order. Import finds them by name, in any order and case;
/// others are ignored.
pub const COLUMNS: [&str; 19] = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Tags",
    "Status",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Barcode",
    "Variant Grams",
    "Variant Price",
    "Variant Compare At Price",
    "SEO Title",
    "SEO Description",
];

/// A row that was refused, and why. Rows count as a spreadsheet shows them: the header
/// is row 1.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub row: usize,
    pub handle: String,
    pub field: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub rows: usize,
    pub products_created: usize,
    pub products_updated: usize,
    pub variants_written: usize,
    /// Rows not imported (every row of a refused product).
    pub rows_refused: usize,
    pub errors: Vec<RowError>,
}

struct Row {
    number: usize,
    cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.cells
            .get(column)
            .map(String::as_str)
            .unwrap_or("")
            .trim()
    }

    fn opt(&self, column: &str) -> Option<String> {
        Some(self.get(column).to_string()).filter(|s| !s.is_empty())
    }
}

fn status_of(text: &str) -> Result<Option<ProductStatus>, String> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "" => None,
        "active" | "published" | "true" => Some(ProductStatus::Published),
        "draft" | "false" => Some(ProductStatus::Draft),
        "archived" => Some(ProductStatus::Archived),
        _ => return Err("must be active, draft or archived".into()),
    })
}

/// A product's rows turned into the admin API's body, or the rows' problems.
struct Group {
    handle: String,
    rows: Vec<Row>,
}

impl Catalog {
    fn group_body(
        &self,
        group: &Group,
        errors: &mut Vec<RowError>,
    ) -> Option<(ProductBody, Vec<usize>)> {
        let currency = self.default_currency();
        let first = &group.rows[0];
        let mut err = |row: usize, field: &str, message: String| {
            errors.push(RowError {
                row,
                handle: group.handle.clone(),
                field: field.into(),
                message,
            })
        };
        let mut failed = false;
        let status = match status_of(first.get("Status")) {
            Ok(s) => s,
            Err(m) => {
                err(first.number, "Status", m);
                failed = true;
                None
            }
        };
        let option_names: Vec<String> = (1..=3)
            .filter_map(|i| first.opt(&format!("Option{i} Name")))
            .collect();
        let mut values: Vec<Vec<String>> = vec![Vec::new(); option_names.len()];
        let mut variants_out = Vec::with_capacity(group.rows.len());
        let mut rows_of_variants = Vec::with_capacity(group.rows.len());
        for row in &group.rows {
            let sku = row.get("Variant SKU").to_string();
            if sku.is_empty() {
                err(row.number, "Variant SKU", "is required".into());
                failed = true;
            }
            let price = match from_decimal(row.get("Variant Price"), currency) {
                Some(p) if p >= 0 => Some(p),
                _ => {
                    err(
                        row.number,
                        "Variant Price",
                        format!(
                            "must be a decimal amount in {} such as 25.00",
                            currency.code()
                        ),
                    );
                    failed = true;
                    None
                }
            };
            let compare_at = match row.opt("Variant Compare At Price") {
                None => None,
                Some(text) => match from_decimal(&text, currency) {
                    Some(p) if p >= 0 => Some(p),
                    _ => {
                        err(
                            row.number,
                            "Variant Compare At Price",
                            "must be a decimal amount".into(),
                        );
                        failed = true;
                        None
                    }
                },
            };
            let grams = match row.opt("Variant Grams") {
                None => None,
                Some(text) => match text.parse::<f64>() {
                    Ok(g) if (0.0..=10_000_000.0).contains(&g) => Some(g.round() as i32),
                    _ => {
                        err(
                            row.number,
                            "Variant Grams",
                            "must be a weight in grams".into(),
                        );
                        failed = true;
                        None
                    }
                },
            };
            let mut options = BTreeMap::new();
            for (i, name) in option_names.iter().enumerate() {
                let value = row.get(&format!("Option{} Value", i + 1)).to_string();
                if value.is_empty() {
                    err(
                        row.number,
                        &format!("Option{} Value", i + 1),
                        format!("is required ({name})"),
                    );
                    failed = true;
                    continue;
                }
                if !values[i].contains(&value) {
                    values[i].push(value.clone());
                }
                options.insert(name.clone(), value);
            }
            let mut prices = BTreeMap::new();
            prices.insert(
                currency.code().to_string(),
                PriceBody {
                    amount: price.unwrap_or(0),
                    compare_at,
                },
            );
            variants_out.push(VariantBody {
                sku,
                barcode: row.opt("Variant Barcode"),
                options,
                prices,
                weight_grams: grams,
                length_mm: None,
                width_mm: None,
                height_mm: None,
                tax_class: None,
            });
            rows_of_variants.push(row.number);
        }
        let title = first.get("Title").to_string();
        if title.is_empty() {
            err(
                first.number,
                "Title",
                "is required on a product's first row".into(),
            );
            failed = true;
        }
        if failed {
            return None;
        }
        let mut translations = BTreeMap::new();
        translations.insert(
            self.default_language().to_string(),
            ProductText {
                title,
                description: first.get("Body (HTML)").to_string(),
                meta_title: first.opt("SEO Title"),
                meta_description: first.opt("SEO Description"),
            },
        );
        let body = ProductBody {
            slug: Some(group.handle.clone()),
            status,
            brand: first.opt("Vendor"),
            tags: first
                .get("Tags")
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            attributes: BTreeMap::new(),
            tax_class: None,
            translations,
            options: option_names
                .into_iter()
                .zip(values)
                .map(|(name, values)| OptionSpec { name, values })
                .collect(),
            category_ids: Vec::new(),
            variants: variants_out,
        };
        Some((body, rows_of_variants))
    }

    /// The rows of a product whose write failed, named by the API's field errors
    /// (`variants[2].sku` belongs to the group's third row).
    fn write_errors(group: &Group, rows: &[usize], err: AppError, errors: &mut Vec<RowError>) {
        let mut push = |row: usize, field: String, message: String| {
            errors.push(RowError {
                row,
                handle: group.handle.clone(),
                field,
                message,
            })
        };
        let first = group.rows[0].number;
        match err {
            AppError::Validation(fields) => {
                for FieldError { field, message } in fields {
                    let row = field
                        .strip_prefix("variants[")
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| rows.get(i).copied())
                        .unwrap_or(first);
                    push(row, field, message);
                }
            }
            AppError::Conflict { detail, .. } => push(first, "Handle".into(), detail),
            other => push(first, "Handle".into(), other.to_string()),
        }
    }

    /// Imports a CSV file (see [`COLUMNS`]). A product whose handle exists is updated:
    /// its text, vendor, tags and status, and its variants by SKU (new SKUs are added).
    /// `progress(done, total)` is called as rows are written.
    #[tracing::instrument(skip_all, fields(bytes = data.len()))]
    pub async fn import_csv(
        &self,
        data: &[u8],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> AppResult<ImportReport> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::None)
            .from_reader(data);
        let headers = reader
            .headers()
            .map_err(|e| AppError::invalid("file", format!("is not CSV: {e}")))?
            .clone();
        let mut index: HashMap<&'static str, usize> = HashMap::new();
        for (i, name) in headers.iter().enumerate() {
            if let Some(column) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name.trim())) {
                index.insert(column, i);
            }
        }
        let missing: Vec<FieldError> = ["Handle", "Variant SKU", "Variant Price"]
            .into_iter()
            .filter(|c| !index.contains_key(c))
            .map(|c| FieldError::new("header", format!("the column {c} is missing")))
            .collect();
        if !missing.is_empty() {
            return Err(AppError::Validation(missing));
        }
        let mut report = ImportReport::default();
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Group> = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let number = i + 2;
            report.rows += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.errors.push(RowError {
                        row: number,
                        handle: String::new(),
                        field: "row".into(),
                        message: format!("cannot be read: {e}"),
                    });
                    report.rows_refused += 1;
                    continue;
                }
            };
            let cells: HashMap<&'static str, String> = index
                .iter()
                .map(|(column, i)| (*column, record.get(*i).unwrap_or("").to_string()))
                .collect();
            let row = Row { number, cells };
            let handle = row.get("Handle").to_ascii_lowercase();
            if handle.is_empty() {
                report.errors.push(RowError {
                    row: number,
                    handle,
                    field: "Handle".into(),
                    message: "is required".into(),
                });
                report.rows_refused += 1;
                continue;
            }
            if !groups.contains_key(&handle) {
                order.push(handle.clone());
            }
            groups
                .entry(handle.clone())
                .or_insert_with(|| Group {
                    handle,
                    rows: Vec::new(),
                })
                .rows
                .push(row);
        }
        let total = report.rows;
        let mut done = report.rows_refused;
        for handle in order {
            let Some(group) = groups.remove(&handle) else {
                continue;
            };
            let count = group.rows.len();
            let before = report.errors.len();
            let outcome = match self.group_body(&group, &mut report.errors) {
                None => None,
                Some((body, rows)) => match self.write_group(&group, body).await {
                    Ok(created) => Some(created),
                    Err(e) => {
                        Self::write_errors(&group, &rows, e, &mut report.errors);
                        None
                    }
                },
            };
            match outcome {
                Some(true) => report.products_created += 1,
                Some(false) => report.products_updated += 1,
                None => {
                    report.rows_refused += count;
                    if report.errors.len() == before {
                        report.errors.push(RowError {
                            row: group.rows[0].number,
                            handle: group.handle.clone(),
                            field: "Handle".into(),
                            message: "the product was refused".into(),
                        });
                    }
                }
            }
            if outcome.is_some() {
                report.variants_written += count;
            }
            done += count;
            progress(done, total);
        }
        report.errors.sort_by_key(|e| e.row);
        Ok(report)
    }

    /// Writes one product: new, or an update of the one with its handle. Answers whether
    /// it was created.
    async fn write_group(&self, group: &Group, body: ProductBody) -> AppResult<bool> {
        let existing = products::Entity::find()
            .filter(products::Column::Slug.eq(group.handle.clone()))
            .filter(products::Column::DeletedAt.is_null())
            .one(self.db.current())
            .await?;
        let Some(product) = existing else {
            self.create_product(body).await?;
            return Ok(true);
        };
        // What import cannot change is checked before anything is written, so a product
        // is not left half-updated: its option types, and SKUs held by other products.
        let existing_options = product_options::Entity::find()
            .filter(product_options::Column::ProductId.eq(product.id))
            .order_by_asc(product_options::Column::Position)
            .all(self.db.current())
            .await?;
        let names: Vec<&str> = existing_options.iter().map(|o| o.name.as_str()).collect();
        let asked: Vec<&str> = body.options.iter().map(|o| o.name.as_str()).collect();
        if names != asked {
            return Err(AppError::invalid(
                "Option1 Name",
                format!(
                    "the product's options are {}; an import cannot change them",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        let skus: Vec<String> = body.variants.iter().map(|v| v.sku.clone()).collect();
        let taken = variants::Entity::find()
            .filter(variants::Column::Sku.is_in(skus.clone()))
            .filter(variants::Column::ProductId.ne(product.id))
            .all(self.db.current())
            .await?;
        if let Some(clash) = taken.first() {
            let i = skus.iter().position(|s| *s == clash.sku).unwrap_or(0);
            return Err(AppError::Validation(vec![FieldError::new(
                format!("variants[{i}].sku"),
                "is already used by another product",
            )]));
        }
        let merged: Vec<OptionSpec> = existing_options
            .iter()
            .zip(&body.options)
            .map(|(old, new)| {
                let mut values: Vec<String> =
                    serde_json::from_str(&old.option_values).unwrap_or_default();
                for v in &new.values {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
                OptionSpec {
                    name: old.name.clone(),
                    values,
                }
            })
            .collect();
        self.update_product(
            product.id,
            ProductPatchBody {
                slug: None,
                status: body.status,
                brand: body.brand.clone(),
                tags: Some(body.tags.clone()),
                attributes: None,
                tax_class: None,
                translations: Some(body.translations.clone()),
                options: (!merged.is_empty()).then_some(merged),
                category_ids: None,
            },
        )
        .await?;
        let current: HashMap<String, Uuid> = variants::Entity::find()
            .filter(variants::Column::ProductId.eq(product.id))
            .all(self.db.current())
            .await?
            .into_iter()
            .map(|v| (v.sku, v.id))
            .collect();
        for (i, variant) in body.variants.into_iter().enumerate() {
            let result = match current.get(&variant.sku) {
                Some(id) => {
                    self.update_variant(
                        product.id,
                        *id,
                        VariantPatchBody {
                            sku: None,
                            barcode: variant.barcode,
                            options: Some(variant.options),
                            prices: Some(variant.prices),
                            weight_grams: variant.weight_grams,
                        },
                    )
                    .await
                }
                None => self.add_variant(product.id, variant).await.map(|_| ()),
            };
            result.map_err(|e| match e {
                AppError::Validation(fields) => AppError::Validation(
                    fields
                        .into_iter()
                        .map(|f| FieldError::new(format!("variants[{i}].{}", f.field), f.message))
                        .collect(),
                ),
                other => other,
            })?;
        }
        Ok(false)
    }

    /// Every product that is not deleted, one row per variant, in the default language
    /// and currency.
    pub async fn export_csv(&self) -> AppResult<Vec<u8>> {
        let conn = self.db.current();
        let currency: Currency = self.default_currency();
        let lang = self.default_language().to_string();
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(COLUMNS).map_err(anyhow::Error::from)?;
        let mut after: Option<Uuid> = None;
        loop {
            let mut query = products::Entity::find()
                .filter(products::Column::DeletedAt.is_null())
                .order_by_asc(products::Column::Id)
                .limit(500);
            if let Some(after) = after {
                query = query.filter(products::Column::Id.gt(after));
            }
            let page = query.all(conn).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let ids: Vec<Uuid> = page.iter().map(|p| p.id).collect();
            let texts: HashMap<Uuid, product_translations::Model> =
                product_translations::Entity::find()
                    .filter(product_translations::Column::ProductId.is_in(ids.clone()))
                    .filter(product_translations::Column::Lang.eq(lang.clone()))
                    .all(conn)
                    .await?
                    .into_iter()
                    .map(|t| (t.product_id, t))
                    .collect();
            let mut options: HashMap<Uuid, Vec<product_options::Model>> = HashMap::new();
            for o in product_options::Entity::find()
                .filter(product_options::Column::ProductId.is_in(ids.clone()))
                .order_by_asc(product_options::Column::Position)
                .all(conn)
                .await?
            {
                options.entry(o.product_id).or_default().push(o);
            }
            let mut by_product: HashMap<Uuid, Vec<variants::Model>> = HashMap::new();
            for v in variants::Entity::find()
                .filter(variants::Column::ProductId.is_in(ids.clone()))
                .order_by_asc(variants::Column::Position)
                .all(conn)
                .await?
            {
                by_product.entry(v.product_id).or_default().push(v);
            }
            let variant_ids: Vec<Uuid> = by_product.values().flatten().map(|v| v.id).collect();
            let prices: HashMap<Uuid, variant_prices::Model> = variant_prices::Entity::find()
                .filter(variant_prices::Column::VariantId.is_in(variant_ids))
                .filter(variant_prices::Column::Currency.eq(currency.code()))
                .all(conn)
                .await?
                .into_iter()
                .map(|p| (p.variant_id, p))
                .collect();
            for product in &page {
                let text = texts.get(&product.id);
                let names: Vec<String> = options
                    .get(&product.id)
                    .map(|o| o.iter().map(|o| o.name.clone()).collect())
                    .unwrap_or_default();
                let tags: Vec<String> = serde_json::from_str(&product.tags).unwrap_or_default();
                let status = match ProductStatus::parse(&product.status) {
                    Some(ProductStatus::Published) => "active",
                    Some(ProductStatus::Archived) => "archived",
                    _ => "draft",
                };
                for (i, v) in by_product
                    .get(&product.id)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let values: BTreeMap<String, String> =
                        serde_json::from_str(&v.options).unwrap_or_default();
                    let option = |n: usize| -> (String, String) {
                        match names.get(n) {
                            Some(name) => (
                                if i == 0 { name.clone() } else { String::new() },
                                values.get(name).cloned().unwrap_or_default(),
                            ),
                            None => (String::new(), String::new()),
                        }
                    };
                    let (o1n, o1v) = option(0);
                    let (o2n, o2v) = option(1);
                    let (o3n, o3v) = option(2);
                    let price = prices.get(&v.id);
                    let first = |s: String| if i == 0 { s } else { String::new() };
                    out.write_record([
                        product.slug.clone(),
                        first(text.map(|t| t.title.clone()).unwrap_or_default()),
                        first(text.map(|t| t.description.clone()).unwrap_or_default()),
                        first(product.brand.clone().unwrap_or_default()),
                        first(tags.join(", ")),
                        first(status.to_string()),
                        o1n,
                        o1v,
                        o2n,
                        o2v,
                        o3n,
                        o3v,
                        v.sku.clone(),
                        v.barcode.clone().unwrap_or_default(),
                        v.weight_grams.map(|g| g.to_string()).unwrap_or_default(),
                        price
                            .map(|p| to_decimal(p.amount, currency))
                            .unwrap_or_default(),
                        price
                            .and_then(|p| p.compare_at)
                            .map(|c| to_decimal(c, currency))
                            .unwrap_or_default(),
                        first(text.and_then(|t| t.meta_title.clone()).unwrap_or_default()),
                        first(
                            text.and_then(|t| t.meta_description.clone())
                                .unwrap_or_default(),
                        ),
                    ])
                    .map_err(anyhow::Error::from)?;
                }
            }
        }
        Ok(out.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?)
    }
}
