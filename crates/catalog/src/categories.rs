//! The category tree: admin writes and the tree shoppers browse.

use chrono::Utc;
use emporium_core::error::ErrorCode;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::{categories, category_translations};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::assemble::Lang;
use crate::model::Slug;
use crate::state::Catalog;
use crate::views::{CategoryBody, CategoryPatchBody, CategoryText, CategoryView};

/// Every category and its translations, loaded in two queries (the tree is small).
pub(crate) struct Tree {
    pub rows: Vec<categories::Model>,
    pub texts: Vec<category_translations::Model>,
}

impl Tree {
    pub async fn load<C: ConnectionTrait>(conn: &C) -> AppResult<Self> {
        Ok(Self {
            rows: categories::Entity::find().all(conn).await?,
            texts: category_translations::Entity::find().all(conn).await?,
        })
    }

    /// A category by id or slug.
    pub fn find(&self, id_or_slug: &str) -> Option<&categories::Model> {
        let id = Uuid::parse_str(id_or_slug).ok();
        self.rows
            .iter()
            .find(|c| Some(c.id) == id || c.slug == id_or_slug)
    }

    /// `root` and every category below it.
    pub fn descendants(&self, root: Uuid) -> Vec<Uuid> {
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for row in &self.rows {
            if let Some(parent) = row.parent_id {
                children.entry(parent).or_default().push(row.id);
            }
        }
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = children.get(&out[i]) {
                for kid in kids {
                    if !out.contains(kid) {
                        out.push(*kid);
                    }
                }
            }
            i += 1;
        }
        out
    }

    fn view(&self, row: &categories::Model, lang: &Lang<'_>, admin: bool) -> CategoryView {
        let texts: Vec<&category_translations::Model> = self
            .texts
            .iter()
            .filter(|t| t.category_id == row.id)
            .collect();
        let text = texts
            .iter()
            .find(|t| t.lang == lang.asked)
            .or_else(|| texts.iter().find(|t| t.lang == lang.default))
            .or_else(|| texts.first());
        let mut children: Vec<&categories::Model> = self
            .rows
            .iter()
            .filter(|c| c.parent_id == Some(row.id))
            .collect();
        children.sort_by(|a, b| (a.position, &a.slug).cmp(&(b.position, &b.slug)));
        CategoryView {
            id: row.id,
            slug: row.slug.clone(),
            name: text.map(|t| t.name.clone()).unwrap_or_default(),
            description: text.and_then(|t| t.description.clone()),
            parent_id: row.parent_id,
            position: row.position,
            children: children
                .into_iter()
                .map(|c| self.view(c, lang, admin))
                .collect(),
            translations: admin.then(|| {
                texts
                    .iter()
                    .map(|t| {
                        (
                            t.lang.clone(),
                            CategoryText {
                                name: t.name.clone(),
                                description: t.description.clone(),
                            },
                        )
                    })
                    .collect()
            }),
        }
    }

    /// The roots with their subtrees.
    pub fn views(&self, lang: &Lang<'_>, admin: bool) -> Vec<CategoryView> {
        let mut roots: Vec<&categories::Model> =
            self.rows.iter().filter(|c| c.parent_id.is_none()).collect();
        roots.sort_by(|a, b| (a.position, &a.slug).cmp(&(b.position, &b.slug)));
        roots
            .into_iter()
            .map(|r| self.view(r, lang, admin))
            .collect()
    }

    pub fn view_of(&self, id_or_slug: &str, lang: &Lang<'_>, admin: bool) -> Option<CategoryView> {
        self.find(id_or_slug).map(|row| self.view(row, lang, admin))
    }
}

impl Catalog {
    pub(crate) fn check_category_texts(
        &self,
        texts: &BTreeMap<String, CategoryText>,
        require_default: bool,
    ) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if require_default && !texts.contains_key(self.default_language()) {
            errors.push(FieldError::new(
                format!("translations.{}", self.default_language()),
                "the default language is required",
            ));
        }
        for (lang, text) in texts {
            if !self.language_enabled(lang) {
                errors.push(FieldError::new(
                    format!("translations.{lang}"),
                    "is not one of the store's languages",
                ));
            }
            if text.name.trim().is_empty() || text.name.chars().count() > 200 {
                errors.push(FieldError::new(
                    format!("translations.{lang}.name"),
                    "must be 1 to 200 characters",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub async fn create_category(&self, body: CategoryBody) -> AppResult<Uuid> {
        self.check_category_texts(&body.translations, true)
            .map_err(AppError::Validation)?;
        let slug = match &body.slug {
            Some(raw) => Slug::parse(raw, "slug").map_err(|e| AppError::Validation(vec![e]))?,
            None => Slug::from_title(
                &body
                    .translations
                    .get(self.default_language())
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            ),
        };
        let txn = self.db.begin().await?;
        if let Some(parent) = body.parent_id
            && categories::Entity::find_by_id(parent)
                .one(&txn)
                .await?
                .is_none()
        {
            return Err(AppError::invalid("parent_id", "no such category"));
        }
        let id = Uuid::now_v7();
        let now = Utc::now();
        categories::ActiveModel {
            id: Set(id),
            parent_id: Set(body.parent_id),
            slug: Set(slug.as_str().to_string()),
            position: Set(body.position.unwrap_or(0)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => {
                AppError::conflict(ErrorCode::SlugTaken, "another category has this slug")
            }
            other => other,
        })?;
        upsert_category_texts(&txn, id, &body.translations).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Category, id).await?;
        self.commit(txn).await?;
        Ok(id)
    }

    pub async fn update_category(&self, id: Uuid, body: CategoryPatchBody) -> AppResult<()> {
        if let Some(texts) = &body.translations {
            self.check_category_texts(texts, false)
                .map_err(AppError::Validation)?;
        }
        let slug = body
            .slug
            .as_deref()
            .map(|s| Slug::parse(s, "slug"))
            .transpose()
            .map_err(|e| AppError::Validation(vec![e]))?;
        let txn = self.db.begin().await?;
        let tree = Tree::load(&txn).await?;
        let row = tree
            .rows
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| AppError::not_found("no such category"))?;
        let mut active = row.into_active_model();
        if let Some(parent) = body.parent_id {
            if tree.rows.iter().all(|c| c.id != parent) {
                return Err(AppError::invalid("parent_id", "no such category"));
            }
            if tree.descendants(id).contains(&parent) {
                return Err(AppError::conflict(
                    ErrorCode::CategoryCycle,
                    "a category cannot move under itself or its descendants",
                ));
            }
            active.parent_id = Set(Some(parent));
        } else if body.move_to_root {
            active.parent_id = Set(None);
        }
        if let Some(slug) = slug {
            active.slug = Set(slug.as_str().to_string());
        }
        if let Some(position) = body.position {
            active.position = Set(position);
        }
        active.updated_at = Set(Utc::now());
        active
            .update(&txn)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict { .. } => {
                    AppError::conflict(ErrorCode::SlugTaken, "another category has this slug")
                }
                other => other,
            })?;
        if let Some(texts) = &body.translations {
            upsert_category_texts(&txn, id, texts).await?;
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Category, id).await?;
        self.commit(txn).await?;
        Ok(())
    }

    /// Deletes a category without children; products simply leave it.
    pub async fn delete_category(&self, id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        if categories::Entity::find()
            .filter(categories::Column::ParentId.eq(id))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(AppError::conflict(
                ErrorCode::CategoryHasChildren,
                "move or delete its subcategories first",
            ));
        }
        let deleted = categories::Entity::delete_by_id(id).exec(&txn).await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("no such category"));
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Category, id).await?;
        self.commit(txn).await?;
        Ok(())
    }

    pub async fn category_tree(
        &self,
        lang: &Lang<'_>,
        admin: bool,
    ) -> AppResult<Vec<CategoryView>> {
        Ok(Tree::load(self.db.reader()).await?.views(lang, admin))
    }

    pub async fn category(
        &self,
        id_or_slug: &str,
        lang: &Lang<'_>,
        admin: bool,
    ) -> AppResult<CategoryView> {
        Tree::load(self.db.reader())
            .await?
            .view_of(id_or_slug, lang, admin)
            .ok_or_else(|| AppError::not_found("no such category"))
    }
}

async fn upsert_category_texts<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    texts: &BTreeMap<String, CategoryText>,
) -> AppResult<()> {
    for (lang, text) in texts {
        category_translations::Entity::delete_many()
            .filter(category_translations::Column::CategoryId.eq(id))
            .filter(category_translations::Column::Lang.eq(lang.as_str()))
            .exec(conn)
            .await?;
        category_translations::Entity::insert(category_translations::ActiveModel {
            category_id: Set(id),
            lang: Set(lang.clone()),
            name: Set(text.name.trim().to_string()),
            description: Set(text.description.clone()),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}
