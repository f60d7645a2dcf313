//! Geometry encoding in the store: little-endian ISO WKB, as SpatiaLite and GDAL read it.

use geo_traits::to_geo::ToGeoGeometry;
use geo_types::Geometry;

/// A geometry that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GeomError(String);

/// Encodes a geometry as little-endian WKB.
pub fn encode_wkb(g: &Geometry<f64>, out: &mut Vec<u8>) -> Result<(), GeomError> {
    out.clear();
    wkb::writer::write_geometry(
        out,
        g,
        &wkb::writer::WriteOptions {
            endianness: wkb::Endianness::LittleEndian,
        },
    )
    .map_err(|e| GeomError(e.to_string()))
}

/// Decodes WKB into a geometry.
pub fn decode_wkb(bytes: &[u8]) -> Result<Geometry<f64>, GeomError> {
    let w = wkb::reader::read_wkb(bytes).map_err(|e| GeomError(e.to_string()))?;
    Ok(w.to_geometry())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Point, line_string, polygon};

    #[test]
    fn round_trips_each_kind() {
        let gs: Vec<Geometry<f64>> = vec![
            Point::new(36.123456789012, 49.987654321098).into(),
            line_string![(x: 30.0, y: 50.0), (x: 30.1, y: 50.2)].into(),
            polygon!(
                exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 0.0)],
                interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
            )
            .into(),
        ];
        let mut buf = Vec::new();
        for g in gs {
            encode_wkb(&g, &mut buf).unwrap();
            assert_eq!(decode_wkb(&buf).unwrap(), g);
        }
        assert!(decode_wkb(&[1, 2, 3]).is_err());
    }
}
