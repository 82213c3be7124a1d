//! `ticket_messages`: what the customer and staff said on a ticket, in order (`seq`), and
//! the notes staff keep to themselves (`internal`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub seq: i32,
    pub author: String,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub internal: bool,
    pub channel: String,
    pub mail_message_id: Option<String>,
    pub attachments: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
