//! Product images. Uploads are checked by content, not name (JPEG, PNG or WebP), against
//! a size limit before they are read whole and a pixel limit before they are decoded, and
//! stored through `object_store` under names made from their SHA-256, so a file never
//! changes once served and can be cached forever. WebP thumbnails are made by an outbox
//! job, off the request path.

use bytes::Bytes;
use chrono::Utc;
use emporium_core::{AppError, AppResult, FieldError, outbox};
use emporium_db::entity::{product_image_alts, product_images, products};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::assemble::{Lang, pick};
use crate::state::Catalog;
use crate::views::ImageView;

/// The outbox topic of thumbnail jobs.
pub const THUMBNAIL_TOPIC: &str = "media.thumbnails";

/// What an upload carries besides the file.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    /// Alt text by language.
    pub alt: BTreeMap<String, String>,
    pub variant_ids: Vec<Uuid>,
    pub position: Option<i32>,
}

/// An image upload as its form carried it.
#[derive(Debug)]
pub struct Upload {
    pub file: Bytes,
    pub meta: UploadMeta,
    /// The form's other text fields (the console's CSRF token).
    pub fields: std::collections::HashMap<String, String>,
}

/// `PATCH /admin/products/{id}/images/{image_id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "alt": {
        "en": "Navy merino crew sweater, front view",
        "de": "Marineblauer Merino-Pullover, Vorderansicht"
    },
    "variant_ids": ["0192f0c4-6f1e-7c3a-9b1d-3f4e5a6b7c8d"],
    "position": 0
})))]
pub struct ImagePatchBody {
    /// Alt text by language; an empty string removes that language's.
    pub alt: Option<BTreeMap<String, String>>,
    pub variant_ids: Option<Vec<Uuid>>,
    pub position: Option<i32>,
}

/// Where images live.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
}

impl MediaStore {
    /// The configured store: an S3-compatible bucket when one is named, else the local
    /// directory.
    pub fn from_config(config: &emporium_core::Config) -> anyhow::Result<Self> {
        let media = &config.media;
        let Some(bucket) = &media.s3_bucket else {
            let dir = media
                .dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("media"));
            return Self::local(&dir);
        };
        use secrecy::ExposeSecret;
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&media.s3_region)
            .with_allow_http(media.s3_allow_http);
        if let Some(endpoint) = &media.s3_endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&media.s3_access_key_id, &media.s3_secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
        }
        Ok(Self {
            store: Arc::new(builder.build()?),
        })
    }

    /// The local directory store (created when missing).
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
        })
    }

    pub async fn put(&self, key: &str, data: Bytes) -> AppResult<()> {
        self.store
            .put(&StorePath::from(key), PutPayload::from(data))
            .await
            .map_err(|e| anyhow::anyhow!("storing {key}: {e}"))?;
        Ok(())
    }

    /// The file under `key`, or `None`.
    pub async fn get(&self, key: &str) -> AppResult<Option<Bytes>> {
        match self.store.get(&StorePath::from(key)).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .map_err(|e| anyhow::anyhow!("reading {key}: {e}"))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::anyhow!("reading {key}: {e}").into()),
        }
    }
}

/// The width of the one thumbnail a loose image (a review photo) gets.
pub const LOOSE_THUMBNAIL: u32 = 320;

/// Where a loose image's thumbnail is stored: `images/<hash>-320.webp`.
pub fn loose_thumbnail_key(key: &str) -> String {
    let stem = key.rsplit_once('.').map_or(key, |(stem, _)| stem);
    format!("{stem}-{LOOSE_THUMBNAIL}.webp")
}

/// `image` scaled to `width` (keeping its proportions), as lossless WebP.
fn webp_at(image: &image::DynamicImage, width: u32) -> anyhow::Result<Vec<u8>> {
    let width = width.max(1);
    let height = ((u64::from(image.height()) * u64::from(width)) / u64::from(image.width().max(1)))
        .max(1) as u32;
    let small = image.resize_exact(width, height, image::imageops::FilterType::Triangle);
    let mut buf = Vec::new();
    small
        .to_rgba8()
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut buf))?;
    Ok(buf)
}

/// The content type for a stored key, by its extension (which we chose from the content).
pub fn content_type_of(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

/// What [`inspect`] finds: extension, content type, width, height.
type Inspected = (&'static str, &'static str, u32, u32);

/// Checks an upload by its bytes: the format (JPEG, PNG or WebP, whatever the name says),
/// the pixel count read from the header, and then the whole image decoded, so that a
/// truncated or corrupt file is refused now rather than failing its thumbnail job forever.
/// Answers the extension, content type, width and height.
pub fn inspect(data: &[u8], max_pixels: u64) -> AppResult<Inspected> {
    let refuse = |message: &str| AppError::invalid("file", message);
    let (ext, content_type) = match image::guess_format(data) {
        Ok(image::ImageFormat::Jpeg) => ("jpg", "image/jpeg"),
        Ok(image::ImageFormat::Png) => ("png", "image/png"),
        Ok(image::ImageFormat::WebP) => ("webp", "image/webp"),
        _ => {
            return Err(refuse(
                "must be a JPEG, PNG or WebP image (checked by its content)",
            ));
        }
    };
    let (width, height) = image::ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|_| refuse("cannot be read as an image"))?
        .into_dimensions()
        .map_err(|_| refuse("cannot be read as an image"))?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(refuse(&format!(
            "has {width}x{height} pixels; at most {max_pixels} are accepted"
        )));
    }
    image::ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|_| refuse("cannot be read as an image"))?
        .decode()
        .map_err(|_| refuse("is truncated or corrupt: the image does not decode"))?;
    Ok((ext, content_type, width, height))
}

impl Catalog {
    /// Where image URLs start: the CDN when one is set, else this node's `/media`.
    pub fn media_base(&self) -> String {
        match &self.config.media.cdn_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => format!("{}/media", self.config.public_base_url()),
        }
    }

    fn media(&self) -> AppResult<&MediaStore> {
        self.media
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no media store is configured").into())
    }

    /// Reads an image upload form (`multipart/form-data`): the file, its alt texts
    /// (`alt`, or `alt.<lang>`), the variants it shows and its position. A declared
    /// length past the limit is refused before any of the body is read, and the file is
    /// read only up to the limit. Other short text fields come back in `fields`.
    pub async fn read_image_upload(
        &self,
        headers: &axum::http::HeaderMap,
        mut form: axum::extract::Multipart,
    ) -> AppResult<Upload> {
        let max = self.config.media.max_upload_bytes;
        let too_large = || AppError::PayloadTooLarge {
            detail: format!("an image upload is at most {max} bytes"),
        };
        let declared = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // The declared length is checked before any of the body is read.
        if declared.is_some_and(|n| n > max + 64 * 1024) {
            return Err(too_large());
        }
        let bad_form = |e: axum::extract::multipart::MultipartError| {
            AppError::invalid(
                "file",
                format!("the form cannot be read: {}", e.body_text()),
            )
        };
        let mut file: Option<Vec<u8>> = None;
        let mut fields = HashMap::new();
        let mut meta = crate::media::UploadMeta::default();
        let mut errors = Vec::new();
        while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                let mut data = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                    if (data.len() + chunk.len()) as u64 > max {
                        return Err(too_large());
                    }
                    data.extend_from_slice(&chunk);
                }
                file = Some(data);
                continue;
            }
            let text = field.text().await.map_err(bad_form)?;
            if !matches!(name.as_str(), "alt" | "variant_ids" | "position")
                && !name.starts_with("alt.")
            {
                if fields.len() < 20 && text.len() <= 1_000 {
                    fields.insert(name, text);
                }
                continue;
            }
            if text.len() > 10_000 {
                errors.push(emporium_core::FieldError::new(name.clone(), "is too long"));
                continue;
            }
            match name.as_str() {
                "alt" => {
                    meta.alt.insert(self.default_language().to_string(), text);
                }
                n if n.starts_with("alt.") => {
                    meta.alt.insert(n["alt.".len()..].to_string(), text);
                }
                "variant_ids" => {
                    for (i, part) in text
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .enumerate()
                    {
                        match Uuid::parse_str(part) {
                            Ok(v) => meta.variant_ids.push(v),
                            Err(_) => errors.push(emporium_core::FieldError::new(
                                format!("variant_ids[{i}]"),
                                "is not a variant id",
                            )),
                        }
                    }
                }
                "position" => match text.trim().parse::<i32>() {
                    Ok(p) if p >= 0 => meta.position = Some(p),
                    _ => errors.push(emporium_core::FieldError::new(
                        "position",
                        "must be a whole number, 0 or more",
                    )),
                },
                _ => {}
            }
        }
        let Some(file) = file.filter(|f| !f.is_empty()) else {
            errors.push(emporium_core::FieldError::new("file", "is required"));
            return Err(AppError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Upload {
            file: Bytes::from(file),
            meta,
            fields,
        })
    }

    /// Stores an uploaded image for a product (the bytes already checked for size), and
    /// queues its thumbnails.
    pub async fn add_image(
        &self,
        product_id: Uuid,
        data: Bytes,
        meta: UploadMeta,
    ) -> AppResult<ImageView> {
        let max_pixels = self.config.media.max_pixels;
        let checked = data.clone();
        // Decoding takes milliseconds of CPU per megapixel: off the async workers.
        let (ext, content_type, width, height) =
            tokio::task::spawn_blocking(move || inspect(&checked, max_pixels))
                .await
                .map_err(anyhow::Error::from)??;
        let mut errors = Vec::new();
        self.check_alts(&meta.alt, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let hash: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = format!("images/{hash}.{ext}");
        let bytes = data.len() as i64;
        self.media()?.put(&key, data).await?;
        let txn = self.db.begin().await?;
        products::Entity::find_by_id(product_id)
            .one(&txn)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| AppError::not_found("no such product"))?;
        self.check_variants(&txn, product_id, &meta.variant_ids)
            .await?;
        let position = match meta.position {
            Some(p) => p,
            None => product_images::Entity::find()
                .filter(product_images::Column::ProductId.eq(product_id))
                .all(&txn)
                .await?
                .iter()
                .map(|i| i.position + 1)
                .max()
                .unwrap_or(0),
        };
        let id = Uuid::now_v7();
        product_images::ActiveModel {
            id: Set(id),
            product_id: Set(product_id),
            key: Set(key),
            content_type: Set(content_type.into()),
            width: Set(width as i32),
            height: Set(height as i32),
            bytes: Set(bytes),
            position: Set(position),
            variant_ids: Set(serde_json::to_string(&meta.variant_ids).map_err(anyhow::Error::from)?),
            thumbnails: Set("{}".into()),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
        self.write_alts(&txn, id, &meta.alt).await?;
        outbox::enqueue(&txn, THUMBNAIL_TOPIC, &serde_json::json!({"image_id": id})).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        self.commit(txn).await?;
        self.image_view(product_id, id).await
    }

    fn check_alts(&self, alt: &BTreeMap<String, String>, errors: &mut Vec<FieldError>) {
        for (lang, text) in alt {
            if !self.language_enabled(lang) {
                errors.push(FieldError::new(
                    format!("alt.{lang}"),
                    "is not one of the store's languages",
                ));
            }
            if text.chars().count() > 500 {
                errors.push(FieldError::new(
                    format!("alt.{lang}"),
                    "must be at most 500 characters",
                ));
            }
        }
    }

    async fn check_variants<C: ConnectionTrait>(
        &self,
        conn: &C,
        product_id: Uuid,
        ids: &[Uuid],
    ) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let own: Vec<Uuid> = emporium_db::entity::variants::Entity::find()
            .filter(emporium_db::entity::variants::Column::ProductId.eq(product_id))
            .all(conn)
            .await?
            .iter()
            .map(|v| v.id)
            .collect();
        let errors: Vec<FieldError> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !own.contains(id))
            .map(|(i, _)| {
                FieldError::new(
                    format!("variant_ids[{i}]"),
                    "is not a variant of this product",
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }

    async fn write_alts<C: ConnectionTrait>(
        &self,
        conn: &C,
        image_id: Uuid,
        alt: &BTreeMap<String, String>,
    ) -> AppResult<()> {
        for (lang, text) in alt {
            let text = text.trim();
            if text.is_empty() {
                product_image_alts::Entity::delete_many()
                    .filter(product_image_alts::Column::ImageId.eq(image_id))
                    .filter(product_image_alts::Column::Lang.eq(lang.clone()))
                    .exec(conn)
                    .await?;
                continue;
            }
            product_image_alts::Entity::insert(product_image_alts::ActiveModel {
                image_id: Set(image_id),
                lang: Set(lang.clone()),
                alt: Set(text.to_string()),
            })
            .on_conflict(
                OnConflict::columns([
                    product_image_alts::Column::ImageId,
                    product_image_alts::Column::Lang,
                ])
                .update_column(product_image_alts::Column::Alt)
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        }
        Ok(())
    }

    /// Changes an image's alt texts, variants or position.
    pub async fn update_image(
        &self,
        product_id: Uuid,
        image_id: Uuid,
        body: ImagePatchBody,
    ) -> AppResult<ImageView> {
        let mut errors = Vec::new();
        if let Some(alt) = &body.alt {
            self.check_alts(alt, &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let txn = self.db.begin().await?;
        let image = product_images::Entity::find_by_id(image_id)
            .one(&txn)
            .await?
            .filter(|i| i.product_id == product_id)
            .ok_or_else(|| AppError::not_found("no such image"))?;
        let mut model: product_images::ActiveModel = image.into();
        if let Some(ids) = &body.variant_ids {
            self.check_variants(&txn, product_id, ids).await?;
            model.variant_ids = Set(serde_json::to_string(ids).map_err(anyhow::Error::from)?);
        }
        if let Some(position) = body.position {
            model.position = Set(position);
        }
        model.update(&txn).await?;
        if let Some(alt) = &body.alt {
            self.write_alts(&txn, image_id, alt).await?;
        }
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        self.commit(txn).await?;
        self.image_view(product_id, image_id).await
    }

    /// Removes an image from a product (its file stays: another image may share it).
    pub async fn delete_image(&self, product_id: Uuid, image_id: Uuid) -> AppResult<()> {
        let txn = self.db.begin().await?;
        let gone = product_images::Entity::delete_many()
            .filter(product_images::Column::Id.eq(image_id))
            .filter(product_images::Column::ProductId.eq(product_id))
            .exec(&txn)
            .await?;
        if gone.rows_affected == 0 {
            return Err(AppError::not_found("no such image"));
        }
        product_image_alts::Entity::delete_many()
            .filter(product_image_alts::Column::ImageId.eq(image_id))
            .exec(&txn)
            .await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
        self.commit(txn).await?;
        Ok(())
    }

    async fn image_view(&self, product_id: Uuid, image_id: Uuid) -> AppResult<ImageView> {
        let lang = Lang {
            asked: self.default_language(),
            default: self.default_language(),
        };
        images_of(self.db.current(), &[product_id], &lang, &self.media_base())
            .await?
            .remove(&product_id)
            .unwrap_or_default()
            .into_iter()
            .find(|i| i.id == Some(image_id))
            .ok_or_else(|| AppError::not_found("no such image"))
    }

    /// Makes an image's WebP thumbnails (the outbox job). Idempotent: widths already made
    /// are skipped; widths at or above the original are not made.
    pub async fn make_thumbnails(&self, image_id: Uuid) -> AppResult<usize> {
        let Some(image) = product_images::Entity::find_by_id(image_id)
            .one(self.db.current())
            .await?
        else {
            return Ok(0);
        };
        let mut made: BTreeMap<String, String> =
            serde_json::from_str(&image.thumbnails).unwrap_or_default();
        let widths: Vec<u32> = self
            .config
            .media
            .thumbnail_widths
            .iter()
            .copied()
            .filter(|w| *w < image.width as u32 && !made.contains_key(&w.to_string()))
            .collect();
        if widths.is_empty() {
            return Ok(0);
        }
        let store = self.media()?;
        let Some(original) = store.get(&image.key).await? else {
            return Err(anyhow::anyhow!("image file {} is missing", image.key).into());
        };
        let stem = image
            .key
            .rsplit_once('.')
            .map(|(s, _)| s.to_string())
            .unwrap_or(image.key.clone());
        // Decoding and resizing are CPU work: off the async threads.
        let encoded =
            tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(u32, Vec<u8>)>> {
                let decoded = image::load_from_memory(&original)?;
                let mut out = Vec::new();
                for width in widths {
                    out.push((width, webp_at(&decoded, width)?));
                }
                Ok(out)
            })
            .await
            .map_err(|e| anyhow::anyhow!("thumbnail task: {e}"))??;
        let count = encoded.len();
        for (width, data) in encoded {
            let key = format!("{stem}-{width}.webp");
            store.put(&key, Bytes::from(data)).await?;
            made.insert(width.to_string(), key);
        }
        let txn = self.db.begin().await?;
        let mut model: product_images::ActiveModel = image.clone().into();
        model.thumbnails = Set(serde_json::to_string(&made).map_err(anyhow::Error::from)?);
        model.update(&txn).await?;
        crate::changes::record(&txn, crate::changes::ChangeKind::Product, image.product_id).await?;
        self.commit(txn).await?;
        Ok(count)
    }

    /// Stores an image that belongs to no product (a review's photo), checked by its
    /// content like a product image: answers its key (`images/<sha256>.<ext>`, served at
    /// `/media/<key>`), width and height.
    pub async fn store_loose_image(&self, data: Bytes) -> AppResult<(String, u32, u32)> {
        let max_pixels = self.config.media.max_pixels;
        let checked = data.clone();
        // Checked, then one small WebP made at once: a shopper's upload is one image, and
        // the page that shows it should not wait for a job.
        let ((ext, _, width, height), thumbnail) =
            tokio::task::spawn_blocking(move || -> AppResult<(Inspected, Vec<u8>)> {
                let found = inspect(&checked, max_pixels)?;
                let decoded = image::load_from_memory(&checked).map_err(anyhow::Error::from)?;
                let small = webp_at(&decoded, LOOSE_THUMBNAIL.min(found.2))?;
                Ok((found, small))
            })
            .await
            .map_err(anyhow::Error::from)??;
        let hash: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = format!("images/{hash}.{ext}");
        let store = self.media()?;
        store.put(&key, data).await?;
        store
            .put(&loose_thumbnail_key(&key), Bytes::from(thumbnail))
            .await?;
        Ok((key, width, height))
    }

    /// A stored file, for `GET /media/{key}`.
    pub async fn media_file(&self, key: &str) -> AppResult<Option<Bytes>> {
        // Keys are ours: `images/<hex>[-<width>].<ext>`; anything else is not served.
        let ok = key.strip_prefix("images/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 100
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')
                })
                && !name.contains("..")
        });
        if !ok {
            return Ok(None);
        }
        self.media()?.get(key).await
    }
}

/// Images of `ids` in order, alt text in the asked language (else the default), with
/// URLs under `base`. Two queries whatever the number of products.
pub(crate) async fn images_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    lang: &Lang<'_>,
    base: &str,
) -> AppResult<HashMap<Uuid, Vec<ImageView>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One query: images left-joined to their alt texts, one row per alt.
    let join: sea_orm::RelationDef = product_images::Entity::belongs_to(product_image_alts::Entity)
        .from(product_images::Column::Id)
        .to(product_image_alts::Column::ImageId)
        .into();
    let joined = product_images::Entity::find()
        .join(sea_orm::JoinType::LeftJoin, join)
        .select_also(product_image_alts::Entity)
        .filter(product_images::Column::ProductId.is_in(ids.to_vec()))
        .order_by_asc(product_images::Column::Position)
        .order_by_asc(product_images::Column::Id)
        .all(conn)
        .await?;
    let mut rows: Vec<product_images::Model> = Vec::new();
    let mut alts: HashMap<Uuid, Vec<product_image_alts::Model>> = HashMap::new();
    for (image, alt) in joined {
        if let Some(alt) = alt {
            alts.entry(image.id).or_default().push(alt);
        }
        if rows.last().is_none_or(|r| r.id != image.id) {
            rows.push(image);
        }
    }
    let mut out: HashMap<Uuid, Vec<ImageView>> = HashMap::new();
    for row in rows {
        let texts = alts.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
        let thumbnails: BTreeMap<String, String> =
            serde_json::from_str::<BTreeMap<String, String>>(&row.thumbnails)
                .unwrap_or_default()
                .into_iter()
                .map(|(w, key)| (w, format!("{base}/{key}")))
                .collect();
        out.entry(row.product_id).or_default().push(ImageView {
            url: format!("{base}/{}", row.key),
            alt: pick(texts, lang, |a| &a.lang).map(|a| a.alt.clone()),
            id: Some(row.id),
            width: Some(row.width),
            height: Some(row.height),
            variant_ids: serde_json::from_str(&row.variant_ids).unwrap_or_default(),
            thumbnails,
        });
    }
    Ok(out)
}

/// The thumbnail job: `{"image_id"}`.
pub struct ThumbnailJob(pub Catalog);

#[async_trait::async_trait]
impl emporium_core::outbox::JobHandler for ThumbnailJob {
    async fn run(&self, job: &emporium_core::outbox::Job) -> anyhow::Result<()> {
        let Some(id) = job.payload["image_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            anyhow::bail!("a thumbnail job without an image id");
        };
        let made = self
            .0
            .make_thumbnails(id)
            .await
            .map_err(|e| anyhow::anyhow!("thumbnails of {id}: {e}"))?;
        tracing::info!(image_id = %id, made, "thumbnails made");
        Ok(())
    }
}
