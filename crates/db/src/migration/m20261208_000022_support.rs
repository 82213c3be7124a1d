//! The helpdesk: tickets (a customer's question and everything said about it), their
//! messages (from the customer, from staff, or internal notes staff keep to themselves),
//! their history (every change: status, assignment, priority, tags, merges), the shop's
//! canned replies, the service levels promised per priority, and the agents who answer
//! with how many open tickets each can hold.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tickets")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(big_integer_uniq("number"))
                    .col(string_len("subject", 200))
                    .col(string_len("status", 16))
                    .col(string_len("priority", 16))
                    .col(string_len("channel", 16))
                    .col(string_len("email", 320))
                    .col(string_len_null("name", 200))
                    .col(uuid_null("customer_id"))
                    .col(uuid_null("order_id"))
                    .col(uuid_null("assignee_id"))
                    // `,tag,other,`: a tag filter is one LIKE on both backends.
                    .col(string_len("tags", 600))
                    // SHA-256 of the secret in the ticket's link and reply address.
                    .col(string_len("access_hash", 64))
                    .col(string_len("lang", 16))
                    .col(uuid_null("merged_into"))
                    .col(timestamp_with_time_zone_null("snoozed_until"))
                    // The customer's oldest message staff have not answered yet.
                    .col(timestamp_with_time_zone_null("waiting_since"))
                    .col(timestamp_with_time_zone_null("first_response_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    // When the SLA wants the next answer and the resolution by (none when
                    // no policy applies or the shop answered), and which targets were
                    // missed (`,first_response,resolution,`): each is flagged once.
                    .col(timestamp_with_time_zone_null("response_due"))
                    .col(timestamp_with_time_zone_null("resolution_due"))
                    .col(string_len("sla_breaches", 64))
                    .col(integer("message_count"))
                    .col(timestamp_with_time_zone("last_message_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_tickets_queue",
            "tickets",
            &["status", "last_message_at", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_tickets_assignee",
            "tickets",
            &["assignee_id", "status"],
            false,
        )
        .await?;
        index(manager, "idx_tickets_email", "tickets", &["email"], false).await?;
        index(
            manager,
            "idx_tickets_response_due",
            "tickets",
            &["response_due"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_tickets_resolution_due",
            "tickets",
            &["resolution_due"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_tickets_customer",
            "tickets",
            &["customer_id", "created_at"],
            false,
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // As with orders: MAX + 1 under SQLite's single writer, a sequence here.
            manager
                .get_connection()
                .execute_unprepared("CREATE SEQUENCE IF NOT EXISTS ticket_numbers START 1001")
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("ticket_messages")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("ticket_id"))
                    .col(integer("seq"))
                    .col(string_len("author", 16))
                    .col(uuid_null("author_id"))
                    .col(string_len_null("author_name", 200))
                    .col(text("body"))
                    .col(boolean("internal"))
                    .col(string_len("channel", 16))
                    // The Message-ID of the email that brought or carried it: replies
                    // thread by it, and a provider's retried webhook is a no-op.
                    .col(string_len_null("mail_message_id", 500))
                    .col(text("attachments"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("ticket_messages", "ticket_id", "tickets"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_ticket_messages_seq",
            "ticket_messages",
            &["ticket_id", "seq"],
            true,
        )
        .await?;
        index(
            manager,
            "idx_ticket_messages_mail",
            "ticket_messages",
            &["mail_message_id"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("ticket_history")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("ticket_id"))
                    .col(string_len("action", 32))
                    .col(string_len_null("detail", 1000))
                    .col(string_len("actor", 16))
                    .col(uuid_null("actor_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("ticket_history", "ticket_id", "tickets"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_ticket_history_ticket",
            "ticket_history",
            &["ticket_id", "created_at"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("canned_replies")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len("title", 200))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sla_policies")
                    .if_not_exists()
                    .col(string_len("priority", 16).primary_key())
                    .col(integer_null("first_response_minutes"))
                    .col(integer_null("next_response_minutes"))
                    .col(integer_null("resolution_minutes"))
                    .col(boolean("business_hours"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("support_agents")
                    .if_not_exists()
                    .col(pk_uuid("user_id"))
                    .col(integer("capacity"))
                    .col(boolean("available"))
                    .col(timestamp_with_time_zone_null("last_assigned_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "support_agents",
            "sla_policies",
            "canned_replies",
            "ticket_history",
            "ticket_messages",
            "tickets",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP SEQUENCE IF EXISTS ticket_numbers")
                .await?;
        }
        Ok(())
    }
}
