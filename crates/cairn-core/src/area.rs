//! Hazardous areas: their shape, status, evidence, device groups and other recorded facts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Orient, orient::Direction};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon, Rect};
use serde::{Deserialize, Serialize};

/// A time in UTC.
pub type Timestamp = DateTime<Utc>;

/// A hazardous area as recorded: its stable id, its shape and its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct HazardArea {
    pub id: String,
    pub shape: Shape,
    pub props: AreaProperties,
}

/// Where a hazard is. Spot and linear hazards carry their extent in metres.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Polygon(Polygon<f64>),
    MultiPolygon(MultiPolygon<f64>),
    /// A spot hazard: a point and a radius in metres.
    Spot {
        at: Point<f64>,
        radius_m: f64,
    },
    /// A linear hazard: a line and a total corridor width in metres.
    Linear {
        line: LineString<f64>,
        width_m: f64,
    },
}

impl Shape {
    /// The base geometry, without radius or width.
    pub fn geometry(&self) -> Geometry<f64> {
        match self {
            Shape::Polygon(p) => Geometry::Polygon(p.clone()),
            Shape::MultiPolygon(m) => Geometry::MultiPolygon(m.clone()),
            Shape::Spot { at, .. } => Geometry::Point(*at),
            Shape::Linear { line, .. } => Geometry::LineString(line.clone()),
        }
    }

    /// The radius of a spot hazard or the width of a linear one.
    pub fn radius_m(&self) -> Option<f64> {
        match self {
            Shape::Spot { radius_m, .. } => Some(*radius_m),
            _ => None,
        }
    }

    /// The width of a linear hazard.
    pub fn width_m(&self) -> Option<f64> {
        match self {
            Shape::Linear { width_m, .. } => Some(*width_m),
            _ => None,
        }
    }

    /// The GeoJSON name of the base geometry's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Shape::Polygon(_) => "Polygon",
            Shape::MultiPolygon(_) => "MultiPolygon",
            Shape::Spot { .. } => "Point",
            Shape::Linear { .. } => "LineString",
        }
    }

    /// Builds a shape from a base geometry and the radius or width that goes with it.
    /// Returns the message naming the missing or superfluous property on a mismatch.
    pub fn from_parts(
        geometry: Geometry<f64>,
        radius_m: Option<f64>,
        width_m: Option<f64>,
    ) -> Result<Shape, Vec<crate::Problem>> {
        use crate::Problem;
        let mut problems = Vec::new();
        let shape = match geometry {
            Geometry::Polygon(p) => Some(Shape::Polygon(p)),
            Geometry::MultiPolygon(m) => Some(Shape::MultiPolygon(m)),
            Geometry::Point(at) => match radius_m {
                Some(r) => Some(Shape::Spot { at, radius_m: r }),
                None => {
                    problems.push(Problem::new(
                        "properties.radius_m",
                        "a Point hazard needs radius_m, its radius in metres",
                    ));
                    None
                }
            },
            Geometry::LineString(line) => match width_m {
                Some(w) => Some(Shape::Linear { line, width_m: w }),
                None => {
                    problems.push(Problem::new(
                        "properties.width_m",
                        "a LineString hazard needs width_m, its corridor width in metres",
                    ));
                    None
                }
            },
            other => {
                problems.push(Problem::new(
                    "geometry.type",
                    format!(
                        "a hazardous area must be a Polygon, MultiPolygon, Point (with radius_m) or LineString (with width_m), not {}",
                        geometry_type_name(&other)
                    ),
                ));
                None
            }
        };
        if let Some(s) = &shape {
            if radius_m.is_some() && !matches!(s, Shape::Spot { .. }) {
                problems.push(Problem::new(
                    "properties.radius_m",
                    "radius_m is only for Point hazards",
                ));
            }
            if width_m.is_some() && !matches!(s, Shape::Linear { .. }) {
                problems.push(Problem::new(
                    "properties.width_m",
                    "width_m is only for LineString hazards",
                ));
            }
        }
        match shape {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(problems),
        }
    }

    /// The same shape with polygon rings in the right-hand rule of RFC 7946:
    /// exterior rings counter-clockwise, holes clockwise.
    pub fn oriented(self) -> Shape {
        match self {
            Shape::Polygon(p) => Shape::Polygon(p.orient(Direction::Default)),
            Shape::MultiPolygon(m) => Shape::MultiPolygon(m.orient(Direction::Default)),
            other => other,
        }
    }

    /// The bounding box of the base geometry in degrees (radius and width not included).
    pub fn bbox(&self) -> Option<Rect<f64>> {
        // On the parts themselves: `geometry()` would copy every vertex first.
        match self {
            Shape::Polygon(p) => p.bounding_rect(),
            Shape::MultiPolygon(m) => m.bounding_rect(),
            Shape::Spot { at, .. } => Some(Rect::new(at.0, at.0)),
            Shape::Linear { line, .. } => line.bounding_rect(),
        }
    }

    /// A bounding box in degrees that surely covers the hazard including its radius or width.
    pub fn covering_bbox(&self) -> Option<Rect<f64>> {
        let r = self.bbox()?;
        let extra_m = match self {
            Shape::Spot { radius_m, .. } => *radius_m,
            Shape::Linear { width_m, .. } => width_m / 2.0,
            _ => 0.0,
        };
        if extra_m == 0.0 {
            return Some(r);
        }
        // A degree of latitude is at least 110,574 m; a degree of longitude at latitude φ is at
        // least 111,319 m · cos φ, smallest at the box's most poleward edge. Two percent margin.
        let dlat = extra_m / 110_574.0 * 1.02;
        let max_abs_lat = r.min().y.abs().max(r.max().y.abs()) + dlat;
        let cos = max_abs_lat.min(89.0).to_radians().cos();
        let dlon = extra_m / (111_319.0 * cos) * 1.02;
        Some(Rect::new(
            Coord {
                x: r.min().x - dlon,
                y: r.min().y - dlat,
            },
            Coord {
                x: r.max().x + dlon,
                y: r.max().y + dlat,
            },
        ))
    }
}

/// The GeoJSON name of a geo-types geometry's type.
pub fn geometry_type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// Everything recorded about an area besides its id and shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AreaProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: Status,
    pub classification: Classification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_points: Vec<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking: Option<Marking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// When the hazard was reported on the ground (valid time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<Timestamp>,
    /// Present when the area comes from an emplacement record (Amended Protocol II, Technical
    /// Annex 1): the facts the recording duty asks for beyond perimeter, reference points and
    /// device groups. Restricted detail: never shown to the public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emplacement: Option<Box<Emplacement>>,
    /// Properties Cairn does not know, kept as given. They count as restricted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// How the devices of an emplacement record were emplaced (APII TA 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmplacingMethod {
    HandEmplaced,
    MechanicallyLaid,
    RemotelyDelivered,
}

impl WireEnum for EmplacingMethod {
    const ALL: &'static [(EmplacingMethod, &'static str)] = &[
        (EmplacingMethod::HandEmplaced, "hand-emplaced"),
        (EmplacingMethod::MechanicallyLaid, "mechanically-laid"),
        (EmplacingMethod::RemotelyDelivered, "remotely-delivered"),
    ];
}

/// What an emplacement record states beyond the area's perimeter, reference points and device
/// groups (types, numbers and the date and time laid). Every field may be missing: an incomplete
/// record is still stored, and the compliance audit names what it lacks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Emplacement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<EmplacingMethod>,
    /// Whether anti-handling devices were fitted; `None` when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_handling: Option<bool>,
    /// The fuze type as recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuze: Option<String>,
    /// The recorded fuze lifetime (self-destruct period) in hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuze_lifetime_hours: Option<f64>,
    /// The unit that emplaced the devices, as recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laid_by: Option<String>,
}

/// A string enum with a fixed set of wire names; gives parse errors that list the choices.
pub trait WireEnum: Sized + Copy + 'static {
    /// Every value with its wire name.
    const ALL: &'static [(Self, &'static str)];

    /// The wire name.
    fn as_str(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Parses a wire name; the error lists the accepted names.
    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(v, _)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, n)| *n).collect();
                format!("{s:?} is not one of {}", names.join(", "))
            })
    }
}

/// Where an area stands in survey and release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Reported,
    Suspected,
    Confirmed,
    Cancelled,
    Reduced,
    Cleared,
    Closed,
}

impl WireEnum for Status {
    const ALL: &'static [(Status, &'static str)] = &[
        (Status::Reported, "reported"),
        (Status::Suspected, "suspected"),
        (Status::Confirmed, "confirmed"),
        (Status::Cancelled, "cancelled"),
        (Status::Reduced, "reduced"),
        (Status::Cleared, "cleared"),
        (Status::Closed, "closed"),
    ];
}

impl Status {
    /// True for hazards everyone must be warned of: reported (an indication an officer accepted,
    /// not yet surveyed), suspected, confirmed, and reduced areas whose remainder is still
    /// hazardous. A known danger never goes quiet: only released land (cancelled, cleared,
    /// closed) stops warning.
    pub fn is_open_hazard(self) -> bool {
        matches!(
            self,
            Status::Reported | Status::Suspected | Status::Confirmed | Status::Reduced
        )
    }

    /// How strongly the record asserts a hazard, for telling a weakening edit from a
    /// strengthening one: reported < suspected < confirmed. Release statuses are not ranked:
    /// they are reached only by land release.
    pub fn strength(self) -> Option<u8> {
        match self {
            Status::Reported => Some(1),
            Status::Suspected | Status::Reduced => Some(2),
            Status::Confirmed => Some(3),
            Status::Cancelled | Status::Cleared | Status::Closed => None,
        }
    }

    /// True for the statuses only a land release (or a migration of existing data) may set.
    pub fn is_release(self) -> bool {
        matches!(
            self,
            Status::Cancelled | Status::Reduced | Status::Cleared | Status::Closed
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may see a record's detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Public,
    Restricted,
}

impl WireEnum for Classification {
    const ALL: &'static [(Classification, &'static str)] = &[
        (Classification::Public, "public"),
        (Classification::Restricted, "restricted"),
    ];
}

/// The state of perimeter marking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Marking {
    Unmarked,
    PartiallyMarked,
    Marked,
    Fenced,
}

impl WireEnum for Marking {
    const ALL: &'static [(Marking, &'static str)] = &[
        (Marking::Unmarked, "unmarked"),
        (Marking::PartiallyMarked, "partially-marked"),
        (Marking::Marked, "marked"),
        (Marking::Fenced, "fenced"),
    ];
}

/// Direct evidence confirms a hazard; indirect evidence supports suspicion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    Direct,
    Indirect,
}

impl WireEnum for EvidenceKind {
    const ALL: &'static [(EvidenceKind, &'static str)] = &[
        (EvidenceKind::Direct, "direct"),
        (EvidenceKind::Indirect, "indirect"),
    ];
}

/// The evidence behind an area's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How a device group became known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HowKnown {
    Record,
    Observation,
    Estimate,
}

impl WireEnum for HowKnown {
    const ALL: &'static [(HowKnown, &'static str)] = &[
        (HowKnown::Record, "record"),
        (HowKnown::Observation, "observation"),
        (HowKnown::Estimate, "estimate"),
    ];
}

/// Devices of one type in an area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceGroup {
    #[serde(rename = "type")]
    pub device_type: String,
    /// How many; `None` when unknown.
    pub quantity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emplaced_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emplaced_to: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how_known: Option<HowKnown>,
}

/// When things first happened to a hazardous area, from its history (recorded time): the
/// compliance audit's deadlines are measured on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// The first revision: when Cairn learned of the area.
    pub first_recorded: Timestamp,
    /// The first revision with marking `marked` or `fenced`, or the first marking activity.
    pub first_marked: Option<Timestamp>,
    /// The first revision with an open-hazard status: when the public map first warned of it.
    pub first_public: Option<Timestamp>,
    /// The first revision with status cancelled, cleared or closed: no hazard left to mark.
    pub first_released: Option<Timestamp>,
}

/// What the audit's deadline rules need of an area that is not an emplacement record: its id,
/// current status and timeline (read without its geometry or properties).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedArea {
    pub id: String,
    pub status: Status,
    pub timeline: Timeline,
}
