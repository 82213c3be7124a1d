//! Categories in the console: the tree as shoppers browse it, a new category under any
//! other, each one's names per language, its slug and parent, moved up or down among
//! its siblings, deleted.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emporium_catalog::{CategoryBody, CategoryPatchBody, CategoryText, CategoryView};
use emporium_core::locale::Lang;
use emporium_core::{AppError, AppResult};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::after_form as back;
use crate::product_edit::{Fields, Notice, field, languages, non_empty};
use crate::session::Console;
use crate::state::Admin;

async fn tree(admin: &Admin) -> AppResult<Vec<CategoryView>> {
    let store = &admin.config.store;
    let lang = Lang {
        asked: &store.default_language,
        default: &store.default_language,
    };
    admin.catalog.category_tree(&lang, true).await
}

fn node(c: &CategoryView) -> Value {
    json!({"id": c.id, "name": c.name, "slug": c.slug,
           "children": c.children.iter().map(node).collect::<Vec<_>>()})
}

/// Every category in tree order, its name indented by depth: the options of a picker.
pub(crate) fn flat(nodes: &[CategoryView], depth: usize, out: &mut Vec<Value>) {
    for c in nodes {
        out.push(json!({"id": c.id, "slug": c.slug,
                        "label": format!("{}{}", "— ".repeat(depth), c.name)}));
        flat(&c.children, depth + 1, out);
    }
}

fn find(nodes: &[CategoryView], id: Uuid) -> Option<&CategoryView> {
    nodes.iter().find_map(|c| {
        if c.id == id {
            Some(c)
        } else {
            find(&c.children, id)
        }
    })
}

/// The siblings of `id` (the roots, or its parent's children), in their order.
fn siblings_of(nodes: &[CategoryView], id: Uuid) -> Option<&[CategoryView]> {
    if nodes.iter().any(|c| c.id == id) {
        return Some(nodes);
    }
    nodes.iter().find_map(|c| siblings_of(&c.children, id))
}

/// Names per language from a form (`name.<lang>`, `description.<lang>`); categories and
/// collections both name themselves this way.
pub(crate) fn texts(admin: &Admin, form: &Fields) -> BTreeMap<String, CategoryText> {
    languages(admin)
        .into_iter()
        .filter_map(|lang| {
            let name = non_empty(field(form, &format!("name.{lang}")))?;
            let description = non_empty(field(form, &format!("description.{lang}")));
            Some((lang, CategoryText { name, description }))
        })
        .collect()
}

/// The name fields of every store language, filled from `translations`.
pub(crate) fn name_langs(
    admin: &Admin,
    translations: Option<&BTreeMap<String, CategoryText>>,
) -> Vec<Value> {
    let default = admin.config.store.default_language.clone();
    languages(admin)
        .into_iter()
        .map(|code| {
            let text = translations.and_then(|t| t.get(&code));
            json!({"code": code, "default": code == default,
                   "name": text.map(|t| t.name.clone()).unwrap_or_default(),
                   "description": text.and_then(|t| t.description.clone()).unwrap_or_default()})
        })
        .collect()
}

fn parent(form: &Fields) -> Result<Option<Uuid>, AppError> {
    match field(form, "parent_id") {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("parent_id", "is not a category")),
    }
}

/// `GET /admin/categories`.
pub(crate) async fn list(
    State(admin): State<Admin>,
    console: Console,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let nodes = match tree(&admin).await {
        Ok(nodes) => nodes,
        Err(err) => return err.into_response(),
    };
    let mut options = Vec::new();
    flat(&nodes, 0, &mut options);
    admin
        .render(
            StatusCode::OK,
            "categories.html",
            console.context(
                "/admin/categories",
                json!({"title": "Categories", "tree": nodes.iter().map(node).collect::<Vec<_>>(),
                       "options": options, "lang": admin.config.store.default_language,
                       "may_write": console.may("products.write"),
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/categories`: a new category under the chosen parent, last among its
/// siblings.
pub(crate) async fn create(
    State(admin): State<Admin>,
    console: Console,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let body = CategoryBody {
            slug: non_empty(field(&form, "slug")),
            parent_id: parent(&form)?,
            position: None,
            translations: texts(&admin, &form),
        };
        let id = admin.catalog.create_category(body).await?;
        console
            .audit(
                &admin,
                "admin.category.create",
                ("category", id.to_string()),
                json!({}),
            )
            .await?;
        Ok(format!(
            "Added {}.",
            field(
                &form,
                &format!("name.{}", admin.config.store.default_language)
            )
        ))
    };
    back("/admin/categories", outcome.await)
}

/// `GET /admin/categories/{id}`.
pub(crate) async fn edit_page(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Query(notice): Query<Notice>,
) -> Response {
    if let Err(page) = console.require(&admin, "products.read") {
        return page.into_response();
    }
    let nodes = match tree(&admin).await {
        Ok(nodes) => nodes,
        Err(err) => return err.into_response(),
    };
    let Some(category) = find(&nodes, id) else {
        return AppError::not_found("no such category").into_response();
    };
    let mut options = Vec::new();
    flat(&nodes, 0, &mut options);
    // A category cannot move under itself or its own descendants.
    let mut inside = Vec::new();
    flat(std::slice::from_ref(category), 0, &mut inside);
    options.retain(|o| !inside.iter().any(|i| i["id"] == o["id"]));
    let langs = name_langs(&admin, category.translations.as_ref());
    admin
        .render(
            StatusCode::OK,
            "category.html",
            console.context(
                "/admin/categories",
                json!({"title": category.name, "category": {"id": category.id, "slug": category.slug,
                       "parent_id": category.parent_id}, "options": options, "langs": langs,
                       "done": notice.done, "error": notice.error}),
            ),
        )
        .into_response()
}

/// `POST /admin/categories/{id}`: names, slug and parent.
pub(crate) async fn save(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let parent_id = parent(&form)?;
        let body = CategoryPatchBody {
            slug: non_empty(field(&form, "slug")),
            move_to_root: parent_id.is_none(),
            parent_id,
            position: None,
            translations: Some(texts(&admin, &form)),
        };
        admin.catalog.update_category(id, body).await?;
        console
            .audit(
                &admin,
                "admin.category.update",
                ("category", id.to_string()),
                json!({}),
            )
            .await?;
        Ok("Saved.".to_string())
    };
    back(&format!("/admin/categories/{id}"), outcome.await)
}

/// `POST /admin/categories/{id}/move`: one place up or down among its siblings (the
/// siblings are numbered again in their new order).
pub(crate) async fn move_one(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    let outcome = async {
        let nodes = tree(&admin).await?;
        let mut order: Vec<Uuid> = siblings_of(&nodes, id)
            .ok_or_else(|| AppError::not_found("no such category"))?
            .iter()
            .map(|c| c.id)
            .collect();
        let at = order.iter().position(|c| *c == id).unwrap_or(0);
        let to = match field(&form, "dir") {
            "up" => at.checked_sub(1),
            _ => Some(at + 1).filter(|to| *to < order.len()),
        };
        let Some(to) = to else {
            return Ok("It is already there.".to_string());
        };
        order.swap(at, to);
        for (position, category) in order.iter().enumerate() {
            let body = CategoryPatchBody {
                slug: None,
                parent_id: None,
                move_to_root: false,
                position: Some(position as i32),
                translations: None,
            };
            admin.catalog.update_category(*category, body).await?;
        }
        console
            .audit(
                &admin,
                "admin.category.move",
                ("category", id.to_string()),
                json!({"position": to}),
            )
            .await?;
        Ok("Moved.".to_string())
    };
    back("/admin/categories", outcome.await)
}

/// `POST /admin/categories/{id}/delete`.
pub(crate) async fn delete(
    State(admin): State<Admin>,
    console: Console,
    Path(id): Path<Uuid>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(page) = console.authorize_form(&admin, "products.write", &form) {
        return page.into_response();
    }
    match admin.catalog.delete_category(id).await {
        Ok(()) => {
            let audited = console
                .audit(
                    &admin,
                    "admin.category.delete",
                    ("category", id.to_string()),
                    json!({}),
                )
                .await;
            back(
                "/admin/categories",
                audited.map(|()| "Deleted.".to_string()),
            )
        }
        Err(err) => back(&format!("/admin/categories/{id}"), Err(err)),
    }
}
