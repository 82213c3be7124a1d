//! `review_requests`: the email asking a delivered order's buyer for reviews: when it is due, when it and its one reminder went, and the hashes of their links' tokens.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    pub email: String,
    pub lang: String,
    pub customer_id: Option<Uuid>,
    pub products: String,
    pub due_at: i64,
    pub sent_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub token_hash: Option<String>,
    pub reminder_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
