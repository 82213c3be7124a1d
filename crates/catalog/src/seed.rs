//! `emporium seed --demo`: a realistic catalog for trying the shop and for benchmarks:
//! a category tree, products named like "Relaxed Red Jacket 2" with sizes S and M, prices
//! in USD with some explicit EUR prices, German translations and exchange rates.

use emporium_core::AppResult;
use emporium_db::entity::{product_image_alts, product_images};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::model::{OptionSpec, ProductStatus};
use crate::state::Catalog;
use crate::views::{CategoryBody, CategoryText, PriceBody, ProductBody, ProductText, VariantBody};

// The same catalog the benchmark peer seeds (its `seed.js`), so both
// systems answer with the same text: product `i` is "<adjective> <colour> <noun> <i>",
// priced (10 + i mod 90).99 in both sizes, with SKUs SKU-i-S and SKU-i-M.
const ADJECTIVES: &[&str] = &[
    "Classic", "Slim", "Relaxed", "Vintage", "Everyday", "Organic", "Premium", "Light", "Warm",
    "Urban",
];
const COLORS: &[(&str, &str)] = &[
    ("Red", "Rot"),
    ("Blue", "Blau"),
    ("Black", "Schwarz"),
    ("White", "Weiß"),
    ("Green", "Grün"),
    ("Grey", "Grau"),
    ("Navy", "Marine"),
    ("Beige", "Beige"),
];
/// The demo pictures' base colours, one per entry of [`COLORS`].
const SHADES: [[u8; 3]; 8] = [
    [178, 34, 34],
    [40, 80, 170],
    [30, 30, 30],
    [215, 215, 210],
    [34, 120, 60],
    [120, 120, 120],
    [20, 30, 80],
    [200, 180, 140],
];

/// (noun, German noun, category slug)
const NOUNS: &[(&str, &str, &str)] = &[
    ("Shirt", "Hemd", "shirts"),
    ("Jacket", "Jacke", "jackets"),
    ("Sweater", "Pullover", "sweaters"),
    ("Hoodie", "Kapuzenpulli", "hoodies"),
    ("Jeans", "Jeans", "jeans"),
    ("Dress", "Kleid", "dresses"),
    ("Scarf", "Schal", "scarves"),
    ("Sneaker", "Turnschuh", "sneakers"),
    ("Backpack", "Rucksack", "backpacks"),
    ("Watch", "Uhr", "watches"),
];
const TREE: &[(&str, &str, &str, Option<&str>)] = &[
    ("men", "Men", "Herren", None),
    ("women", "Women", "Damen", None),
    ("accessories", "Accessories", "Accessoires", None),
    ("shirts", "Shirts", "Hemden", Some("men")),
    ("jackets", "Jackets", "Jacken", Some("men")),
    ("sweaters", "Sweaters", "Pullover", Some("men")),
    ("hoodies", "Hoodies", "Kapuzenpullis", Some("men")),
    ("jeans", "Jeans", "Jeans", Some("men")),
    ("dresses", "Dresses", "Kleider", Some("women")),
    ("sneakers", "Sneakers", "Turnschuhe", Some("women")),
    ("scarves", "Scarves", "Schals", Some("accessories")),
    ("backpacks", "Backpacks", "Rucksäcke", Some("accessories")),
    ("watches", "Watches", "Uhren", Some("accessories")),
];

fn texts<T>(en: T, de: T) -> BTreeMap<String, T> {
    BTreeMap::from([("en".to_string(), en), ("de".to_string(), de)])
}

impl Catalog {
    /// Creates the demo catalog with `products` products, calling `progress` after each.
    pub async fn seed_demo(&self, products: u64, progress: impl Fn(u64)) -> AppResult<()> {
        let mut category_ids: BTreeMap<&str, Uuid> = BTreeMap::new();
        for (slug, en, de, parent) in TREE {
            let id = self
                .create_category(CategoryBody {
                    slug: Some((*slug).to_string()),
                    parent_id: parent.and_then(|p| category_ids.get(p).copied()),
                    position: None,
                    translations: texts(
                        CategoryText {
                            name: (*en).to_string(),
                            description: None,
                        },
                        CategoryText {
                            name: (*de).to_string(),
                            description: None,
                        },
                    ),
                })
                .await?;
            category_ids.insert(slug, id);
        }
        for (currency, rate) in [("EUR", "0.92"), ("GBP", "0.79"), ("JPY", "149.5")] {
            if self.currency_enabled(currency) {
                self.set_rate(currency, rate).await?;
            }
        }
        let mut pictures: BTreeMap<usize, Option<product_images::Model>> = BTreeMap::new();
        for n in 0..products {
            let i = n as usize;
            let adjective = ADJECTIVES[i % ADJECTIVES.len()];
            let shade = (i >> 3) % COLORS.len();
            let (color, color_de) = COLORS[shade];
            let (noun, noun_de, category) = NOUNS[(i >> 1) % NOUNS.len()];
            let title = format!("{adjective} {color} {noun} {n}");
            let price = 1099 + (n % 90) as i64 * 100;
            let variant = |size: &str| VariantBody {
                sku: format!("SKU-{n}-{size}"),
                barcode: None,
                options: BTreeMap::from([("size".to_string(), size.to_string())]),
                prices: {
                    let mut prices = BTreeMap::from([(
                        "USD".to_string(),
                        PriceBody {
                            amount: price,
                            compare_at: None,
                        },
                    )]);
                    if n % 4 == 0 && self.currency_enabled("EUR") {
                        prices.insert(
                            "EUR".into(),
                            PriceBody {
                                amount: price * 9 / 10,
                                compare_at: None,
                            },
                        );
                    }
                    prices
                },
                weight_grams: Some(300 + (n % 700) as i32),
                length_mm: None,
                width_mm: None,
                height_mm: None,
                tax_class: None,
            };
            let product_id = self
                .create_product(ProductBody {
                    slug: None,
                    status: Some(ProductStatus::Published),
                    brand: Some(["Acme", "Northwind", "Globex", "Initech"][i % 4].to_string()),
                    tags: vec![color.to_lowercase(), noun.to_lowercase()],
                    attributes: BTreeMap::from([
                        ("color".to_string(), color.to_lowercase()),
                        (
                            "material".to_string(),
                            ["cotton", "wool", "linen", "leather"][i % 4].to_string(),
                        ),
                    ]),
                    tax_class: None,
                    translations: texts(
                        ProductText {
                            title: title.clone(),
                            description: format!(
                                "A {} {} in {}, made to last.",
                                adjective.to_lowercase(),
                                noun.to_lowercase(),
                                color.to_lowercase(),
                            ),
                            meta_title: None,
                            meta_description: None,
                        },
                        ProductText {
                            title: format!("{adjective} {color_de} {noun_de} {n}"),
                            description: format!("{noun_de} in {color_de}."),
                            meta_title: None,
                            meta_description: None,
                        },
                    ),
                    options: vec![OptionSpec {
                        name: "size".into(),
                        values: vec!["S".into(), "M".into()],
                    }],
                    category_ids: category_ids.get(category).copied().into_iter().collect(),
                    variants: vec![variant("S"), variant("M")],
                })
                .await?;
            self.seed_picture(&mut pictures, shade, product_id, &title)
                .await?;
            progress(n + 1);
        }
        Ok(())
    }

    /// Gives a demo product its colour's picture: drawn here (no download) and uploaded
    /// with thumbnails for the first product of each colour; the others share its files.
    async fn seed_picture(
        &self,
        pictures: &mut BTreeMap<usize, Option<product_images::Model>>,
        shade: usize,
        product_id: Uuid,
        title: &str,
    ) -> AppResult<()> {
        if self.media.is_none() {
            return Ok(());
        }
        let meta = crate::media::UploadMeta {
            alt: BTreeMap::from([(self.default_language().to_string(), title.to_string())]),
            ..Default::default()
        };
        if let Some(Some(model)) = pictures.get(&shade) {
            let txn = self.db.begin().await?;
            let id = Uuid::now_v7();
            product_images::ActiveModel {
                id: Set(id),
                product_id: Set(product_id),
                key: Set(model.key.clone()),
                content_type: Set(model.content_type.clone()),
                width: Set(model.width),
                height: Set(model.height),
                bytes: Set(model.bytes),
                position: Set(0),
                variant_ids: Set("[]".into()),
                thumbnails: Set(model.thumbnails.clone()),
                created_at: Set(chrono::Utc::now()),
            }
            .insert(&txn)
            .await?;
            product_image_alts::ActiveModel {
                image_id: Set(id),
                lang: Set(self.default_language().to_string()),
                alt: Set(title.to_string()),
            }
            .insert(&txn)
            .await?;
            crate::changes::record(&txn, crate::changes::ChangeKind::Product, product_id).await?;
            self.commit(txn).await?;
            return Ok(());
        }
        let [r, g, b] = SHADES[shade % SHADES.len()];
        let picture = image::RgbImage::from_fn(640, 640, |x, y| {
            let light = (x + y) / 10;
            image::Rgb([
                r.saturating_add(light as u8 / 2),
                g.saturating_add(light as u8 / 2),
                b.saturating_add(light as u8 / 2),
            ])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut png, image::ImageFormat::Png)
            .map_err(|e| anyhow::anyhow!("drawing a demo picture: {e}"))?;
        let view = self
            .add_image(product_id, bytes::Bytes::from(png.into_inner()), meta)
            .await?;
        let Some(id) = view.id else {
            return Ok(());
        };
        self.make_thumbnails(id).await?;
        pictures.insert(
            shade,
            product_images::Entity::find_by_id(id)
                .one(self.db.current())
                .await?,
        );
        Ok(())
    }
}
