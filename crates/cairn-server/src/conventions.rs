//! HTTP conventions every answer follows, in one place: what a shared cache may keep, CORS, and
//! compression.
//!
//! Caching: an answer can depend on the caller (a token shows restricted records and detail), so
//! every answer carries `Vary: Authorization`, and an answer to a request with credentials is
//! never `public` (RFC 9111 §3.5 lets a shared cache store such an answer only when it says
//! `public` or `s-maxage`): `public` becomes `private` and `s-maxage` is dropped. A caching proxy
//! in front of Cairn therefore never hands an officer's tile to the public, nor the public's to an
//! officer.
//!
//! CORS: a web map on another origin may use the API (`[network] cors_origins`, every origin by
//! default). No credentials mode is ever granted (`Access-Control-Allow-Credentials` is never
//! sent), so a browser never attaches cookies or cached Basic credentials to another origin's
//! request: a cross-origin write needs the token in the page's own hands.
//!
//! Compression: gzip and br, as the client accepts, for answers over 1 KiB except images (photos
//! are JPEG, PNG or WebP already); level 4, which keeps most of the saving at a fraction of br's
//! default cost.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Answers smaller than this are sent as they are: compressing a place check's few hundred
/// bytes costs more than it saves.
pub const COMPRESS_ABOVE: u16 = 1024;

/// True when the client's `If-None-Match` names `etag` (weak or strong) or is `*`: the one
/// reading of it for items, tiles, TileJSON and the map's files.
pub fn none_match(headers: &axum::http::HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The caching rule above, as a middleware.
pub async fn caller_cache(req: Request, next: Next) -> Response {
    let credentials = req.headers().contains_key(header::AUTHORIZATION);
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    // One Vary line listing every field: caches before nginx 1.23 read only one of several.
    let mut vary: Vec<String> = h
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if !vary.iter().any(|v| v.eq_ignore_ascii_case("authorization")) {
        vary.push("Authorization".into());
    }
    if let Ok(v) = HeaderValue::from_str(&vary.join(", ")) {
        h.insert(header::VARY, v);
    }
    if credentials && let Some(cc) = h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        let directives: Vec<String> = cc
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty() && !d.to_ascii_lowercase().starts_with("s-maxage"))
            .map(|d| {
                if d.eq_ignore_ascii_case("public") {
                    "private".to_string()
                } else {
                    d.to_string()
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&directives.join(", ")) {
            h.insert(header::CACHE_CONTROL, v);
        }
    }
    r
}

/// The origins a browser may call the API from: `["*"]` (the default) for any, an empty list for
/// none (same-origin only), or a list of origins such as `https://map.example.org`.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let mut list = Vec::with_capacity(origins.len());
        for o in origins {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.trim_end_matches('/').contains(['?', '#', ' '])
                && o.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Err(format!(
                    "{o:?} is not an origin: give scheme and host, like https://map.example.org, or \"*\""
                ));
            }
            list.push(
                HeaderValue::from_str(o.trim_end_matches('/'))
                    .map_err(|_| format!("{o:?} is not an origin"))?,
            );
        }
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static("content-crs"),
                HeaderName::from_static("cairn-reason"),
            ])
            .expose_headers([
                header::ETAG,
                header::LAST_MODIFIED,
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("content-crs"),
            ])
            .max_age(Duration::from_secs(600)),
    ))
}

/// `router` with CORS for every request but a plain OPTIONS: tower-http's `CorsLayer` answers
/// every OPTIONS itself as a preflight, while an OPTIONS without `Access-Control-Request-Method`
/// is OGC API Part 4's question of what a resource allows (`Allow`, `Accept-Post`, …), which the
/// routes answer.
pub fn with_cors(router: axum::Router, cors: Option<CorsLayer>) -> axum::Router {
    let Some(cors) = cors else { return router };
    let preflights = router.clone().layer(cors);
    axum::Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let plain_options = req.method() == Method::OPTIONS
            && !req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let service = if plain_options {
            router.clone()
        } else {
            preflights.clone()
        };
        tower::ServiceExt::oneshot(service, req)
    }))
}

/// gzip and br for answers over `COMPRESS_ABOVE` bytes, images excepted.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE)))
}
