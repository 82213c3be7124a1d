//! `customer_cohorts`: each customer's (hashed key's) cohort, the local month of their first order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_cohorts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_key: String,
    pub cohort: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
