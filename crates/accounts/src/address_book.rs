//! The customer's address book (`/me/addresses`): saved addresses checked per country
//! like checkout's, with one default for shipping and one for billing.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chrono::Utc;
use emporium_auth::{Auth, Principal};
use emporium_core::error::ErrorCode;
use emporium_core::extract::Json;
use emporium_core::extract::Path;
use emporium_core::{AppError, AppResult, FieldError};
use emporium_db::entity::customer_addresses;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::state::Accounts;
use emporium_core::address::{Address, SavedAddresses};

type Problem = emporium_core::error::Problem;

/// How many addresses one customer may keep.
const MAX_ADDRESSES: u64 = 50;

/// A saved address: API.md's Address fields, a label, and the default flags.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SavedAddressView {
    pub id: Uuid,
    pub label: Option<String>,
    pub default_shipping: bool,
    pub default_billing: bool,
    #[serde(flatten)]
    pub address: Address,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

/// `POST /me/addresses` (Address fields required) and `PATCH /me/addresses/{id}` (any
/// of them; the result is checked whole).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "label": "Home",
    "default_shipping": true,
    "default_billing": true,
    "name": "Jane Doe",
    "line1": "500 Market Street",
    "line2": "Apt 4B",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "phone": "+1 415 555 0123"
})))]
pub struct AddressBody {
    pub label: Option<String>,
    pub default_shipping: Option<bool>,
    pub default_billing: Option<bool>,
    pub name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

impl AddressBody {
    /// `base` with this body's fields laid over it.
    fn over(self, base: Address) -> Address {
        Address {
            name: self.name.unwrap_or(base.name),
            line1: self.line1.unwrap_or(base.line1),
            line2: self.line2.or(base.line2),
            city: self.city.unwrap_or(base.city),
            region: self.region.or(base.region),
            postal_code: self.postal_code.or(base.postal_code),
            country: self.country.unwrap_or(base.country),
            phone: self.phone.or(base.phone),
        }
    }
}

fn view(row: customer_addresses::Model) -> AppResult<SavedAddressView> {
    Ok(SavedAddressView {
        address: serde_json::from_str(&row.address).map_err(anyhow::Error::from)?,
        id: row.id,
        label: row.label,
        default_shipping: row.default_shipping,
        default_billing: row.default_billing,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Makes `id` the only default of its kind for `user_id`.
async fn only_default<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    id: Uuid,
    column: customer_addresses::Column,
) -> AppResult<()> {
    customer_addresses::Entity::update_many()
        .col_expr(column, Expr::value(false))
        .filter(customer_addresses::Column::UserId.eq(user_id))
        .filter(customer_addresses::Column::Id.ne(id))
        .exec(conn)
        .await?;
    customer_addresses::Entity::update_many()
        .col_expr(column, Expr::value(true))
        .filter(customer_addresses::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

impl Accounts {
    /// A customer's saved addresses (the defaults first).
    pub async fn addresses_of(&self, user_id: Uuid) -> AppResult<Vec<SavedAddressView>> {
        customer_addresses::Entity::find()
            .filter(customer_addresses::Column::UserId.eq(user_id))
            .order_by_desc(customer_addresses::Column::DefaultShipping)
            .order_by_desc(customer_addresses::Column::UpdatedAt)
            .all(self.db().current())
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// A saved address to ship to, for checkout (422 when it is not the customer's).
    pub async fn saved_address(&self, user_id: Uuid, id: Uuid) -> AppResult<Address> {
        self.address_of(user_id, id)
            .await
            .map(|saved| saved.address)
            .map_err(|_| {
                AppError::invalid("shipping_address_id", "is not one of your saved addresses")
            })
    }

    async fn address_of(&self, user_id: Uuid, id: Uuid) -> AppResult<SavedAddressView> {
        customer_addresses::Entity::find_by_id(id)
            .one(self.db().current())
            .await?
            .filter(|a| a.user_id == user_id)
            .ok_or_else(|| AppError::not_found("no such address"))
            .and_then(view)
    }

    pub async fn save_address(
        &self,
        user_id: Uuid,
        id: Option<Uuid>,
        body: AddressBody,
    ) -> AppResult<SavedAddressView> {
        let mut errors = Vec::new();
        let label = body
            .label
            .clone()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        if label.as_ref().is_some_and(|l| l.chars().count() > 100) {
            errors.push(FieldError::new("label", "must be at most 100 characters"));
        }
        let txn = self.db().writer().begin().await?;
        let existing = match id {
            Some(id) => Some(
                customer_addresses::Entity::find_by_id(id)
                    .one(&txn)
                    .await?
                    .filter(|a| a.user_id == user_id)
                    .ok_or_else(|| AppError::not_found("no such address"))?,
            ),
            None => None,
        };
        let (make_shipping, make_billing) = (body.default_shipping, body.default_billing);
        let label_given = body.label.is_some();
        let address = match &existing {
            Some(row) => {
                let base: Address =
                    serde_json::from_str(&row.address).map_err(anyhow::Error::from)?;
                body.over(base)
            }
            None => {
                for (field, present) in [
                    ("name", body.name.is_some()),
                    ("line1", body.line1.is_some()),
                    ("city", body.city.is_some()),
                    ("country", body.country.is_some()),
                ] {
                    if !present {
                        errors.push(FieldError::new(field, "is required"));
                    }
                }
                body.over(Address {
                    name: String::new(),
                    line1: String::new(),
                    line2: None,
                    city: String::new(),
                    region: None,
                    postal_code: None,
                    country: String::new(),
                    phone: None,
                })
            }
        };
        let address = if errors.is_empty() {
            address.check("", &mut errors)
        } else {
            address
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let now = Utc::now();
        let text = serde_json::to_string(&address).map_err(anyhow::Error::from)?;
        let saved = match existing {
            Some(row) => {
                let mut model: customer_addresses::ActiveModel = row.into();
                model.address = Set(text);
                if label_given {
                    model.label = Set(label);
                }
                model.updated_at = Set(now);
                model.update(&txn).await?
            }
            None => {
                let count = customer_addresses::Entity::find()
                    .filter(customer_addresses::Column::UserId.eq(user_id))
                    .count(&txn)
                    .await?;
                if count >= MAX_ADDRESSES {
                    return Err(AppError::conflict(
                        ErrorCode::TooManyAddresses,
                        format!("an address book holds at most {MAX_ADDRESSES} addresses"),
                    ));
                }
                // The first address is the default for both.
                customer_addresses::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    user_id: Set(user_id),
                    label: Set(label),
                    address: Set(text),
                    default_shipping: Set(count == 0),
                    default_billing: Set(count == 0),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?
            }
        };
        if make_shipping == Some(true) {
            only_default(
                &txn,
                user_id,
                saved.id,
                customer_addresses::Column::DefaultShipping,
            )
            .await?;
        }
        if make_billing == Some(true) {
            only_default(
                &txn,
                user_id,
                saved.id,
                customer_addresses::Column::DefaultBilling,
            )
            .await?;
        }
        let saved = customer_addresses::Entity::find_by_id(saved.id)
            .one(&txn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("address vanished"))?;
        txn.commit().await?;
        view(saved)
    }

    pub async fn delete_address(&self, user_id: Uuid, id: Uuid) -> AppResult<()> {
        let txn = self.db().writer().begin().await?;
        let row = customer_addresses::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|a| a.user_id == user_id)
            .ok_or_else(|| AppError::not_found("no such address"))?;
        customer_addresses::Entity::delete_by_id(id)
            .exec(&txn)
            .await?;
        // A default that goes passes to the most recently changed address left.
        let next = if row.default_shipping || row.default_billing {
            customer_addresses::Entity::find()
                .filter(customer_addresses::Column::UserId.eq(user_id))
                .order_by_desc(customer_addresses::Column::UpdatedAt)
                .one(&txn)
                .await?
        } else {
            None
        };
        if let Some(next) = next {
            if row.default_shipping {
                only_default(
                    &txn,
                    user_id,
                    next.id,
                    customer_addresses::Column::DefaultShipping,
                )
                .await?;
            }
            if row.default_billing {
                only_default(
                    &txn,
                    user_id,
                    next.id,
                    customer_addresses::Column::DefaultBilling,
                )
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

pub(crate) fn router<S>() -> OpenApiRouter<S>
where
    Accounts: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(get_address, update_address, delete_address))
}

/// The signed-in customer's saved addresses, the default shipping address first.
#[utoipa::path(get, path = "/api/v1/me/addresses", tag = "accounts",
    responses((status = 200, body = [SavedAddressView]), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn list_addresses(
    State(accounts): State<Accounts>,
    principal: Principal,
) -> AppResult<axum::Json<Vec<SavedAddressView>>> {
    Ok(axum::Json(accounts.addresses_of(principal.user_id).await?))
}

/// Saves an address, checked for its country (required fields, postal code pattern).
/// The first one becomes the default for shipping and billing.
#[utoipa::path(post, path = "/api/v1/me/addresses", tag = "accounts",
    request_body = AddressBody,
    responses((status = 201, body = SavedAddressView), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_address(
    State(accounts): State<Accounts>,
    principal: Principal,
    Json(body): Json<AddressBody>,
) -> AppResult<(StatusCode, axum::Json<SavedAddressView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(accounts.save_address(principal.user_id, None, body).await?),
    ))
}

/// One saved address (another customer's is 404).
#[utoipa::path(get, path = "/api/v1/me/addresses/{id}", tag = "accounts",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SavedAddressView), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_address(
    State(accounts): State<Accounts>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<SavedAddressView>> {
    Ok(axum::Json(
        accounts.address_of(principal.user_id, id).await?,
    ))
}

/// Changes some fields of an address, or makes it a default.
#[utoipa::path(patch, path = "/api/v1/me/addresses/{id}", tag = "accounts",
    params(("id" = Uuid, Path)), request_body = AddressBody,
    responses((status = 200, body = SavedAddressView), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_address(
    State(accounts): State<Accounts>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Json(body): Json<AddressBody>,
) -> AppResult<axum::Json<SavedAddressView>> {
    Ok(axum::Json(
        accounts
            .save_address(principal.user_id, Some(id), body)
            .await?,
    ))
}

/// Removes an address; a default passes to the most recently changed one left.
#[utoipa::path(delete, path = "/api/v1/me/addresses/{id}", tag = "accounts",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_address(
    State(accounts): State<Accounts>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    accounts.delete_address(principal.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[async_trait::async_trait]
impl SavedAddresses for Accounts {
    async fn saved_address(&self, customer: Uuid, id: Uuid) -> AppResult<Address> {
        Accounts::saved_address(self, customer, id).await
    }
}
