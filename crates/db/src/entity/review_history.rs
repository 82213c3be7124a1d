//! `review_history`: every step of a review (created, held, published, rejected with its reason, edited, replied, deleted), by whom and when; kept after the review is deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub review_id: Uuid,
    pub product_id: Uuid,
    pub action: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
