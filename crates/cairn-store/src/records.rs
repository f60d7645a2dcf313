//! How records are kept, whatever the backend: the kinds of record in the revisions table, an
//! area's properties as stored JSON (with its shape's radius or width), and the decoding of every
//! kind of record from its geometry and JSON. Both backends store the same bytes (little-endian
//! ISO WKB, the same JSON text), so a record reads back equal from either.

use cairn_core::accident::{Accident, AccidentFacts};
use cairn_core::release::ActivityFacts;
use cairn_core::release::{Activity, Find, FindFacts, Release, ReleaseFacts};
use cairn_core::zone::{Zone, ZoneFacts};
use cairn_core::{AreaProperties, HazardArea, Shape, Timestamp};
use chrono::{DateTime, Utc};
use geo_types::{Geometry, MultiPolygon};

use crate::{Op, StoreError, decode_wkb};

/// The kind tag of hazardous areas in the revisions table.
pub(crate) const AREA: &str = "area";
pub(crate) const ACTIVITY: &str = "activity";
pub(crate) const RELEASE: &str = "release";
pub(crate) const FIND: &str = "find";
pub(crate) const ZONE: &str = "zone";
pub(crate) const ACCIDENT: &str = "accident";
/// The territory of operations (one record, id `TERRITORY_ID`); none means the default.
pub(crate) const TERRITORY: &str = "territory";
pub(crate) const TERRITORY_ID: &str = "territory";

pub(crate) fn corrupt(id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        id: id.to_string(),
        message: message.into(),
    }
}

pub(crate) fn to_micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Option<Timestamp> {
    DateTime::<Utc>::from_timestamp_micros(us)
}

/// The current time at the store's resolution (microseconds).
pub(crate) fn now() -> Timestamp {
    let t = Utc::now();
    from_micros(to_micros(t)).unwrap_or(t)
}

/// A revision's op from its stored name.
pub(crate) fn parse_op(id: &str, op: &str) -> Result<Op, StoreError> {
    match op {
        "create" => Ok(Op::Create),
        "update" => Ok(Op::Update),
        other => Err(corrupt(id, format!("unknown revision op {other:?}"))),
    }
}

pub(crate) fn op_name(op: Op) -> &'static str {
    match op {
        Op::Create => "create",
        Op::Update => "update",
    }
}

/// Serializes a record's facts as stored JSON.
pub(crate) fn json<T: serde::Serialize>(id: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encode {
        id: id.to_string(),
        message: e.to_string(),
    })
}

/// An area's stored JSON: its properties and its shape's radius or width.
pub(crate) fn area_json(area: &HazardArea) -> Result<String, StoreError> {
    json(
        &area.id,
        &StoredPropsRef {
            props: &area.props,
            radius_m: area.shape.radius_m(),
            width_m: area.shape.width_m(),
        },
    )
}

/// An area from its stored geometry (WKB) and JSON.
pub(crate) fn decode_area(id: &str, wkb: &[u8], props: &str) -> Result<HazardArea, StoreError> {
    let geometry = decode_wkb(wkb).map_err(|e| corrupt(id, format!("geometry: {e}")))?;
    let props: StoredProps =
        serde_json::from_str(props).map_err(|e| corrupt(id, format!("properties: {e}")))?;
    let (props, radius_m, width_m) = props.split();
    let shape = Shape::from_parts(geometry, radius_m, width_m).map_err(|p| {
        corrupt(
            id,
            p.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    Ok(HazardArea {
        id: id.to_string(),
        shape,
        props,
    })
}

/// A geometry from stored WKB, for records that are not areas.
pub(crate) fn geometry(id: &str, wkb: &[u8]) -> Result<Geometry<f64>, StoreError> {
    decode_wkb(wkb).map_err(|e| corrupt(id, format!("geometry: {e}")))
}

/// The JSON kept in `revisions.props`: the properties and the shape's radius or width, read
/// field by field (serde's `flatten` would buffer every value first, which halves read speed).
#[derive(serde::Deserialize)]
struct StoredProps {
    #[serde(default)]
    name: Option<String>,
    status: cairn_core::Status,
    classification: cairn_core::Classification,
    #[serde(default)]
    evidence: Option<cairn_core::Evidence>,
    #[serde(default)]
    devices: Vec<cairn_core::DeviceGroup>,
    #[serde(default)]
    reference_points: Vec<[f64; 2]>,
    #[serde(default)]
    marking: Option<cairn_core::Marking>,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    reported_at: Option<Timestamp>,
    #[serde(default)]
    emplacement: Option<Box<cairn_core::Emplacement>>,
    #[serde(default)]
    extra: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    radius_m: Option<f64>,
    #[serde(default)]
    width_m: Option<f64>,
}

impl StoredProps {
    fn split(self) -> (AreaProperties, Option<f64>, Option<f64>) {
        (
            AreaProperties {
                name: self.name,
                status: self.status,
                classification: self.classification,
                evidence: self.evidence,
                devices: self.devices,
                reference_points: self.reference_points,
                marking: self.marking,
                organisation: self.organisation,
                reported_at: self.reported_at,
                extra: self.extra,
                emplacement: self.emplacement,
            },
            self.radius_m,
            self.width_m,
        )
    }
}

#[derive(serde::Serialize)]
struct StoredPropsRef<'a> {
    #[serde(flatten)]
    props: &'a AreaProperties,
    #[serde(skip_serializing_if = "Option::is_none")]
    radius_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width_m: Option<f64>,
}

pub(crate) fn multipolygon(id: &str, g: Geometry<f64>) -> Result<MultiPolygon<f64>, StoreError> {
    match g {
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(corrupt(id, "geometry is not a polygon")),
    }
}

fn facts<T: serde::de::DeserializeOwned>(id: &str, props: &str) -> Result<T, StoreError> {
    serde_json::from_str(props).map_err(|e| corrupt(id, format!("properties: {e}")))
}

pub(crate) fn activity_of(
    id: String,
    g: Geometry<f64>,
    props: &str,
) -> Result<Activity, StoreError> {
    let facts: ActivityFacts = facts(&id, props)?;
    Ok(Activity {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

pub(crate) fn release_of(id: String, g: Geometry<f64>, props: &str) -> Result<Release, StoreError> {
    let facts: ReleaseFacts = facts(&id, props)?;
    Ok(Release {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

pub(crate) fn find_of(id: String, g: Geometry<f64>, props: &str) -> Result<Find, StoreError> {
    let facts: FindFacts = facts(&id, props)?;
    let Geometry::Point(at) = g else {
        return Err(corrupt(&id, "a find's geometry is not a point"));
    };
    Ok(Find { at, facts, id })
}

pub(crate) fn zone_of(id: String, g: Geometry<f64>, props: &str) -> Result<Zone, StoreError> {
    let facts: ZoneFacts = facts(&id, props)?;
    Ok(Zone {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

pub(crate) fn accident_of(
    id: String,
    g: Geometry<f64>,
    props: &str,
) -> Result<Accident, StoreError> {
    let facts: AccidentFacts = facts(&id, props)?;
    let Geometry::Point(place) = g else {
        return Err(corrupt(&id, "an accident's place is not a point"));
    };
    Ok(Accident { id, facts, place })
}
