//! Reports of suspicious objects from the public (`POST /api/reports`) and their triage by an
//! information officer (`GET /api/reports`, `GET /api/reports/{ref}`, `GET /api/reports/{ref}/photo`,
//! `POST /api/reports/{ref}/triage`).
//!
//! A report is stored durably before it is answered: handlers hand reports to one intake thread
//! with its own connection to the store, which commits every report waiting at that moment in one
//! transaction (`synchronous=FULL`) and only then lets the handlers answer (group commit: one
//! disk flush for many reports). Reports are restricted data: nothing of them ever reaches a
//! public answer but the reporter's own reference and advice.
//!
//! The body is JSON. A photo travels inside it as base64 (or a `data:` URL), at most
//! `photo_max_bytes` once decoded; it must be a JPEG, PNG or WebP file (told from its bytes, not
//! from what the client says), and it is decoded and written again before it is stored, so that
//! nothing but its pixels remains (no EXIF with GPS, camera serial and owner, XMP, ICC, comments,
//! text chunks or trailing data): `cairn_core::report::clean_photo`, on the bounded compute pool
//! of `limits.rs` (never on an async worker). A photo too large in pixels is refused with
//! 413, one that cannot be decoded with 422, both naming `photo`; nothing of the report is kept.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cairn_core::WireEnum;
use cairn_core::report::{
    self, MAX_ACCURACY_M, MAX_DESCRIPTION_CHARS, MAX_REASON_CHARS, ReportCategory, ReportState,
};
use cairn_store::Backend;
use cairn_store::sqlite::reports::{Decision, NewReport, Receipt, Report, TriageError};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::ratelimit::RateLimit;

/// Settings of report intake.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportsConfig {
    /// The largest photo accepted, in bytes once decoded.
    pub photo_max_bytes: usize,
    /// The per-client limit; `None` turns it off (for benchmarks).
    pub rate_limit: Option<RateLimit>,
    /// The older setting for a reverse proxy: when set and no trusted proxies are configured,
    /// proxies on loopback are trusted (`limits::Limits::trusted_proxies`).
    pub trust_forwarded_for: bool,
}

/// 2 MiB: a phone photo at a sensible resolution.
pub const DEFAULT_PHOTO_MAX_BYTES: usize = 2 << 20;

impl Default for ReportsConfig {
    fn default() -> ReportsConfig {
        ReportsConfig {
            photo_max_bytes: DEFAULT_PHOTO_MAX_BYTES,
            rate_limit: Some(RateLimit {
                burst: 20,
                per_hour: 60,
            }),
            trust_forwarded_for: false,
        }
    }
}

impl ReportsConfig {
    /// The largest request body accepted: the photo in base64 and room for the rest.
    pub fn body_limit(&self) -> usize {
        self.photo_max_bytes.div_ceil(3) * 4 + 64 * 1024
    }
}

// ---------------------------------------------------------------------------------------------
// The intake thread.

struct Job {
    report: NewReport,
    /// The receipt, or why the report was not stored (true: the store is unreachable now).
    reply: oneshot::Sender<Result<Receipt, (bool, String)>>,
}

/// The most reports committed in one transaction, and the most photo bytes.
const BATCH_REPORTS: usize = 512;
const BATCH_BYTES: usize = 64 << 20;

/// The handle handlers use to store reports.
#[derive(Debug)]
pub struct Intake {
    jobs: mpsc::Sender<Job>,
}

impl Intake {
    /// Starts the intake thread on its own connection to the store (which must be a file).
    pub fn start(mut store: Box<dyn Backend>) -> Intake {
        let (jobs, mut rx) = mpsc::channel::<Job>(4096);
        let spawned = std::thread::Builder::new()
            .name("report-intake".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut bytes = photo_len(&first.report);
                    let mut batch = vec![first];
                    while batch.len() < BATCH_REPORTS && bytes < BATCH_BYTES {
                        match rx.try_recv() {
                            Ok(j) => {
                                bytes += photo_len(&j.report);
                                batch.push(j);
                            }
                            Err(_) => break,
                        }
                    }
                    let (reports, replies): (Vec<NewReport>, Vec<_>) =
                        batch.into_iter().map(|j| (j.report, j.reply)).unzip();
                    match store.add_reports(&reports) {
                        Ok(receipts) => {
                            for (reply, r) in replies.into_iter().zip(receipts) {
                                let _ = reply.send(Ok(r));
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, reports = reports.len(), "reports could not be stored");
                            for reply in replies {
                                let _ = reply.send(Err((e.is_unavailable(), e.to_string())));
                            }
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the report intake thread could not start");
        }
        Intake { jobs }
    }

    /// Stores a report; returns once it is durable.
    async fn submit(&self, report: NewReport) -> Result<Receipt, ApiError> {
        let (reply, answer) = oneshot::channel();
        let down = || {
            ApiError::unavailable(
                "reports cannot be stored at the moment; try again shortly, and if anyone is in danger call 101 or 112 now",
            )
        };
        self.jobs
            .send(Job { report, reply })
            .await
            .map_err(|_| down())?;
        match answer.await {
            Ok(Ok(r)) => Ok(r),
            // Not stored: the reporter is told to try again, never given a receipt.
            Ok(Err((true, e))) => {
                tracing::warn!(error = %e, "a report could not be stored: the store is unreachable");
                Err(down())
            }
            Ok(Err((false, e))) => Err(ApiError::internal(format!("storing a report: {e}"))),
            Err(_) => Err(down()),
        }
    }
}

fn photo_len(r: &NewReport) -> usize {
    r.photo.as_ref().map_or(0, |(_, b)| b.len())
}

// ---------------------------------------------------------------------------------------------
// The client's address.

/// The client's address as the rate limit sees it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ClientIp, ApiError> {
        // The peer, or the forwarded client when the peer is a trusted proxy (`ratelimit.rs`).
        Ok(ClientIp(state.client_ip(parts)))
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/reports.

/// The fields a report may have; anything else is refused, so nobody sends personal data by
/// mistake believing it is needed.
const FIELDS: &[&str] = &[
    "lon",
    "lat",
    "accuracy_m",
    "category",
    "description",
    "seen_at",
    "photo",
];

/// The earliest `seen_at` accepted: ordnance of the First World War is still found.
const EARLIEST_SEEN: &str = "1914-01-01T00:00:00Z";

fn advice(reference: &str) -> Value {
    json!({
        "en": format!("Thank you. Your report {reference} has been received and will be checked by the mine action authority. Keep away from the object: do not touch, move or pick it up, and keep others away. Leave the way you came. If anyone is in danger, or the object is near a home, a road or a place where people go, call 101 or 112 now and give them the reference {reference}."),
        "uk": format!("Дякуємо. Ваше повідомлення {reference} отримано, його перевірять фахівці протимінної діяльності. Тримайтеся подалі від предмета: не торкайтеся, не переміщуйте й не піднімайте його та не підпускайте до нього інших. Відходьте тим самим шляхом, яким прийшли. Якщо комусь загрожує небезпека або предмет лежить поруч із житлом, дорогою чи місцем, де ходять люди, телефонуйте 101 або 112 негайно й назвіть номер {reference}."),
    })
}

fn number(o: &Map<String, Value>, name: &str) -> Result<Option<f64>, ApiError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be a number, not {other}"
        ))),
    }
}

fn text<'a>(o: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

/// Reads and checks a report's body; every refusal names the field at fault.
fn read_report(body: &[u8], photo_max: usize) -> Result<NewReport, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(ApiError::bad_request(
            "body must be a JSON object with lon, lat and category",
        ));
    };
    if let Some(k) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "{k:?} is not a field of a report (no personal data is needed); the fields are {}",
            FIELDS.join(", ")
        )));
    }
    let lon = number(&o, "lon")?.ok_or_else(|| ApiError::bad_request("lon is required"))?;
    let lat = number(&o, "lat")?.ok_or_else(|| ApiError::bad_request("lat is required"))?;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::bad_request(format!(
            "lon must be WGS 84 degrees from -180 to 180, not {lon}"
        )));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_request(format!(
            "lat must be WGS 84 degrees from -90 to 90, not {lat}"
        )));
    }
    let accuracy_m = number(&o, "accuracy_m")?;
    if let Some(a) = accuracy_m
        && !(0.0..=MAX_ACCURACY_M).contains(&a)
    {
        return Err(ApiError::bad_request(format!(
            "accuracy_m must be from 0 to {MAX_ACCURACY_M} metres, not {a}"
        )));
    }
    let category = text(&o, "category")?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "category is required: one of {}",
                names::<ReportCategory>()
            ))
        })
        .and_then(|s| {
            ReportCategory::parse(s).map_err(|m| ApiError::bad_request(format!("category: {m}")))
        })?;
    let description = match text(&o, "description")? {
        None => String::new(),
        Some(s) => report::check_text(s, MAX_DESCRIPTION_CHARS)
            .map_err(|m| ApiError::bad_request(format!("description {m}")))?,
    };
    let seen_at = match text(&o, "seen_at")? {
        None => None,
        Some(s) => {
            let t = cairn_core::time::parse_instant(s, cairn_core::time::Cautious::Exact)
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "seen_at must be an RFC 3339 time such as 2026-11-25T09:30:00+02:00, not {s:?}"
                    ))
                })?;
            let earliest: chrono::DateTime<chrono::Utc> = EARLIEST_SEEN.parse().unwrap_or_default();
            if t > chrono::Utc::now() + chrono::Duration::minutes(10) {
                return Err(ApiError::bad_request(format!(
                    "seen_at {s} is in the future"
                )));
            }
            if t < earliest {
                return Err(ApiError::bad_request(format!("seen_at {s} is before 1914")));
            }
            Some(t)
        }
    };
    let photo = match text(&o, "photo")? {
        None => None,
        Some(s) => Some(read_photo(s, photo_max)?),
    };
    Ok(NewReport {
        lon,
        lat,
        accuracy_m,
        category,
        description,
        seen_at,
        photo,
    })
}

fn names<E: WireEnum>() -> String {
    E::ALL
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
}

/// Decodes, sniffs and strips a photo given as base64 or as a `data:` URL.
fn read_photo(s: &str, max: usize) -> Result<(report::PhotoType, Vec<u8>), ApiError> {
    let b64 = match s.strip_prefix("data:") {
        Some(rest) => rest
            .split_once(";base64,")
            .map(|(_, d)| d)
            .ok_or_else(|| ApiError::bad_request("photo: a data: URL must be base64 encoded"))?,
        None => s,
    };
    // Whitespace and line breaks (as some encoders wrap lines) are ignored.
    let compact: String;
    let b64 = if b64.bytes().any(|b| b.is_ascii_whitespace()) {
        compact = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        &compact
    } else {
        b64
    };
    let decoded_len = b64.len() / 4 * 3;
    if decoded_len > max + 3 {
        return Err(ApiError::too_large(format!(
            "photo is {} but may be at most {}; send a smaller picture",
            mib(decoded_len),
            mib(max)
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .map_err(|e| ApiError::bad_request(format!("photo is not valid base64: {e}")))?;
    if bytes.len() > max {
        return Err(ApiError::too_large(format!(
            "photo is {} but may be at most {}; send a smaller picture",
            mib(bytes.len()),
            mib(max)
        )));
    }
    // The one cleaner of photos (cairn_core::report::clean_photo): decoded and written again.
    let clean = report::clean_photo(&bytes, &report::PHOTO_LIMITS).map_err(|e| match e {
        report::PhotoError::TooLarge(_) => ApiError::too_large(e.to_string()),
        e => unprocessable(e.to_string()),
    })?;
    Ok((clean.kind, clean.bytes))
}

/// 422: a photo that is well formed base64 but cannot be read as a picture.
fn unprocessable(detail: String) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Unprocessable content",
        detail,
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// `POST /api/reports`.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let config = state.reports_config();
    if let Some(limiter) = state.report_limiter()
        && let Err(wait) = limiter.take(ip, Instant::now())
    {
        state
            .metrics()
            .reports_limited
            .fetch_add(1, Ordering::Relaxed);
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut r = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many requests",
            detail: format!(
                "too many reports from this address; try again in {secs} s. If anyone is in danger, call 101 or 112 now"
            ),
        }
        .into_response();
        r.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return Ok(r);
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "body is larger than {} bytes; a photo may be at most {}",
                config.body_limit(),
                mib(config.photo_max_bytes)
            ))
        } else {
            ApiError::bad_request(format!("body: {}", e.body_text()))
        }
    })?;
    if !is_json(&headers) {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            title: "Unsupported media type",
            detail: "Content-Type must be application/json (a photo goes inside as base64)".into(),
        });
    }
    // Decoding and cleaning a photo is CPU work: on the compute pool (`limits.rs`).
    let photo_max = config.photo_max_bytes;
    let report = state
        .compute("a report", move |_| read_report(&body, photo_max))
        .await??;
    let receipt = state.intake().submit(report).await?;
    state.metrics().reports.fetch_add(1, Ordering::Relaxed);
    let location = format!("/api/reports/{}", receipt.reference);
    let mut r = (
        StatusCode::CREATED,
        Json(json!({
            "reference": receipt.reference,
            "received_at": receipt.received_at,
            "advice": advice(&receipt.reference),
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Triage.

/// Reads of reports: officers, admins and auditors (who read everything and write nothing).
fn may_read(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Officer | Role::Admin | Role::Auditor => Ok(()),
        Role::Public => Err(ApiError::unauthorized(
            "reports are restricted: send an information officer's token (Authorization: Bearer TOKEN)",
        )),
        Role::Field => Err(ApiError::forbidden(
            "reports are read by information officers, admins and auditors; this token's role is field",
        )),
    }
}

/// Triage decisions: officers and admins. Returns the name the decision is attributed to.
fn may_triage(caller: &Caller) -> Result<String, ApiError> {
    match caller.role {
        Role::Officer | Role::Admin => Ok(caller.name.clone().unwrap_or_else(|| "unknown".into())),
        Role::Public => Err(ApiError::unauthorized(
            "triage needs an information officer's token (Authorization: Bearer TOKEN)",
        )),
        Role::Field | Role::Auditor => Err(ApiError::forbidden(format!(
            "only information officers and admins triage reports; this token's role is {}",
            if caller.role == Role::Field {
                "field"
            } else {
                "auditor"
            }
        ))),
    }
}

fn reference(s: &str) -> Result<String, ApiError> {
    report::parse_reference(s).map_err(ApiError::not_found)
}

fn report_json(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(p) = v.get_mut("photo").and_then(Value::as_object_mut) {
        p.insert(
            "href".into(),
            Value::from(format!("/api/reports/{}/photo", r.reference)),
        );
    }
    v
}

/// Query of the report queue.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn count(v: &Option<String>, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => s.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
            ApiError::bad_request(format!(
                "parameter {name} must be a whole number from 0 to {max}, not {s:?}"
            ))
        }),
    }
}

/// `GET /api/reports?state=new|linked|opened|dismissed|all&limit=&offset=`: the queue, oldest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller)?;
    let Query(q) = q?;
    let name = q.state.as_deref().unwrap_or("new");
    let filter = match name {
        "all" => None,
        s => Some(
            ReportState::parse(s)
                .map_err(|m| ApiError::bad_request(format!("parameter state: {m}, all")))?,
        ),
    };
    let limit = count(&q.limit, "limit", 100, 1000)?;
    let offset = count(&q.offset, "offset", 0, u64::MAX >> 1)?;
    let (reports, total) = state
        .store(move |_, s| s.list_reports(filter, limit, offset))
        .await?
        .map_err(ApiError::from)?;
    Ok(Json(json!({
        "state": name,
        "total": total,
        "limit": limit,
        "offset": offset,
        "reports": reports.iter().map(report_json).collect::<Vec<_>>(),
    })))
}

/// `GET /api/reports/{ref}`: one report, its photo included as base64.
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(r): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&caller)?;
    let r = reference(&r)?;
    let (report, photo) = state
        .store({
            let r = r.clone();
            move |_, s| Ok::<_, cairn_store::StoreError>((s.get_report(&r)?, s.report_photo(&r)?))
        })
        .await?
        .map_err(ApiError::from)?;
    let report = report.ok_or_else(|| ApiError::not_found(format!("no report {r}")))?;
    let mut v = report_json(&report);
    if let (Some((_, bytes)), Some(p)) = (photo, v.get_mut("photo").and_then(Value::as_object_mut))
    {
        p.insert(
            "data".into(),
            Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
    }
    Ok(Json(v))
}

/// `GET /api/reports/{ref}/photo`: the photo itself.
pub async fn photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(r): Path<String>,
) -> Result<Response, ApiError> {
    may_read(&caller)?;
    let r = reference(&r)?;
    let (media, bytes) = state
        .store({
            let r = r.clone();
            move |_, s| s.report_photo(&r)
        })
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::not_found(format!("report {r} has no photo (or no such report)"))
        })?;
    let media = report::PhotoType::from_mime(&media)
        .map(|t| t.mime())
        .unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/reports/{ref}/triage` with `{"action": "link", "area_id": ...}`,
/// `{"action": "open"}` or `{"action": "dismiss", "reason": ...}`.
pub async fn triage(
    State(state): State<AppState>,
    caller: Caller,
    Path(r): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let by = may_triage(&caller)?;
    let r = reference(&r)?;
    let Json(body) = body?;
    let decision = read_decision(&body)?;
    // An opened area is in the read model before the decision is answered (officers see it in
    // items and checks at once): the model catches up with the store's change feed.
    let result = state
        .store({
            let r = r.clone();
            move |state, s| {
                let result = s.triage_report(&r, &decision, &by);
                if result.is_ok() {
                    state.catch_up_after_write();
                }
                result
            }
        })
        .await?;
    match result {
        Ok(_) => {}
        Err(TriageError::NoReport(x)) => return Err(ApiError::not_found(format!("no report {x}"))),
        Err(e @ TriageError::AlreadyTriaged { .. }) => {
            return Err(ApiError::conflict(e.to_string()));
        }
        Err(TriageError::NoArea(a)) => {
            return Err(ApiError::bad_request(format!(
                "area_id: there is no hazardous area {a}"
            )));
        }
        Err(TriageError::Store(e)) => return Err(ApiError::from(e)),
    };
    let report = state
        .store({
            let r = r.clone();
            move |_, s| s.get_report(&r)
        })
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::internal(format!("report {r} vanished after triage")))?;
    Ok(Json(report_json(&report)))
}

/// Reads a triage body; the error names the field at fault.
pub fn read_decision(body: &Value) -> Result<Decision, ApiError> {
    let Some(o) = body.as_object() else {
        return Err(ApiError::bad_request(
            "body must be a JSON object with an action: link, open or dismiss",
        ));
    };
    let allowed: &[&str] = match o.get("action").and_then(Value::as_str) {
        Some("link") => &["action", "area_id"],
        Some("open") => &["action"],
        Some("dismiss") => &["action", "reason"],
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "action: {other:?} is not one of link, open, dismiss"
            )));
        }
        None => {
            return Err(ApiError::bad_request(
                "action is required: link (with area_id), open, or dismiss (with reason)",
            ));
        }
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "{k:?} is not a field of this action; it takes {}",
            allowed.join(", ")
        )));
    }
    Ok(match o["action"].as_str() {
        Some("link") => {
            let id = o
                .get("area_id")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::bad_request("area_id is required to link a report"))?;
            Decision::Link {
                area_id: id.to_string(),
            }
        }
        Some("open") => Decision::Open,
        _ => {
            let reason = o
                .get("reason")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad_request("reason is required to dismiss a report"))?;
            let reason = report::check_text(reason, MAX_REASON_CHARS)
                .map_err(|m| ApiError::bad_request(format!("reason {m}")))?;
            if reason.is_empty() {
                return Err(ApiError::bad_request("reason must not be empty"));
            }
            Decision::Dismiss { reason }
        }
    })
}
