//! `promotion_customer_uses`: how often one customer (by account, or by email for guests) has used a promotion.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_customer_uses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub promotion_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_key: String,
    pub used: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
