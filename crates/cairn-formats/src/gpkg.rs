//! GeoPackage 1.3 writer: feature tables with a geometry column, readable by GDAL and QGIS (a
//! second and later table with [`GpkgWriter::add_layer`] once the first is finished).
//!
//! The writer produces a fresh GeoPackage file holding exactly one feature table in EPSG:4326
//! with a `GEOMETRY` column named `geom`, an integer primary key named `fid`, the caller's
//! attribute columns, and the standard R-tree spatial index (`gpkg_rtree_index` extension).
//!
//! Everything is written in a single SQLite transaction with the rollback journal kept in memory
//! and `synchronous = OFF`, because the file is new: if anything fails, or if the writer is dropped
//! without calling [`GpkgWriter::finish`], the file is incomplete and the caller must delete it.
//! [`GpkgWriter::finish`] flushes the file to disk with `fsync` before it returns.
//!
//! The envelopes are kept in memory (24 bytes per feature) until [`GpkgWriter::finish`], which
//! sorts them along a Hilbert curve and bulk-loads a packed R-tree (see `fill_index`); that takes
//! a fraction of a second for a million features, where inserting them one by one through SQLite
//! takes several seconds. The index maintenance triggers of the GeoPackage 1.3 specification
//! (Annex F.3) are created after that, so that later edits made with GDAL or QGIS keep the index
//! right. Those triggers call the `ST_IsEmpty`, `ST_MinX`, ... SQL functions, which GeoPackage
//! clients such as GDAL register themselves; a plain `sqlite3` shell, which lacks them, can read
//! and delete features but cannot insert or update them.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use geo_types::{Coord, Geometry, LineString, Polygon};
use rusqlite::{Connection, OpenFlags};

/// The SQL type of an attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text, declared `TEXT` (GDAL reads it as `String`).
    Text,
    /// A 64-bit signed integer, declared `INTEGER` (GDAL reads it as `Integer64`).
    Integer,
    /// A 64-bit float, declared `REAL` (GDAL reads it as `Real`).
    Real,
    /// A moment, declared `DATETIME` and given as text in the GeoPackage form
    /// `YYYY-MM-DDTHH:MM:SS.SSSZ` ([`datetime`]); GDAL reads it as `DateTime`.
    DateTime,
}

/// The geometry type a feature table declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryType {
    /// `GEOMETRY`: any type, mixed.
    Any,
    /// `MULTIPOLYGON`: every feature a MultiPolygon (GDAL and QGIS type the layer so).
    MultiPolygon,
    /// `POINT`: every feature a Point.
    Point,
}

impl GeometryType {
    fn sql(self) -> &'static str {
        match self {
            GeometryType::Any => "GEOMETRY",
            GeometryType::MultiPolygon => "MULTIPOLYGON",
            GeometryType::Point => "POINT",
        }
    }

    /// True when `g` is of this type.
    fn admits(self, g: &Geometry<f64>) -> bool {
        match self {
            GeometryType::Any => true,
            GeometryType::MultiPolygon => matches!(g, Geometry::MultiPolygon(_)),
            GeometryType::Point => matches!(g, Geometry::Point(_)),
        }
    }
}

/// A moment as a GeoPackage DATETIME value (UTC, milliseconds).
pub fn datetime(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// An attribute column of the feature table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column name; any text without NUL characters, quoted as an SQL identifier.
    pub name: String,
    /// The column type.
    pub ty: ColumnType,
}

impl Column {
    /// Makes a column description.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Self {
            name: name.into(),
            ty,
        }
    }
}

/// One attribute value of a feature.
///
/// A `Real` value that is NaN is stored by SQLite as NULL. An `Integer` value is accepted for a
/// `Real` column and converted to `f64`; every other mismatch between value and column type is an
/// error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// No value (SQL NULL), valid for every column type.
    Null,
    /// A text value.
    Text(&'a str),
    /// An integer value.
    Integer(i64),
    /// A floating-point value.
    Real(f64),
}

/// An error while writing a GeoPackage.
#[derive(Debug, thiserror::Error)]
pub enum GpkgError {
    /// The target path already exists; the writer only creates new files.
    #[error("{}: the file already exists (a GeoPackage is only written to a new path)", .path.display())]
    AlreadyExists {
        /// The path that exists.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The GeoPackage path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// SQLite reported an error.
    #[error("{}: SQLite error: {source}", .path.display())]
    Sqlite {
        /// The GeoPackage path.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A table or column name cannot be used.
    #[error("{}: invalid {what} name {name:?}: {reason}", .path.display())]
    InvalidName {
        /// The GeoPackage path.
        path: PathBuf,
        /// Whether the name is of the table or of a column.
        what: &'static str,
        /// The rejected name.
        name: String,
        /// Why the name was rejected.
        reason: &'static str,
    },
    /// A feature has a different number of values than the table has columns.
    #[error(
        "{}: feature {feature}: expected {expected} attribute values (one per column), got {got}",
        .path.display()
    )]
    ValueCount {
        /// The GeoPackage path.
        path: PathBuf,
        /// The 1-based number of the rejected feature in the order of `add` calls.
        feature: u64,
        /// The number of columns.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A value does not match the type of its column.
    #[error(
        "{}: feature {feature}: column {column:?} has type {expected:?} but the value is {got}",
        .path.display()
    )]
    TypeMismatch {
        /// The GeoPackage path.
        path: PathBuf,
        /// The 1-based number of the rejected feature in the order of `add` calls.
        feature: u64,
        /// The column name.
        column: String,
        /// The column type.
        expected: ColumnType,
        /// The kind of value that was given.
        got: &'static str,
    },
    /// A geometry cannot be stored.
    #[error("{}: feature {feature}: invalid geometry: {reason}", .path.display())]
    InvalidGeometry {
        /// The GeoPackage path.
        path: PathBuf,
        /// The 1-based number of the rejected feature in the order of `add` calls.
        feature: u64,
        /// What is wrong with the geometry.
        reason: String,
    },
}

/// Writes one GeoPackage file with one feature table; see the module documentation.
#[derive(Debug)]
pub struct GpkgWriter {
    conn: Connection,
    path: PathBuf,
    table: String,
    columns: Vec<Column>,
    insert_sql: String,
    index: Vec<Cell>,
    extent: Option<Envelope>,
    count: u64,
    blob: Vec<u8>,
    geometry_type: GeometryType,
}

impl GpkgWriter {
    /// Creates a new GeoPackage at `path` (the file must not exist) with one feature table `table`, SRS EPSG:4326,
    /// geometry column `geom` of type GEOMETRY (mixed Polygon, MultiPolygon, Point, LineString), and the given attribute columns.
    ///
    /// The feature table also has the integer primary key column `fid`, so no attribute column may be
    /// called `fid` or `geom` (compared case-insensitively, as SQLite does). The table name must not
    /// start with `gpkg_` or `sqlite_`. `description` goes to `gpkg_contents.description`, and the
    /// table name doubles as `gpkg_contents.identifier`.
    pub fn create(
        path: &Path,
        table: &str,
        description: &str,
        columns: &[Column],
    ) -> Result<Self, GpkgError> {
        Self::create_typed(path, table, description, GeometryType::Any, columns)
    }

    /// As [`GpkgWriter::create`], with the geometry column declared `geometry_type`; `add` then
    /// refuses a geometry of another type.
    pub fn create_typed(
        path: &Path,
        table: &str,
        description: &str,
        geometry_type: GeometryType,
        columns: &[Column],
    ) -> Result<Self, GpkgError> {
        validate_names(path, table, columns)?;

        // Creating the file with `create_new` makes the existence check and the creation one atomic
        // step; SQLite then treats the empty file as an empty database.
        if let Err(source) = OpenOptions::new().write(true).create_new(true).open(path) {
            return Err(if source.kind() == io::ErrorKind::AlreadyExists {
                GpkgError::AlreadyExists {
                    path: path.to_path_buf(),
                }
            } else {
                GpkgError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            });
        }
        Self::open_layer(path, table, description, geometry_type, columns, true)
    }

    /// Adds another feature table to a GeoPackage this writer made and finished; written and
    /// finished as the first.
    pub fn add_layer(
        path: &Path,
        table: &str,
        description: &str,
        geometry_type: GeometryType,
        columns: &[Column],
    ) -> Result<Self, GpkgError> {
        validate_names(path, table, columns)?;
        Self::open_layer(path, table, description, geometry_type, columns, false)
    }

    fn open_layer(
        path: &Path,
        table: &str,
        description: &str,
        geometry_type: GeometryType,
        columns: &[Column],
        new_file: bool,
    ) -> Result<Self, GpkgError> {
        let sqlite = |source| GpkgError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        // The bundled SQLite treats names starting with `file:` as URIs, so it is given the
        // absolute path, which never starts that way. Without SQLITE_OPEN_CREATE it can only open
        // the file made above.
        let absolute = std::path::absolute(path).map_err(|source| GpkgError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let conn = Connection::open_with_flags(
            &absolute,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.execute_batch(
            "PRAGMA journal_mode = MEMORY;
             PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32768;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(sqlite)?;
        conn.execute_batch("BEGIN EXCLUSIVE").map_err(sqlite)?;
        if new_file {
            create_core(&conn).map_err(sqlite)?;
        }
        create_layer(&conn, table, description, geometry_type, columns).map_err(sqlite)?;

        let insert_sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(table),
            std::iter::once(GEOM_COLUMN)
                .chain(columns.iter().map(|c| c.name.as_str()))
                .map(quote_ident)
                .collect::<Vec<_>>()
                .join(", "),
            (1..=columns.len() + 1)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        // Checking the statement now reports a schema problem at creation, not at the first feature.
        conn.prepare_cached(&insert_sql).map_err(sqlite)?;

        Ok(Self {
            conn,
            path: path.to_path_buf(),
            table: table.to_owned(),
            columns: columns.to_vec(),
            insert_sql,
            index: Vec::new(),
            extent: None,
            count: 0,
            blob: Vec::with_capacity(1024),
            geometry_type,
        })
    }

    /// Adds one feature; values are in column order. Returns the fid.
    ///
    /// Coordinates must be finite. Empty geometries (an empty line string, polygon, multi-geometry
    /// or collection) are stored with the GeoPackage empty flag and are not put in the spatial index.
    pub fn add(
        &mut self,
        geometry: &geo_types::Geometry<f64>,
        values: &[Value<'_>],
    ) -> Result<i64, GpkgError> {
        let feature = self.count + 1;
        if values.len() != self.columns.len() {
            return Err(GpkgError::ValueCount {
                path: self.path.clone(),
                feature,
                expected: self.columns.len(),
                got: values.len(),
            });
        }
        for (column, value) in self.columns.iter().zip(values) {
            let fits = matches!(
                (column.ty, value),
                (_, Value::Null)
                    | (ColumnType::Text, Value::Text(_))
                    | (ColumnType::Integer, Value::Integer(_))
                    | (ColumnType::Real, Value::Real(_) | Value::Integer(_))
                    | (ColumnType::DateTime, Value::Text(_))
            );
            if !fits {
                return Err(GpkgError::TypeMismatch {
                    path: self.path.clone(),
                    feature,
                    column: column.name.clone(),
                    expected: column.ty,
                    got: value_kind(value),
                });
            }
        }

        if !self.geometry_type.admits(geometry) {
            return Err(GpkgError::InvalidGeometry {
                path: self.path.clone(),
                feature,
                reason: format!("this layer holds {} only", self.geometry_type.sql()),
            });
        }
        let envelope = encode_geometry(geometry, &mut self.blob).map_err(|reason| {
            GpkgError::InvalidGeometry {
                path: self.path.clone(),
                feature,
                reason,
            }
        })?;

        let fid = self
            .insert_row(values)
            .map_err(|source| GpkgError::Sqlite {
                path: self.path.clone(),
                source,
            })?;

        if let Some(env) = envelope {
            self.index.push(Cell {
                id: fid,
                minx: f32_down(env.minx),
                maxx: f32_up(env.maxx),
                miny: f32_down(env.miny),
                maxy: f32_up(env.maxy),
            });
            self.extent = Some(match self.extent {
                Some(total) => total.union(&env),
                None => env,
            });
        }
        self.count = feature;
        Ok(fid)
    }

    /// Writes the extent to gpkg_contents, fills the R-tree spatial index, commits, and closes the file.
    pub fn finish(self) -> Result<u64 /* features written */, GpkgError> {
        let Self {
            conn,
            path,
            table,
            mut index,
            extent,
            count,
            ..
        } = self;
        let sqlite = |source| GpkgError::Sqlite {
            path: path.clone(),
            source,
        };

        if let Some(extent) = extent {
            sort_by_hilbert(&mut index, &extent);
        }
        fill_index(&conn, &table, index).map_err(sqlite)?;
        create_index_triggers(&conn, &table).map_err(sqlite)?;
        conn.execute(
            "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4,
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE table_name = ?5",
            rusqlite::params![
                extent.map(|e| e.minx),
                extent.map(|e| e.miny),
                extent.map(|e| e.maxx),
                extent.map(|e| e.maxy),
                table,
            ],
        )
        .map_err(sqlite)?;
        conn.execute_batch("COMMIT").map_err(sqlite)?;
        conn.close().map_err(|(_, source)| sqlite(source))?;

        // With `synchronous = OFF` SQLite never calls fsync, so the finished file is flushed here.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|file| file.sync_all())
            .map_err(|source| GpkgError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(count)
    }

    /// Binds the encoded geometry (in `self.blob`) and the values, inserts the row and returns its fid.
    fn insert_row(&self, values: &[Value<'_>]) -> rusqlite::Result<i64> {
        let mut stmt = self.conn.prepare_cached(&self.insert_sql)?;
        stmt.raw_bind_parameter(1, self.blob.as_slice())?;
        for (i, (column, value)) in self.columns.iter().zip(values).enumerate() {
            let index = i + 2;
            match *value {
                Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null)?,
                Value::Text(text) => stmt.raw_bind_parameter(index, text)?,
                Value::Integer(int) if column.ty == ColumnType::Real => {
                    stmt.raw_bind_parameter(index, int as f64)?
                }
                Value::Integer(int) => stmt.raw_bind_parameter(index, int)?,
                Value::Real(real) => stmt.raw_bind_parameter(index, real)?,
            }
        }
        stmt.raw_execute()?;
        Ok(self.conn.last_insert_rowid())
    }
}

/// The name of the integer primary key column.
const FID_COLUMN: &str = "fid";

/// The name of the geometry column.
const GEOM_COLUMN: &str = "geom";

/// The EPSG code of the only spatial reference system used.
const SRS_ID: i32 = 4326;

/// The OGC WKT definition of EPSG:4326 (WGS 84), as GDAL writes it to `gpkg_spatial_ref_sys`.
const WGS84_WKT: &str = concat!(
    r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,"#,
    r#"AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],"#,
    r#"PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],"#,
    r#"UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],"#,
    r#"AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#,
);

/// The GeoPackage `application_id`, the ASCII bytes "GPKG".
const APPLICATION_ID: i32 = 0x4750_4B47;

/// The GeoPackage `user_version` for version 1.3.0.
const USER_VERSION: i32 = 10300;

/// The mandatory GeoPackage tables and the extensions table, as defined in Annex C of the specification.
const CORE_SCHEMA: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
";

/// The bounding box of a non-empty geometry.
#[derive(Debug, Clone, Copy)]
struct Envelope {
    minx: f64,
    maxx: f64,
    miny: f64,
    maxy: f64,
}

impl Envelope {
    fn union(&self, other: &Envelope) -> Envelope {
        Envelope {
            minx: self.minx.min(other.minx),
            maxx: self.maxx.max(other.maxx),
            miny: self.miny.min(other.miny),
            maxy: self.maxy.max(other.maxy),
        }
    }
}

/// An R-tree cell: a feature's fid and envelope in a leaf node, or a child node's number and
/// envelope in an inner node. The bounds are rounded outward to `f32`, the precision SQLite's
/// R-tree stores, which also halves the memory the collected leaf cells take until `finish`.
#[derive(Debug, Clone, Copy)]
struct Cell {
    id: i64,
    minx: f32,
    maxx: f32,
    miny: f32,
    maxy: f32,
}

impl Cell {
    /// The smallest box holding all `cells`, with `id` as its identifier.
    fn enclosing(id: i64, cells: &[Cell]) -> Cell {
        cells.iter().fold(
            Cell {
                id,
                minx: f32::INFINITY,
                maxx: f32::NEG_INFINITY,
                miny: f32::INFINITY,
                maxy: f32::NEG_INFINITY,
            },
            |acc, cell| Cell {
                id,
                minx: acc.minx.min(cell.minx),
                maxx: acc.maxx.max(cell.maxx),
                miny: acc.miny.min(cell.miny),
                maxy: acc.maxy.max(cell.maxy),
            },
        )
    }
}

/// Quotes `name` as an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The name of the R-tree virtual table of `table`.
fn rtree_name(table: &str) -> String {
    format!("rtree_{table}_{GEOM_COLUMN}")
}

/// Checks the table and column names before anything is written.
fn validate_names(path: &Path, table: &str, columns: &[Column]) -> Result<(), GpkgError> {
    let invalid = |what: &'static str, name: &str, reason: &'static str| GpkgError::InvalidName {
        path: path.to_path_buf(),
        what,
        name: name.to_owned(),
        reason,
    };
    let lower_table = table.to_ascii_lowercase();
    if table.is_empty() {
        return Err(invalid("table", table, "the name is empty"));
    }
    if table.contains('\0') {
        return Err(invalid("table", table, "the name contains a NUL character"));
    }
    if lower_table.starts_with("gpkg_") || lower_table.starts_with("sqlite_") {
        return Err(invalid(
            "table",
            table,
            "names starting with gpkg_ or sqlite_ are reserved",
        ));
    }
    let mut seen: Vec<String> = vec![FID_COLUMN.to_owned(), GEOM_COLUMN.to_owned()];
    for column in columns {
        let name = column.name.as_str();
        if name.is_empty() {
            return Err(invalid("column", name, "the name is empty"));
        }
        if name.contains('\0') {
            return Err(invalid("column", name, "the name contains a NUL character"));
        }
        // SQLite compares identifiers case-insensitively for ASCII letters only.
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(invalid(
                "column",
                name,
                "the name is used twice (fid and geom are taken by the writer)",
            ));
        }
        seen.push(lower);
    }
    Ok(())
}

/// Creates the GeoPackage tables and the spatial reference systems.
fn create_core(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", USER_VERSION)?;
    conn.execute_batch(CORE_SCHEMA)?;

    let mut srs = conn.prepare(
        "INSERT INTO gpkg_spatial_ref_sys
           (srs_name, srs_id, organization, organization_coordsys_id, definition, description)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    srs.execute(rusqlite::params![
        "Undefined Cartesian SRS",
        -1,
        "NONE",
        -1,
        "undefined",
        "undefined Cartesian coordinate reference system",
    ])?;
    srs.execute(rusqlite::params![
        "Undefined geographic SRS",
        0,
        "NONE",
        0,
        "undefined",
        "undefined geographic coordinate reference system",
    ])?;
    srs.execute(rusqlite::params![
        "WGS 84 geodetic",
        SRS_ID,
        "EPSG",
        SRS_ID,
        WGS84_WKT,
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ])?;

    Ok(())
}

/// Creates a feature table and its empty R-tree, and registers them.
fn create_layer(
    conn: &Connection,
    table: &str,
    description: &str,
    geometry_type: GeometryType,
    columns: &[Column],
) -> rusqlite::Result<()> {
    let mut ddl = format!(
        "CREATE TABLE {} ({} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {} {}",
        quote_ident(table),
        quote_ident(FID_COLUMN),
        quote_ident(GEOM_COLUMN),
        geometry_type.sql(),
    );
    for column in columns {
        let ty = match column.ty {
            ColumnType::Text => "TEXT",
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::DateTime => "DATETIME",
        };
        ddl.push_str(&format!(", {} {ty}", quote_ident(&column.name)));
    }
    ddl.push(')');
    conn.execute_batch(&ddl)?;

    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3)",
        rusqlite::params![table, description, SRS_ID],
    )?;
    conn.execute(
        "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
         VALUES (?1, ?2, ?3, ?4, 0, 0)",
        rusqlite::params![table, GEOM_COLUMN, geometry_type.sql(), SRS_ID],
    )?;
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy)",
        quote_ident(&rtree_name(table)),
    ))?;
    conn.execute(
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
         VALUES (?1, ?2, 'gpkg_rtree_index', 'http://www.geopackage.org/spec130/#extension_rtree',
                 'write-only')",
        rusqlite::params![table, GEOM_COLUMN],
    )?;
    Ok(())
}

/// The size of one R-tree cell on disk: an 8-byte id and four 4-byte coordinates.
const CELL_BYTES: usize = 24;

/// The most cells SQLite accepts in one R-tree node, whatever the node size.
const MAX_CELLS_PER_NODE: usize = 51;

/// Bulk-loads the R-tree from `leaves`, which must be sorted along a space-filling curve.
///
/// Inserting a million rows one by one through the R-tree virtual table takes seconds, because
/// SQLite runs the R*-tree insertion algorithm for each. Instead, this builds a packed R-tree
/// bottom-up (consecutive runs of leaves form the leaf nodes, runs of those form the next level,
/// up to the root) and writes it directly to the virtual table's shadow tables `<rtree>_node`,
/// `<rtree>_rowid` and `<rtree>_parent`, in the on-disk format documented at the top of SQLite's
/// `rtree.c`: each node is a blob of the node size fixed when the table was created, starting with
/// the tree depth (root only) and the cell count as big-endian 16-bit integers, followed by the
/// cells as a big-endian 64-bit id and four big-endian 32-bit floats. Recent GDAL versions build
/// their GeoPackage R-trees the same way (GDAL pull request 8596, `sqlite_rtree_bulk_load`). The
/// result is an ordinary R-tree that SQLite, GDAL and QGIS query and update as usual, and that
/// SQLite's `rtreecheck()` accepts.
fn fill_index(conn: &Connection, table: &str, leaves: Vec<Cell>) -> rusqlite::Result<()> {
    if leaves.is_empty() {
        // The empty root node that SQLite made with the table is already a valid empty R-tree.
        return Ok(());
    }
    let rtree = rtree_name(table);
    let node_table = quote_ident(&format!("{rtree}_node"));
    let rowid_table = quote_ident(&format!("{rtree}_rowid"));
    let parent_table = quote_ident(&format!("{rtree}_parent"));

    // SQLite sizes the nodes from the page size when it creates the table; the empty root node
    // it wrote then has that size.
    let node_size: i64 = conn.query_row(
        &format!("SELECT length(data) FROM {node_table} WHERE nodeno = 1"),
        [],
        |row| row.get(0),
    )?;
    let node_size = usize::try_from(node_size).unwrap_or(0);
    let capacity = (node_size.saturating_sub(4) / CELL_BYTES).min(MAX_CELLS_PER_NODE);
    if capacity < 2 {
        // No SQLite build makes nodes this small; should one ever do, take the slow, safe path.
        return insert_through_rtree(conn, &rtree, &leaves);
    }

    let mut write_node = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {node_table} (nodeno, data) VALUES (?1, ?2)"
    ))?;
    let mut write_parent = conn.prepare_cached(&format!(
        "INSERT INTO {parent_table} (nodeno, parentnode) VALUES (?1, ?2)"
    ))?;
    let mut leaf_of: Vec<(i64, i64)> = Vec::with_capacity(leaves.len());
    let mut blob = vec![0u8; node_size];
    // Node 1 is the root; the other nodes are numbered from 2 as they are made.
    let mut next_node: i64 = 2;
    let mut depth: u16 = 0;
    let mut level = leaves;
    loop {
        if level.len() <= capacity {
            encode_node(&mut blob, depth, &level);
            write_node.execute(rusqlite::params![1, blob])?;
            record_children(&mut leaf_of, &mut write_parent, depth, &level, 1)?;
            break;
        }
        // Spreading the cells evenly avoids a nearly empty last node on each level.
        let nodes = level.len().div_ceil(capacity);
        let (base, extra) = (level.len() / nodes, level.len() % nodes);
        let mut parents = Vec::with_capacity(nodes);
        let mut start = 0;
        for k in 0..nodes {
            let end = start + base + usize::from(k < extra);
            let cells = &level[start..end];
            let nodeno = next_node;
            next_node += 1;
            encode_node(&mut blob, 0, cells);
            write_node.execute(rusqlite::params![nodeno, blob])?;
            record_children(&mut leaf_of, &mut write_parent, depth, cells, nodeno)?;
            parents.push(Cell::enclosing(nodeno, cells));
            start = end;
        }
        level = parents;
        depth += 1;
    }

    // Inserting the rowid map in fid order appends to its B-tree instead of splitting pages.
    leaf_of.sort_unstable();
    let mut write_rowid = conn.prepare_cached(&format!(
        "INSERT INTO {rowid_table} (rowid, nodeno) VALUES (?1, ?2)"
    ))?;
    for (fid, nodeno) in leaf_of {
        write_rowid.raw_bind_parameter(1, fid)?;
        write_rowid.raw_bind_parameter(2, nodeno)?;
        write_rowid.raw_execute()?;
    }
    Ok(())
}

/// Inserts `leaves` one by one through the R-tree virtual table.
fn insert_through_rtree(conn: &Connection, rtree: &str, leaves: &[Cell]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {} (id, minx, maxx, miny, maxy) VALUES (?1, ?2, ?3, ?4, ?5)",
        quote_ident(rtree),
    ))?;
    for cell in leaves {
        stmt.raw_bind_parameter(1, cell.id)?;
        stmt.raw_bind_parameter(2, f64::from(cell.minx))?;
        stmt.raw_bind_parameter(3, f64::from(cell.maxx))?;
        stmt.raw_bind_parameter(4, f64::from(cell.miny))?;
        stmt.raw_bind_parameter(5, f64::from(cell.maxy))?;
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Records that `cells` live in node `nodeno`: leaf cells (at depth 0) go to the fid-to-leaf list,
/// and child nodes get a row in the parent table.
fn record_children(
    leaf_of: &mut Vec<(i64, i64)>,
    write_parent: &mut rusqlite::CachedStatement<'_>,
    depth: u16,
    cells: &[Cell],
    nodeno: i64,
) -> rusqlite::Result<()> {
    if depth == 0 {
        leaf_of.extend(cells.iter().map(|cell| (cell.id, nodeno)));
        return Ok(());
    }
    for cell in cells {
        write_parent.raw_bind_parameter(1, cell.id)?;
        write_parent.raw_bind_parameter(2, nodeno)?;
        write_parent.raw_execute()?;
    }
    Ok(())
}

/// Writes one R-tree node into `blob` (whose length is the node size): the depth (meaningful on
/// the root only), the cell count, then the cells, all big-endian; the rest is zero.
fn encode_node(blob: &mut [u8], depth: u16, cells: &[Cell]) {
    blob.fill(0);
    blob[0..2].copy_from_slice(&depth.to_be_bytes());
    // The count fits: callers never pass more than MAX_CELLS_PER_NODE cells.
    blob[2..4].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    for (cell, out) in cells.iter().zip(blob[4..].chunks_exact_mut(CELL_BYTES)) {
        out[0..8].copy_from_slice(&cell.id.to_be_bytes());
        out[8..12].copy_from_slice(&cell.minx.to_be_bytes());
        out[12..16].copy_from_slice(&cell.maxx.to_be_bytes());
        out[16..20].copy_from_slice(&cell.miny.to_be_bytes());
        out[20..24].copy_from_slice(&cell.maxy.to_be_bytes());
    }
}

/// Creates the R-tree maintenance triggers of the GeoPackage 1.3 specification, Annex F.3.
///
/// They are created only after the writer's own inserts, because they call the `ST_*` SQL
/// functions that GeoPackage clients provide and this writer does not. The file declares version
/// 1.3, so it carries the 1.3 set (`insert`, `update1` to `update4`, `delete`), the same set GDAL
/// 3.6 writes and its `validate_gpkg.py` requires; GeoPackage 1.4 later replaced `update1` and
/// `update3` by `update5` to `update7` so that SQLite UPSERT statements work on indexed tables.
fn create_index_triggers(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    let rtree = rtree_name(table);
    let t = quote_ident(table);
    let r = quote_ident(&rtree);
    let c = quote_ident(GEOM_COLUMN);
    let i = quote_ident(FID_COLUMN);
    let name = |suffix: &str| quote_ident(&format!("{rtree}_{suffix}"));
    let insert_new = format!(
        "INSERT OR REPLACE INTO {r} VALUES (NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), \
         ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));"
    );
    let sql = format!(
        "CREATE TRIGGER {insert} AFTER INSERT ON {t}
           WHEN (NEW.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c}))
         BEGIN {insert_new} END;
         CREATE TRIGGER {update1} AFTER UPDATE OF {c} ON {t}
           WHEN OLD.{i} = NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
         BEGIN {insert_new} END;
         CREATE TRIGGER {update2} AFTER UPDATE OF {c} ON {t}
           WHEN OLD.{i} = NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;
         CREATE TRIGGER {update3} AFTER UPDATE ON {t}
           WHEN OLD.{i} != NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; {insert_new} END;
         CREATE TRIGGER {update4} AFTER UPDATE ON {t}
           WHEN OLD.{i} != NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
         BEGIN DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i}); END;
         CREATE TRIGGER {delete} AFTER DELETE ON {t}
           WHEN OLD.{c} NOT NULL
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;",
        insert = name("insert"),
        update1 = name("update1"),
        update2 = name("update2"),
        update3 = name("update3"),
        update4 = name("update4"),
        delete = name("delete"),
    );
    conn.execute_batch(&sql)
}

/// Encodes `geometry` as a GeoPackage geometry blob into `out` and returns its envelope, or
/// `None` for an empty geometry.
///
/// The blob is the GeoPackage binary header (magic "GP", version 0, flags, srs_id, and for a
/// non-empty geometry the `[minx, maxx, miny, maxy]` envelope) followed by little-endian ISO WKB.
fn encode_geometry(
    geometry: &Geometry<f64>,
    out: &mut Vec<u8>,
) -> Result<Option<Envelope>, String> {
    let envelope = envelope_of(geometry)?;
    out.clear();
    out.extend_from_slice(b"GP");
    out.push(0);
    // Flags: bit 0 is the byte order (1 = little-endian), bits 1 to 3 the envelope indicator
    // (1 = [minx, maxx, miny, maxy], 0 = none), bit 4 the empty flag, bit 5 the extended type (0).
    match envelope {
        Some(_) => out.push(0b0000_0011),
        None => out.push(0b0001_0001),
    }
    out.extend_from_slice(&SRS_ID.to_le_bytes());
    if let Some(env) = envelope {
        for value in [env.minx, env.maxx, env.miny, env.maxy] {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    wkb::writer::write_geometry(out, geometry, &options)
        .map_err(|err| format!("WKB encoding failed: {err}"))?;
    Ok(envelope)
}

/// Computes the envelope of all coordinates, checking that they are finite and that no polygon
/// has holes without an exterior ring.
fn envelope_of(geometry: &Geometry<f64>) -> Result<Option<Envelope>, String> {
    let mut acc = EnvelopeAcc::default();
    acc.geometry(geometry)?;
    Ok(acc.envelope)
}

/// Accumulates an envelope while walking a geometry.
#[derive(Default)]
struct EnvelopeAcc {
    envelope: Option<Envelope>,
}

impl EnvelopeAcc {
    fn coord(&mut self, c: &Coord<f64>) -> Result<(), String> {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(format!("coordinate ({}, {}) is not finite", c.x, c.y));
        }
        let point = Envelope {
            minx: c.x,
            maxx: c.x,
            miny: c.y,
            maxy: c.y,
        };
        self.envelope = Some(match self.envelope {
            Some(env) => env.union(&point),
            None => point,
        });
        Ok(())
    }

    fn line_string(&mut self, line: &LineString<f64>) -> Result<(), String> {
        line.0.iter().try_for_each(|c| self.coord(c))
    }

    fn polygon(&mut self, polygon: &Polygon<f64>) -> Result<(), String> {
        if polygon.exterior().0.is_empty() && polygon.interiors().iter().any(|r| !r.0.is_empty()) {
            return Err("a polygon has interior rings but an empty exterior ring".to_owned());
        }
        self.line_string(polygon.exterior())?;
        polygon
            .interiors()
            .iter()
            .try_for_each(|ring| self.line_string(ring))
    }

    fn geometry(&mut self, geometry: &Geometry<f64>) -> Result<(), String> {
        match geometry {
            Geometry::Point(p) => self.coord(&p.0),
            Geometry::Line(l) => {
                self.coord(&l.start)?;
                self.coord(&l.end)
            }
            Geometry::LineString(ls) => self.line_string(ls),
            Geometry::Polygon(p) => self.polygon(p),
            Geometry::MultiPoint(mp) => mp.0.iter().try_for_each(|p| self.coord(&p.0)),
            Geometry::MultiLineString(ml) => ml.0.iter().try_for_each(|l| self.line_string(l)),
            Geometry::MultiPolygon(mp) => mp.0.iter().try_for_each(|p| self.polygon(p)),
            Geometry::GeometryCollection(gc) => gc.0.iter().try_for_each(|g| self.geometry(g)),
            Geometry::Rect(r) => {
                self.coord(&r.min())?;
                self.coord(&r.max())
            }
            Geometry::Triangle(t) => t.to_array().iter().try_for_each(|c| self.coord(c)),
        }
    }
}

/// Rounds `x` to the largest `f32` not above it.
fn f32_down(x: f64) -> f32 {
    let rounded = x as f32;
    if f64::from(rounded) > x {
        rounded.next_down()
    } else {
        rounded
    }
}

/// Rounds `x` to the smallest `f32` not below it.
fn f32_up(x: f64) -> f32 {
    let rounded = x as f32;
    if f64::from(rounded) < x {
        rounded.next_up()
    } else {
        rounded
    }
}

/// Sorts the index entries along a Hilbert curve through their centres, so that the R-tree is
/// built from spatially close neighbours one after another.
fn sort_by_hilbert(index: &mut [Cell], extent: &Envelope) {
    const CELLS: f64 = 65535.0;
    let width = extent.maxx - extent.minx;
    let height = extent.maxy - extent.miny;
    let scale = |value: f64, min: f64, size: f64| -> u32 {
        if size > 0.0 {
            // Clamped: an entry's bounds are f32, rounded outward, so its centre may lie beyond
            // the f64 extent by far more than a cell when the extent is small (a fuzz case).
            ((value - min) / size * CELLS).clamp(0.0, CELLS) as u32
        } else {
            0
        }
    };
    index.sort_by_cached_key(|entry| {
        let cx = (f64::from(entry.minx) + f64::from(entry.maxx)) / 2.0;
        let cy = (f64::from(entry.miny) + f64::from(entry.maxy)) / 2.0;
        hilbert_index(
            scale(cx, extent.minx, width),
            scale(cy, extent.miny, height),
        )
    });
}

/// The distance along a Hilbert curve of order 16 of the cell (`x`, `y`), both below 65536.
fn hilbert_index(x: u32, y: u32) -> u64 {
    cairn_core::hilbert::distance(16, u64::from(x), u64::from(y))
}

/// A short name of the kind of `value`, for error messages.
fn value_kind(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Text(_) => "Text",
        Value::Integer(_) => "Integer",
        Value::Real(_) => "Real",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feature's f32 bounds, rounded outward, may put its centre beyond a small f64 extent by
    /// many cells: its Hilbert cell is the last one, not one past the curve (found by the fuzz
    /// test `gpkg_generated_features_read_back_by_gdal`).
    #[test]
    fn an_entry_beyond_a_tiny_extent_sorts_in_the_last_cell() {
        let extent = Envelope {
            minx: 30.0,
            maxx: 30.000_000_1,
            miny: 50.0,
            maxy: 50.000_000_1,
        };
        let mut index = vec![
            Cell {
                id: 1,
                minx: 30.000_004,
                maxx: 30.000_004,
                miny: 50.000_004,
                maxy: 50.000_004,
            },
            Cell {
                id: 2,
                minx: 30.0,
                maxx: 30.0,
                miny: 50.0,
                maxy: 50.0,
            },
        ];
        assert!(f64::from(index[0].minx) > extent.maxx + (extent.maxx - extent.minx));
        sort_by_hilbert(&mut index, &extent);
        assert_eq!(index.iter().map(|c| c.id).collect::<Vec<_>>(), [2, 1]);
    }
}
