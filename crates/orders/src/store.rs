//! The order tables' data verbs: writing a placed order, reading an order and its lines,
//! recording where its money stands. Every query on `orders`, `order_lines` and
//! `order_events` is in this crate.

use chrono::{DateTime, Utc};
use emporium_core::address::Address;
use emporium_core::crypto::{random_token, token_hash};
use emporium_core::events::{self, OrderPlaced};
use emporium_core::id::{CustomerId, OrderId};
use emporium_core::{AppError, AppResult, Currency, Money};
use emporium_db::entity::{order_events, order_lines, orders};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use uuid::Uuid;

use crate::events::{event_lines, order_ref};
use crate::model::{FulfillmentStatus, OrderStatus, PaymentStatus, Totals};
use crate::state::Orders;
use crate::transition::{Actor, TransitionDetail};
use crate::views::OrderView;

/// An order checkout has priced and checked, about to be written.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: OrderId,
    pub customer_id: Option<CustomerId>,
    pub cart_id: Uuid,
    pub email: String,
    pub currency: Currency,
    pub lang: String,
    pub totals: Totals,
    pub tax_inclusive: bool,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub shipping_option: String,
    pub payment_provider: String,
}

/// The home page's numbers (see [`Orders::overview`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    pub today: Money,
    pub today_orders: i64,
    pub week: Money,
    pub week_orders: i64,
    pub to_ship: i64,
    pub awaiting_payment: i64,
}

/// A written order waiting for its lines (see [`Orders::finish`]).
pub struct Draft {
    pub order: orders::Model,
    /// The secret of the order's private link; only its hash is stored.
    pub token: String,
    first_event: order_events::Model,
}

fn json_text<T: serde::Serialize>(value: &T) -> AppResult<String> {
    Ok(serde_json::to_string(value).map_err(anyhow::Error::from)?)
}

/// The next order number: a sequence on PostgreSQL (concurrent checkouts never wait on
/// each other for it), MAX + 1 on SQLite, whose single writer already serialises them.
async fn next_number<C: ConnectionTrait>(conn: &C) -> AppResult<i64> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT nextval('order_numbers') AS n",
        _ => "SELECT COALESCE(MAX(number), 1000) + 1 AS n FROM orders",
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("order number query returned nothing"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

impl Orders {
    /// Writes a new order (pending payment) with a fresh number and its first history row.
    /// Its lines follow with [`Orders::finish`], once stock has said which are backordered.
    pub async fn create(&self, txn: &DatabaseTransaction, new: NewOrder) -> AppResult<Draft> {
        let number = next_number(txn).await?;
        let token = random_token(32);
        let now = Utc::now();
        let order = orders::ActiveModel {
            id: Set(new.id.uuid()),
            number: Set(number),
            customer_id: Set(new.customer_id.map(CustomerId::uuid)),
            cart_id: Set(new.cart_id),
            email: Set(new.email),
            status: Set(OrderStatus::PendingPayment.as_str().into()),
            currency: Set(new.currency.code().to_string()),
            lang: Set(new.lang),
            subtotal: Set(new.totals.subtotal),
            discount: Set(new.totals.discount),
            shipping: Set(new.totals.shipping),
            tax: Set(new.totals.tax),
            total: Set(new.totals.total),
            tax_inclusive: Set(new.tax_inclusive),
            shipping_address: Set(json_text(&new.shipping_address)?),
            billing_address: Set(json_text(&new.billing_address)?),
            shipping_option: Set(Some(new.shipping_option)),
            payment_provider: Set(new.payment_provider),
            access_hash: Set(token_hash(&token)),
            carrier: Set(None),
            tracking_number: Set(None),
            backordered: Set(false),
            payment_status: Set(PaymentStatus::Unpaid.as_str().into()),
            fulfillment_status: Set(FulfillmentStatus::Unfulfilled.as_str().into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        let first_event = self
            .record_event(
                txn,
                new.id,
                None,
                OrderStatus::PendingPayment,
                &Actor {
                    user_id: new.customer_id.map(CustomerId::uuid),
                    shopper: true,
                    ..Actor::default()
                },
                Some("placed".into()),
            )
            .await?;
        Ok(Draft {
            order,
            token,
            first_event,
        })
    }

    /// Adds a draft's lines (snapshots of what was priced), flags the order when some
    /// are backordered, and publishes `order.placed`.
    pub async fn finish(
        &self,
        txn: &DatabaseTransaction,
        draft: Draft,
        lines: Vec<order_lines::Model>,
    ) -> AppResult<OrderView> {
        let order = if lines.iter().any(|l| l.backordered > 0) {
            let mut flagged: orders::ActiveModel = draft.order.into();
            flagged.backordered = Set(true);
            flagged.update(txn).await?
        } else {
            draft.order
        };
        order_lines::Entity::insert_many(
            lines
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
        self.ledger_order(txn, &order, &lines).await?;
        events::publish(txn, self.order_placed(&order, &lines, &draft.token)).await?;
        self.view_from(order, lines, vec![draft.first_event])
    }

    /// `order.placed`, with what the confirmation needs and the order's private link.
    fn order_placed(
        &self,
        order: &orders::Model,
        lines: &[order_lines::Model],
        token: &str,
    ) -> OrderPlaced {
        let currency = Currency::parse(&order.currency).unwrap_or(self.default_currency());
        let money = |amount| Money::new(amount, currency);
        OrderPlaced {
            order: order_ref(order),
            lines: event_lines(lines, currency),
            subtotal: money(order.subtotal),
            discount: (order.discount != 0).then(|| money(order.discount)),
            shipping: money(order.shipping),
            tax: money(order.tax),
            total: money(order.total),
            tax_inclusive: order.tax_inclusive,
            // The node's own order page; `GET /api/v1/orders/{id}?token=` answers the
            // same token for headless storefronts.
            link: format!(
                "{}/orders/{}?token={token}",
                self.config.public_base_url(),
                order.id
            ),
        }
    }

    /// An order by id (404 when there is none).
    pub async fn find<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: OrderId,
    ) -> AppResult<orders::Model> {
        orders::Entity::find_by_id(id.uuid())
            .one(conn)
            .await?
            .ok_or_else(|| AppError::not_found("no such order"))
    }

    /// Whether a shopper has ordered before (an order not cancelled), by account or, for
    /// a guest, by email: what a first-order promotion asks.
    pub async fn has_ordered<C: ConnectionTrait>(
        &self,
        conn: &C,
        customer: Option<CustomerId>,
        email: Option<&str>,
    ) -> AppResult<bool> {
        let mut find = orders::Entity::find()
            .filter(orders::Column::Status.ne(OrderStatus::Cancelled.as_str()));
        find = match (customer, email) {
            (Some(c), _) => find.filter(orders::Column::CustomerId.eq(c.0)),
            (None, Some(e)) => find.filter(orders::Column::Email.eq(e)),
            (None, None) => return Ok(false),
        };
        Ok(find.limit(1).one(conn).await?.is_some())
    }

    /// An order's id from its number.
    pub async fn id_by_number(&self, number: i64) -> AppResult<Option<OrderId>> {
        Ok(orders::Entity::find()
            .filter(orders::Column::Number.eq(number))
            .one(self.db.current())
            .await?
            .map(|o| OrderId(o.id)))
    }

    /// An order's lines, in their order.
    pub async fn lines_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
    ) -> AppResult<Vec<order_lines::Model>> {
        Ok(order_lines::Entity::find()
            .filter(order_lines::Column::OrderId.eq(order_id))
            .order_by_asc(order_lines::Column::Position)
            .all(conn)
            .await?)
    }

    /// Orders still pending payment that were placed before `cutoff`, oldest first.
    pub async fn unpaid_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> AppResult<Vec<orders::Model>> {
        Ok(orders::Entity::find()
            .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
            .filter(orders::Column::CreatedAt.lt(cutoff))
            .order_by_asc(orders::Column::CreatedAt)
            .limit(limit)
            .all(self.db.current())
            .await?)
    }

    /// Money went back: the order's payment status follows, and a full refund also
    /// closes the order when its state allows.
    pub async fn money_returned(
        &self,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        money: PaymentStatus,
        actor: &Actor,
        reason: Option<String>,
    ) -> AppResult<()> {
        let order = self.find(txn, order_id).await?;
        orders::Entity::update_many()
            .col_expr(orders::Column::PaymentStatus, Expr::value(money.as_str()))
            .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(orders::Column::Id.eq(order.id))
            .exec(txn)
            .await?;
        let to = OrderStatus::Refunded;
        let from = OrderStatus::parse(&order.status);
        if money == PaymentStatus::Refunded && from.is_some_and(|f| f.can_transition_to(to)) {
            self.transition_in(
                txn,
                OrderId(order.id),
                to,
                actor,
                TransitionDetail {
                    reason,
                    ..TransitionDetail::default()
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The numbers a shop's home page opens with: sales (placed and not cancelled) since
    /// `day` and since `week` in `currency`, and how many orders wait to ship or for
    /// their payment. Four aggregate queries on indexed columns.
    pub async fn overview(
        &self,
        currency: Currency,
        day: DateTime<Utc>,
        week: DateTime<Utc>,
    ) -> AppResult<Overview> {
        let conn = self.db.reader();
        let sales = |since: DateTime<Utc>| {
            orders::Entity::find()
                .select_only()
                .column_as(orders::Column::Id.count(), "n")
                .column_as(orders::Column::Total.sum().cast_as("BIGINT"), "total")
                .filter(orders::Column::CreatedAt.gte(since))
                .filter(orders::Column::Currency.eq(currency.code()))
                .filter(orders::Column::Status.ne(OrderStatus::Cancelled.as_str()))
                .filter(orders::Column::Status.ne(OrderStatus::PendingPayment.as_str()))
                .into_tuple::<(i64, Option<i64>)>()
        };
        let count = |statuses: &[OrderStatus]| {
            orders::Entity::find()
                .filter(orders::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
                .count(conn)
        };
        let (today_orders, today) = sales(day).one(conn).await?.unwrap_or((0, None));
        let (week_orders, week) = sales(week).one(conn).await?.unwrap_or((0, None));
        Ok(Overview {
            today: Money::new(today.unwrap_or(0), currency),
            today_orders,
            week: Money::new(week.unwrap_or(0), currency),
            week_orders,
            to_ship: count(&[OrderStatus::Paid, OrderStatus::Processing]).await? as i64,
            awaiting_payment: count(&[OrderStatus::PendingPayment]).await? as i64,
        })
    }

    /// A customer's paid orders in `currency`: how many, and what they came to (their
    /// lifetime value, before refunds).
    pub async fn customer_value(
        &self,
        customer_id: CustomerId,
        currency: Currency,
    ) -> AppResult<(i64, Money)> {
        let (count, total) = orders::Entity::find()
            .select_only()
            .column_as(orders::Column::Id.count(), "n")
            .column_as(orders::Column::Total.sum().cast_as("BIGINT"), "total")
            .filter(orders::Column::CustomerId.eq(customer_id))
            .filter(orders::Column::Currency.eq(currency.code()))
            .filter(orders::Column::PaymentStatus.ne(PaymentStatus::Unpaid.as_str()))
            .into_tuple::<(i64, Option<i64>)>()
            .one(self.db.reader())
            .await?
            .unwrap_or((0, None));
        Ok((count, Money::new(total.unwrap_or(0), currency)))
    }

    /// Marks some goods as shipped without a status change (a first parcel of an order
    /// already processing).
    pub(crate) async fn set_fulfillment<C: ConnectionTrait>(
        &self,
        conn: &C,
        order_id: OrderId,
        status: FulfillmentStatus,
    ) -> AppResult<()> {
        orders::Entity::update_many()
            .col_expr(
                orders::Column::FulfillmentStatus,
                Expr::value(status.as_str()),
            )
            .filter(orders::Column::Id.eq(order_id))
            .exec(conn)
            .await?;
        Ok(())
    }
}
