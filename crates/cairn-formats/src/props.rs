//! Reads a record's properties from a JSON object, collecting every problem with its field name.

use std::collections::BTreeMap;

use cairn_core::time::{Cautious, parse_instant};
use cairn_core::{
    AreaProperties, Classification, DeviceGroup, Emplacement, EmplacingMethod, Evidence,
    EvidenceKind, HowKnown, Marking, Problem, Status, Timestamp, WireEnum,
};
use serde_json::{Map, Value};

/// Property names Cairn knows; anything else is kept in `extra`.
pub const KNOWN: &[&str] = &[
    "name",
    "status",
    "classification",
    "evidence",
    "devices",
    "reference_points",
    "marking",
    "organisation",
    "reported_at",
    "emplacement",
    "radius_m",
    "width_m",
    "centre_wkt",
];

/// Properties as read, with the shape's radius and width, which GeoJSON carries as properties.
#[derive(Debug)]
pub struct ReadProps {
    pub props: AreaProperties,
    pub radius_m: Option<f64>,
    pub width_m: Option<f64>,
    /// The centre point or line of a spot or corridor published by its outline (`centre_wkt`,
    /// as `footprint_properties` writes it), checked.
    pub centre: Option<geo_types::Geometry<f64>>,
}

/// Reads properties; returns `None` when any problem was found (all are pushed to `problems`).
pub fn read_properties(map: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<ReadProps> {
    // Tabular formats (a Shapefile, a spreadsheet, CSV through GDAL) hold a nested field as its
    // JSON text: read as the value it writes.
    let nested = ["evidence", "devices", "reference_points", "emplacement"];
    let unpacked;
    let map = if nested.iter().any(|k| {
        map.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|t| t.trim_start().starts_with(['[', '{']))
    }) {
        let mut m = map.clone();
        for k in nested {
            if let Some(Value::String(t)) = m.get(k)
                && let Ok(v @ (Value::Array(_) | Value::Object(_))) =
                    serde_json::from_str::<Value>(t)
            {
                m.insert(k.to_string(), v);
            }
        }
        unpacked = m;
        &unpacked
    } else {
        map
    };
    let before = problems.len();
    let f = |k: &str| format!("properties.{k}");
    let name = opt_string(map.get("name"), &f("name"), problems);
    let organisation = opt_string(map.get("organisation"), &f("organisation"), problems);
    let status = match map.get("status") {
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                f("status"),
                format!("is missing; it must be one of {}", names::<Status>()),
            ));
            None
        }
        Some(v) => wire::<Status>(v, &f("status"), problems),
    };
    // Without a classification a record is restricted: the safe default that still warns the public.
    let classification = match map.get("classification") {
        None | Some(Value::Null) => Some(Classification::Restricted),
        Some(v) => wire::<Classification>(v, &f("classification"), problems),
    };
    let marking = match map.get("marking") {
        None | Some(Value::Null) => None,
        Some(v) => wire::<Marking>(v, &f("marking"), problems),
    };
    let reported_at = opt_time(
        map.get("reported_at"),
        &f("reported_at"),
        Cautious::Exact,
        problems,
    );
    let evidence = match map.get("evidence") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            let ef = |k: &str| format!("properties.evidence.{k}");
            let kind = match e.get("kind") {
                None | Some(Value::Null) => {
                    problems.push(Problem::new(
                        ef("kind"),
                        "is missing; it must be direct or indirect",
                    ));
                    None
                }
                Some(v) => wire::<EvidenceKind>(v, &ef("kind"), problems),
            };
            let description = opt_string(e.get("description"), &ef("description"), problems);
            let source = opt_string(e.get("source"), &ef("source"), problems);
            for k in e.keys() {
                if !matches!(k.as_str(), "kind" | "description" | "source") {
                    problems.push(Problem::new(
                        ef(k),
                        "is not a field of evidence (kind, description, source)",
                    ));
                }
            }
            kind.map(|kind| Evidence {
                kind,
                description,
                source,
            })
        }
        Some(_) => {
            problems.push(Problem::new(
                f("evidence"),
                "must be an object with kind, description and source",
            ));
            None
        }
    };
    let devices = match map.get("devices") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, d)| read_device(d, &format!("properties.devices[{i}]"), problems))
            .collect(),
        Some(_) => {
            problems.push(Problem::new(
                f("devices"),
                "must be an array of device groups",
            ));
            Vec::new()
        }
    };
    let reference_points = match map.get("reference_points") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let field = format!("properties.reference_points[{i}]");
                let pos = position(p, &field, problems)?;
                cairn_core::validate::check_position(pos, &field, problems).then_some(pos)
            })
            .collect(),
        Some(_) => {
            problems.push(Problem::new(
                f("reference_points"),
                "must be an array of [longitude, latitude] positions",
            ));
            Vec::new()
        }
    };
    let emplacement = match map.get("emplacement") {
        None | Some(Value::Null) => None,
        Some(v) => read_emplacement(v, problems),
    };
    let radius_m = opt_number(map.get("radius_m"), &f("radius_m"), problems);
    let width_m = opt_number(map.get("width_m"), &f("width_m"), problems);
    let centre = match map.get("centre_wkt") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let field = f("centre_wkt");
            crate::record::read_wkt(text, &field, problems).and_then(|raw| match raw {
                crate::record::RawGeometry::Point(_) | crate::record::RawGeometry::LineString(_) => {
                    crate::record::build_geometry(&raw, &field, problems)
                }
                _ => {
                    problems.push(Problem::new(
                        &field,
                        "must be the WKT of a POINT (a spot's centre) or a LINESTRING (a corridor's centre line)",
                    ));
                    None
                }
            })
        }
        Some(other) => {
            problems.push(Problem::new(
                f("centre_wkt"),
                format!("must be WKT text, not {}", kind_of(other)),
            ));
            None
        }
    };
    let extra: BTreeMap<String, Value> = map
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()) && k.as_str() != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if problems.len() > before {
        return None;
    }
    Some(ReadProps {
        props: AreaProperties {
            name,
            status: status?,
            classification: classification?,
            evidence,
            devices,
            reference_points,
            marking,
            organisation,
            reported_at,
            emplacement,
            extra,
        },
        radius_m,
        width_m,
        centre,
    })
}

fn read_device(v: &Value, field: &str, problems: &mut Vec<Problem>) -> Option<DeviceGroup> {
    let Value::Object(d) = v else {
        problems.push(Problem::new(
            field,
            "must be an object with type, quantity, emplaced_from, emplaced_to",
        ));
        return None;
    };
    let before = problems.len();
    let f = |k: &str| format!("{field}.{k}");
    let device_type = match d.get("type") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                f("type"),
                "is missing; name a device type from the catalogue",
            ));
            None
        }
        Some(other) => {
            problems.push(Problem::new(
                f("type"),
                format!(
                    "must be a device type id (a string), not {}",
                    kind_of(other)
                ),
            ));
            None
        }
    };
    let quantity = match d.get("quantity") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) => Some(q),
            None => {
                problems.push(Problem::new(
                    f("quantity"),
                    format!("must be a whole number of devices, 0 or more, or null when unknown; not {n}"),
                ));
                None
            }
        },
        Some(other) => {
            problems.push(Problem::new(
                f("quantity"),
                format!(
                    "must be a whole number or null when unknown, not {}",
                    kind_of(other)
                ),
            ));
            None
        }
    };
    let emplaced_from = opt_time(
        d.get("emplaced_from"),
        &f("emplaced_from"),
        Cautious::Earliest,
        problems,
    );
    let emplaced_to = opt_time(
        d.get("emplaced_to"),
        &f("emplaced_to"),
        Cautious::Latest,
        problems,
    );
    let how_known = match d.get("how_known") {
        None | Some(Value::Null) => None,
        Some(v) => wire::<HowKnown>(v, &f("how_known"), problems),
    };
    for k in d.keys() {
        if !matches!(
            k.as_str(),
            "type" | "quantity" | "emplaced_from" | "emplaced_to" | "how_known"
        ) {
            problems.push(Problem::new(
                f(k),
                "is not a field of a device group (type, quantity, emplaced_from, emplaced_to, how_known)",
            ));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(DeviceGroup {
        device_type: device_type?,
        quantity,
        emplaced_from,
        emplaced_to,
        how_known,
    })
}

/// Reads `[lon, lat]`.
pub fn position(v: &Value, field: &str, problems: &mut Vec<Problem>) -> Option<[f64; 2]> {
    match v {
        Value::Array(a) if (2..=3).contains(&a.len()) => {
            if a.iter().all(Value::is_number) {
                Some([a[0].as_f64()?, a[1].as_f64()?])
            } else {
                problems.push(Problem::new(
                    field,
                    "a position must be numbers only: [longitude, latitude] or [longitude, latitude, elevation]",
                ));
                None
            }
        }
        Value::Array(a) => {
            problems.push(Problem::new(
                field,
                format!(
                    "a position must have 2 numbers [longitude, latitude] (or 3 with elevation), not {}",
                    a.len()
                ),
            ));
            None
        }
        _ => {
            problems.push(Problem::new(
                field,
                format!(
                    "a position must be an array [longitude, latitude], not {}",
                    kind_of(v)
                ),
            ));
            None
        }
    }
}

/// Reads an RFC 3339 time (or, except for `Exact`, a plain date read as `how` says: see
/// `cairn_core::time`).
pub fn opt_time(
    v: Option<&Value>,
    field: &str,
    how: Cautious,
    problems: &mut Vec<Problem>,
) -> Option<Timestamp> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match parse_instant(s, how) {
            Ok(t) => Some(t),
            Err(m) => {
                problems.push(Problem::new(field, m));
                None
            }
        },
        Some(other) => {
            problems.push(Problem::new(
                field,
                format!(
                    "must be a time such as \"2026-10-01T08:00:00Z\", not {}",
                    kind_of(other)
                ),
            ));
            None
        }
    }
}

/// The fields of an emplacement record (APII TA 1) beyond those every area has.
const EMPLACEMENT_FIELDS: &str = "method, anti_handling, fuze, fuze_lifetime_hours, laid_by";

fn read_emplacement(v: &Value, problems: &mut Vec<Problem>) -> Option<Box<Emplacement>> {
    let ef = |k: &str| format!("properties.emplacement.{k}");
    let Value::Object(e) = v else {
        problems.push(Problem::new(
            "properties.emplacement",
            format!(
                "must be an object with {EMPLACEMENT_FIELDS}, not {}",
                kind_of(v)
            ),
        ));
        return None;
    };
    let before = problems.len();
    let method = match e.get("method") {
        None | Some(Value::Null) => None,
        Some(v) => wire::<EmplacingMethod>(v, &ef("method"), problems),
    };
    let anti_handling = match e.get("anti_handling") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            problems.push(Problem::new(
                ef("anti_handling"),
                format!("must be true or false, not {}", kind_of(other)),
            ));
            None
        }
    };
    let fuze = opt_string(e.get("fuze"), &ef("fuze"), problems);
    let laid_by = opt_string(e.get("laid_by"), &ef("laid_by"), problems);
    let fuze_lifetime_hours = match e.get("fuze_lifetime_hours") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(h) if h.is_finite() && h > 0.0 => Some(h),
            _ => {
                problems.push(Problem::new(
                    ef("fuze_lifetime_hours"),
                    format!("must be a positive number of hours, not {n}"),
                ));
                None
            }
        },
        Some(other) => {
            problems.push(Problem::new(
                ef("fuze_lifetime_hours"),
                format!("must be a number of hours, not {}", kind_of(other)),
            ));
            None
        }
    };
    for k in e.keys() {
        if !matches!(
            k.as_str(),
            "method" | "anti_handling" | "fuze" | "fuze_lifetime_hours" | "laid_by"
        ) {
            problems.push(Problem::new(
                ef(k),
                format!("is not a field of an emplacement record ({EMPLACEMENT_FIELDS})"),
            ));
        }
    }
    (problems.len() == before).then_some(Box::new(Emplacement {
        method,
        anti_handling,
        fuze,
        fuze_lifetime_hours,
        laid_by,
    }))
}

fn opt_string(v: Option<&Value>, field: &str, problems: &mut Vec<Problem>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            problems.push(Problem::new(
                field,
                format!("must be text, not {}", kind_of(other)),
            ));
            None
        }
    }
}

fn opt_number(v: Option<&Value>, field: &str, problems: &mut Vec<Problem>) -> Option<f64> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            problems.push(Problem::new(
                field,
                format!("must be a number of metres, not {}", kind_of(other)),
            ));
            None
        }
    }
}

fn wire<T: WireEnum>(v: &Value, field: &str, problems: &mut Vec<Problem>) -> Option<T> {
    match v {
        Value::String(s) => match T::parse(s) {
            Ok(x) => Some(x),
            Err(m) => {
                problems.push(Problem::new(field, m));
                None
            }
        },
        other => {
            problems.push(Problem::new(
                field,
                format!("must be one of {}, not {}", names::<T>(), kind_of(other)),
            ));
            None
        }
    }
}

fn names<T: WireEnum>() -> String {
    T::ALL
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short description of a JSON value's kind for messages.
pub fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.len() <= 40 => format!("the text {s:?}"),
        Value::String(_) => "a long text".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
