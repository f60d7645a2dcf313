//! OGC API – Features Part 4 on `/ogc/collections/hazardous-areas/items`: create (`POST`),
//! replace (`PUT`) and update (`PATCH`, a JSON merge patch of the properties with an optional new
//! geometry), each a domain command (`create`, `edit`) through the one door
//! (`cairn_store::Writer::write_area`), refused there as at every other door: no release status
//! set by an edit, no weakening edit (that is an officer's correction,
//! `POST /api/areas/{id}/corrections`). `DELETE` is refused: an area closes only by land release.
//! `OPTIONS` answers with the methods the caller may use, which is how QGIS decides to offer
//! editing.
//!
//! Optimistic locking: `PUT`, `PATCH` and `DELETE` need `If-Match` with the ETag of the record as
//! last read (428 without it, 412 when the record has changed since). The check and the write
//! happen in one store transaction under the write lock, so two writers holding the same ETag
//! can never both succeed. The read model (items, checks, tiles) is updated in place before the
//! answer is sent. Every write is a changeset attributed to the token's user, with the
//! token as its source and a reason (the `Cairn-Reason` header, or one naming the operation).
//!
//! Who may write (domain.md): the public nobody (401); auditors nothing (403); field users only
//! records of their own organisation and never publish (`cairn_core::command`); officers and
//! admins everything the record's rules allow. A body is checked in full by the same validation
//! as an import before anything is written: a bad one changes nothing and is answered with a
//! problem naming every field at fault.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::command::Command;
use cairn_core::report::{MAX_REASON_CHARS, check_text};
use cairn_core::{HazardArea, Problem, Status};
use cairn_formats::geojson::{footprint_properties, footprint_value, read_feature};
use cairn_formats::record::{Candidate, build_record};
use cairn_store::{ChangeMeta, StoreError, StoredArea, WriteError};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::ogc::{COLLECTION, GEOJSON, JSON, base_url, check_collection, encode, link};

/// What `OPTIONS` allows on the items of the collection, for a caller who may write.
pub const ITEMS_ALLOW_WRITE: &str = "GET, HEAD, POST, OPTIONS";
/// What `OPTIONS` allows on one item, for a caller who may write. `DELETE` is listed because the
/// route answers it (409, with why: an area closes only by land release).
pub const ITEM_ALLOW_WRITE: &str = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS";
/// What `OPTIONS` allows to everyone else.
pub const ALLOW_READ: &str = "GET, HEAD, OPTIONS";
/// The header that may carry the reason of a write, recorded in history.
pub const REASON_HEADER: &str = "cairn-reason";

/// A refusal in its final form (a problem with a list of fields, or an `ApiError`), boxed
/// because a response is large.
pub(crate) struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(r: Response) -> Refusal {
        Refusal(Box::new(r))
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal(Box::new(e.into_response()))
    }
}

fn may_write(role: Role) -> bool {
    matches!(role, Role::Field | Role::Officer | Role::Admin)
}

/// The media types a POST or PUT of a feature is read as.
pub const FEATURE_MEDIA: &[&str] = &["application/geo+json", "application/json"];
/// The media types a PATCH is read as (a JSON merge patch).
pub const PATCH_MEDIA: &[&str] = &[
    "application/merge-patch+json",
    "application/json",
    "application/geo+json",
];

/// OPTIONS, as OGC API – Features Part 4 expects: 200 with `Allow`, and `Accept-Post` /
/// `Accept-Patch` (RFC 5789) naming the media types when the caller may write.
fn allow(methods: &'static str, post: bool, patch: bool) -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::ALLOW, HeaderValue::from_static(methods))],
    )
        .into_response();
    let h = r.headers_mut();
    if post && let Ok(v) = HeaderValue::from_str(&FEATURE_MEDIA.join(", ")) {
        h.insert(HeaderName::from_static("accept-post"), v);
    }
    if patch && let Ok(v) = HeaderValue::from_str(&PATCH_MEDIA.join(", ")) {
        h.insert(HeaderName::from_static("accept-patch"), v);
    }
    r
}

/// `OPTIONS /ogc/collections/{id}/items`.
pub async fn items_options(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let write = may_write(caller.role);
    Ok(allow(
        if write { ITEMS_ALLOW_WRITE } else { ALLOW_READ },
        write,
        false,
    ))
}

/// `OPTIONS /ogc/collections/{id}/items/{featureId}`: the same answer whether or not the feature
/// exists (QGIS asks about an invented id when the collection is empty).
pub async fn item_options(
    caller: Caller,
    Path((id, _fid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_collection(&id)?;
    let write = may_write(caller.role);
    Ok(allow(
        if write { ITEM_ALLOW_WRITE } else { ALLOW_READ },
        false,
        write,
    ))
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
    let accepted: &[&str] = if patch { PATCH_MEDIA } else { FEATURE_MEDIA };
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
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
    match content_crs(headers)? {
        BodyCrs::Crs84 => {}
        BodyCrs::Epsg4326 => {
            if let Some(g) = v.get_mut("geometry") {
                swap_axes(g);
            }
        }
    }
    Ok(v)
}

/// The coordinate reference systems a body's geometry is read in (OGC API – Features Part 2's
/// `Content-Crs`).
enum BodyCrs {
    /// Longitude, latitude (WGS 84): GeoJSON's own, and the default.
    Crs84,
    /// EPSG:4326, WGS 84 in its registered axis order: latitude, longitude. Read by swapping.
    Epsg4326,
}

/// The `Content-Crs` of a write. Anything else than CRS84 or EPSG:4326 is refused rather than
/// read in the wrong place: a feature in EPSG:25832 stored as degrees would be far from the
/// hazard it records.
fn content_crs(headers: &HeaderMap) -> Result<BodyCrs, ApiError> {
    let Some(v) = headers.get("content-crs") else {
        return Ok(BodyCrs::Crs84);
    };
    let text = v
        .to_str()
        .map_err(|_| ApiError::bad_request("header Content-Crs is not text"))?;
    let uri = text
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let normalised = uri.trim_end_matches('/').to_ascii_lowercase();
    let normalised = normalised
        .strip_prefix("https://")
        .or_else(|| normalised.strip_prefix("http://"))
        .unwrap_or(&normalised);
    match normalised {
        "www.opengis.net/def/crs/ogc/1.3/crs84" | "www.opengis.net/def/crs/ogc/0/crs84" => {
            Ok(BodyCrs::Crs84)
        }
        "www.opengis.net/def/crs/epsg/0/4326" => Ok(BodyCrs::Epsg4326),
        _ => Err(ApiError::bad_request(format!(
            "header Content-Crs {text:?} is not a coordinate reference system this service reads: \
             send the geometry in <http://www.opengis.net/def/crs/OGC/1.3/CRS84> (longitude, latitude; \
             the default) or <http://www.opengis.net/def/crs/EPSG/0/4326> (latitude, longitude), \
             transformed before sending"
        ))),
    }
}

/// Swaps the first two numbers of every position in a GeoJSON geometry (lat, lon → lon, lat).
fn swap_axes(g: &mut Value) {
    fn positions(c: &mut Value) {
        if let Some(a) = c.as_array_mut() {
            if a.len() >= 2 && a.iter().all(Value::is_number) {
                a.swap(0, 1);
            } else {
                a.iter_mut().for_each(positions);
            }
        }
    }
    if let Some(c) = g.get_mut("coordinates") {
        positions(c);
    }
    if let Some(gs) = g.get_mut("geometries").and_then(Value::as_array_mut) {
        gs.iter_mut().for_each(swap_axes);
    }
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
        &state.catalogue(),
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
        "geometry": footprint_value(&s.area.shape),
        "properties": footprint_properties(&s.area),
        "links": [
            link(format!("{b}/ogc/collections/{COLLECTION}/items/{}", encode(id)), "self", GEOJSON, "This feature"),
            link(format!("{b}/ogc/collections/{COLLECTION}"), "collection", JSON, "The collection"),
        ],
    })
}

/// The actor of a write in the domain's terms; `writer` has refused everyone else.
fn actor(caller: &Caller) -> cairn_core::command::Actor<'_> {
    use cairn_core::command::Role as R;
    cairn_core::command::Actor {
        role: match caller.role {
            Role::Field => R::Field,
            Role::Officer => R::Officer,
            _ => R::Admin,
        },
        organisation: caller.organisation.as_deref(),
    }
}

/// How a write finds its record and what it checks first.
pub(crate) enum Target<'a> {
    /// `POST`: a new record, with the client's id if it gave one.
    New(Option<String>),
    /// `PUT`, `PATCH`, `DELETE`: an existing record, at one of these ETags.
    Existing { id: &'a str, tags: Vec<String> },
}

/// The result of a write.
pub(crate) struct Written {
    stored: StoredArea,
}

/// Runs one write in one store transaction: finds the record, checks the ETag under the write
/// lock, builds the new version with `make`, and hands it to the one door
/// (`Writer::write_area`, where `cairn_core::command` decides as at every other door), commits
/// and brings the read model up to the store's newest change before answering. Nothing is
/// written when any step refuses.
pub(crate) fn write(
    state: &AppState,
    caller: &Caller,
    meta: ChangeMeta,
    command: Command,
    target: Target<'_>,
    make: impl FnOnce(Option<&StoredArea>) -> Result<HazardArea, Refusal>,
) -> Result<Written, Refusal> {
    let internal = |e: StoreError| -> Refusal { ApiError::from(e).into() };
    let written = state.with_store(|s| -> Result<Written, Refusal> {
        let mut tx = s.begin(meta).map_err(internal)?;
        let (before, client_id) = match &target {
            // An id already taken is refused by the one door (rule id-exists).
            Target::New(id) => (None, id.clone()),
            Target::Existing { id, tags } => {
                let cur = tx.current_area(id).map_err(internal)?.ok_or_else(|| {
                    ApiError::not_found(format!("no feature {id:?} in {COLLECTION}"))
                })?;
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
        // A field user's new record is their organisation's when it names none.
        if caller.role == Role::Field && after.props.organisation.is_none() {
            after.props.organisation = caller.organisation.clone();
        }
        tx.write_area(command, actor(caller), &after)
            .map_err(|e| match e {
                WriteError::Refused(r) => crate::error::refused(&r).into(),
                WriteError::Store(e) => internal(e),
            })?;
        tx.commit().map_err(internal)?;
        let stored = s
            .get_area(&after.id, None)
            .map_err(internal)?
            .ok_or_else(|| internal(StoreError::Corrupt {
                id: after.id.clone(),
                message: "missing right after it was written".into(),
            }))?;
        Ok(Written { stored })
    })?;
    // No write is answered before the read model shows it.
    state.catch_up_after_write();
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

/// Runs a write off the async workers: the store's transaction and the model's catch-up are
/// blocking work.
async fn off_workers(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
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
    off_workers(move || {
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
                Command::Create,
                Target::New(client_id),
                |_| Ok(into_area(c)),
            )?;
            Ok(answer(StatusCode::CREATED, &headers, &w))
        })())
    })
    .await
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
    off_workers(move || {
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
                    format!(
                        "is {given:?} but the path names {fid:?}; leave it out or make them equal"
                    ),
                )]));
            }
            let w = write(
                &state,
                &caller,
                meta(&caller, author, reason),
                Command::Edit,
                Target::Existing { id: &fid, tags },
                |_| Ok(into_area(c)),
            )?;
            Ok(answer(StatusCode::OK, &headers, &w))
        })())
    })
    .await
}

pub use cairn_formats::patch::merge_patch;
use cairn_formats::patch::{PATCH_MEMBERS, apply_patch, check_patch, unknown_member};

/// Reads a patch body: an object of the members a patch may have (400 otherwise), checked as
/// far as it can be without the record (422 naming the member).
fn read_patch(v: &Value, fid: &str, extra: &[&str]) -> Result<Map<String, Value>, Refusal> {
    let Value::Object(p) = v else {
        return Err(ApiError::bad_request(
            "body must be a JSON object with properties to change and, optionally, a geometry",
        )
        .into());
    };
    let mut p = p.clone();
    for k in extra {
        p.remove(*k);
    }
    if let Some(k) = unknown_member(&p) {
        return Err(ApiError::bad_request(format!(
            "{k:?} is not a member a patch may change; it takes {}",
            PATCH_MEMBERS.join(", ")
        ))
        .into());
    }
    check_patch(&p, fid).map_err(|ps| invalid(&ps))?;
    Ok(p)
}

/// Writes patch `p` over record `fid` as `command`.
fn write_patch(
    state: &AppState,
    caller: &Caller,
    meta: ChangeMeta,
    command: Command,
    fid: &str,
    tags: Vec<String>,
    p: &Map<String, Value>,
) -> Result<Written, Refusal> {
    write(
        state,
        caller,
        meta,
        command,
        Target::Existing { id: fid, tags },
        |before| {
            let Some(b) = before else {
                return Err(ApiError::not_found(format!("no feature {fid:?}")).into());
            };
            apply_patch(&b.area, p, &state.catalogue(), chrono::Utc::now())
                .map_err(|ps| invalid(&ps))
        },
    )
}

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
    off_workers(move || {
        flatten((|| -> Result<Response, Refusal> {
            let author = writer(&caller)?;
            check_collection(&id)?;
            let tags = if_match(&headers)?;
            let reason = reason(&headers, "updated through the OGC API")?;
            let patch = body_json(&headers, body, true)?;
            // What can be checked without the record is checked before the ETag, so a malformed
            // patch is refused as such whatever the client last read.
            let p = read_patch(&patch, &fid, &[])?;
            let w = write_patch(
                &state,
                &caller,
                meta(&caller, author, reason),
                Command::Edit,
                &fid,
                tags,
                &p,
            )?;
            Ok(answer(StatusCode::OK, &headers, &w))
        })())
    })
    .await
}

/// `POST /api/areas/{id}/corrections`: an information officer's correction of a wrong record,
/// the one change that may weaken a hazard (a lower status, a smaller or moved outline, fewer
/// devices, public → restricted). The body is a patch as for `PATCH` with a mandatory `reason`
/// member; needs `If-Match`. Officers and admins only (the one door refuses field users);
/// recorded as command `correct`.
pub async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(fid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    off_workers(move || {
        flatten((|| -> Result<Response, Refusal> {
        let author = writer(&caller)?;
        let tags = if_match(&headers)?;
        let v = body_json(&headers, body, true)?;
        let reason = match v.get("reason") {
            Some(Value::String(r)) => check_text(r, MAX_REASON_CHARS)
                .map_err(|m| ApiError::bad_request(format!("reason {m}")))?,
            _ => String::new(),
        };
        if reason.trim().is_empty() {
            return Err(invalid(&[Problem::new(
                "reason",
                "a correction needs a reason: say what was wrong with the record and how it is known",
            )]));
        }
        let p = read_patch(&v, &fid, &["reason"])?;
        let mut m = meta(&caller, author, reason);
        m.source = m
            .source
            .map(|s| s.replace("OGC API – Features", "officer's correction"));
        let w = write_patch(&state, &caller, m, Command::Correct, &fid, tags, &p)?;
        Ok(answer(StatusCode::OK, &headers, &w))
    })())
    })
    .await
}

/// `DELETE /ogc/collections/{id}/items/{featureId}`: asks to close the area, which the one door
/// refuses to everyone (409, rule `release-by-activity`): an area is closed only when land
/// release on an activity's evidence leaves nothing of it (`POST /api/releases`), and nothing is
/// ever removed. Kept as a route so that clients get that explanation rather than a 405.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
) -> Response {
    off_workers(move || {
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
            Command::Edit,
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
    })
    .await
}
