//! `promotion_redemptions`: one promotion used by one order, with the discount it gave; `held` until released by an unpaid order's cancellation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_redemptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub promotion_id: Uuid,
    pub code_id: Option<Uuid>,
    pub code: Option<String>,
    pub order_id: Uuid,
    pub customer_key: String,
    pub amount: i64,
    pub currency: String,
    pub order_total: i64,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
