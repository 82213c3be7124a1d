//! `reviews`: a shopper's rating and words about a product, with its moderation state; one per author (`author_key`) and product.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub author_key: String,
    pub customer_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub rating: i16,
    pub title: String,
    pub body: String,
    pub lang: String,
    pub author_name: String,
    pub author_email: Option<String>,
    pub verified: bool,
    pub source: String,
    pub status: String,
    pub held_for: Option<String>,
    pub reject_reason: Option<String>,
    pub reject_note: Option<String>,
    pub moderated_by: Option<Uuid>,
    pub moderated_at: Option<DateTimeUtc>,
    pub reply: Option<String>,
    pub replied_at: Option<DateTimeUtc>,
    pub photos: String,
    pub photo_count: i32,
    pub helpful: i64,
    pub unhelpful: i64,
    pub reports: i64,
    pub body_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
