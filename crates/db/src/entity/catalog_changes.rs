//! `catalog_changes`: the catalog change log; search replicas follow it by `seq`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub entity: String,
    pub entity_id: Uuid,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
