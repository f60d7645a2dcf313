//! The auditors' endpoint: `GET /api/audit` runs the policy the service was started with
//! (`cairn serve --policy FILE`) and answers the `cairn_audit::Audit` as JSON, or its violations
//! as CSV with `?format=csv`; `POST /api/audit` runs a policy sent as TOML instead. Both take
//! `?at=` (RFC 3339 or a date meaning its first moment, 00:00:00Z; default now). Auditors, officers and admins only.
//!
//! The audit runs on a blocking thread with its own read-only connection to the store file, so
//! neither the async runtime nor the store's write lock waits for it (the lock is taken only to
//! read the file's path); at most `CONCURRENT_AUDITS` run at once. A policy sent over HTTP may
//! not name a settlements file: the server reads no file a request names.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_audit::Audit;
use cairn_audit::policy::{PolicyError, SettlementSource};
use cairn_audit::run::{LoadedPolicy, RunError, run};
use cairn_core::Timestamp;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::auth::{Caller, Role};
use crate::error::ApiError;

/// The largest policy `POST /api/audit` accepts, in bytes.
pub const POLICY_LIMIT: usize = 64 << 10;
/// Audits running at once; more wait their turn (within the request deadline).
pub const CONCURRENT_AUDITS: usize = 2;
/// The name a posted policy goes by in errors ("policy line 3: ...").
pub const POSTED_NAME: &str = "policy";

const AUDITORS: &[Role] = &[Role::Auditor, Role::Officer, Role::Admin];

static RUNNING: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(CONCURRENT_AUDITS)));

/// The query of both methods.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// When deadlines are judged; default now.
    at: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

enum Format {
    Json,
    Csv,
}

fn allow(caller: &Caller) -> Result<(), ApiError> {
    if AUDITORS.contains(&caller.role) {
        return Ok(());
    }
    let names = "auditor, officer, admin";
    if caller.role == Role::Public {
        return Err(ApiError::unauthorized(format!(
            "the compliance audit needs a token (Authorization: Bearer TOKEN) of role {names}"
        )));
    }
    Err(ApiError::forbidden(format!(
        "the compliance audit is for roles {names}; this token's role is {}",
        caller.role.as_str()
    )))
}

fn read_query(
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<(Timestamp, Format), ApiError> {
    let Query(q) = q?;
    let at = match &q.at {
        None => chrono::Utc::now(),
        Some(s) => cairn_core::time::parse_instant(s, cairn_core::time::Cautious::Earliest)
            .map_err(|m| ApiError::bad_request(format!("parameter at: {m}")))?,
    };
    let format = match q.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "parameter format must be json or csv, not {other:?}"
            )));
        }
    };
    Ok((at, format))
}

/// A policy that is at fault, answered with the line in the detail and as a member of its own.
fn policy_problem(status: StatusCode, title: &'static str, e: &PolicyError) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": e.to_string(),
        "line": e.line,
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Runs the audit off the async runtime on a read-only connection of its own.
async fn audit_store(
    state: &AppState,
    policy: Arc<LoadedPolicy>,
    at: Timestamp,
) -> Result<Result<Audit, RunError>, ApiError> {
    let permit = RUNNING
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    state
        .compute("the audit", move |state| {
            let _permit = permit;
            let store = state.with_store(|s| s.reopen(true))?;
            run(&*store, &policy, at)
        })
        .await
}

fn answer(audit: &Audit, format: Format) -> Response {
    match format {
        Format::Json => {
            let mut r = serde_json::to_string(audit)
                .unwrap_or_default()
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Format::Csv => {
            let mut r = violations_csv(audit).into_response();
            let h = r.headers_mut();
            if let Some(v) = audit.catalogue_version {
                h.insert("cairn-catalogue-version", HeaderValue::from(v));
            }
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            let name = format!(
                "attachment; filename=\"cairn-audit-{}.csv\"",
                audit.at.format("%Y%m%dT%H%M%SZ")
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
    }
}

/// The violations as CSV (RFC 4180): `rule,record,began,summary,catalogue_version`, one line
/// each, in the audit's order; the last column is the device catalogue version the audit used
/// (also sent as the `Cairn-Catalogue-Version` header, for an audit with no violation). A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) is prefixed
/// with `'`.
pub fn violations_csv(audit: &Audit) -> String {
    fn cell(s: &str) -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    }
    let mut out = String::from("rule,record,began,summary,catalogue_version\r\n");
    let version = audit
        .catalogue_version
        .map(|v| v.to_string())
        .unwrap_or_default();
    for v in &audit.violations {
        let began = v.began.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        out.push_str(&format!(
            "{},{},{},{},{version}\r\n",
            cell(v.rule),
            cell(&v.record),
            began,
            cell(&v.summary)
        ));
    }
    out
}

/// `GET /api/audit[?at=TIME][&format=csv]`: the configured policy's audit.
pub async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    allow(&caller)?;
    let (at, format) = read_query(q)?;
    let Some(policy) = state.policy() else {
        return Err(ApiError::not_found(
            "no policy configured (cairn serve --policy FILE); POST a policy as TOML to audit with it",
        ));
    };
    match audit_store(&state, policy, at).await? {
        Ok(a) => Ok(answer(&a, format)),
        // The policy was read at start; what it names no longer fits the store (no zone of a
        // kind, say): the service's configuration conflicts with the data.
        Err(RunError::Policy(e)) => Ok(policy_problem(
            StatusCode::CONFLICT,
            "The configured policy does not fit the store",
            &e,
        )),
        Err(RunError::Input(m)) => Err(ApiError::conflict(format!(
            "the configured policy cannot be run: {m}"
        ))),
        Err(RunError::Store(e)) => Err(ApiError::from(e)),
    }
}

/// The line of the first `key = ...` in a TOML text (1 when none is found).
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")));
            rest.is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// `POST /api/audit[?at=TIME][&format=csv]` with a policy as TOML (`application/toml` or
/// `text/plain`): the audit with that policy.
pub async fn post_audit(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<AuditQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    allow(&caller)?;
    let (at, format) = read_query(q)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct != "application/toml" && ct != "text/plain" {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            title: "Unsupported media type",
            detail: format!(
                "Content-Type must be application/toml or text/plain (a policy file), not {:?}",
                if ct.is_empty() { "nothing" } else { &ct }
            ),
        });
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the policy is larger than {} KiB",
                POLICY_LIMIT >> 10
            ))
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the policy is not UTF-8 text: {e}")))?;
    let loaded = match LoadedPolicy::from_text(text, POSTED_NAME, std::path::Path::new(".")) {
        Ok(l) => l,
        Err(RunError::Policy(e)) => {
            return Ok(policy_problem(StatusCode::BAD_REQUEST, "Bad policy", &e));
        }
        Err(e) => return Err(ApiError::bad_request(e.to_string())),
    };
    if let Some(s) = &loaded.policy.settlement_distance
        && matches!(s.settlements, SettlementSource::File(_))
    {
        let e = PolicyError {
            file: POSTED_NAME.into(),
            line: key_line(text, "settlements"),
            message: "a policy sent over HTTP may only use settlements = \"geonames\": the server reads no file a request names (run `cairn audit --policy FILE` for settlements from a file)".into(),
        };
        return Ok(policy_problem(StatusCode::BAD_REQUEST, "Bad policy", &e));
    }
    match audit_store(&state, Arc::new(loaded), at).await? {
        Ok(a) => Ok(answer(&a, format)),
        Err(RunError::Policy(e)) => Ok(policy_problem(StatusCode::BAD_REQUEST, "Bad policy", &e)),
        Err(RunError::Input(m)) => Err(ApiError::bad_request(m)),
        Err(RunError::Store(e)) => Err(ApiError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_line_finds_bare_and_quoted_keys() {
        let t = "[policy]\nname = \"x\"\n[rules.settlement-distance]\nminimum = \"1 km\"\n  \"settlements\" = \"a.geojson\"\n";
        assert_eq!(key_line(t, "settlements"), 5);
        assert_eq!(key_line(t, "minimum"), 4);
        assert_eq!(key_line(t, "nothing"), 1);
    }
}
