//! `product_slug_redirects`: old slugs that redirect to a product after a rename.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_slug_redirects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub old_slug: String,
    pub product_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
