//! The catalog as CSV in the console: a file uploaded and imported (one row per
//! variant; a product with a bad row is refused whole and its rows are listed with the
//! reason, the others go in), and the whole catalog exported in the same columns.

use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use emporium_core::AppError;
use serde_json::json;
use std::collections::HashMap;

use crate::explain;
use crate::session::Console;
use crate::state::Admin;

fn page(
    admin: &Admin,
    console: &Console,
    status: StatusCode,
    extra: serde_json::Value,
) -> Response {
    let mut context = json!({"title": "Import products",
                             "limit_mib": emporium_catalog::IMPORT_LIMIT / 1024 / 1024});
    if let (Some(base), serde_json::Value::Object(extra)) = (context.as_object_mut(), extra) {
        base.extend(extra);
    }
    admin
        .render(
            status,
            "import.html",
            console.context("/admin/products", context),
        )
        .into_response()
}

/// `GET /admin/products/import`.
pub(crate) async fn import_page(State(admin): State<Admin>, console: Console) -> Response {
    if let Err(page) = console.require(&admin, "products.write") {
        return page.into_response();
    }
    page(&admin, &console, StatusCode::OK, json!({}))
}

/// Reads the upload form: its CSRF token and the file, cut off past the import limit.
async fn read_form(mut form: Multipart) -> Result<(HashMap<String, String>, Vec<u8>), AppError> {
    let limit = emporium_catalog::IMPORT_LIMIT;
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid(
            "file",
            format!("the form cannot be read: {}", e.body_text()),
        )
    };
    let (mut fields, mut file) = (HashMap::new(), Vec::new());
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if file.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge {
                        detail: format!("an import is at most {} MiB", limit / 1024 / 1024),
                    });
                }
                file.extend_from_slice(&chunk);
            }
        } else if name == "csrf" {
            fields.insert(name, field.text().await.map_err(bad)?);
        }
    }
    Ok((fields, file))
}

/// `POST /admin/products/import`: the report, row errors and all.
pub(crate) async fn import(
    State(admin): State<Admin>,
    console: Console,
    form: Multipart,
) -> Response {
    let (fields, file) = match read_form(form).await {
        Ok(read) => read,
        Err(err) => {
            return page(
                &admin,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": explain(&err)}),
            );
        }
    };
    if let Err(page) = console.authorize_form(&admin, "products.write", &fields) {
        return page.into_response();
    }
    if file.is_empty() {
        return page(
            &admin,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "Choose a CSV file first."}),
        );
    }
    match admin.catalog.import_csv(&file, &|_, _| {}).await {
        Ok(report) => {
            if let Err(err) = console
                .audit(
                    &admin,
                    "admin.product.import",
                    ("products", report.rows.to_string()),
                    json!({"created": report.products_created, "updated": report.products_updated,
                              "refused_rows": report.rows_refused}),
                )
                .await
            {
                return err.into_response();
            }
            page(&admin, &console, StatusCode::OK, json!({"report": report}))
        }
        Err(err) => page(
            &admin,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": explain(&err)}),
        ),
    }
}

/// `GET /admin/products/export.csv`: every product, one row per variant.
pub(crate) async fn export(State(admin): State<Admin>, console: Console) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    match admin.catalog.export_csv().await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"products.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}
