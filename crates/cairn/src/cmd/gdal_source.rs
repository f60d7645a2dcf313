//! Any vector format GDAL reads, for `cairn import`: Shapefile, GeoPackage, File Geodatabase, KML,
//! XLSX and more, in any coordinate reference system PROJ knows. GDAL's own `ogr2ogr` (Debian
//! `gdal-bin`) turns the layer into GeoJSON in WGS 84 on a pipe, which the GeoJSON reader then
//! reads as it reads a file: every feature is checked by the same rules. Through the tool rather
//! than a binding, so that building Cairn needs no GDAL headers and the demo runs without GDAL.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::fail::Failure;

/// File name endings read through GDAL (a File Geodatabase is a directory ending in `.gdb`).
pub const EXTENSIONS: &[&str] = &[
    "shp", "gpkg", "gdb", "kml", "kmz", "xlsx", "ods", "gml", "tab", "mif", "fgb", "sqlite", "zip",
];

/// The layers GDAL finds in `path`, by name.
pub fn layers(path: &Path) -> Result<Vec<String>, Failure> {
    let name = path.display();
    let out = Command::new("ogrinfo")
        .args(["-ro", "-q"])
        .arg(path)
        .output()
        .map_err(|e| missing(e, path))?;
    if !out.status.success() {
        return Err(Failure::input(format!(
            "{name}: GDAL cannot read it: {}; nothing was imported",
            first_error(&out.stderr)
        )));
    }
    // Lines like "1: roads (Line String)".
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.trim().split_once(": ")?;
            n.parse::<u32>().ok()?;
            Some(match rest.rfind(" (") {
                Some(i) if rest.ends_with(')') => rest[..i].to_string(),
                _ => rest.to_string(),
            })
        })
        .collect())
}

/// The layer of `path` as GeoJSON in WGS 84 (longitude, latitude), from `crs` if given or else
/// from the file's own; read to the end, it fails if GDAL did (so a file GDAL could not finish
/// imports nothing). `headers`: the first row of a spreadsheet (XLSX, ODS) names its columns,
/// as when columns are named by `--mgrs-column` or a mapping (GDAL otherwise guesses, and takes
/// a sheet of text alone as having no header row).
pub fn open(path: &Path, layer: &str, crs: Option<&str>, headers: bool) -> Result<Ogr, Failure> {
    let mut cmd = Command::new("ogr2ogr");
    cmd.args(["-f", "GeoJSON", "/vsistdout/"])
        .arg(path)
        .arg(layer)
        .args(["-t_srs", "EPSG:4326", "-dim", "XY"])
        .args(["-lco", "RFC7946=YES", "-lco", "COORDINATE_PRECISION=9"])
        .args(["-lco", "WRITE_NAME=NO", "-lco", "ID_FIELD=id"])
        // Longitude first whatever the CRS's own axis order.
        .args(["--config", "OGR_CT_FORCE_TRADITIONAL_GIS_ORDER", "YES"]);
    if let Some(crs) = crs {
        cmd.args(["-s_srs", crs]);
    }
    if headers {
        cmd.args(["--config", "OGR_XLSX_HEADERS", "FORCE"]).args([
            "--config",
            "OGR_ODS_HEADERS",
            "FORCE",
        ]);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        // A CSV's columns typed from their values (numbers, moments), empty cells as no value,
        // and its geometry from WKT or from x/y (easting/northing, lon/lat) columns.
        for oo in [
            "AUTODETECT_TYPE=YES",
            "EMPTY_STRING_AS_NULL=YES",
            "KEEP_GEOM_COLUMNS=NO",
            "GEOM_POSSIBLE_NAMES=wkt,geometry,geom",
            "X_POSSIBLE_NAMES=x,easting,lon,longitude",
            "Y_POSSIBLE_NAMES=y,northing,lat,latitude",
        ] {
            cmd.args(["-oo", oo]);
        }
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing(e, path))?;
    let out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    // Read on a thread of its own, so that a chatty GDAL never blocks on a full pipe.
    let errors = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    Ok(Ogr {
        child,
        out,
        errors: Some(errors),
    })
}

/// `ogr2ogr`'s output; an error at its end if it failed.
pub struct Ogr {
    child: Child,
    out: ChildStdout,
    errors: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Read for Ogr {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.out.read(buf)?;
        if n == 0
            && let Some(errors) = self.errors.take()
        {
            let status = self.child.wait()?;
            let text = errors.join().unwrap_or_default();
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "GDAL failed to read it: {}",
                    first_error(&text)
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for Ogr {
    fn drop(&mut self) {
        // An import stopped early leaves no GDAL behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn missing(e: std::io::Error, path: &Path) -> Failure {
    Failure::input(format!(
        "{}: reading this format needs GDAL's ogr2ogr and ogrinfo (Debian: apt-get install gdal-bin): {e}; nothing was imported",
        path.display()
    ))
}

/// GDAL's first error line, or its whole output when it printed none.
fn first_error(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find(|l| l.starts_with("ERROR"))
        .map(|l| l.trim_start_matches("ERROR 1: ").to_string())
        .unwrap_or_else(|| text.trim().to_string())
}
