//! `promotions`: a discount with its class, action, conditions, window, combination rule and usage counters.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub class: String,
    pub action: String,
    pub conditions: String,
    pub currency: Option<String>,
    pub automatic: bool,
    pub enabled: bool,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub priority: i32,
    pub combines_with: String,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub budget: Option<i64>,
    pub used: i32,
    pub discount_given: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
