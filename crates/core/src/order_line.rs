//! A count of units of one order line: what a parcel carries and what a refund covers
//! (and, later, a return), shared by the domains that deal in parts of an order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A refund line: how many units of an order line it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefundLine)]
pub struct LineQuantity {
    pub line_id: Uuid,
    pub quantity: i32,
}
