//! Health and metrics: `/health` for load balancers and `/metrics` in Prometheus text format.
//!
//! The public sees only what it may know: `/health` gives it the status (`ok`, or `degraded`
//! when the change feed cannot be followed), whether the feed is followed, the number of
//! features the public map shows, the public's data date and the version; the count of records,
//! the newest write's time and the change number — each of which moves with writes to restricted
//! records the public is not shown, or counts them — only callers with a token get. `/metrics`
//! likewise keeps `cairn_areas` and the report counters for callers with a token.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;

/// Counters kept by the service.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub errors_4xx: AtomicU64,
    pub errors_5xx: AtomicU64,
    pub point_checks: AtomicU64,
    pub route_checks: AtomicU64,
    pub tiles: AtomicU64,
    pub items: AtomicU64,
    /// Reports from the public stored.
    pub reports: AtomicU64,
    /// Reports refused by the rate limit.
    pub reports_limited: AtomicU64,
    /// Checks, tiles and items refused by the rate limits (429).
    pub rate_limited: AtomicU64,
    /// Public requests refused by a concurrency cap (503).
    pub busy: AtomicU64,
    /// Sum of request durations in microseconds.
    pub duration_us: AtomicU64,
}

/// Metrics that count what the public is not shown (every record, reports from the public).
const OPERATOR_ONLY: &[&str] = &[
    "cairn_areas",
    "cairn_reports_received_total",
    "cairn_reports_rate_limited_total",
];

/// `GET /health`: the detail for callers with a token, what the public may know for the rest.
pub async fn health(State(state): State<AppState>, caller: Caller) -> impl IntoResponse {
    let feed_error = state.feed_error();
    let m = state.model();
    let full = caller.role.sees_restricted();
    let mut body = json!({
        "status": if feed_error.is_none() { "ok" } else { "degraded" },
        "public_features": m.public.len(),
        "data_date": m.date_for(full),
        // Whether the latest attempt to follow the store's change feed worked, and when the data
        // was last confirmed to be the store's newest (while the store cannot be reached, the
        // server answers from data this old).
        "following": feed_error.is_none(),
        "data_checked_at": state.data_checked_at(full),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if full {
        // The change feed's number the model has reached, and every record: both move with
        // writes the public is not shown.
        body["areas"] = json!(m.areas.len());
        body["change"] = json!(m.seq);
        body["public_data_date"] = json!(m.public_date);
        // Whether the model follows a read replica (`--read-db`) rather than the primary.
        body["read_replica"] = json!(state.follows_replica());
        // What of the model is still being built after the start (every answer is exact
        // meanwhile; some are slower): empty once complete.
        body["building"] = json!(m.building());
        if let Some(e) = feed_error {
            body["feed_error"] = json!(e);
        }
    }
    axum::Json(body)
}

/// `GET /metrics`; the record count and report counters only for callers with a token.
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> impl IntoResponse {
    let full = caller.role.sees_restricted();
    let m = &state.metrics();
    let (areas, public) = {
        let model = state.model();
        (model.areas.len(), model.public.len())
    };
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        if !full && OPERATOR_ONLY.contains(&name) {
            return;
        }
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "cairn_http_requests_total",
        "counter",
        "HTTP requests answered.",
        get(&m.requests).to_string(),
    );
    metric(
        "cairn_http_client_errors_total",
        "counter",
        "Requests answered with a 4xx status.",
        get(&m.errors_4xx).to_string(),
    );
    metric(
        "cairn_http_server_errors_total",
        "counter",
        "Requests answered with a 5xx status.",
        get(&m.errors_5xx).to_string(),
    );
    metric(
        "cairn_http_request_duration_seconds_sum",
        "counter",
        "Total time spent answering requests.",
        format!("{}", get(&m.duration_us) as f64 / 1e6),
    );
    metric(
        "cairn_point_checks_total",
        "counter",
        "Place checks answered.",
        get(&m.point_checks).to_string(),
    );
    metric(
        "cairn_route_checks_total",
        "counter",
        "Route checks answered.",
        get(&m.route_checks).to_string(),
    );
    metric(
        "cairn_tiles_total",
        "counter",
        "Vector tiles served.",
        get(&m.tiles).to_string(),
    );
    metric(
        "cairn_items_requests_total",
        "counter",
        "OGC API items requests answered.",
        get(&m.items).to_string(),
    );
    metric(
        "cairn_reports_received_total",
        "counter",
        "Reports from the public stored.",
        get(&m.reports).to_string(),
    );
    metric(
        "cairn_reports_rate_limited_total",
        "counter",
        "Reports from the public refused by the rate limit.",
        get(&m.reports_limited).to_string(),
    );
    metric(
        "cairn_rate_limited_total",
        "counter",
        "Checks, tiles and item requests refused by the per-client rate limits.",
        get(&m.rate_limited).to_string(),
    );
    metric(
        "cairn_busy_total",
        "counter",
        "Public requests refused by a concurrency cap.",
        get(&m.busy).to_string(),
    );
    metric(
        "cairn_areas",
        "gauge",
        "Hazardous areas in the read model.",
        areas.to_string(),
    );
    metric(
        "cairn_public_features",
        "gauge",
        "Features the public sees.",
        public.to_string(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
