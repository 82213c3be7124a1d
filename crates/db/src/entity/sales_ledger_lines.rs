//! `sales_ledger_lines`: what one ledger row means for one order line (product, variant).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_ledger_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ledger_id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub title: String,
    pub sku: String,
    pub units: i32,
    pub units_returned: i32,
    pub gross: i64,
    pub discounts: i64,
    pub returns: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
