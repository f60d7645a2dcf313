//! File formats Cairn reads and writes: GeoJSON (streaming), CSV with WKT, and GeoPackage.

pub mod accident;
pub mod adapt;
pub mod csv;
pub mod geojson;
pub mod gpkg;
pub mod mgrs;
pub mod parcel;
pub mod patch;
pub mod props;
pub mod record;
pub mod release;
pub mod zone;
