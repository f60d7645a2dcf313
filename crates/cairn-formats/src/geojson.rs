//! GeoJSON (RFC 7946): a streaming FeatureCollection reader that holds one feature at a time,
//! and a writer of features in the right-hand rule.

use std::cell::RefCell;
use std::fmt;
use std::io::{Read, Write};

use cairn_core::{HazardArea, Problem, Shape};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde::Serialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::props::{ReadProps, kind_of, position, read_properties};
use crate::record::{RawGeometry, build_geometry};

/// One feature as read: where it was, its id, and its parts or the problems found so far.
#[derive(Debug)]
pub struct ReadFeature {
    /// Position in the file, from 1.
    pub number: u64,
    pub id: Option<String>,
    pub geometry: Option<Geometry<f64>>,
    pub props: Option<ReadProps>,
    pub problems: Vec<Problem>,
    /// The input as read, so that a rejected feature can be written out again.
    pub raw: Raw,
}

/// A feature's input as read.
#[derive(Debug)]
pub enum Raw {
    Json(Value),
    Csv(Vec<String>),
}

/// Why a GeoJSON file could not be read as a whole.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The text is not JSON, or is cut short; `feature` is the feature being read, if any.
    Syntax {
        line: usize,
        column: usize,
        feature: Option<u64>,
        message: String,
    },
    /// The JSON is not a FeatureCollection.
    Structure(String),
    /// The per-feature callback stopped the read.
    Callback(E),
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Syntax {
                line,
                column,
                feature,
                message,
            } => {
                write!(f, "line {line}, column {column}")?;
                if let Some(n) = feature {
                    write!(f, " (in feature {n})")?;
                }
                write!(f, ": not valid JSON: {message}")
            }
            ReadError::Structure(m) => f.write_str(m),
            ReadError::Callback(e) => e.fmt(f),
        }
    }
}

/// Coordinate reference systems accepted in the legacy `crs` member: WGS 84 longitude, latitude.
const CRS84: &[&str] = &[
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
];

struct Shared<'f, E> {
    on_feature: &'f mut dyn FnMut(ReadFeature) -> Result<(), E>,
    adapt: Option<&'f crate::adapt::Adapt>,
    count: u64,
    in_feature: Option<u64>,
    callback_error: Option<E>,
}

/// Reads a FeatureCollection from `reader`, one feature at a time, calling `on_feature` for each.
/// Returns the number of features.
pub fn read_feature_collection<R: Read, E>(
    reader: R,
    on_feature: &mut dyn FnMut(ReadFeature) -> Result<(), E>,
) -> Result<u64, ReadError<E>> {
    read_feature_collection_adapted(reader, None, on_feature)
}

/// `read_feature_collection`, each feature first made Cairn's by `adapt` (a mapping, an MGRS
/// column); its problems are the feature's.
pub fn read_feature_collection_adapted<'f, R: Read, E>(
    reader: R,
    adapt: Option<&'f crate::adapt::Adapt>,
    on_feature: &'f mut dyn FnMut(ReadFeature) -> Result<(), E>,
) -> Result<u64, ReadError<E>> {
    let shared = RefCell::new(Shared {
        on_feature,
        adapt,
        count: 0,
        in_feature: None,
        callback_error: None,
    });
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = de::Deserializer::deserialize_any(&mut de, TopVisitor { shared: &shared })
        .and_then(|()| de.end());
    let mut s = shared.into_inner();
    if let Some(e) = s.callback_error.take() {
        return Err(ReadError::Callback(e));
    }
    match result {
        Ok(()) => Ok(s.count),
        Err(e) if e.is_syntax() || e.is_eof() || e.is_io() => Err(ReadError::Syntax {
            line: e.line(),
            column: e.column(),
            feature: s.in_feature,
            message: strip_position(&e.to_string()),
        }),
        Err(e) => Err(ReadError::Structure(strip_position(&e.to_string()))),
    }
}

fn strip_position(m: &str) -> String {
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

struct TopVisitor<'a, 'f, E> {
    shared: &'a RefCell<Shared<'f, E>>,
}

impl<'de, E> Visitor<'de> for TopVisitor<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut ty: Option<String> = None;
        let mut saw_features = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => ty = Some(map.next_value()?),
                "features" => {
                    if let Some(t) = &ty
                        && t != "FeatureCollection"
                    {
                        return Err(de::Error::custom(format!(
                            "the file is a GeoJSON {t}, not a FeatureCollection"
                        )));
                    }
                    saw_features = true;
                    map.next_value_seed(FeaturesSeed {
                        shared: self.shared,
                    })?;
                }
                "crs" => {
                    let crs: Value = map.next_value()?;
                    let name = crs
                        .pointer("/properties/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if !CRS84.contains(&name) {
                        return Err(de::Error::custom(format!(
                            "the file declares crs {name:?}; Cairn reads WGS 84 longitude, latitude only (reproject with: ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)"
                        )));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match ty.as_deref() {
            Some("FeatureCollection") if saw_features => Ok(()),
            Some("FeatureCollection") => Err(de::Error::custom(
                "the FeatureCollection has no \"features\" array",
            )),
            Some(t) => Err(de::Error::custom(format!(
                "the file is a GeoJSON {t}, not a FeatureCollection"
            ))),
            None => Err(de::Error::custom(
                "the JSON object has no \"type\": expected a GeoJSON FeatureCollection",
            )),
        }
    }
}

struct FeaturesSeed<'a, 'f, E> {
    shared: &'a RefCell<Shared<'f, E>>,
}

impl<'de, E> DeserializeSeed<'de> for FeaturesSeed<'_, '_, E> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, E> Visitor<'de> for FeaturesSeed<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"features\" to be an array of Feature objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let number = {
                let mut s = self.shared.borrow_mut();
                s.in_feature = Some(s.count + 1);
                s.count + 1
            };
            let Some(mut v) = seq.next_element::<Value>()? else {
                let mut s = self.shared.borrow_mut();
                s.in_feature = None;
                return Ok(());
            };
            let adapt = self.shared.borrow().adapt;
            let mut feature = match adapt {
                Some(a) => {
                    let raw = v.clone();
                    let problems = a.apply(&mut v);
                    let mut f = read_feature(number, &v);
                    f.problems.extend(problems);
                    v = raw;
                    f
                }
                None => read_feature(number, &v),
            };
            feature.raw = Raw::Json(v);
            let mut s = self.shared.borrow_mut();
            s.count = number;
            if let Err(e) = (s.on_feature)(feature) {
                s.callback_error = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
    }
}

/// Reads one Feature object, collecting every problem.
pub fn read_feature(number: u64, v: &Value) -> ReadFeature {
    let mut problems = Vec::new();
    let empty = Map::new();
    let obj = match v {
        Value::Object(o) => o,
        other => {
            problems.push(Problem::new(
                "feature",
                format!("must be a GeoJSON Feature object, not {}", kind_of(other)),
            ));
            &empty
        }
    };
    if v.is_object() {
        match obj.get("type") {
            Some(Value::String(t)) if t == "Feature" => {}
            Some(other) => problems.push(Problem::new(
                "type",
                format!("must be \"Feature\", not {}", kind_of(other)),
            )),
            None => problems.push(Problem::new("type", "is missing; it must be \"Feature\"")),
        }
    }
    let props_map = match obj.get("properties") {
        Some(Value::Object(m)) => Some(m),
        None | Some(Value::Null) => {
            if v.is_object() {
                problems.push(Problem::new(
                    "properties",
                    "are missing; a hazardous area needs at least a status",
                ));
            }
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
    let id = match obj.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        None | Some(Value::Null) => match props_map.and_then(|m| m.get("id")) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
        Some(other) => {
            problems.push(Problem::new(
                "id",
                format!("must be text or a number, not {}", kind_of(other)),
            ));
            None
        }
    };
    let geometry = match obj.get("geometry") {
        None | Some(Value::Null) => {
            if v.is_object() {
                problems.push(Problem::new(
                    "geometry",
                    "is missing or null; a hazardous area needs a geometry",
                ));
            }
            None
        }
        Some(g) => read_geometry(g, &mut problems)
            .and_then(|raw| build_geometry(&raw, "geometry.coordinates", &mut problems)),
    };
    let props = props_map.and_then(|m| read_properties(m, &mut problems));
    ReadFeature {
        number,
        id,
        geometry,
        props,
        problems,
        raw: Raw::Json(Value::Null),
    }
}

/// Reads a GeoJSON geometry object into raw coordinates.
pub fn read_geometry(g: &Value, problems: &mut Vec<Problem>) -> Option<RawGeometry> {
    let Value::Object(o) = g else {
        problems.push(Problem::new(
            "geometry",
            format!("must be a GeoJSON geometry object, not {}", kind_of(g)),
        ));
        return None;
    };
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => {
            problems.push(Problem::new("geometry.type", "is missing or not text"));
            return None;
        }
    };
    let f = "geometry.coordinates";
    let coords = o.get("coordinates");
    let need = |problems: &mut Vec<Problem>| {
        problems.push(Problem::new(f, "are missing or not an array"));
    };
    match ty {
        "Point" => match coords {
            Some(c) => position(c, f, problems).map(RawGeometry::Point),
            None => {
                need(problems);
                None
            }
        },
        "LineString" => match coords {
            Some(Value::Array(a)) => positions(a, f, problems).map(RawGeometry::LineString),
            _ => {
                need(problems);
                None
            }
        },
        "Polygon" => match coords {
            Some(Value::Array(a)) => rings(a, f, problems).map(RawGeometry::Polygon),
            _ => {
                need(problems);
                None
            }
        },
        "MultiPolygon" => match coords {
            Some(Value::Array(a)) => {
                let parts: Vec<Option<Vec<Vec<[f64; 2]>>>> = a
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match p {
                        Value::Array(r) => rings(r, &format!("{f}[{i}]"), problems),
                        other => {
                            problems.push(Problem::new(
                                format!("{f}[{i}]"),
                                format!(
                                    "a polygon must be an array of rings, not {}",
                                    kind_of(other)
                                ),
                            ));
                            None
                        }
                    })
                    .collect();
                parts
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(RawGeometry::MultiPolygon)
            }
            _ => {
                need(problems);
                None
            }
        },
        "MultiPoint" | "MultiLineString" | "GeometryCollection" => {
            Some(RawGeometry::Other(ty.to_string()))
        }
        other => {
            problems.push(Problem::new(
                "geometry.type",
                format!("{other:?} is not a GeoJSON geometry type"),
            ));
            None
        }
    }
}

fn positions(a: &[Value], field: &str, problems: &mut Vec<Problem>) -> Option<Vec<[f64; 2]>> {
    let before = problems.len();
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(a.len());
    for (j, p) in a.iter().enumerate() {
        // The field name is built only when the position is bad.
        let quick = match p {
            Value::Array(xy) if xy.len() == 2 => xy[0].as_f64().zip(xy[1].as_f64()),
            _ => None,
        };
        match quick {
            Some((x, y)) => out.push([x, y]),
            None => {
                position(p, &format!("{field}[{j}]"), problems);
            }
        }
    }
    (problems.len() == before).then_some(out)
}

fn rings(a: &[Value], field: &str, problems: &mut Vec<Problem>) -> Option<Vec<Vec<[f64; 2]>>> {
    let before = problems.len();
    let mut out = Vec::with_capacity(a.len());
    for (i, r) in a.iter().enumerate() {
        match r {
            Value::Array(ps) => {
                if let Some(ring) = positions(ps, &format!("{field}[{i}]"), problems) {
                    out.push(ring);
                }
            }
            other => problems.push(Problem::new(
                format!("{field}[{i}]"),
                format!(
                    "a ring must be an array of positions, not {}",
                    kind_of(other)
                ),
            )),
        }
    }
    (problems.len() == before).then_some(out)
}

/// Writes features as a FeatureCollection, one per line, with `finish` closing it.
pub struct FeatureCollectionWriter<W: Write> {
    out: W,
    count: u64,
}

impl<W: Write> FeatureCollectionWriter<W> {
    /// Starts the collection; `name` becomes the collection's name member.
    pub fn new(mut out: W, name: &str) -> std::io::Result<Self> {
        writeln!(
            out,
            "{{\"type\":\"FeatureCollection\",\"name\":{},\"features\":[",
            serde_json::to_string(name)?
        )?;
        Ok(FeatureCollectionWriter { out, count: 0 })
    }

    /// Writes one feature with the given id (none for anonymous features), geometry and properties.
    pub fn write<P: Serialize>(
        &mut self,
        id: Option<&str>,
        geometry: &Geometry<f64>,
        properties: &P,
    ) -> std::io::Result<()> {
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        self.out.write_all(b"{\"type\":\"Feature\",")?;
        if let Some(id) = id {
            write!(self.out, "\"id\":{},", serde_json::to_string(id)?)?;
        }
        self.out.write_all(b"\"geometry\":")?;
        write_geometry(&mut self.out, geometry)?;
        self.out.write_all(b",\"properties\":")?;
        serde_json::to_writer(&mut self.out, properties)?;
        self.out.write_all(b"}")?;
        self.count += 1;
        Ok(())
    }

    /// Closes the collection and returns the writer and the feature count.
    pub fn finish(mut self) -> std::io::Result<(W, u64)> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok((self.out, self.count))
    }
}

/// The GeoJSON properties of a stored area, exactly as imported (unknown properties included).
#[derive(Serialize)]
pub struct AreaPropsOut<'a> {
    #[serde(flatten)]
    pub props: &'a cairn_core::AreaProperties,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width_m: Option<f64>,
}

/// The GeoJSON properties of a stored area: known fields, radius or width, and unknown
/// properties flat beside them, as they were read.
pub fn area_properties(area: &HazardArea) -> Map<String, Value> {
    let mut map = match serde_json::to_value(AreaPropsOut {
        props: &area.props,
        radius_m: area.shape.radius_m(),
        width_m: area.shape.width_m(),
    }) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(Value::Object(extra)) = map.remove("extra") {
        for (k, v) in extra {
            map.entry(k).or_insert(v);
        }
    }
    map
}

/// The centre of a spot or the centre line of a corridor as WKT, published beside its outline
/// (`footprint_properties`); none for a polygon.
pub fn centre_wkt(shape: &cairn_core::Shape) -> Option<String> {
    use wkt::ToWkt;
    match shape {
        cairn_core::Shape::Spot { .. } | cairn_core::Shape::Linear { .. } => {
            Some(shape.geometry().wkt_string())
        }
        _ => None,
    }
}

/// The properties published with a hazard's footprint (`cairn_core::footprint`, the geometry GIS
/// clients get): those of `area_properties` and, for a spot or corridor, `centre_wkt`. Read back,
/// the three give the spot or corridor again (`record::build_record`).
pub fn footprint_properties(area: &HazardArea) -> Map<String, Value> {
    let mut map = area_properties(area);
    if let Some(c) = centre_wkt(&area.shape) {
        map.insert("centre_wkt".into(), Value::from(c));
    }
    map
}

/// A shape's footprint as a GeoJSON MultiPolygon value.
pub fn footprint_value(shape: &cairn_core::Shape) -> Value {
    geometry_value(&Geometry::MultiPolygon(cairn_core::footprint::footprint(
        shape,
    )))
}

/// Writes a hazardous area as a feature.
pub fn write_area<W: Write>(
    w: &mut FeatureCollectionWriter<W>,
    area: &HazardArea,
) -> std::io::Result<()> {
    w.write(
        Some(&area.id),
        &area.shape.geometry(),
        &area_properties(area),
    )
}

/// A geometry as a GeoJSON value.
pub fn geometry_value(g: &Geometry<f64>) -> Value {
    let mut buf = Vec::new();
    match write_geometry(&mut buf, g) {
        Ok(()) => serde_json::from_slice(&buf).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// Writes a geometry as GeoJSON; floats are written in the shortest form that reads back exactly.
pub fn write_geometry<W: Write>(out: &mut W, g: &Geometry<f64>) -> std::io::Result<()> {
    match g {
        Geometry::Point(p) => {
            out.write_all(b"{\"type\":\"Point\",\"coordinates\":")?;
            write_coord(out, p.0)?;
        }
        Geometry::LineString(l) => {
            out.write_all(b"{\"type\":\"LineString\",\"coordinates\":")?;
            write_line(out, l)?;
        }
        Geometry::Polygon(p) => {
            out.write_all(b"{\"type\":\"Polygon\",\"coordinates\":")?;
            write_polygon(out, p)?;
        }
        Geometry::MultiPolygon(m) => {
            out.write_all(b"{\"type\":\"MultiPolygon\",\"coordinates\":[")?;
            for (i, p) in m.0.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_polygon(out, p)?;
            }
            out.write_all(b"]")?;
        }
        other => {
            return Err(std::io::Error::other(format!(
                "cannot write a {} as a hazard geometry",
                cairn_core::area::geometry_type_name(other)
            )));
        }
    }
    out.write_all(b"}")
}

fn write_coord<W: Write>(out: &mut W, c: Coord<f64>) -> std::io::Result<()> {
    // ryu prints the shortest representation that parses back to the same f64.
    let mut b = ryu::Buffer::new();
    out.write_all(b"[")?;
    out.write_all(b.format(c.x).as_bytes())?;
    out.write_all(b",")?;
    out.write_all(b.format(c.y).as_bytes())?;
    out.write_all(b"]")
}

fn write_line<W: Write>(out: &mut W, l: &LineString<f64>) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, c) in l.0.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_coord(out, *c)?;
    }
    out.write_all(b"]")
}

fn write_polygon<W: Write>(out: &mut W, p: &Polygon<f64>) -> std::io::Result<()> {
    out.write_all(b"[")?;
    write_line(out, p.exterior())?;
    for r in p.interiors() {
        out.write_all(b",")?;
        write_line(out, r)?;
    }
    out.write_all(b"]")
}

/// Builds the shape for a written feature; used by tests that read exports back.
pub fn shape_of(feature: &ReadFeature) -> Option<Shape> {
    let g = feature.geometry.clone()?;
    let p = feature.props.as_ref()?;
    Shape::from_parts(g, p.radius_m, p.width_m).ok()
}
