//! Property-based fuzzing of what the service parses and writes: CQL2 text filters, the public
//! report body (through the router, as a client sends it), and the vector tiles, which GDAL's MVT
//! driver reads back.
//!
//! `CAIRN_FUZZ_SCALE=N` multiplies every case count (bench/fuzz.sh runs them at 20×); each test
//! prints how many cases it ran and how long they took. GDAL (Debian gdal-bin, installed by
//! scripts/test) must be present: the tile test fails, never skips, without it.

use std::net::SocketAddr;
use std::process::Command;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use cairn_core::{Catalogue, Shape};
use cairn_server::cql2::{self, CompareOp, Expr, Literal, QueryableType, SpatialOp};
use cairn_server::reports::ReportsConfig;
use cairn_server::tiles::{self, TileFeature, TileValue};
use cairn_server::{AppState, router};
use cairn_store::SqliteStore;
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use chrono::{DateTime, NaiveDate, Utc};
use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon, Rect,
};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// The runner: one file shared by every crate's fuzz tests.

#[path = "../../../tests-support/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz;

// ---------------------------------------------------------------------------------------------
// CQL2 text.

const Q: &[(&str, QueryableType)] = &[
    ("status", QueryableType::String),
    ("name", QueryableType::String),
    ("depth", QueryableType::Number),
    ("cleared", QueryableType::Boolean),
    ("updated", QueryableType::Timestamp),
    ("hazard-type", QueryableType::String),
    ("and", QueryableType::String),
    ("geometry", QueryableType::Geometry),
];

/// A position: anywhere, or on a coarse grid so that geometries meet, touch and share edges.
fn coord() -> impl Strategy<Value = Coord<f64>> {
    prop_oneof![
        (-180.0..180.0f64, -90.0..90.0f64),
        ((-4i32..4), (-4i32..4)).prop_map(|(x, y)| (f64::from(x) * 0.5, f64::from(y) * 0.5)),
    ]
    .prop_map(|(x, y)| Coord { x, y })
}

/// A line whose first two points differ (geo's validation wants two distinct points).
fn line() -> impl Strategy<Value = LineString<f64>> {
    (coord(), proptest::collection::vec(coord(), 0..3)).prop_map(|(a, rest)| {
        let mut points = vec![
            a,
            Coord {
                x: a.x + 0.5,
                y: a.y + 0.25,
            },
        ];
        points.extend(rest);
        LineString(points)
    })
}

/// A valid polygon (literals are validated): a box, perhaps with a box-shaped hole inside it
/// or an EMPTY hole, and now and then an empty polygon.
fn polygon() -> impl Strategy<Value = Polygon<f64>> {
    let ring = |x0: f64, y0: f64, x1: f64, y1: f64| {
        Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 })
            .to_polygon()
            .exterior()
            .clone()
    };
    prop_oneof![
        8 => (coord(), 1i32..5, 1i32..5, 0u8..3).prop_map(move |(a, w, h, hole)| {
            let (w, h) = (f64::from(w) * 0.5, f64::from(h) * 0.5);
            let holes = match hole {
                0 => vec![ring(a.x + w / 4.0, a.y + h / 4.0, a.x + w * 0.75, a.y + h * 0.75)],
                1 => vec![LineString(Vec::new())],
                _ => vec![],
            };
            Polygon::new(ring(a.x, a.y, a.x + w, a.y + h), holes)
        }),
        1 => Just(Polygon::new(LineString(Vec::new()), vec![])),
    ]
}

/// A geometry literal of every kind CQL2 has (`member`: inside a collection, so no box and no
/// collection).
fn geometry(member: bool) -> BoxedStrategy<Geometry<f64>> {
    let simple = prop_oneof![
        coord().prop_map(|c| Geometry::Point(Point(c))),
        line().prop_map(Geometry::LineString),
        polygon().prop_map(Geometry::Polygon),
        proptest::collection::vec(coord().prop_map(Point), 1..4)
            .prop_map(|p| Geometry::MultiPoint(MultiPoint(p))),
        proptest::collection::vec(line(), 1..3)
            .prop_map(|l| Geometry::MultiLineString(MultiLineString(l))),
        // Parts apart, as a valid multipolygon's are.
        proptest::collection::vec(polygon(), 1..3).prop_map(|p| {
            let parts = p
                .into_iter()
                .enumerate()
                .map(|(i, mut part)| {
                    let dx = 1000.0 * i as f64;
                    part.exterior_mut(|e| e.0.iter_mut().for_each(|c| c.x += dx));
                    part.interiors_mut(|h| {
                        h.iter_mut()
                            .for_each(|r| r.0.iter_mut().for_each(|c| c.x += dx))
                    });
                    part
                })
                .collect();
            Geometry::MultiPolygon(MultiPolygon(parts))
        }),
    ];
    if member {
        return simple.boxed();
    }
    prop_oneof![
        6 => simple,
        1 => proptest::collection::vec(geometry(true), 1..4)
            .prop_map(|g| Geometry::GeometryCollection(GeometryCollection(g))),
        1 => (coord(), coord()).prop_map(|(a, b)| Geometry::Rect(Rect::new(a, b))),
    ]
    .boxed()
}

/// A feature's footprint: one or two squares on the grid the literals also use, or none.
fn footprint() -> impl Strategy<Value = Option<Geometry<f64>>> {
    let square = ((-4i32..4), (-4i32..4), 1i32..4).prop_map(|(x, y, w)| {
        let (x, y, w) = (f64::from(x) * 0.5, f64::from(y) * 0.5, f64::from(w) * 0.5);
        Rect::new(Coord { x, y }, Coord { x: x + w, y: y + w }).to_polygon()
    });
    prop_oneof![
        1 => Just(None),
        6 => square.prop_map(|p| Some(Geometry::MultiPolygon(MultiPolygon(vec![p])))),
    ]
}

/// A generated feature: its properties and footprint.
#[derive(Debug, Clone)]
struct Generated {
    props: serde_json::Map<String, Value>,
    geometry: Option<Geometry<f64>>,
}

impl cql2::Feature for Generated {
    fn property(&self, name: &str) -> Option<Value> {
        self.props.get(name).cloned()
    }

    fn geometry(&self, name: &str) -> Option<&Geometry<f64>> {
        self.geometry.as_ref().filter(|_| name == "geometry")
    }
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1900 to 2100, to the microsecond.
    (-2_208_988_800_000_000i64..4_102_444_800_000_000)
        .prop_map(|us| DateTime::from_timestamp_micros(us).expect("in range"))
}

fn date() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|t| t.date_naive())
}

fn literal(kind: QueryableType) -> BoxedStrategy<Literal> {
    match kind {
        QueryableType::String => "\\PC{0,12}|[a-z' ]{0,6}|.{0,4}"
            .prop_map(Literal::String)
            .boxed(),
        QueryableType::Number => prop_oneof![
            any::<f64>().prop_filter("finite", |x| x.is_finite()),
            -1000.0..1000.0f64,
            (-100i64..100).prop_map(|i| i as f64),
        ]
        .prop_map(Literal::Number)
        .boxed(),
        QueryableType::Boolean => any::<bool>().prop_map(Literal::Boolean).boxed(),
        QueryableType::Timestamp => prop_oneof![
            instant().prop_map(Literal::Timestamp),
            date().prop_map(Literal::Date),
        ]
        .boxed(),
        QueryableType::Geometry => unreachable!("geometries are compared with spatial functions"),
    }
}

fn comparison() -> impl Strategy<Value = Expr> {
    prop::sample::select(Q).prop_flat_map(|(name, kind)| {
        if kind == QueryableType::Geometry {
            let spatial = (prop::sample::select(&SpatialOp::ALL[..]), geometry(false)).prop_map(
                move |(op, geometry)| Expr::Spatial {
                    op,
                    property: name.to_string(),
                    geometry,
                },
            );
            let null = any::<bool>().prop_map(move |negated| Expr::IsNull {
                property: name.to_string(),
                negated,
            });
            return prop_oneof![4 => spatial, 1 => null].boxed();
        }
        let ops = if kind == QueryableType::Boolean {
            vec![CompareOp::Eq, CompareOp::Ne]
        } else {
            vec![
                CompareOp::Eq,
                CompareOp::Ne,
                CompareOp::Lt,
                CompareOp::Gt,
                CompareOp::Le,
                CompareOp::Ge,
            ]
        };
        let mut kinds: Vec<BoxedStrategy<Expr>> = vec![
            (prop::sample::select(ops), literal(kind))
                .prop_map(move |(op, value)| Expr::Compare {
                    property: name.to_string(),
                    op,
                    value,
                })
                .boxed(),
            any::<bool>()
                .prop_map(move |negated| Expr::IsNull {
                    property: name.to_string(),
                    negated,
                })
                .boxed(),
        ];
        // LIKE applies to strings only (the parser refuses it on other kinds).
        if kind == QueryableType::String {
            kinds.push(
                ("[a-z%_'\\\\]{0,5}", any::<bool>())
                    .prop_map(move |(pattern, negated)| Expr::Like {
                        property: name.to_string(),
                        pattern,
                        negated,
                    })
                    .boxed(),
            );
        }
        proptest::strategy::Union::new(kinds).boxed()
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        4 => comparison(),
        1 => any::<bool>().prop_map(Expr::Literal),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// A feature's properties: each queryable absent, null, of its type, or of another type.
fn record() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let value = |kind: QueryableType| -> BoxedStrategy<Option<Value>> {
        let right: BoxedStrategy<Value> = match kind {
            QueryableType::String => "[a-z' ]{0,4}|\\PC{0,3}".prop_map(Value::from).boxed(),
            QueryableType::Number => prop_oneof![
                (-100i64..100).prop_map(Value::from),
                (-1000.0..1000.0f64).prop_map(Value::from),
            ]
            .boxed(),
            QueryableType::Boolean => any::<bool>().prop_map(Value::from).boxed(),
            QueryableType::Timestamp => prop_oneof![
                instant().prop_map(|t| Value::from(t.to_rfc3339())),
                date().prop_map(|d| Value::from(d.to_string())),
                Just(Value::from("not a time")),
            ]
            .boxed(),
            // The geometry is the feature's own, not a property (`footprint`).
            QueryableType::Geometry => return Just(None).boxed(),
        };
        prop_oneof![
            1 => Just(None),
            1 => Just(Some(Value::Null)),
            6 => right.prop_map(Some),
            1 => prop_oneof![Just(json!(7)), Just(json!("x")), Just(json!([true]))].prop_map(Some),
        ]
        .boxed()
    };
    Q.iter()
        .map(|(name, kind)| value(*kind).prop_map(move |v| (name.to_string(), v)))
        .collect::<Vec<_>>()
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect()
        })
}

/// Generated features: properties and a footprint.
fn features() -> impl Strategy<Value = Vec<Generated>> {
    proptest::collection::vec(
        (record(), footprint()).prop_map(|(props, geometry)| Generated { props, geometry }),
        1..8,
    )
}

/// The canonical text, and the CQL2 JSON, of any filter parse back to one that selects the same
/// features (with their geometries, for the spatial functions).
#[test]
fn cql2_canonical_text_parses_back_to_an_equivalent_filter() {
    let strategy = (expr(), features());
    fuzz("cql2-roundtrip", 2048, strategy, |(e, records)| {
        let text = e.to_string();
        let parsed = match cql2::parse(&text, Q) {
            Ok(p) => p,
            Err(err) => {
                // A filter too big for the limits is refused with the limit named.
                let long = text.chars().count() > cql2::MAX_CHARS;
                prop_assert!(
                    long || matches!(
                        err,
                        cql2::FilterError::TooManyTokens { .. } | cql2::FilterError::TooDeep { .. }
                    ),
                    "{text:?} from {e:?} does not parse: {err}"
                );
                return Ok(());
            }
        };
        // The canonical form of what was parsed is a fixed point.
        let again = parsed.to_string();
        let reparsed = cql2::parse(&again, Q);
        prop_assert_eq!(reparsed.as_ref(), Ok(&parsed), "{}", again);
        let json = e.to_json();
        let from_json = cql2::parse_json(&json.to_string(), Q);
        let from_json = match from_json {
            Ok(j) => j,
            Err(err) => {
                prop_assert!(
                    err.to_string().contains("recursion limit")
                        || err.to_string().contains("levels deep")
                        || err.to_string().contains("exceeds the limit"),
                    "{} does not parse: {}",
                    json,
                    err
                );
                return Ok(());
            }
        };
        prop_assert_eq!(from_json.to_json(), json.clone());
        for r in &records {
            let get = |name: &str| r.props.get(name).cloned();
            prop_assert_eq!(
                cql2::eval(&e, &get),
                cql2::eval(&parsed, &get),
                "{} on {:?}",
                text,
                r
            );
            let expected = cql2::eval_feature(&e, r);
            prop_assert_eq!(
                cql2::eval_feature(&parsed, r),
                expected,
                "{} on {:?}",
                text,
                r
            );
            prop_assert_eq!(
                cql2::eval_feature(&from_json, r),
                expected,
                "{} on {:?}",
                json,
                r
            );
        }
        Ok(())
    });
}

/// Any text as CQL2 JSON (mutations of valid filters, and soups) never panics, and every error
/// names where it is.
#[test]
fn cql2_json_any_text_never_panics_and_errors_name_their_place() {
    let strategy = prop_oneof![
        expr()
            .prop_flat_map(|e| {
                let text = e.to_json().to_string();
                let n = text.chars().count();
                (Just(text), 0..=n, 0usize..4, "\\PC{0,2}|[{}\\[\\]\":,]")
            })
            .prop_map(|(text, at, delete, insert)| {
                let mut chars: Vec<char> = text.chars().collect();
                let end = (at + delete).min(chars.len());
                chars.splice(at..end, insert.chars());
                chars.into_iter().collect()
            }),
        expr().prop_map(|e| e.to_json().to_string()),
        "[\\[\\]{}\":, 0-9a-z_]{0,40}",
    ];
    fuzz("cql2-json", 4096, strategy, |text| {
        match cql2::parse_json(&text, Q) {
            Ok(e) => {
                // What parsed writes back to what it is.
                let again = cql2::parse_json(&e.to_json().to_string(), Q);
                prop_assert!(again.is_ok(), "{} reads but its JSON does not", text);
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains("(at "), "{message:?} names no place");
            }
        }
        Ok(())
    });
}

/// Pieces of CQL2 text, valid and not, joined at random.
fn cql2_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(
            &[
                "status",
                "depth",
                "cleared",
                "updated",
                "\"hazard-type\"",
                "\"and\"",
                "name",
                "unknown",
                "AND",
                "OR",
                "NOT",
                "IS",
                "NULL",
                "TRUE",
                "FALSE",
                "LIKE",
                "BETWEEN",
                "IN",
                "DIV",
                "(",
                ")",
                "=",
                "<>",
                "<",
                ">",
                "<=",
                ">=",
                "+",
                "-",
                "*",
                "/",
                ",",
                "'",
                "''",
                "\"",
                "'text'",
                "'it''s'",
                "42",
                "-1.5",
                "1e999",
                "1e",
                ".5",
                "0x1F",
                "TIMESTAMP('2026-10-01T00:00:00Z')",
                "DATE('2026-10-01')",
                "DATE('2026-02-30')",
                "TIMESTAMP(",
                "DATE",
                "S_INTERSECTS(geom, POINT(1 2))",
                "S_INTERSECTS",
                "S_WITHIN(",
                "geometry",
                "POINT(1 2)",
                "POINT Z (1 2 3)",
                "LINESTRING(0 0, 1 1)",
                "POLYGON((0 0, 1 0, 1 1, 0 0))",
                "POLYGON((0 0, 1 0, 1 1))",
                "MULTIPOINT(1 2, 3 4)",
                "GEOMETRYCOLLECTION(",
                "BBOX(1, 2, 3, 4)",
                "BBOX(3, 2, 1)",
                "EMPTY",
                "Z",
                "CASEI(name)",
                "[",
                "]",
                "%",
                ";",
                "--",
                "\u{0}",
                "\u{202E}",
                "😀",
                "\n",
            ][..]
        )
        .prop_map(str::to_string),
        "\\PC{1,3}",
        "[a-z_]{1,6}",
        any::<f64>().prop_map(|x| x.to_string()),
    ];
    proptest::collection::vec(
        (token, prop::sample::select(&["", " ", "  ", "\t"][..])),
        0..24,
    )
    .prop_map(|parts| parts.into_iter().map(|(t, s)| format!("{t}{s}")).collect())
}

#[test]
fn cql2_any_text_never_panics_and_errors_name_their_position() {
    let strategy = prop_oneof![
        4 => cql2_soup(),
        1 => expr().prop_flat_map(|e| {
            let text = e.to_string();
            let n = text.chars().count();
            (Just(text), 0..=n, 0usize..4, "\\PC{0,2}|[()'\"]")
        })
        .prop_map(|(text, at, delete, insert)| {
            let mut chars: Vec<char> = text.chars().collect();
            let end = (at + delete).min(chars.len());
            chars.splice(at..end, insert.chars());
            chars.into_iter().collect()
        }),
        1 => Just("(".repeat(70) + "TRUE" + &")".repeat(70)),
        1 => Just("NOT ".repeat(70) + "TRUE"),
        1 => (1usize..3).prop_map(|k| "TRUE AND ".repeat(520 * k) + "TRUE"),
        1 => Just("a".repeat(cql2::MAX_CHARS + 1)),
    ];
    fuzz("cql2-text", 4096, strategy, |text| {
        if let Err(e) = cql2::parse(&text, Q) {
            let n = text.chars().count();
            let message = e.to_string();
            prop_assert!(
                e.position() <= n.max(cql2::MAX_CHARS),
                "{e:?} past the end ({n})"
            );
            prop_assert!(
                message.contains(&format!("character offset {}", e.position())),
                "{message:?} does not name its position"
            );
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// The report body, through the router.

struct Service {
    _dir: tempfile::TempDir,
    state: AppState,
    officer: String,
    rt: tokio::runtime::Runtime,
}

fn service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let officer = store
        .create_token("Olena", "officer", None, None)
        .unwrap()
        .0;
    let config = ReportsConfig {
        rate_limit: None,
        ..ReportsConfig::default()
    };
    let state = AppState::with_config(store, Catalogue::builtin(), config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Service {
        _dir: dir,
        state,
        officer,
        rt,
    }
}

impl Service {
    fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "cairn.test")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut req = req.body(Body::from(body)).unwrap();
        let addr: SocketAddr = "192.0.2.10:40000".parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        self.rt.block_on(async {
            let r = router(self.state.clone()).oneshot(req).await.unwrap();
            let status = r.status();
            let bytes = r.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    fn total(&self) -> u64 {
        let (s, v) = self.call("GET", "/api/reports", Some(&self.officer), Vec::new());
        assert_eq!(s, StatusCode::OK, "{v}");
        v["total"].as_u64().unwrap()
    }
}

fn valid_report() -> Value {
    json!({
        "lon": 36.2305, "lat": 49.9935, "accuracy_m": 12.5,
        "category": "shell-or-bomb",
        "description": "A rusty shell in the ditch by the bus stop.",
        "seen_at": "2026-11-24T15:30:00+02:00",
    })
}

/// A JPEG the cleaner accepts: a real one, drawn with the image crate (the cleaner decodes it).
fn small_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 8, |x, y| {
        image::Rgb([(x * 16) as u8, (y * 32) as u8, 9])
    });
    let mut j = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut j))
        .unwrap();
    j
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One field of a report given a bad value (or left out, or one added), with the name the refusal
/// must carry.
fn bad_field() -> impl Strategy<Value = (String, Option<Value>)> {
    let wrong_type = || {
        prop_oneof![
            Just(json!(true)),
            Just(json!([1])),
            Just(json!({"a": 1})),
            "\\PC{0,8}".prop_map(Value::from),
        ]
    };
    let coordinate = |name: &'static str, limit: f64| {
        prop_oneof![
            (limit + 1e-9..1e300f64).prop_map(Value::from),
            (-1e300..-limit - 1e-9f64).prop_map(Value::from),
            wrong_type().prop_filter("not a number", |v| !v.is_number()),
        ]
        .prop_map(move |v| (name.to_string(), Some(v)))
    };
    prop_oneof![
        coordinate("lon", 180.0),
        coordinate("lat", 90.0),
        prop::sample::select(&["lon", "lat", "category"][..]).prop_map(|k| (k.to_string(), None)),
        prop_oneof![
            (10_000.000_001..1e300f64).prop_map(Value::from),
            (-1e300..-1e-9f64).prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::from),
        ]
        .prop_map(|v| ("accuracy_m".to_string(), Some(v))),
        prop_oneof![
            "[a-z-]{1,16}"
                .prop_filter("an unknown category", |s| {
                    <cairn_core::report::ReportCategory as cairn_core::WireEnum>::parse(s).is_err()
                })
                .prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
        ]
        .prop_map(|v| ("category".to_string(), Some(v))),
        prop_oneof![
            (2001usize..20_000).prop_map(|n| Value::from("ї".repeat(n))),
            "[a-z ]{0,10}[\\x00-\\x08\\x0E-\\x1F\\x7F][a-z ]{0,10}".prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Value::from),
        ]
        .prop_map(|v| ("description".to_string(), Some(v))),
        prop_oneof![
            "[0-9:T+-]{0,24}".prop_map(Value::from),
            Just(Value::from("2999-01-01T00:00:00Z")),
            Just(Value::from("1900-01-01T00:00:00Z")),
            Just(Value::from("2026-02-30T00:00:00Z")),
            Just(json!(1_700_000_000)),
        ]
        .prop_map(|v| ("seen_at".to_string(), Some(v))),
        prop_oneof![
            "[A-Za-z0-9+/=]{1,40}".prop_map(Value::from),
            "\\PC{1,20}".prop_map(Value::from),
            Just(Value::from("data:image/jpeg,plain")),
            Just(Value::from(b64(b"GIF89a not a photo at all"))),
            Just(Value::from(b64(&small_jpeg()[..9]))),
            Just(json!(12)),
        ]
        .prop_map(|v| ("photo".to_string(), Some(v))),
        prop_oneof![
            Just("phone"),
            Just("email"),
            Just("name"),
            Just("Lon"),
            Just("ip"),
        ]
        .prop_flat_map(move |k| wrong_type().prop_map(move |v| (k.to_string(), Some(v)))),
    ]
}

#[test]
fn report_body_with_one_bad_field_is_refused_naming_it_and_nothing_is_stored() {
    let s = service();
    let ok = s.call("POST", "/api/reports", None, {
        let mut b = valid_report();
        b["photo"] = Value::from(b64(&small_jpeg()));
        b.to_string().into_bytes()
    });
    assert_eq!(ok.0, StatusCode::CREATED, "{}", ok.1);
    assert_eq!(s.total(), 1);
    fuzz("report-field", 512, bad_field(), |(field, value)| {
        let mut body = valid_report();
        let o = body.as_object_mut().unwrap();
        match &value {
            Some(v) => {
                // A valid value of a generated string type is no mutation.
                if field == "seen_at"
                    && v.as_str().is_some_and(|t| {
                        cairn_core::time::parse_instant(t, cairn_core::time::Cautious::Exact)
                            .is_ok_and(|i| {
                                i >= "1914-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
                                    && i <= Utc::now()
                            })
                    })
                {
                    return Ok(());
                }
                o.insert(field.clone(), v.clone());
            }
            None => {
                o.remove(&field);
            }
        }
        let stored = s.total();
        let (status, problem) = s.call("POST", "/api/reports", None, body.to_string().into_bytes());
        // 400 for a malformed field, 413 for one too large, 422 for a photo that is not a
        // picture the cleaner can decode.
        prop_assert!(
            status == StatusCode::BAD_REQUEST
                || status == StatusCode::PAYLOAD_TOO_LARGE
                || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{field} = {value:?}: {status} {problem}"
        );
        let detail = problem["detail"].as_str().unwrap_or_default();
        prop_assert!(
            detail.contains(&field),
            "{field} = {value:?}: the detail does not name it: {problem}"
        );
        prop_assert_eq!(s.total(), stored, "a refused report was stored");
        Ok(())
    });
}

#[test]
fn report_body_byte_mutations_never_fail_the_server() {
    let s = service();
    let edits = proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            0usize..6,
            proptest::collection::vec(any::<u8>(), 0..6),
        ),
        1..5,
    );
    fuzz("report-bytes", 512, edits, |edits| {
        let mut body = valid_report().to_string().into_bytes();
        for (at, delete, insert) in &edits {
            let i = at.index(body.len() + 1);
            let end = (i + delete).min(body.len());
            body.splice(i..end, insert.iter().copied());
        }
        let (status, problem) = s.call("POST", "/api/reports", None, body);
        prop_assert!(
            status == StatusCode::CREATED || status.is_client_error(),
            "{status} {problem}"
        );
        if status.is_client_error() {
            let detail = problem["detail"].as_str().unwrap_or_default();
            prop_assert!(!detail.is_empty(), "{status} without a detail: {problem}");
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Vector tiles, read back by GDAL.

#[derive(Clone, Debug)]
struct Hazard {
    shape: Shape,
    name: String,
    x: f64,
    n: i64,
    flag: bool,
}

/// A tile from zoom 10 (hazards drawn one by one) to 16, anywhere, near the poles' Mercator
/// limit and the antimeridian included.
fn tile() -> impl Strategy<Value = (u8, u32, u32)> {
    (10u8..=16).prop_flat_map(|z| {
        let last = (1u32 << z) - 1;
        let edge = prop_oneof![Just(0u32), Just(last), 0..=last];
        (Just(z), edge.clone(), edge)
    })
}

/// A hazard inside the middle of the tile whose box is `(w, s, e, n)`.
fn hazard(b: (f64, f64, f64, f64)) -> impl Strategy<Value = Hazard> {
    let (w, s, e, n) = b;
    let (dx, dy) = (e - w, n - s);
    let inner = move || (w + 0.2 * dx..e - 0.2 * dx, s + 0.2 * dy..n - 0.2 * dy);
    let shape = prop_oneof![
        (inner(), 0.001..0.15f64, 3usize..40).prop_map(move |((x, y), r, k)| {
            let ring: Vec<(f64, f64)> = (0..=k)
                .map(|i| {
                    let a = std::f64::consts::TAU * (i % k) as f64 / k as f64;
                    (x + r * dx * a.cos(), y + r * dy * a.sin())
                })
                .collect();
            Shape::Polygon(Polygon::new(LineString::from(ring), vec![]))
        }),
        (inner(), 0.01..0.1f64).prop_map(move |((x, y), r)| {
            let sq = |x0: f64, y0: f64, a: f64, b: f64| {
                LineString::from(vec![
                    (x0, y0),
                    (x0 + a, y0),
                    (x0 + a, y0 + b),
                    (x0, y0 + b),
                    (x0, y0),
                ])
            };
            let (a, b) = (r * dx, r * dy);
            Shape::MultiPolygon(MultiPolygon::new(vec![
                Polygon::new(
                    sq(x, y, a, b),
                    vec![sq(x + a / 4.0, y + b / 4.0, a / 2.0, b / 2.0)],
                ),
                Polygon::new(sq(x - 1.5 * a, y, a, b), vec![]),
            ]))
        }),
        (inner(), 0.5..20.0f64).prop_map(|((x, y), radius_m)| Shape::Spot {
            at: Point::new(x, y),
            radius_m,
        }),
        (inner(), inner(), 0.5..20.0f64).prop_map(|((x0, y0), (x1, y1), width_m)| {
            Shape::Linear {
                line: LineString::from(vec![(x0, y0), (x1, y1)]),
                width_m,
            }
        }),
    ];
    (
        shape,
        prop_oneof![
            "\\PC{0,30}",
            "[\\u{0400}-\\u{04FF} ]{1,20}",
            Just(String::new())
        ],
        prop_oneof![
            any::<f64>().prop_filter("finite", |x| x.is_finite()),
            Just(-0.0)
        ],
        any::<i64>(),
        any::<bool>(),
    )
        .prop_map(|(shape, name, x, n, flag)| Hazard {
            shape,
            name,
            x,
            n,
            flag,
        })
}

fn shape_box(s: &Shape) -> [f64; 4] {
    use geo::BoundingRect;
    let r = s.geometry().bounding_rect().unwrap();
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

fn json_bounds(g: &Value) -> [f64; 4] {
    fn walk(v: &Value, b: &mut [f64; 4]) {
        match v {
            Value::Array(a) if a.len() >= 2 && a.iter().all(Value::is_number) => {
                let (x, y) = (a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
                b[0] = b[0].min(x);
                b[1] = b[1].min(y);
                b[2] = b[2].max(x);
                b[3] = b[3].max(y);
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, b)),
            _ => {}
        }
    }
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    walk(&g["coordinates"], &mut b);
    b
}

#[test]
fn vector_tiles_of_generated_hazards_read_back_by_gdal() {
    let strategy = tile().prop_flat_map(|(z, x, y)| {
        let (sw, ne) = tiles::tile_bbox(z, x, y, 0.0);
        let b = (sw.x, sw.y, ne.x, ne.y);
        (Just((z, x, y)), proptest::collection::vec(hazard(b), 1..8))
    });
    fuzz("mvt-gdal", 16, strategy, |((z, x, y), hazards)| {
        let features: Vec<TileFeature<'_>> = hazards
            .iter()
            .enumerate()
            .map(|(i, h)| TileFeature {
                id: Some(i as u64 + 1),
                shape: &h.shape,
                props: vec![
                    ("i", TileValue::Int(i as i64)),
                    ("name", TileValue::String(h.name.clone())),
                    ("x", TileValue::Float(h.x)),
                    ("n", TileValue::Int(h.n)),
                    ("flag", TileValue::Bool(h.flag)),
                ],
            })
            .collect();
        let bytes = tiles::encode(z, x, y, "hazards", &features);
        let dir = tempfile::tempdir().unwrap();
        let tile_dir = dir.path().join(format!("{z}/{x}"));
        std::fs::create_dir_all(&tile_dir).unwrap();
        let path = tile_dir.join(format!("{y}.pbf"));
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("ogr2ogr")
            .args(["-f", "GeoJSON", "/vsistdout/"])
            .arg(&path)
            .args([
                "-oo",
                &format!("Z={z}"),
                "-oo",
                &format!("X={x}"),
                "-oo",
                &format!("Y={y}"),
            ])
            .args([
                "-t_srs",
                "EPSG:4326",
                "-lco",
                "RFC7946=NO",
                "-lco",
                "WRITE_BBOX=NO",
            ])
            .output()
            .expect("ogr2ogr (Debian gdal-bin) must be installed: scripts/test installs it");
        prop_assert!(
            out.status.success(),
            "ogr2ogr failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let back: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON from ogr2ogr ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let read = back["features"].as_array().cloned().unwrap_or_default();
        prop_assert_eq!(read.len(), hazards.len(), "{}", back);
        // A tile unit in degrees, for the tolerance of the drawn outline.
        let (sw, ne) = tiles::tile_bbox(z, x, y, 0.0);
        let unit = ((ne.x - sw.x).max(ne.y - sw.y)) / f64::from(tiles::EXTENT);
        for f in &read {
            let p = &f["properties"];
            let i = p["i"].as_i64().unwrap() as usize;
            let h = &hazards[i];
            prop_assert_eq!(p["name"].as_str(), Some(h.name.as_str()), "{}", p);
            let gx = p["x"].as_f64().unwrap();
            prop_assert!(
                gx == h.x || (gx - h.x).abs() <= h.x.abs() * 1e-15,
                "x {} read as {}",
                h.x,
                gx
            );
            prop_assert_eq!(p["n"].as_i64(), Some(h.n), "{}", p);
            let flag = p["flag"]
                .as_bool()
                .or_else(|| p["flag"].as_i64().map(|v| v != 0));
            prop_assert_eq!(flag, Some(h.flag), "{}", p);
            // The drawn outline covers the hazard (never smaller), and not by much.
            let want = shape_box(&h.shape);
            let got = json_bounds(&f["geometry"]);
            let reach = match &h.shape {
                Shape::Spot { radius_m, .. } => *radius_m,
                Shape::Linear { width_m, .. } => *width_m,
                _ => 0.0,
            } / 111_000.0
                / want[1].to_radians().cos().min(want[3].to_radians().cos());
            let slack = 8.0 * unit + 2.0 * reach;
            prop_assert!(
                got[0] <= want[0] + 1e-9
                    && got[1] <= want[1] + 1e-9
                    && got[2] >= want[2] - 1e-9
                    && got[3] >= want[3] - 1e-9,
                "hazard {i}: drawn {got:?} does not cover {want:?}"
            );
            prop_assert!(
                got[0] >= want[0] - slack
                    && got[1] >= want[1] - slack
                    && got[2] <= want[2] + slack
                    && got[3] <= want[3] + slack,
                "hazard {i}: drawn {got:?} is far larger than {want:?} (slack {slack})"
            );
        }
        Ok(())
    });
}
