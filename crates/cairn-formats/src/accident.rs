//! Reading an accident from a GeoJSON Feature (Point geometry = the place; properties = the
//! facts of `cairn_core::accident::AccidentFacts`), for the HTTP API and the command line alike.
//! Every problem names its field as it appears in the input, e.g. `properties.casualties[1].sex`.

use cairn_core::accident::{
    AccidentFacts, ActivityAtTime, AgeGroup, Casualty, Outcome, Role, Sex, validate_accident,
};
use cairn_core::time::Cautious;
use cairn_core::{Catalogue, Category, Problem, Timestamp, WireEnum};
use geo_types::Point;
use serde_json::{Map, Value};

use crate::props::{kind_of, opt_time, position};

/// The properties of an accident feature.
pub const ACCIDENT_FIELDS: &[&str] = &[
    "occurred_at",
    "device_category",
    "device_type",
    "activity",
    "area_id",
    "description",
    "source",
    "casualties",
];

/// The fields of one casualty.
pub const CASUALTY_FIELDS: &[&str] = &["outcome", "sex", "age_group", "role", "name", "notes"];

/// The device categories by wire name.
const CATEGORIES: &[(Category, &str)] = &[
    (Category::ApMine, "ap-mine"),
    (Category::AtMine, "at-mine"),
    (Category::ClusterMunitionRemnant, "cluster-munition-remnant"),
    (Category::Uxo, "uxo"),
    (Category::Ied, "ied"),
    (Category::Other, "other"),
];

/// Reads and checks an accident Feature: its facts and place, or every problem found (the
/// reading and `validate_accident` alike), each naming its field in the input.
pub fn read_accident_feature(
    v: &Value,
    catalogue: &Catalogue,
    now: Timestamp,
) -> Result<(AccidentFacts, Point<f64>), Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(o) = v.as_object() else {
        return Err(vec![Problem::new(
            "body",
            format!(
                "must be a GeoJSON Feature with a Point geometry and the accident's properties, not {}",
                kind_of(v)
            ),
        )]);
    };
    match o.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        Some(other) => problems.push(Problem::new(
            "type",
            format!("must be \"Feature\", not {}", kind_of(other)),
        )),
        None => problems.push(Problem::new("type", "is missing; it must be \"Feature\"")),
    }
    let place = read_place(o.get("geometry"), &mut problems);
    let facts = match o.get("properties") {
        Some(Value::Object(p)) => read_facts(p, &mut problems),
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                "properties",
                format!(
                    "are missing; an accident needs at least occurred_at, device_category, activity and casualties ({})",
                    ACCIDENT_FIELDS.join(", ")
                ),
            ));
            None
        }
        Some(other) => {
            problems.push(Problem::new(
                "properties",
                format!("must be an object, not {}", kind_of(other)),
            ));
            None
        }
    };
    match (facts, place) {
        (Some(facts), Some(place)) if problems.is_empty() => {
            let mut checked = Vec::new();
            validate_accident(&facts, place, catalogue, now, &mut checked);
            if checked.is_empty() {
                return Ok((facts, place));
            }
            Err(checked
                .into_iter()
                .map(|p| Problem::new(input_field(&p.field), p.message))
                .collect())
        }
        _ => Err(problems),
    }
}

/// The field of the input that a problem of `validate_accident` is about.
pub fn input_field(field: &str) -> String {
    if field == "place" {
        "geometry.coordinates".into()
    } else if field.starts_with("properties.") || field.starts_with("geometry") {
        field.into()
    } else {
        format!("properties.{field}")
    }
}

fn read_place(g: Option<&Value>, problems: &mut Vec<Problem>) -> Option<Point<f64>> {
    let g = match g {
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                "geometry",
                "is required: a Point at the accident's place",
            ));
            return None;
        }
        Some(Value::Object(g)) => g,
        Some(other) => {
            problems.push(Problem::new(
                "geometry",
                format!("must be a GeoJSON Point, not {}", kind_of(other)),
            ));
            return None;
        }
    };
    match g.get("type") {
        Some(Value::String(t)) if t == "Point" => {}
        Some(other) => {
            problems.push(Problem::new(
                "geometry.type",
                format!(
                    "must be \"Point\" (the accident's place), not {}",
                    kind_of(other)
                ),
            ));
            return None;
        }
        None => {
            problems.push(Problem::new(
                "geometry.type",
                "is missing; it must be \"Point\"",
            ));
            return None;
        }
    }
    let Some(c) = g.get("coordinates") else {
        problems.push(Problem::new(
            "geometry.coordinates",
            "are missing: [longitude, latitude]",
        ));
        return None;
    };
    let p = position(c, "geometry.coordinates", problems)?;
    cairn_core::validate::check_position(p, "geometry.coordinates", problems)
        .then(|| Point::new(p[0], p[1]))
}

fn wire<T: WireEnum>(
    o: &Map<String, Value>,
    name: &str,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let choices = || {
        T::ALL
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match o.get(name) {
        Some(Value::String(s)) => match T::parse(s.trim()) {
            Ok(x) => Some(x),
            Err(m) => {
                problems.push(Problem::new(field, m));
                None
            }
        },
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                field,
                format!("is required: one of {}", choices()),
            ));
            None
        }
        Some(other) => {
            problems.push(Problem::new(
                field,
                format!("must be one of {}, not {}", choices(), kind_of(other)),
            ));
            None
        }
    }
}

fn text(
    o: &Map<String, Value>,
    name: &str,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match o.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(other) => {
            problems.push(Problem::new(
                field,
                format!("must be text, not {}", kind_of(other)),
            ));
            None
        }
    }
}

fn unknown_keys(
    o: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
    what: &str,
    problems: &mut Vec<Problem>,
) {
    for k in o.keys() {
        if !known.contains(&k.as_str()) {
            problems.push(Problem::new(
                format!("{prefix}{k}"),
                format!(
                    "is not a field of {what}; the fields are {}",
                    known.join(", ")
                ),
            ));
        }
    }
}

fn read_facts(p: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<AccidentFacts> {
    let before = problems.len();
    let f = |k: &str| format!("properties.{k}");
    unknown_keys(p, ACCIDENT_FIELDS, "properties.", "an accident", problems);
    let occurred_at = opt_time(
        p.get("occurred_at"),
        &f("occurred_at"),
        Cautious::Earliest,
        problems,
    );
    if occurred_at.is_none() && p.get("occurred_at").is_none_or(Value::is_null) {
        problems.push(Problem::new(
            f("occurred_at"),
            "is required: when it happened, e.g. \"2026-06-01T08:30:00Z\" or \"2026-06-01\"",
        ));
    }
    let names = || {
        CATEGORIES
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let device_category = match p.get("device_category") {
        Some(Value::String(s)) => match CATEGORIES.iter().find(|(_, n)| *n == s.trim()) {
            Some((c, _)) => Some(*c),
            None => {
                problems.push(Problem::new(
                    f("device_category"),
                    format!("{s:?} is not one of {}", names()),
                ));
                None
            }
        },
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                f("device_category"),
                format!("is required: one of {}", names()),
            ));
            None
        }
        Some(other) => {
            problems.push(Problem::new(
                f("device_category"),
                format!("must be one of {}, not {}", names(), kind_of(other)),
            ));
            None
        }
    };
    let device_type = text(p, "device_type", &f("device_type"), problems);
    let activity = wire::<ActivityAtTime>(p, "activity", &f("activity"), problems);
    let area_id = text(p, "area_id", &f("area_id"), problems);
    let description = text(p, "description", &f("description"), problems);
    let source = text(p, "source", &f("source"), problems);
    let casualties = match p.get("casualties") {
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, c) in items.iter().enumerate() {
                if let Some(c) = read_casualty(c, &format!("properties.casualties[{i}]"), problems)
                {
                    out.push(c);
                }
            }
            out
        }
        None | Some(Value::Null) => {
            problems.push(Problem::new(
                f("casualties"),
                format!(
                    "is required: a list of the people killed or injured, each with {}",
                    CASUALTY_FIELDS.join(", ")
                ),
            ));
            Vec::new()
        }
        Some(other) => {
            problems.push(Problem::new(
                f("casualties"),
                format!("must be a list of casualties, not {}", kind_of(other)),
            ));
            Vec::new()
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(AccidentFacts {
        occurred_at: occurred_at?,
        device_category: device_category?,
        device_type,
        activity: activity?,
        area_id,
        description,
        source,
        casualties,
    })
}

fn read_casualty(v: &Value, field: &str, problems: &mut Vec<Problem>) -> Option<Casualty> {
    let Some(o) = v.as_object() else {
        problems.push(Problem::new(
            field,
            format!(
                "must be an object with {}, not {}",
                CASUALTY_FIELDS.join(", "),
                kind_of(v)
            ),
        ));
        return None;
    };
    let f = |k: &str| format!("{field}.{k}");
    unknown_keys(
        o,
        CASUALTY_FIELDS,
        &format!("{field}."),
        "a casualty",
        problems,
    );
    let outcome = wire::<Outcome>(o, "outcome", &f("outcome"), problems);
    let sex = wire::<Sex>(o, "sex", &f("sex"), problems);
    let age_group = wire::<AgeGroup>(o, "age_group", &f("age_group"), problems);
    let role = wire::<Role>(o, "role", &f("role"), problems);
    let name = text(o, "name", &f("name"), problems);
    let notes = text(o, "notes", &f("notes"), problems);
    Some(Casualty {
        outcome: outcome?,
        sex: sex?,
        age_group: age_group?,
        role: role?,
        name,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature() -> Value {
        json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [36.2, 49.9]},
            "properties": {
                "occurred_at": "2026-05-02T07:00:00Z",
                "device_category": "ap-mine",
                "activity": "herding",
                "casualties": [
                    {"outcome": "killed", "sex": "male", "age_group": "child", "role": "civilian"},
                    {"outcome": "injured", "sex": "female", "age_group": "adult", "role": "civilian", "name": "A. Person"}
                ]
            }
        })
    }

    fn fields(v: &Value) -> Vec<String> {
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        match read_accident_feature(v, &Catalogue::builtin(), now) {
            Ok(_) => Vec::new(),
            Err(ps) => ps.into_iter().map(|p| p.field).collect(),
        }
    }

    #[test]
    fn a_good_feature_reads() {
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        let (facts, place) = read_accident_feature(&feature(), &Catalogue::builtin(), now).unwrap();
        assert_eq!(place, Point::new(36.2, 49.9));
        assert_eq!(facts.casualties.len(), 2);
        assert_eq!(facts.casualties[1].name.as_deref(), Some("A. Person"));
    }

    #[test]
    fn each_problem_names_its_field() {
        let mut v = feature();
        v["properties"]["casualties"][1]["sex"] = json!("x");
        v["properties"]["casualties"][0]["height"] = json!(2);
        v["geometry"]["coordinates"] = json!([200, 49.9]);
        assert_eq!(
            fields(&v),
            [
                "geometry.coordinates",
                "properties.casualties[0].height",
                "properties.casualties[1].sex"
            ]
        );
        let mut v = feature();
        v["properties"]["occurred_at"] = json!("2099-01-01");
        v["properties"]["device_type"] = json!("at-mine");
        assert_eq!(
            fields(&v),
            ["properties.occurred_at", "properties.device_type"]
        );
        let mut v = feature();
        v["geometry"] = json!({"type": "Polygon", "coordinates": []});
        v["properties"].as_object_mut().unwrap().remove("activity");
        assert_eq!(fields(&v), ["geometry.type", "properties.activity"]);
    }
}
