//! `webhook_attempts`: one try of a delivery: the request's headers, the receiver's status and an excerpt of its answer, or the error, and how long it took.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub attempt: i32,
    pub attempted_at: DateTimeUtc,
    pub request_headers: String,
    pub status_code: Option<i32>,
    pub response_excerpt: String,
    pub error: Option<String>,
    pub duration_ms: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
