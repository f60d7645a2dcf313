//! OGC API – Features Part 4 on `/ogc/collections/hazardous-areas/items`: create (`POST`),
//! replace (`PUT`), update (`PATCH`, a JSON merge patch of the properties with an optional new
//! geometry) and delete (`DELETE`, recorded as a closing revision: the area's status becomes
//! `closed`; nothing is ever removed and its history keeps every revision). `OPTIONS` answers
//! with the methods the caller may use, which is how QGIS decides to offer editing.
//!
//! Optimistic locking: `PUT`, `PATCH` and `DELETE` need `If-Match` with the ETag of the record as
//! last read (428 without it, 412 when the record has changed since). The check and the write
//! happen in one store transaction under the write lock, so two writers holding the same ETag
//! can never both succeed. The read model (items, checks, tiles) is updated in place before the
//! answer is sent. Every write is a changeset attributed to the token's user, with the
//! token as its source and a reason (the `Cairn-Reason` header, or one naming the operation).
//!
//! Who may write (domain.md): the public nobody (401); auditors nothing (403); field users only
//! records of their own organisation, and neither publish (classification `public`) nor release
//! land (`cancelled`, `reduced`, `cleared`, `closed`), which are officers' decisions; officers
//! and admins everything. A body is checked in full by the same validation as an import before
//! anything is written: a bad one changes nothing and is answered with a problem naming every
//! field at fault.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::report::{MAX_REASON_CHARS, check_text};
use cairn_core::{Classification, HazardArea, Problem, Status, WireEnum};
use cairn_formats::geojson::{area_properties, geometry_value, read_feature, read_geometry};
use cairn_formats::record::{Candidate, build_geometry, build_record};
use cairn_store::{ChangeMeta, PutOutcome, Store, StoreError, StoredArea, Writer};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::ogc::{COLLECTION, GEOJSON, JSON, base_url, check_collection, encode, link};

/// What `OPTIONS` allows on the items of the collection, for a caller who may write.
pub const ITEMS_ALLOW_WRITE: &str = "GET, HEAD, POST, OPTIONS";
/// What `OPTIONS` allows on one item, for a caller who may write.
pub const ITEM_ALLOW_WRITE: &str = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS";
/// What `OPTIONS` allows to everyone else.
pub const ALLOW_READ: &str = "GET, HEAD, OPTIONS";
/// The header that may carry the reason of a write, recorded in history.
pub const REASON_HEADER: &str = "cairn-reason";

/// A refusal in its final form (a problem with a list of fields, or an `ApiError`), boxed
/// because a response is large.
struct Refusal(Box<Response>);

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal(Box::new(e.into_response()))
    }
}

fn may_write(role: Role) -> bool {
    matches!(role, Role::Field | Role::Officer | Role::Admin)
}

fn allow(methods: &'static str) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::ALLOW, HeaderValue::from_static(methods))],
    )
        .into_response()
}

/// `OPTIONS /ogc/collections/{id}/items`.
pub async fn items_options(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    check_collection(&id)?;
    Ok(allow(if may_write(caller.role) {
        ITEMS_ALLOW_WRITE
    } else {
        ALLOW_READ
    }))
}

/// `OPTIONS /ogc/collections/{id}/items/{featureId}`: the same answer whether or not the feature
/// exists (QGIS asks about an invented id when the collection is empty).
pub async fn item_options(
    caller: Caller,
    Path((id, _fid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    Ok(allow(if may_write(caller.role) {
        ITEM_ALLOW_WRITE
    } else {
        ALLOW_READ
    }))
}

/// The first refusal every write shares: who the caller is.
fn writer(caller: &Caller) -> Result<String, ApiError> {
    match caller.role {
        Role::Public => Err(ApiError::unauthorized(
            "editing needs a token (Authorization: Bearer TOKEN) of a field user, information officer or admin",
        )),
        Role::Auditor => Err(ApiError::forbidden(
            "auditors read everything and write nothing; this token's role is auditor",
        )),
        Role::Field if caller.organisation.is_none() => Err(ApiError::forbidden(
            "a field user writes only records of their organisation, and this token's user has none (cairn user add --org)",
        )),
        _ => Ok(caller.name.clone().unwrap_or_else(|| "unknown".into())),
    }
}

/// The reason recorded with a write: the `Cairn-Reason` header, or `default`.
fn reason(headers: &HeaderMap, default: &str) -> Result<String, ApiError> {
    match headers.get(REASON_HEADER) {
        None => Ok(default.to_string()),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| ApiError::bad_request("header Cairn-Reason must be ASCII text"))?;
            let s = check_text(s, MAX_REASON_CHARS)
                .map_err(|m| ApiError::bad_request(format!("header Cairn-Reason {m}")))?;
            Ok(if s.is_empty() { default.to_string() } else { s })
        }
    }
}

/// The ETags `If-Match` names; 428 when it is missing or `*` (which would allow lost updates).
fn if_match(headers: &HeaderMap) -> Result<Vec<String>, ApiError> {
    let missing = || {
        ApiError {
        status: StatusCode::PRECONDITION_REQUIRED,
        title: "Precondition required",
        detail: "header If-Match is required: send the ETag of the feature as you last read it (GET the item), so that a change made meanwhile by someone else is not overwritten".into(),
    }
    };
    let mut tags = Vec::new();
    for v in headers.get_all(header::IF_MATCH) {
        let s = v
            .to_str()
            .map_err(|_| ApiError::bad_request("header If-Match is not text"))?;
        tags.extend(
            s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
    }
    if tags.is_empty() {
        return Err(missing());
    }
    if tags.iter().any(|t| t == "*") {
        return Err(ApiError {
            detail:
                "If-Match: * would overwrite whatever is there now; send the feature's ETag instead"
                    .into(),
            ..missing()
        });
    }
    Ok(tags)
}

/// The ETag of a stored revision, as `GET` gives it to callers with a token.
pub fn etag(s: &StoredArea) -> String {
    format!("\"r{}\"", s.revision.rev)
}

/// Reads the request body as JSON of one of the accepted media types.
fn body_json(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    patch: bool,
) -> Result<Value, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "body is larger than {} bytes; a hazardous area's feature must fit in that",
                crate::BODY_LIMIT
            ))
        } else {
            ApiError::bad_request(format!("body: {}", e.body_text()))
        }
    })?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let accepted: &[&str] = if patch {
        &[
            "application/merge-patch+json",
            "application/json",
            "application/geo+json",
        ]
    } else {
        &["application/geo+json", "application/json"]
    };
    if !accepted.contains(&media.as_str()) {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            title: "Unsupported media type",
            detail: format!(
                "Content-Type must be {}, not {:?}",
                accepted.join(" or "),
                media
            ),
        });
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))
}

/// 422 with every problem: `detail` lists them as sentences, `problems` as field and message.
fn invalid(problems: &[Problem]) -> Refusal {
    let body = json!({
        "type": "about:blank",
        "title": "Invalid feature",
        "status": 422,
        "detail": problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "),
        "problems": problems,
    });
    let mut r = (StatusCode::UNPROCESSABLE_ENTITY, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Refusal(Box::new(r))
}

/// Checks a GeoJSON feature with the import's validation.
fn candidate(state: &AppState, v: &Value) -> Result<Candidate, Refusal> {
    let f = read_feature(1, v);
    build_record(
        f.id,
        f.geometry,
        f.props,
        f.problems,
        state.catalogue(),
        chrono::Utc::now(),
    )
    .map_err(|p| invalid(&p))
}

/// The feature of a stored area as callers with a token see it, with its links.
fn feature(b: &str, s: &StoredArea) -> Value {
    let id = &s.area.id;
    json!({
        "type": "Feature",
        "id": id,
        "geometry": geometry_value(&s.area.shape.geometry()),
        "properties": area_properties(&s.area),
        "links": [
            link(format!("{b}/ogc/collections/{COLLECTION}/items/{}", encode(id)), "self", GEOJSON, "This feature"),
            link(format!("{b}/ogc/collections/{COLLECTION}"), "collection", JSON, "The collection"),
        ],
    })
}

fn org_name(o: Option<&str>) -> String {
    o.map(|o| format!("organisation {o:?}"))
        .unwrap_or_else(|| "no organisation".into())
}

/// A field user may change a record only when it is their organisation's.
fn field_may_touch(caller: &Caller, before: &StoredArea) -> Result<(), ApiError> {
    if caller.role == Role::Field
        && before.area.props.organisation.as_deref() != caller.organisation.as_deref()
    {
        return Err(ApiError::forbidden(format!(
            "{} belongs to {}; a field user writes only records of their own ({})",
            before.area.id,
            org_name(before.area.props.organisation.as_deref()),
            org_name(caller.organisation.as_deref())
        )));
    }
    Ok(())
}

/// What a field user's write may produce: a record of their organisation (filled in when left
/// out), not newly published, not newly released.
fn field_may_make(
    caller: &Caller,
    before: Option<&HazardArea>,
    after: &mut HazardArea,
) -> Result<(), ApiError> {
    if caller.role != Role::Field {
        return Ok(());
    }
    match after.props.organisation.as_deref() {
        None => after.props.organisation = caller.organisation.clone(),
        Some(o) if Some(o) == caller.organisation.as_deref() => {}
        Some(o) => {
            return Err(ApiError::forbidden(format!(
                "properties.organisation: a field user writes only records of their own ({}), not of {o:?}",
                org_name(caller.organisation.as_deref())
            )));
        }
    }
    if after.props.classification == Classification::Public
        && before.is_none_or(|b| b.props.classification != Classification::Public)
    {
        return Err(ApiError::forbidden(
            "properties.classification: publishing a record (public) is for information officers; a field user's records stay restricted until an officer publishes them",
        ));
    }
    let released = matches!(
        after.props.status,
        Status::Cancelled | Status::Reduced | Status::Cleared | Status::Closed
    );
    if released && before.is_none_or(|b| b.props.status != after.props.status) {
        return Err(ApiError::forbidden(format!(
            "properties.status: {} releases land, which information officers record; a field user may set reported, suspected or confirmed",
            after.props.status.as_str()
        )));
    }
    Ok(())
}

/// How a write finds its record and what it checks first.
enum Target<'a> {
    /// `POST`: a new record, with the client's id if it gave one.
    New(Option<String>),
    /// `PUT`, `PATCH`, `DELETE`: an existing record, at one of these ETags.
    Existing { id: &'a str, tags: Vec<String> },
}

/// The result of a write.
struct Written {
    stored: StoredArea,
}

/// Runs one write in one store transaction: finds the record, checks the caller and the ETag
/// under the write lock, builds the new version with `make`, checks it, stores it, commits and
/// brings the read model up to date (before the store is unlocked, so in commit order). Nothing
/// is written when any step refuses.
fn write(
    state: &AppState,
    caller: &Caller,
    meta: ChangeMeta,
    target: Target<'_>,
    make: impl FnOnce(Option<&StoredArea>) -> Result<HazardArea, Refusal>,
) -> Result<Written, Refusal> {
    let internal = |e: StoreError| -> Refusal { ApiError::internal(e).into() };
    let written = state.with_store(|s| -> Result<Written, Refusal> {
        let mut tx = s.begin(meta).map_err(internal)?;
        let (before, client_id) = match &target {
            Target::New(id) => {
                if let Some(id) = id
                    && tx.area_exists(id).map_err(internal)?
                {
                    return Err(ApiError::conflict(format!(
                        "a feature with id {id:?} exists; leave the id out to have one assigned, or PUT to replace it"
                    ))
                    .into());
                }
                (None, id.clone())
            }
            Target::Existing { id, tags } => {
                let cur = tx.current_area(id).map_err(internal)?.ok_or_else(|| {
                    ApiError::not_found(format!("no feature {id:?} in {COLLECTION}"))
                })?;
                field_may_touch(caller, &cur)?;
                let now = etag(&cur);
                if !tags.contains(&now) {
                    return Err(ApiError {
                        status: StatusCode::PRECONDITION_FAILED,
                        title: "Precondition failed",
                        detail: format!(
                            "{id} has changed since you read it: If-Match {} does not match its ETag {now}; GET it again, reapply your change and retry",
                            tags.join(", ")
                        ),
                    }
                    .into());
                }
                (Some(cur), None)
            }
        };
        let mut after = make(before.as_ref())?;
        after.id = match (&before, client_id) {
            (Some(b), _) => b.area.id.clone(),
            (None, Some(id)) => id,
            (None, None) => tx.new_area_id().map_err(internal)?,
        };
        field_may_make(caller, before.as_ref().map(|b| &b.area), &mut after)?;
        let outcome = tx.put_area(&after).map_err(internal)?;
        tx.commit().map_err(internal)?;
        let stored = s
            .get_area(&after.id, None)
            .map_err(internal)?
            .ok_or_else(|| internal(StoreError::Corrupt {
                id: after.id.clone(),
                message: "missing right after it was written".into(),
            }))?;
        if outcome != PutOutcome::Unchanged {
            // Still under the store's lock: the model sees writes in commit order.
            state.apply_write(stored.clone());
        }
        Ok(Written { stored })
    })?;
    Ok(written)
}

fn meta(caller: &Caller, author: String, reason: String) -> ChangeMeta {
    ChangeMeta {
        author,
        reason,
        source: Some(match caller.token_id {
            Some(t) => format!("OGC API – Features, token {t}"),
            None => "OGC API – Features".into(),
        }),
    }
}

fn answer(status: StatusCode, headers: &HeaderMap, w: &Written) -> Response {
    let b = base_url(headers);
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, GEOJSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        feature(&b, &w.stored).to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(&w.stored)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{b}/ogc/collections/{COLLECTION}/items/{}",
            encode(&w.stored.area.id)
        ))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn flatten(r: Result<Response, Refusal>) -> Response {
    match r {
        Ok(r) => r,
        Err(Refusal(r)) => *r,
    }
}

fn into_area(c: Candidate) -> HazardArea {
    HazardArea {
        id: c.id.unwrap_or_default(),
        shape: c.shape,
        props: c.props,
    }
}

/// `POST /ogc/collections/{id}/items`: a new hazardous area from a GeoJSON feature; 201 with
/// `Location` and `ETag`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    flatten((|| -> Result<Response, Refusal> {
        let author = writer(&caller)?;
        check_collection(&id)?;
        let reason = reason(&headers, "created through the OGC API")?;
        let v = body_json(&headers, body, false)?;
        let c = candidate(&state, &v)?;
        let client_id = c.id.clone();
        let w = write(
            &state,
            &caller,
            meta(&caller, author, reason),
            Target::New(client_id),
            |_| Ok(into_area(c)),
        )?;
        Ok(answer(StatusCode::CREATED, &headers, &w))
    })())
}

/// `PUT /ogc/collections/{id}/items/{featureId}`: replaces the feature with the body (needs
/// `If-Match`); 200 with the stored feature and its new `ETag`.
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    flatten((|| -> Result<Response, Refusal> {
        let author = writer(&caller)?;
        check_collection(&id)?;
        let tags = if_match(&headers)?;
        let reason = reason(&headers, "replaced through the OGC API")?;
        let v = body_json(&headers, body, false)?;
        let c = candidate(&state, &v)?;
        if let Some(given) = &c.id
            && *given != fid
        {
            return Err(invalid(&[Problem::new(
                "id",
                format!("is {given:?} but the path names {fid:?}; leave it out or make them equal"),
            )]));
        }
        let w = write(
            &state,
            &caller,
            meta(&caller, author, reason),
            Target::Existing { id: &fid, tags },
            |_| Ok(into_area(c)),
        )?;
        Ok(answer(StatusCode::OK, &headers, &w))
    })())
}

/// Applies an RFC 7396 JSON merge patch to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The members a patch may have.
const PATCH_MEMBERS: &[&str] = &["type", "id", "geometry", "properties"];

/// `PATCH /ogc/collections/{id}/items/{featureId}`: a JSON merge patch (RFC 7396) of the
/// feature's `properties` (a null removes a property) and, optionally, a new `geometry`
/// (replaced whole); needs `If-Match`. The result is checked like a `PUT`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    flatten((|| -> Result<Response, Refusal> {
        let author = writer(&caller)?;
        check_collection(&id)?;
        let tags = if_match(&headers)?;
        let reason = reason(&headers, "updated through the OGC API")?;
        let patch = body_json(&headers, body, true)?;
        let Value::Object(p) = &patch else {
            return Err(ApiError::bad_request(
                "body must be a JSON object with properties to change and, optionally, a geometry",
            )
            .into());
        };
        if let Some(k) = p.keys().find(|k| !PATCH_MEMBERS.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "{k:?} is not a member a patch may change; it takes {}",
                PATCH_MEMBERS.join(", ")
            ))
            .into());
        }
        match p.get("id") {
            None => {}
            Some(Value::String(s)) if *s == fid => {}
            Some(other) => {
                return Err(invalid(&[Problem::new(
                    "id",
                    format!("is {other} but the path names {fid:?}; an id cannot be changed"),
                )]));
            }
        }
        // What can be checked without the record is checked before the ETag, so a malformed
        // patch is refused as such whatever the client last read.
        if let Some(t) = p.get("type")
            && t != "Feature"
        {
            return Err(invalid(&[Problem::new(
                "type",
                format!("must be \"Feature\", not {t}"),
            )]));
        }
        match p.get("geometry") {
            None => {}
            Some(Value::Null) => {
                return Err(invalid(&[Problem::new(
                    "geometry",
                    "cannot be removed: a hazardous area needs a geometry; send a new one or leave it out",
                )]));
            }
            Some(g) => {
                let mut problems = Vec::new();
                if let Some(raw) = read_geometry(g, &mut problems) {
                    build_geometry(&raw, "geometry.coordinates", &mut problems);
                }
                if !problems.is_empty() {
                    return Err(invalid(&problems));
                }
            }
        }
        if let Some(props) = p.get("properties")
            && !props.is_object()
        {
            return Err(invalid(&[Problem::new(
                "properties",
                "must be an object of the properties to change (null removes one)",
            )]));
        }
        let w = write(
            &state,
            &caller,
            meta(&caller, author, reason),
            Target::Existing { id: &fid, tags },
            |before| {
                let Some(b) = before else {
                    return Err(ApiError::not_found(format!("no feature {fid:?}")).into());
                };
                let mut merged = json!({
                    "type": "Feature",
                    "id": b.area.id,
                    "geometry": geometry_value(&b.area.shape.geometry()),
                    "properties": area_properties(&b.area),
                });
                if let Some(props) = p.get("properties") {
                    merge_patch(&mut merged["properties"], props);
                }
                if let Some(g) = p.get("geometry") {
                    merged["geometry"] = g.clone();
                }
                if let Some(t) = p.get("type") {
                    merged["type"] = t.clone();
                }
                candidate(&state, &merged).map(into_area)
            },
        )?;
        Ok(answer(StatusCode::OK, &headers, &w))
    })())
}

/// `DELETE /ogc/collections/{id}/items/{featureId}`: closes the area (a new revision with status
/// `closed`; nothing is removed); needs `If-Match`. Officers and admins only: closing takes the
/// warning off the public map. 204 with the closing revision's `ETag`; 409 when already closed.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
) -> Response {
    flatten((|| -> Result<Response, Refusal> {
        let author = writer(&caller)?;
        check_collection(&id)?;
        if caller.role == Role::Field {
            return Err(ApiError::forbidden(
                "closing an area (DELETE) takes its warning off the public map and is for information officers; a field user records what they found with PUT or PATCH",
            )
            .into());
        }
        let tags = if_match(&headers)?;
        let reason = reason(&headers, "closed through the OGC API (DELETE)")?;
        let w = write(
            &state,
            &caller,
            meta(&caller, author, reason),
            Target::Existing { id: &fid, tags },
            |before| {
                let Some(b) = before else {
                    return Err(ApiError::not_found(format!("no feature {fid:?}")).into());
                };
                if b.area.props.status == Status::Closed {
                    return Err(ApiError::conflict(format!(
                        "{} is already closed; nothing was written",
                        b.area.id
                    ))
                    .into());
                }
                let mut a = b.area.clone();
                a.props.status = Status::Closed;
                Ok(a)
            },
        )?;
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag(&w.stored)) {
            r.headers_mut().insert(header::ETAG, v);
        }
        Ok(r)
    })())
}
