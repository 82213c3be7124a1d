//! `tickets`: a customer's question and its state in the helpdesk (status, priority,
//! assignee, tags), with the hash of the secret its link and reply address carry.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub email: String,
    pub name: Option<String>,
    pub customer_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub tags: String,
    pub access_hash: String,
    pub lang: String,
    pub merged_into: Option<Uuid>,
    pub snoozed_until: Option<DateTimeUtc>,
    pub waiting_since: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub response_due: Option<DateTimeUtc>,
    pub resolution_due: Option<DateTimeUtc>,
    pub sla_breaches: String,
    pub message_count: i32,
    pub last_message_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
