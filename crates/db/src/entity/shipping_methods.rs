//! `shipping_methods`: A way to ship within a zone, priced flat, by weight or cart tiers, or by a carrier.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_methods")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub zone_id: Uuid,
    pub name: String,
    pub kind: String,
    /// JSON: the flat amount or the tiers, in the default currency's minor units.
    pub rates: String,
    pub free_over: Option<i64>,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub position: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
