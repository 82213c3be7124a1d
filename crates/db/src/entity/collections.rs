//! `collections`: a hand-picked (`manual`) or rule-based (`rule`: a tag and/or a price range in the default currency) list of products.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "collections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub kind: String,
    pub rule_tag: Option<String>,
    pub rule_price_min: Option<i64>,
    pub rule_price_max: Option<i64>,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
