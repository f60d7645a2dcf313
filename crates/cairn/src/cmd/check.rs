//! `cairn check point | points | route`: is this place or path dangerous, and how far is the
//! nearest danger. Answers come from the spatial index built from the store.

use cairn_core::time::Cautious;
use std::path::PathBuf;

use cairn_core::{Catalogue, Status, Timestamp, WireEnum};
use cairn_index::{Filter, Hazard, Index, PointAnswer, RouteAnswer};
use geo_types::{Coord, LineString};
use serde_json::{Value, json};

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

/// What to check.
#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// One place: inside a hazard, within the GPS accuracy of one, or how far the nearest is.
    Point(PointArgs),
    /// Many places from a CSV file (columns lon,lat) or GeoJSON points; one JSON answer per line.
    Points(PointsArgs),
    /// A path: which hazards its corridor crosses, and where along it.
    Route(RouteArgs),
}

/// Options every check shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Check against the hazards as recorded at this time (RFC 3339 or a date); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Statuses to consider, comma-separated (default: suspected, confirmed, reduced).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Device categories to consider, comma-separated (ap-mine, at-mine, cluster-munition-remnant, uxo, ied, other).
    #[arg(long, value_delimiter = ',')]
    pub category: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn check point`.
#[derive(clap::Args, Debug)]
pub struct PointArgs {
    /// Longitude (WGS 84 degrees east).
    #[arg(allow_hyphen_values = true)]
    pub lon: f64,
    /// Latitude (WGS 84 degrees north).
    #[arg(allow_hyphen_values = true)]
    pub lat: f64,
    /// GPS accuracy in metres: hazards this close count as possibly here.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub accuracy: f64,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `cairn check points`.
#[derive(clap::Args, Debug)]
pub struct PointsArgs {
    /// A CSV file with lon and lat columns, or a GeoJSON FeatureCollection of points.
    pub file: PathBuf,
    /// GPS accuracy in metres.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub accuracy: f64,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `cairn check route`.
#[derive(clap::Args, Debug)]
pub struct RouteArgs {
    /// A GeoJSON LineString, or a Feature or FeatureCollection holding one.
    pub file: PathBuf,
    /// Corridor width in metres, centred on the route.
    #[arg(long, default_value_t = 50.0, allow_negative_numbers = true)]
    pub width: f64,
    #[command(flatten)]
    pub common: Common,
}

/// Runs `cairn check`.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    match &args.what {
        What::Point(a) => point(cli, a),
        What::Points(a) => points(cli, a),
        What::Route(a) => route(cli, a),
    }
}

fn filter(c: &Common) -> Result<Filter, Failure> {
    let statuses = if c.status.is_empty() {
        None
    } else {
        Some(
            c.status
                .iter()
                .map(|s| {
                    Status::parse(s.trim()).map_err(|m| Failure::input(format!("--status: {m}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let categories = if c.category.is_empty() {
        None
    } else {
        let mut bits = 0u8;
        for s in &c.category {
            let cat = serde_json::from_value::<cairn_core::Category>(Value::String(s.trim().to_string())).map_err(|_| {
                Failure::input(format!(
                    "--category: {s:?} is not one of ap-mine, at-mine, cluster-munition-remnant, uxo, ied, other"
                ))
            })?;
            bits |= cairn_index::category_bit(Some(cat));
        }
        Some(bits)
    };
    Ok(Filter {
        statuses,
        categories,
    })
}

/// Builds the index from the store as recorded at `at` (or now); with the point-location grid
/// when many places will be checked.
fn load(cli: &Cli, c: &Common, many: bool) -> Result<(Index, Timestamp, Catalogue), Failure> {
    let at =
        c.at.as_deref()
            .map(|s| super::parse_time_arg("--at", s, Cautious::Earliest))
            .transpose()?;
    let store = super::open_existing(cli)?;
    // The catalogue in force at the state checked.
    let catalogue = store.catalogue(at)?.catalogue;
    let mut hazards = Vec::new();
    store.for_each_area(at, &mut |s| {
        hazards.push(Hazard::from_area(&s.area, &catalogue));
        Ok(())
    })?;
    Ok((
        if many {
            Index::build(hazards)
        } else {
            Index::build_without_grid(hazards)
        },
        at.unwrap_or_else(chrono::Utc::now),
        catalogue,
    ))
}

fn check_coord(lon: f64, lat: f64, what: &str) -> Result<Coord<f64>, Failure> {
    if !cairn_core::validate::position_ok([lon, lat]) {
        return Err(Failure::input(format!(
            "{what}: longitude {lon} and latitude {lat} must be WGS 84 degrees (longitude -180..180, latitude -90..90)"
        )));
    }
    Ok(Coord { x: lon, y: lat })
}

fn check_metres(v: f64, name: &str, max: f64) -> Result<f64, Failure> {
    if !v.is_finite() || v < 0.0 || v > max {
        return Err(Failure::input(format!(
            "{name}: {v} must be a number of metres from 0 to {max}"
        )));
    }
    Ok(v)
}

/// The JSON form of a point answer, as interfaces.md gives it.
pub fn point_json(q: Coord<f64>, accuracy: f64, at: Timestamp, a: &PointAnswer) -> Value {
    json!({
        "point": [q.x, q.y],
        "accuracy_m": accuracy,
        "at": at,
        "inside": a.inside,
        "within_accuracy": a.within_accuracy,
        "nearest": a.nearest.as_ref().map(|n| json!({
            "id": n.id, "status": n.status,
            "distance_m": round1(n.distance_m), "bearing_deg": round1(n.bearing_deg),
        })),
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn compass(b: f64) -> &'static str {
    const N: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    N[(((b.rem_euclid(360.0) + 22.5) / 45.0) as usize) % 8]
}

fn point(cli: &Cli, a: &PointArgs) -> CmdResult {
    let q = check_coord(a.lon, a.lat, "the point")?;
    let accuracy = check_metres(a.accuracy, "--accuracy", 10_000.0)?;
    let f = filter(&a.common)?;
    let (index, at, _) = load(cli, &a.common, false)?;
    let ans = index.check_point(q, accuracy, &f);
    if a.common.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&point_json(q, accuracy, at, &ans)).unwrap_or_default()
        );
        return Ok(0);
    }
    let list = |v: Vec<String>| v.join(", ");
    if !ans.inside.is_empty() {
        outln!(
            "DANGER: {}, {} is inside {} hazardous area{}: {}.",
            q.x,
            q.y,
            ans.inside.len(),
            if ans.inside.len() == 1 { "" } else { "s" },
            list(
                ans.inside
                    .iter()
                    .map(|h| format!("{} ({})", h.id, h.status.as_str()))
                    .collect()
            )
        );
        outln!(
            "Do not move further. Go back the way you came, stepping in your own footprints, and call 101 or 112."
        );
    }
    if !ans.within_accuracy.is_empty() {
        outln!(
            "DANGER: within the GPS accuracy of {accuracy} m: {}.",
            list(
                ans.within_accuracy
                    .iter()
                    .map(|h| format!("{} ({}, {:.1} m)", h.id, h.status.as_str(), h.distance_m))
                    .collect()
            )
        );
    }
    match (&ans.nearest, ans.inside.is_empty()) {
        (Some(n), true) => outln!(
            "Nearest known hazard: {} ({}), {:.1} m away, bearing {:.0}° ({}).",
            n.id,
            n.status.as_str(),
            n.distance_m,
            n.bearing_deg,
            compass(n.bearing_deg)
        ),
        (None, true) => outln!("No known hazard within 50 km."),
        _ => {}
    }
    if ans.inside.is_empty() && ans.within_accuracy.is_empty() {
        outln!(
            "Not inside any recorded hazard. This is not a statement that the place is safe: unrecorded explosive ordnance may be anywhere in former combat areas."
        );
    }
    outln!("Data as recorded at {}.", at.to_rfc3339());
    Ok(0)
}

fn points(cli: &Cli, a: &PointsArgs) -> CmdResult {
    let accuracy = check_metres(a.accuracy, "--accuracy", 10_000.0)?;
    let f = filter(&a.common)?;
    let name = a.file.display().to_string();
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| Failure::input(format!("{name}: cannot read: {e}")))?;
    let mut coords = Vec::new();
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Failure::input(format!("{name}: not valid JSON: {e}")))?;
        for (i, ft) in v["features"]
            .as_array()
            .ok_or_else(|| {
                Failure::input(format!("{name}: expected a FeatureCollection of points"))
            })?
            .iter()
            .enumerate()
        {
            let c = &ft["geometry"]["coordinates"];
            match (
                ft["geometry"]["type"].as_str(),
                c[0].as_f64(),
                c[1].as_f64(),
            ) {
                (Some("Point"), Some(x), Some(y)) => {
                    coords.push(check_coord(x, y, &format!("{name}: feature {}", i + 1))?)
                }
                _ => {
                    return Err(Failure::input(format!(
                        "{name}: feature {}: geometry must be a Point",
                        i + 1
                    )));
                }
            }
        }
    } else {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let h = r
            .headers()
            .map_err(|e| Failure::input(format!("{name}: {e}")))?
            .clone();
        let col = |n: &str| h.iter().position(|x| x.trim() == n);
        let (Some(xi), Some(yi)) = (col("lon"), col("lat")) else {
            return Err(Failure::input(format!(
                "{name}: the header needs lon and lat columns"
            )));
        };
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Failure::input(format!("{name}: {e}")))?;
            let num = |k: usize| rec.get(k).and_then(|s| s.trim().parse::<f64>().ok());
            match (num(xi), num(yi)) {
                (Some(x), Some(y)) => coords.push(check_coord(
                    x,
                    y,
                    &format!("{name}: row on line {}", i + 2),
                )?),
                _ => {
                    return Err(Failure::input(format!(
                        "{name}: row on line {}: lon and lat must be numbers",
                        i + 2
                    )));
                }
            }
        }
    }
    let (index, at, _) = load(cli, &a.common, coords.len() > 200)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for q in coords {
        let ans = index.check_point(q, accuracy, &f);
        let mut v = point_json(q, accuracy, at, &ans);
        // Exact distances for oracles and scripts, beside the rounded figures.
        if let Some(n) = &ans.nearest {
            v["nearest"]["distance_m_exact"] = json!(n.distance_m);
        }
        std::io::Write::write_all(&mut out, format!("{v}\n").as_bytes())
            .map_err(Failure::output)?;
    }
    // Flushed here, not on drop, so that a failure to write the last lines is not lost.
    std::io::Write::flush(&mut out).map_err(Failure::output)?;
    Ok(0)
}

/// Reads a route: a LineString geometry, or a Feature or FeatureCollection holding one.
pub fn read_route(v: &Value, what: &str) -> Result<LineString<f64>, Failure> {
    let g = match v["type"].as_str() {
        Some("LineString") => v,
        Some("Feature") => &v["geometry"],
        Some("FeatureCollection") => match v["features"].as_array().map(|a| a.as_slice()) {
            Some([one]) => &one["geometry"],
            _ => {
                return Err(Failure::input(format!(
                    "{what}: the FeatureCollection must hold exactly one LineString feature"
                )));
            }
        },
        _ => {
            return Err(Failure::input(format!(
                "{what}: expected a GeoJSON LineString, or a Feature holding one"
            )));
        }
    };
    if g["type"].as_str() != Some("LineString") {
        return Err(Failure::input(format!(
            "{what}: geometry.type must be LineString"
        )));
    }
    let mut problems = Vec::new();
    let raw: Vec<[f64; 2]> = g["coordinates"]
        .as_array()
        .map(|a| {
            a.iter()
                .enumerate()
                .filter_map(|(j, p)| {
                    cairn_formats::props::position(
                        p,
                        &format!("geometry.coordinates[{j}]"),
                        &mut problems,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let line = cairn_core::validate::build_line(&raw, "geometry.coordinates", &mut problems);
    match line {
        Some(l) if problems.is_empty() => Ok(l),
        _ => Err(Failure::input(format!(
            "{what}: {}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// The JSON form of a route answer.
pub fn route_json(at: Timestamp, a: &RouteAnswer) -> Value {
    let r = |v: f64| (v * 10.0).round() / 10.0;
    json!({
        "at": at,
        "length_m": r(a.length_m),
        "width_m": a.width_m,
        "at_risk_m": r(a.at_risk_m),
        "hazards": a.hazards.iter().map(|h| json!({
            "id": h.id, "status": h.status, "enter_m": r(h.enter_m), "leave_m": r(h.leave_m),
            "stretches": h.stretches.iter().map(|s| [r(s[0]), r(s[1])]).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn route(cli: &Cli, a: &RouteArgs) -> CmdResult {
    let width = check_metres(a.width, "--width", 20_000.0)?;
    if width == 0.0 {
        return Err(Failure::input("--width must be more than 0 metres"));
    }
    let f = filter(&a.common)?;
    let name = a.file.display().to_string();
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| Failure::input(format!("{name}: cannot read: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{name}: not valid JSON: {e}")))?;
    let line = read_route(&v, &name)?;
    let (index, at, _) = load(cli, &a.common, false)?;
    let ans = index.check_route(&line, width, &f);
    if a.common.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&route_json(at, &ans)).unwrap_or_default()
        );
        return Ok(0);
    }
    outln!(
        "Route of {:.0} m with a corridor of {width} m.",
        ans.length_m
    );
    if ans.hazards.is_empty() {
        outln!(
            "The corridor touches no recorded hazard. This is not a statement that the route is safe."
        );
    } else {
        outln!(
            "DANGER: the corridor touches {} hazardous area(s); {:.0} m of the route are at risk:",
            ans.hazards.len(),
            ans.at_risk_m
        );
        for h in &ans.hazards {
            outln!(
                "  {} ({}): from {:.0} m to {:.0} m along the route",
                h.id,
                h.status.as_str(),
                h.enter_m,
                h.leave_m
            );
        }
    }
    outln!("Data as recorded at {}.", at.to_rfc3339());
    Ok(0)
}
