//! The public hazard map's files, embedded in the binary so that `cairn serve` works on a laptop
//! with no internet: the page (`/`, `/app.js`, `/basemap.js`, `/i18n.js`, `/style.css`), "Is my
//! land affected?" (`/parcel`, `/parcel.js`, `/parcel-i18n.js`, `/parcel.css`), its context layers
//! (`/data/ukraine.geojson`, `/data/settlements.geojson`, `/data/context.geojson`), MapLibre GL JS
//! and the Protomaps base-map style (`/vendor/...`), which build.rs takes from web/node_modules as
//! pinned in web/package-lock.json. The glyphs and the base-map tiles are `basemap.rs`'.
//!
//! Every answer carries a strong ETag and honours `If-None-Match`. The page's own files are
//! revalidated on every load (`no-cache`); MapLibre's files are loaded with `?v=VERSION` in their
//! URLs, so they may be cached for a year; the context layers for a day. The page is sent with a
//! Content-Security-Policy that lets it talk to this origin only.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The MapLibre GL JS version embedded, as installed by build.rs.
pub const MAPLIBRE_VERSION: &str = env!("CAIRN_MAPLIBRE_VERSION");

/// The placeholder in index.html that becomes [`MAPLIBRE_VERSION`], so that MapLibre's URLs
/// change whenever its version does.
const VERSION_PLACEHOLDER: &str = "__MAPLIBRE_VERSION__";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const GEOJSON: &str = "application/geo+json";
const SVG: &str = "image/svg+xml";
const MANIFEST: &str = "application/manifest+json";

/// Revalidate on every use: the page's own files change with Cairn.
const NO_CACHE: &str = "no-cache";
/// Versioned by the `?v=` in their URLs.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Context layers change rarely.
const DAY: &str = "public, max-age=86400";

/// What the page may load: this origin only, plus the blob and data URLs MapLibre makes itself.
const CSP: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The officers' desk opens restricted handover certificates (fetched with the token) from blob
/// URLs, which inherit this page's policy; the certificate's own inline style sheet needs
/// inline styles. Scripts stay as strict as on the map.
const OFFICER_CSP: &str = "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The auditors' page reads JSON and makes its CSV download from a blob URL; nothing inline.
const AUDIT_CSP: &str = "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// One embedded file and how it is served.
struct Asset {
    path: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    cache: &'static str,
}

const INDEX_TEMPLATE: &str = include_str!("../../../web/index.html");

/// The service worker; its list of files to store and its version are filled in at start.
const SW_TEMPLATE: &str = include_str!("../../../web/sw.js");

/// Files the service worker does not store: the officers' and auditors' pages work online only,
/// and the worker itself is fetched by the browser.
const NOT_OFFLINE: &[&str] = &["/officer", "/officer.js", "/audit", "/audit.js", "/sw.js"];

/// Every file but the page itself, whose version placeholder is filled in at start.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/officer",
        body: include_bytes!("../../../web/officer.html"),
        content_type: HTML,
        cache: NO_CACHE,
    },
    Asset {
        path: "/officer.js",
        body: include_bytes!("../../../web/officer.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/app.js",
        body: include_bytes!("../../../web/app.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/i18n.js",
        body: include_bytes!("../../../web/i18n.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/style.css",
        body: include_bytes!("../../../web/style.css"),
        content_type: CSS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/offline.js",
        body: include_bytes!("../../../web/offline.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/manifest.webmanifest",
        body: include_bytes!("../../../web/manifest.webmanifest"),
        content_type: MANIFEST,
        cache: NO_CACHE,
    },
    Asset {
        path: "/icon-maskable.svg",
        body: include_bytes!("../../../web/icon-maskable.svg"),
        content_type: SVG,
        cache: DAY,
    },
    Asset {
        path: "/favicon.svg",
        body: include_bytes!("../../../web/favicon.svg"),
        content_type: SVG,
        cache: DAY,
    },
    Asset {
        path: "/parcel",
        body: include_bytes!("../../../web/parcel.html"),
        content_type: HTML,
        cache: NO_CACHE,
    },
    Asset {
        path: "/parcel.js",
        body: include_bytes!("../../../web/parcel.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/parcel-i18n.js",
        body: include_bytes!("../../../web/parcel-i18n.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/parcel.css",
        body: include_bytes!("../../../web/parcel.css"),
        content_type: CSS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/audit",
        body: include_bytes!("../../../web/audit.html"),
        content_type: HTML,
        cache: NO_CACHE,
    },
    Asset {
        path: "/audit.js",
        body: include_bytes!("../../../web/audit.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/data/ukraine.geojson",
        body: include_bytes!("../../cairn-synth/data/ukraine.geojson"),
        content_type: GEOJSON,
        cache: DAY,
    },
    Asset {
        path: "/data/settlements.geojson",
        body: include_bytes!("../../../web/data/settlements.geojson"),
        content_type: GEOJSON,
        cache: DAY,
    },
    Asset {
        path: "/vendor/maplibre-gl.js",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.js")),
        content_type: JS,
        cache: IMMUTABLE,
    },
    Asset {
        path: "/vendor/maplibre-gl-worker.js",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl-worker.js")),
        content_type: JS,
        cache: IMMUTABLE,
    },
    Asset {
        path: "/basemap.js",
        body: include_bytes!("../../../web/basemap.js"),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/data/context.geojson",
        body: include_bytes!("../../../web/data/context.geojson"),
        content_type: GEOJSON,
        cache: DAY,
    },
    Asset {
        // @protomaps/basemaps, pinned in web/package-lock.json; revalidated by its ETag.
        path: "/vendor/protomaps-basemaps.js",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/protomaps-basemaps.js")),
        content_type: JS,
        cache: NO_CACHE,
    },
    Asset {
        path: "/vendor/maplibre-gl.css",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.css")),
        content_type: CSS,
        cache: IMMUTABLE,
    },
];

/// The page with MapLibre's version filled in.
static INDEX: LazyLock<String> =
    LazyLock::new(|| INDEX_TEMPLATE.replace(VERSION_PLACEHOLDER, MAPLIBRE_VERSION));

/// The URLs the page loads its shell from, as it asks for them (MapLibre's with `?v=`): what the
/// service worker stores so that the page opens offline.
static SHELL: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut urls = vec!["/".to_string()];
    for a in ASSETS.iter().filter(|a| !NOT_OFFLINE.contains(&a.path)) {
        if a.path.starts_with("/vendor/maplibre-gl") {
            urls.push(format!("{}?v={MAPLIBRE_VERSION}", a.path));
        } else {
            urls.push(a.path.to_string());
        }
    }
    // The glyphs the labels are drawn with, as MapLibre asks for them.
    for (font, start, _) in crate::basemap::GLYPHS {
        urls.push(format!(
            "/fonts/{}/{start}-{}.pbf",
            font.replace(' ', "%20"),
            start + 255
        ));
    }
    urls
});

/// The service worker with its shell list and a version that changes whenever a shell file does.
static SW: LazyLock<String> = LazyLock::new(|| {
    let mut d = Sha256::new();
    d.update(INDEX.as_bytes());
    for a in ASSETS.iter().filter(|a| !NOT_OFFLINE.contains(&a.path)) {
        d.update(a.path.as_bytes());
        d.update(a.body);
    }
    let version: String = d.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let list = serde_json::to_string(&*SHELL).unwrap_or_else(|_| "[]".into());
    SW_TEMPLATE
        .replace("__CAIRN_SHELL__", &list)
        .replace("__CAIRN_VERSION__", &version)
});

/// Each file's ETag, computed once: the start of the SHA-256 of its body, quoted.
static ETAGS: LazyLock<HashMap<&'static str, HeaderValue>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    m.insert("/", etag(INDEX.as_bytes()));
    m.insert("/sw.js", etag(SW.as_bytes()));
    for a in ASSETS {
        m.insert(a.path, etag(a.body));
    }
    m
});

fn etag(body: &[u8]) -> HeaderValue {
    let d = Sha256::digest(body);
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// True when the client's `If-None-Match` names this ETag (or `*`).
fn fresh(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    tag.to_str()
        .is_ok_and(|tag| crate::conventions::none_match(headers, tag))
}

/// Answers with `body`, or 304 when the client already holds it.
fn respond(
    path: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    cache: &'static str,
    headers: &HeaderMap,
) -> Response {
    let tag = ETAGS
        .get(path)
        .cloned()
        .unwrap_or(HeaderValue::from_static("\"0\""));
    let mut r = if fresh(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, tag);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if content_type == HTML {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(match path {
                "/officer" => OFFICER_CSP,
                "/audit" => AUDIT_CSP,
                // The printable extract opens from a blob URL, which inherits this policy; its
                // own inline style sheet needs inline styles. Scripts stay strict.
                "/parcel" => OFFICER_CSP,
                _ => CSP,
            }),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    r
}

/// The map's routes, to be merged into the service's router.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new().route(
        "/",
        get(|headers: HeaderMap| async move {
            respond("/", INDEX.as_bytes(), HTML, NO_CACHE, &headers)
        }),
    );
    r = r.route(
        "/sw.js",
        get(|headers: HeaderMap| async move {
            respond("/sw.js", SW.as_bytes(), JS, NO_CACHE, &headers)
        }),
    );
    for a in ASSETS {
        r = r.route(
            a.path,
            get(move |headers: HeaderMap| async move {
                respond(a.path, a.body, a.content_type, a.cache, &headers)
            }),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn app() -> Router {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = cairn_store::SqliteStore::open(
            &dir.path().join("web.db"),
            cairn_store::sqlite::OpenMode::Create,
        )
        .expect("store");
        let state = AppState::new(store, cairn_core::Catalogue::builtin()).expect("state");
        // With the glyphs, which the service worker stores too.
        routes()
            .route("/fonts/{fontstack}/{range}", get(crate::basemap::glyphs))
            .with_state(state)
    }

    async fn get_path(app: &Router, path: &str, inm: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(t) = inm {
            req = req.header(header::IF_NONE_MATCH, t);
        }
        app.clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("response")
    }

    #[tokio::test]
    async fn every_file_is_served_with_its_type_cache_policy_and_etag() {
        let app = app();
        let mut paths: Vec<(&str, &str)> = vec![("/", HTML), ("/sw.js", JS)];
        paths.extend(ASSETS.iter().map(|a| (a.path, a.content_type)));
        for (path, ty) in paths {
            let r = get_path(&app, path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], ty, "{path}");
            assert!(r.headers().contains_key(header::CACHE_CONTROL), "{path}");
            let tag = r.headers()[header::ETAG]
                .to_str()
                .expect("etag")
                .to_string();
            let again = get_path(&app, path, Some(&tag)).await;
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        }
    }

    #[tokio::test]
    async fn the_page_names_the_embedded_maplibre_and_loads_nothing_from_elsewhere() {
        assert!(!MAPLIBRE_VERSION.is_empty());
        assert!(!INDEX.contains(VERSION_PLACEHOLDER));
        assert!(INDEX.contains(&format!("maplibre-gl.css?v={MAPLIBRE_VERSION}")));
        let r = get_path(&app(), "/", None).await;
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp");
        assert!(csp.contains("default-src 'self'"));
        // No file of the page names another host to load from.
        let own = ASSETS
            .iter()
            .filter(|a| {
                !a.path.starts_with("/vendor/") && [HTML, JS, CSS].contains(&a.content_type)
            })
            .map(|a| std::str::from_utf8(a.body).expect("the page's files are UTF-8"));
        for text in std::iter::once(INDEX.as_str())
            .chain(std::iter::once(SW.as_str()))
            .chain(own)
        {
            for bad in [
                "src=\"http",
                "href=\"http",
                "url(http",
                "fetch('http",
                "@import",
            ] {
                assert!(!text.contains(bad), "found {bad:?}");
            }
        }
    }

    #[tokio::test]
    async fn the_service_worker_stores_every_file_the_page_needs_and_no_officer_page() {
        assert!(!SW.contains("__CAIRN_"), "every placeholder is filled in");
        let app = app();
        for url in SHELL.iter() {
            assert!(
                SW.contains(&format!("\"{url}\"")),
                "{url} is in the worker's list"
            );
            let r = get_path(&app, url, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{url} is served");
        }
        // What the page itself loads is in the list (else it would not open offline).
        for url in [
            "/",
            "/app.js",
            "/i18n.js",
            "/offline.js",
            "/style.css",
            "/manifest.webmanifest",
        ] {
            assert!(
                SHELL.iter().any(|u| u == url),
                "{url} is stored for offline use"
            );
        }
        assert!(
            SHELL
                .iter()
                .any(|u| u == &format!("/vendor/maplibre-gl.js?v={MAPLIBRE_VERSION}")),
            "MapLibre is stored under the URL the page asks for"
        );
        for url in NOT_OFFLINE {
            assert!(!SHELL.iter().any(|u| u == url), "{url} is not stored");
        }
    }

    #[test]
    fn maplibre_is_embedded_without_source_map_comments() {
        for a in ASSETS.iter().filter(|a| a.path.starts_with("/vendor/")) {
            if a.path == "/vendor/protomaps-basemaps.js" {
                // The style's module is small (about 38 kB).
                assert!(a.body.len() > 10_000, "{} is too small", a.path);
                assert!(
                    !std::str::from_utf8(a.body)
                        .expect("utf-8")
                        .contains("sourceMappingURL=")
                );
                continue;
            }
            let text = std::str::from_utf8(a.body).expect("utf-8");
            assert!(text.len() > 10_000, "{} is too small", a.path);
            assert!(!text.contains("sourceMappingURL="), "{}", a.path);
        }
    }
}
