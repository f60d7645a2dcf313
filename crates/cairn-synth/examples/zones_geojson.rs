//! Writes the fictional zones of one kind (`oblast` or `permitted`) as a GeoJSON
//! FeatureCollection on stdout, for `cairn zone import FILE --kind KIND` (bench/audit.sh).

use cairn_core::WireEnum;
use cairn_synth::zones::fictional_zones;
use geo_types::Polygon;

fn ring(r: &geo_types::LineString<f64>) -> serde_json::Value {
    r.0.iter().map(|c| serde_json::json!([c.x, c.y])).collect()
}

fn polygon(p: &Polygon<f64>) -> serde_json::Value {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(ring)
        .collect()
}

fn main() {
    let kind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "permitted".into());
    let features: Vec<serde_json::Value> = fictional_zones()
        .into_iter()
        .filter(|z| z.facts.kind.as_str() == kind)
        .map(|z| {
            serde_json::json!({
                "type": "Feature",
                "id": z.id,
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": z.geometry.0.iter().map(polygon).collect::<Vec<_>>(),
                },
                "properties": { "name": z.facts.name, "source": z.facts.source },
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({"type": "FeatureCollection", "features": features})
    );
}
