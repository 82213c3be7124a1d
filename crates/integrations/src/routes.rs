//! Webhooks over HTTP, under `/admin/webhooks` (needs `settings.manage`).

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use emporium_auth::{Auth, Staff, perm};
use emporium_core::AppResult;
use emporium_core::extract::{Json, Path, Query};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::deliveries::{
    DeliveryDetailView, DeliveryPageView, DeliveryQuery, DeliveryView, RedeliverRangeBody,
    RedeliveredView,
};
use crate::endpoints::{
    CreatedEndpointView, EndpointBody, EndpointListView, EndpointPatch, EndpointView,
    EventTypeListView, SecretView, event_types,
};
use crate::state::Integrations;

type Problem = emporium_core::error::Problem;
type Manager = Staff<perm::SettingsManage>;

/// The routes of integrations.
pub fn router<S>() -> OpenApiRouter<S>
where
    Integrations: FromRef<S>,
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(list_event_types))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(get_secret))
        .routes(routes!(rotate_secret))
        .routes(routes!(send_test))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(redeliver_range))
}

/// Every webhook endpoint.
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = EndpointListView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_endpoints(
    State(integrations): State<Integrations>,
    _staff: Manager,
) -> AppResult<axum::Json<EndpointListView>> {
    Ok(axum::Json(EndpointListView {
        data: integrations.endpoints().await?,
    }))
}

/// Adds an endpoint; the answer carries its signing secret. URLs on loopback, private
/// and link-local addresses are refused unless the store allows them.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "integrations", security(("bearer" = [])),
    request_body = EndpointBody,
    responses((status = 201, body = CreatedEndpointView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_endpoint(
    State(integrations): State<Integrations>,
    staff: Manager,
    Json(body): Json<EndpointBody>,
) -> AppResult<(StatusCode, axum::Json<CreatedEndpointView>)> {
    let created = integrations
        .create_endpoint(body, Some(staff.user_id))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// The event types an endpoint can ask for, with what each means.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/event-types", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = EventTypeListView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_event_types(_staff: Manager) -> axum::Json<EventTypeListView> {
    axum::Json(EventTypeListView {
        data: event_types(),
    })
}

/// One webhook endpoint.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_endpoint(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<EndpointView>> {
    Ok(axum::Json(integrations.endpoint(id).await?))
}

/// Changes an endpoint: its URL, description, events, on or off.
#[utoipa::path(patch, path = "/api/v1/admin/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = EndpointPatch,
    responses((status = 200, body = EndpointView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_endpoint(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Json(patch): Json<EndpointPatch>,
) -> AppResult<axum::Json<EndpointView>> {
    Ok(axum::Json(integrations.update_endpoint(id, patch).await?))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_endpoint(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    integrations.delete_endpoint(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's signing secret.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/secret", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SecretView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_secret(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<SecretView>> {
    Ok(axum::Json(integrations.secret(id).await?))
}

/// A new signing secret; the previous one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/secret/rotate", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SecretView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn rotate_secret(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<axum::Json<SecretView>> {
    Ok(axum::Json(integrations.rotate_secret(id).await?))
}

/// Sends a `webhook.test` event to the endpoint.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/test", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 202, body = DeliveryView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn send_test(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
) -> AppResult<(StatusCode, axum::Json<DeliveryView>)> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(integrations.send_test(id).await?),
    ))
}

/// The endpoint's deliveries, newest first, by status and event type.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryPageView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_deliveries(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Query(q): Query<DeliveryQuery>,
) -> AppResult<axum::Json<DeliveryPageView>> {
    Ok(axum::Json(integrations.deliveries(id, q).await?))
}

/// One delivery: the body sent and every attempt with the receiver's answer.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 200, body = DeliveryDetailView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_delivery(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path((id, delivery_id)): Path<(Uuid, Uuid)>,
) -> AppResult<axum::Json<DeliveryDetailView>> {
    Ok(axum::Json(integrations.delivery(id, delivery_id).await?))
}

/// Sends one delivery again now, with the same `webhook-id`.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn redeliver(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path((id, delivery_id)): Path<(Uuid, Uuid)>,
) -> AppResult<(StatusCode, axum::Json<DeliveryView>)> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(integrations.redeliver(id, delivery_id).await?),
    ))
}

/// Sends again every delivery of the endpoint made in a time range (by default the
/// failed and cancelled ones), e.g. after the receiver was down.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/redeliver", tag = "integrations", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RedeliverRangeBody,
    responses((status = 202, body = RedeliveredView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn redeliver_range(
    State(integrations): State<Integrations>,
    _staff: Manager,
    Path(id): Path<Uuid>,
    Json(body): Json<RedeliverRangeBody>,
) -> AppResult<(StatusCode, axum::Json<RedeliveredView>)> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(integrations.redeliver_range(id, body).await?),
    ))
}
