//! `cairn show` and `cairn history`: one record, now or in the past, and all its revisions.

use cairn_core::residual::{AreaEstimate, RecordEstimate, estimate_record};
use cairn_core::time::Cautious;
use cairn_core::{HazardArea, WireEnum};
use cairn_store::StoredArea;
use serde_json::json;

use crate::Cli;
use crate::fail::{CmdResult, Failure};

/// Arguments of `cairn show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The record's id, e.g. HA-000123.
    pub id: String,
    /// Show the record as it was recorded at this time.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The time of the residual-hazard estimate (default: --as-of, else now).
    #[arg(long)]
    pub at: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cairn history`.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The record's id.
    pub id: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// The JSON form of a record, as in a GeoJSON export.
pub fn area_json(a: &HazardArea) -> serde_json::Value {
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": cairn_formats::geojson::geometry_value(&a.shape.geometry()),
        "properties": cairn_formats::geojson::area_properties(a),
    })
}

/// Runs `cairn show`.
pub fn show(cli: &Cli, args: &ShowArgs) -> CmdResult {
    let as_of = args
        .as_of
        .as_deref()
        .map(|s| super::parse_time_arg("--as-of", s, Cautious::Earliest))
        .transpose()?;
    let at = match &args.at {
        Some(s) => super::parse_time_arg("--at", s, Cautious::Earliest)?,
        None => as_of.unwrap_or_else(chrono::Utc::now),
    };
    let store = super::open_existing(cli)?;
    let Some(s) = store.get_area(&args.id, as_of)? else {
        return Err(Failure::input(match as_of {
            Some(t) => format!("no record {} as of {}", args.id, t.to_rfc3339()),
            None => format!("no record {} in {}", args.id, store.location()),
        }));
    };
    // The catalogue in force at the recorded time shown: the record and its estimate as they
    // were (or are) judged then.
    let versioned = store.catalogue(as_of)?;
    let catalogue = &versioned.catalogue;
    let est = estimate_record(s.area.props.status, &s.area.props.devices, catalogue, at);
    if args.json {
        let out = json!({
            "feature": area_json(&s.area),
            "revision": s.revision,
            "catalogue_version": versioned.version,
            "estimate": est,
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    print_area(&s, catalogue);
    match &est {
        RecordEstimate::Open(e) => print_estimate(e, versioned.version),
        RecordEstimate::Released(r) => {
            outln!(
                "Residual-hazard estimate at {} (device catalogue version {}):",
                r.at.to_rfc3339(),
                versioned.version
            );
            outln!("  {}", r.remaining);
        }
    }
    Ok(0)
}

fn print_area(s: &StoredArea, catalogue: &cairn_core::Catalogue) {
    let a = &s.area;
    let p = &a.props;
    outln!("{}  {}", a.id, p.name.as_deref().unwrap_or(""));
    outln!("  status          {}", p.status);
    outln!("  classification  {}", p.classification.as_str());
    let mut geom = format!(
        "{} with {} positions",
        a.shape.type_name(),
        geo::CoordsIter::coords_count(&a.shape.geometry())
    );
    if let Some(r) = a.shape.radius_m() {
        geom.push_str(&format!(", radius {r} m"));
    }
    if let Some(w) = a.shape.width_m() {
        geom.push_str(&format!(", width {w} m"));
    }
    outln!("  geometry        {geom}");
    if let Some(e) = &p.evidence {
        outln!(
            "  evidence        {}{}",
            e.kind.as_str(),
            e.description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
    }
    if let Some(m) = p.marking {
        outln!("  marking         {}", m.as_str());
    }
    if let Some(o) = &p.organisation {
        outln!("  organisation    {o}");
    }
    if let Some(t) = p.reported_at {
        outln!("  reported at     {}", t.to_rfc3339());
    }
    for g in &p.devices {
        let name = catalogue
            .get(&g.device_type)
            .map(|t| t.name.as_str())
            .unwrap_or("unknown type");
        let q = g
            .quantity
            .map(|q| q.to_string())
            .unwrap_or_else(|| "unknown number of".into());
        let when = match (g.emplaced_from, g.emplaced_to) {
            (Some(a), Some(b)) => format!(", emplaced {} to {}", a.to_rfc3339(), b.to_rfc3339()),
            (Some(a), None) => format!(", emplaced from {}", a.to_rfc3339()),
            (None, Some(b)) => format!(", emplaced by {}", b.to_rfc3339()),
            (None, None) => ", emplacement time unknown".into(),
        };
        outln!("  devices         {q} × {} ({name}){when}", g.device_type);
    }
    outln!(
        "  revision        {} of this record, recorded {} by {} ({})",
        s.revision.seq,
        s.revision.recorded_at.to_rfc3339(),
        s.revision.author,
        s.revision.reason
    );
}

fn print_estimate(e: &AreaEstimate, catalogue_version: i64) {
    outln!(
        "Residual-hazard estimate at {} (device catalogue version {catalogue_version}):",
        e.at.to_rfc3339()
    );
    match e.expected {
        Some(x) => outln!("  expected functioning devices  {x:.3}"),
        None => outln!(
            "  expected functioning devices  unknown (a quantity or the devices are unknown)"
        ),
    }
    outln!("  probability at least one functions  {:.4}", e.p_any);
    if let Some(t) = e.next_step {
        outln!("  the estimate next steps down  {}", t.to_rfc3339());
    }
    match e.designed_inert {
        Some(t) => outln!(
            "  designed-inert date           {} (a design claim, not a fact on the ground)",
            t.to_rfc3339()
        ),
        None => outln!("  designed-inert date           none: persistent or unknown devices"),
    }
    outln!("  {}", e.caveat);
}

/// Runs `cairn history`.
pub fn history(cli: &Cli, args: &HistoryArgs) -> CmdResult {
    let store = super::open_existing(cli)?;
    let revs = store.history(&args.id)?;
    if revs.is_empty() {
        return other_history(&*store, args);
    }
    let mut out = Vec::new();
    let mut prev: Option<&StoredArea> = None;
    for r in &revs {
        let changes = match prev {
            None => Vec::new(),
            Some(p) => cairn_core::diff::diff(&p.area, &r.area),
        };
        out.push((r, changes));
        prev = Some(r);
    }
    if args.json {
        let v: Vec<serde_json::Value> = out
            .iter()
            .map(|(r, changes)| {
                json!({
                    "seq": r.revision.seq,
                    "rev": r.revision.rev,
                    "op": r.revision.op,
                    "changeset": r.revision.changeset,
                    "recorded_at": r.revision.recorded_at,
                    "author": r.revision.author,
                    "reason": r.revision.reason,
                    "source": r.revision.source,
                    "command": r.revision.command,
                    "changes": changes,
                    "feature": area_json(&r.area),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    outln!("{}: {} revisions", args.id, revs.len());
    for (r, changes) in &out {
        let rv = &r.revision;
        outln!(
            "#{} {} {} by {}: {}{}",
            rv.seq,
            rv.recorded_at.to_rfc3339(),
            match rv.op {
                cairn_store::Op::Create => "created",
                cairn_store::Op::Update => "updated",
            },
            rv.author,
            rv.reason,
            rv.source
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default()
        );
        for c in changes {
            outln!("    {}: {} → {}", c.field, c.from, c.to);
        }
    }
    Ok(0)
}

/// The kinds of record besides areas that `history` shows.
const OTHER_KINDS: &[&str] = &["activity", "release", "find", "zone", "accident"];

/// The history of a record that is not a hazardous area (an activity, release, find, zone or
/// accident): every revision with when, who and why, and which properties changed.
fn other_history(store: &dyn cairn_store::Backend, args: &HistoryArgs) -> CmdResult {
    for kind in OTHER_KINDS {
        let revs = store.record_history(kind, &args.id)?;
        if revs.is_empty() {
            continue;
        }
        let changed = |i: usize| -> Vec<String> {
            let (Some(now), Some(before)) = (
                revs[i].props.as_object(),
                i.checked_sub(1).and_then(|j| revs[j].props.as_object()),
            ) else {
                return Vec::new();
            };
            let mut keys: Vec<String> = now
                .keys()
                .chain(before.keys())
                .filter(|k| now.get(*k) != before.get(*k))
                .cloned()
                .collect();
            keys.sort();
            keys.dedup();
            if revs[i].geometry != revs[i - 1].geometry {
                keys.insert(0, "geometry".into());
            }
            keys
        };
        if args.json {
            let v: Vec<serde_json::Value> = revs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "kind": kind,
                        "seq": r.seq,
                        "recorded_at": r.recorded_at,
                        "author": r.author,
                        "reason": r.reason,
                        "changed": changed(i),
                        "properties": r.props,
                    })
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return Ok(0);
        }
        outln!("{} ({kind}): {} revisions", args.id, revs.len());
        for (i, r) in revs.iter().enumerate() {
            let c = changed(i);
            outln!(
                "#{} {} by {}: {}{}",
                r.seq,
                r.recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.author,
                r.reason,
                if c.is_empty() {
                    String::new()
                } else {
                    format!(" (changed: {})", c.join(", "))
                }
            );
        }
        return Ok(0);
    }
    Err(Failure::input(format!(
        "no record {} in {}",
        args.id,
        store.location()
    )))
}
