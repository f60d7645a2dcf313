//! What the information officers' pages need beyond the rest of the API: an area's whole
//! history. The pages themselves (`web/officer.html`, `web/officer.js`) are embedded by
//! `web.rs` and work with a bearer token the officer pastes in; nothing is shown without one.

use axum::Json;
use axum::extract::{Path, State};
use cairn_core::WireEnum;
use cairn_formats::geojson::{area_properties, geometry_value};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// `GET /api/areas/{id}/history`: every revision of an area, oldest first, with who recorded it,
/// when and why. Restricted detail: any role with a token; the public gets 401.
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !caller.role.sees_restricted() {
        return Err(ApiError::unauthorized(
            "an area's history is restricted: send Authorization: Bearer TOKEN",
        ));
    }
    let revisions = state
        .store({
            let id = id.clone();
            move |_, s| s.history(&id)
        })
        .await?
        .map_err(ApiError::from)?;
    if revisions.is_empty() {
        return Err(ApiError::not_found(format!(
            "id: there is no hazardous area {id}"
        )));
    }
    let list: Vec<Value> = revisions
        .iter()
        .map(|s| {
            json!({
                "rev": s.revision.rev,
                "seq": s.revision.seq,
                "changeset": s.revision.changeset,
                "recorded_at": s.revision.recorded_at,
                "author": s.revision.author,
                "reason": s.revision.reason,
                "source": s.revision.source,
                "status": s.area.props.status.as_str(),
                "properties": area_properties(&s.area),
                "geometry": geometry_value(&s.area.shape.geometry()),
            })
        })
        .collect();
    Ok(Json(json!({ "id": id, "revisions": list })))
}
