//! `cairn import`: a GeoJSON or CSV file into the store, all or nothing.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use cairn_core::command::{Actor, Command};
use cairn_core::{HazardArea, Problem};
use cairn_formats::geojson::{self, Raw, ReadError, ReadFeature};
use cairn_formats::record::build_record;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore, Store, WriteError};

use crate::Cli;
use crate::fail::{CmdResult, Failure};
use crate::progress;

/// Arguments of `cairn import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file: a GeoJSON FeatureCollection (.geojson, .json), CSV (.csv), or any vector format
    /// GDAL reads (Shapefile, GeoPackage, File Geodatabase, KML, XLSX…; needs gdal-bin).
    pub file: PathBuf,
    /// Store the valid features and write the rejected ones beside the input.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Who makes the change (default: $CAIRN_AUTHOR, else the login name).
    #[arg(long)]
    pub author: Option<String>,
    /// Why (default: "import of FILE").
    #[arg(long)]
    pub reason: Option<String>,
    /// The file's format when its name does not tell (gdal: through GDAL).
    #[arg(long, value_parser = ["geojson", "csv", "gdal"])]
    pub format: Option<String>,
    /// The coordinate reference system of the file's coordinates (EPSG:32636 for UTM zone 36N,
    /// EPSG:28407 for SK-42 Gauss–Krüger zone 7, any PROJ definition), where the file does not
    /// name it or names it wrongly; read through GDAL and transformed to WGS 84.
    #[arg(long)]
    pub crs: Option<String>,
    /// The layer to import from a file with several (GeoPackage, File Geodatabase, KML).
    #[arg(long)]
    pub layer: Option<String>,
    /// A column (or property) of MGRS references giving each row's position: the square the
    /// reference names becomes the hazard's outline (a spot's radius grows to cover it).
    #[arg(long, value_name = "NAME")]
    pub mgrs_column: Option<String>,
    /// A TOML file turning another system's fields, codes and statuses into Cairn's.
    #[arg(long, value_name = "MAP.toml")]
    pub mapping: Option<PathBuf>,
    /// List what would be created, changed or refused (with the reason), and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Most problems printed; the rest are counted.
const MAX_PRINTED: usize = 200;

struct Rejected {
    label: String,
    problems: Vec<Problem>,
    raw: Raw,
}

/// Runs the import.
pub fn run(cli: &Cli, args: &Args) -> CmdResult {
    let path = &args.file;
    let name = path.display().to_string();
    let catalogue = cli.catalogue()?;
    let adapt = cairn_formats::adapt::Adapt {
        mgrs_column: args.mgrs_column.clone(),
        mapping: match &args.mapping {
            None => None,
            Some(m) => {
                let text = std::fs::read_to_string(m)
                    .map_err(|e| Failure::input(format!("{}: cannot read: {e}", m.display())))?;
                Some(
                    cairn_formats::adapt::Mapping::parse(
                        &m.display().to_string(),
                        &text,
                        &catalogue,
                    )
                    .map_err(|e| Failure::input(format!("{e}; nothing was imported")))?,
                )
            }
        },
    };
    let format = match detect_format(path, args.format.as_deref())? {
        // Coordinates in another CRS are transformed by GDAL, whatever the format.
        _ if args.crs.is_some() => Format::Gdal,
        f => f,
    };
    let (source, len): (Box<dyn Read + Send>, u64) = if format == Format::Gdal {
        let layer = match &args.layer {
            Some(l) => l.clone(),
            None => {
                let all = super::gdal_source::layers(path)?;
                match &all[..] {
                    [one] => one.clone(),
                    [] => {
                        return Err(Failure::input(format!(
                            "{name}: GDAL finds no layer in it; nothing was imported"
                        )));
                    }
                    many => {
                        return Err(Failure::input(format!(
                            "{name}: it has {} layers ({}); name one with --layer; nothing was imported",
                            many.len(),
                            many.join(", ")
                        )));
                    }
                }
            }
        };
        let source =
            super::gdal_source::open(path, &layer, args.crs.as_deref(), adapt.is_active())?;
        (Box::new(source), 0)
    } else {
        let file =
            File::open(path).map_err(|e| Failure::input(format!("{name}: cannot open: {e}")))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(file), len)
    };
    let db = cli.db_file();
    let created = db.as_ref().is_some_and(|db| !db.exists());
    let result = import_into(cli, args, format, source, len, &name, catalogue, adapt);
    let empty = |db: &Path| {
        SqliteStore::open(db, OpenMode::ReadOnly)
            .and_then(|s| s.stats())
            // Nothing but the shipped catalogue that creating the store recorded.
            .map(|s| s.revisions == 0 && s.changesets <= 1)
            .unwrap_or(false)
    };
    if let Some(db) = db.filter(|db| (result.is_err() || args.dry_run) && created && empty(db)) {
        // A store file that this failed import created holds nothing: leave no file behind.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn import_into(
    cli: &Cli,
    args: &Args,
    format: Format,
    file: Box<dyn Read + Send>,
    len: u64,
    name: &str,
    catalogue: cairn_core::Catalogue,
    adapt: cairn_formats::adapt::Adapt,
) -> CmdResult {
    let path = &args.file;
    let mut store = super::open_store(cli, OpenMode::Create)?;
    let meta = ChangeMeta {
        author: args.author.clone().unwrap_or_else(super::default_author),
        reason: args
            .reason
            .clone()
            .unwrap_or_else(|| format!("import of {}", file_name(path))),
        source: Some(file_name(path)),
    };
    if meta.author.trim().is_empty() || meta.reason.trim().is_empty() {
        return Err(Failure::input("--author and --reason must not be empty"));
    }
    let now = chrono::Utc::now();
    let bar = progress::bar(len, true, "importing");
    // Count below the buffer, so that the bar moves once per megabyte, not once per byte.
    let reader = BufReader::with_capacity(
        1 << 20,
        progress::Counting {
            inner: file,
            bar: bar.clone(),
        },
    );
    // A UTF-8 byte-order mark, as some Windows tools write, is not part of the JSON.
    let mut reader = reader;
    if let Ok(buf) = std::io::BufRead::fill_buf(&mut reader)
        && buf.starts_with(&[0xEF, 0xBB, 0xBF])
    {
        std::io::BufRead::consume(&mut reader, 3);
    }
    // Two stages on two cores: this thread writes to the store while a second one reads,
    // parses and validates. A bounded channel keeps memory flat whatever the file's size.
    let mut tx = store.begin(meta)?;
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(CHANNEL_BATCHES);
    let thread_name = name.to_string();
    let parser = std::thread::spawn(move || {
        parse_file(reader, format, thread_name, catalogue, now, send, adapt)
    });
    let mut rejected: Vec<Rejected> = Vec::new();
    // For a dry run: what each feature would do, in file order.
    let mut planned: Vec<(u64, String)> = Vec::new();
    let mut write_error = None;
    for msg in receive.iter().flatten() {
        match msg {
            Parsed::Valid(c, number, csv_row) => {
                let given_id = c.id.is_some();
                let given = c.id.clone();
                // New records are existing data migrated (any state, provenance in the
                // changeset); over an existing record an import is an edit, checked by the same
                // rules as every other door.
                let put = match c.id {
                    Some(id) => Ok(id),
                    None => tx.new_area_id(),
                }
                .map_err(WriteError::Store)
                .map(|id| HazardArea {
                    id,
                    shape: c.shape,
                    props: c.props,
                });
                let put =
                    put.and_then(
                        |a| match tx.write_area(Command::Migrate, Actor::ADMIN, &a) {
                            Err(WriteError::Refused(r)) => {
                                // The refused feature as the file gave it, for the rejects file: a CSV
                                // row as read, a GeoJSON feature written back from what was parsed (its
                                // raw JSON is not carried to this thread: freeing it here made the two
                                // threads contend for malloc's locks and halved import speed).
                                let raw = csv_row.unwrap_or_else(|| {
                                    Raw::Json(serde_json::json!({
                                        "type": "Feature",
                                        "id": a.id,
                                        "geometry": geojson::geometry_value(&a.shape.geometry()),
                                        "properties": geojson::area_properties(&a),
                                    }))
                                });
                                rejected.push(Rejected {
                                    label: label(format, number, given_id.then_some(a.id.as_str())),
                                    problems: vec![Problem::new(
                                        r.field.clone(),
                                        format!("{} (rule {})", r.message, r.rule),
                                    )],
                                    raw,
                                });
                                Err(WriteError::Refused(r))
                            }
                            other => other,
                        },
                    );
                if args.dry_run
                    && let Ok(outcome) = &put
                {
                    let what = match outcome {
                        cairn_store::PutOutcome::Created if given.is_some() => "would be created",
                        cairn_store::PutOutcome::Created => "would be created as a new record",
                        cairn_store::PutOutcome::Updated => "would be changed",
                        cairn_store::PutOutcome::Unchanged => "unchanged",
                    };
                    planned.push((
                        number,
                        format!("{}: {what}", label(format, number, given.as_deref())),
                    ));
                }
                match put {
                    Ok(_) | Err(WriteError::Refused(_)) => {}
                    Err(WriteError::Store(e)) => {
                        write_error = Some(e);
                        break;
                    }
                }
            }
            Parsed::Rejected(r) => rejected.push(r),
        }
    }
    // Dropping the receiver stops the parser if the store failed.
    drop(receive);
    let parsed = parser
        .join()
        .map_err(|_| Failure::internal(format!("{name}: the parser thread failed")))?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(Failure::from(e));
    }
    let (count, csv_header) = parsed?;
    if count == 0 {
        return Err(Failure::input(format!(
            "{name}: the file has no features; nothing was imported"
        )));
    }
    if args.dry_run {
        // Nothing is committed: dropping the transaction rolls every write back.
        drop(tx);
        let mut lines: Vec<(u64, String)> = planned;
        for r in &rejected {
            let number = r
                .label
                .split(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let why = r
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            lines.push((number, format!("{}: would be refused: {why}", r.label)));
        }
        lines.sort_by_key(|(n, _)| *n);
        for (_, l) in &lines {
            outln!("{l}");
        }
        outln!(
            "dry run of {name}: {} features: {} would be imported, {} refused; nothing was changed",
            count,
            count - rejected.len() as u64,
            rejected.len()
        );
        return Ok(if rejected.is_empty() { 0 } else { 1 });
    }
    if !rejected.is_empty() && !args.skip_invalid {
        drop(tx);
        let mut msg = format!(
            "{name}: {} of {count} features are invalid; nothing was imported (use --skip-invalid to import the valid ones):",
            rejected.len()
        );
        let mut printed = 0;
        for r in &rejected {
            for p in &r.problems {
                if printed < MAX_PRINTED {
                    msg.push_str(&format!("\n  {name}: {}: {p}", r.label));
                }
                printed += 1;
            }
        }
        if printed > MAX_PRINTED {
            msg.push_str(&format!(
                "\n  … and {} more problems",
                printed - MAX_PRINTED
            ));
        }
        return Err(Failure::input(msg));
    }
    let summary = tx.commit()?;
    let changeset = match summary.changeset {
        0 => "nothing changed, no changeset recorded".to_string(),
        c => format!("changeset {c}"),
    };
    outln!(
        "imported {}: {} features: {} created, {} updated, {} unchanged ({changeset})",
        name,
        count - rejected.len() as u64,
        summary.created,
        summary.updated,
        summary.unchanged
    );
    if !rejected.is_empty() {
        let out = write_rejects(path, format, &csv_header, &rejected).map_err(|e| {
            Failure::internal(format!("could not write the rejected features: {e}"))
        })?;
        eprintln!(
            "cairn: {name}: {} invalid features were not imported; they are in {} with their problems",
            rejected.len(),
            out.display()
        );
        for r in rejected.iter().take(20) {
            for p in &r.problems {
                eprintln!("  {name}: {}: {p}", r.label);
            }
        }
    }
    Ok(0)
}

// Nearly every message is `Valid`: boxing it would add an allocation per feature on the import's
// hot path for nothing, as each message is moved once through the channel.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// A feature that passed validation, with its number and (for CSV) its row, in case the one
    /// door's rules refuse it against the record it would replace. Nothing else made on the
    /// parser's thread travels: what is freed on the other thread makes them contend for malloc.
    Valid(cairn_formats::record::Candidate, u64, Option<Raw>),
    Rejected(Rejected),
}

/// The callback's signal that the store side has stopped.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("import stopped")
    }
}

/// How a feature or row is named in messages.
fn label(format: Format, number: u64, id: Option<&str>) -> String {
    match (format, id) {
        (Format::Csv, Some(id)) => format!("row on line {number} (id {id})"),
        (Format::Csv, None) => format!("row on line {number}"),
        (Format::GeoJson | Format::Gdal, Some(id)) => format!("feature {number} (id {id})"),
        (Format::GeoJson | Format::Gdal, None) => format!("feature {number}"),
    }
}

/// Features travel from the parser to the writer in batches: one channel hand-over (and one
/// wake-up of the other thread) per feature cost about a tenth of the import's time
/// (futex calls in `perf`).
const BATCH: usize = 256;
/// Batches in flight between the two threads (bounded, so memory stays flat).
const CHANNEL_BATCHES: usize = 8;

/// Reads, parses and validates the whole file, sending each feature on; returns the feature
/// count and, for CSV, the header row.
fn parse_file<R: Read>(
    reader: R,
    format: Format,
    name: String,
    catalogue: cairn_core::Catalogue,
    now: chrono::DateTime<chrono::Utc>,
    send: std::sync::mpsc::SyncSender<Vec<Parsed>>,
    adapt: cairn_formats::adapt::Adapt,
) -> Result<(u64, Vec<String>), Failure> {
    let adapt = adapt.is_active().then_some(&adapt);
    let mut seen: HashSet<String> = HashSet::new();
    let mut batch: Vec<Parsed> = Vec::with_capacity(BATCH);
    let mut csv_header: Vec<String> = Vec::new();
    let mut on_feature = |f: ReadFeature| -> Result<(), Stopped> {
        let mut problems = Vec::new();
        if let Some(id) = &f.id
            && !seen.insert(id.clone())
        {
            problems.push(Problem::new(
                "id",
                format!("{id} is used by an earlier feature of this file"),
            ));
        }
        let (number, id) = (f.number, f.id.clone());
        let msg = match build_record(f.id, f.geometry, f.props, f.problems, &catalogue, now) {
            Ok(c) if problems.is_empty() => {
                // A GeoJSON feature's raw JSON is dropped here, on the thread that made it.
                let row = matches!(f.raw, Raw::Csv(_)).then_some(f.raw);
                Parsed::Valid(c, number, row)
            }
            Ok(_) => Parsed::Rejected(Rejected {
                label: label(format, number, id.as_deref()),
                problems,
                raw: f.raw,
            }),
            Err(mut ps) => {
                ps.extend(problems);
                Parsed::Rejected(Rejected {
                    label: label(format, number, id.as_deref()),
                    problems: ps,
                    raw: f.raw,
                })
            }
        };
        batch.push(msg);
        if batch.len() < BATCH {
            return Ok(());
        }
        // A closed channel means the store failed; stop reading.
        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        send.send(full).map_err(|_| Stopped)
    };
    let count = match format {
        Format::GeoJson | Format::Gdal => geojson::read_feature_collection_adapted(
            reader,
            adapt,
            &mut on_feature,
        )
        .map_err(|e| match e {
            ReadError::Callback(Stopped) => Failure::internal(format!("{name}: import stopped")),
            other => Failure::input(format!("{name}: {other}; nothing was imported")),
        })?,
        Format::Csv => cairn_formats::csv::read_csv_adapted(
            reader,
            adapt,
            b',',
            &mut |h: &[String]| csv_header = h.to_vec(),
            &mut on_feature,
        )
        .map_err(|e| match e {
            cairn_formats::csv::CsvError::Callback(Stopped) => {
                Failure::internal(format!("{name}: import stopped"))
            }
            other => Failure::input(format!("{name}: {other}; nothing was imported")),
        })?,
    };
    if !batch.is_empty() {
        // The writer only stops early when the store failed, which it reports itself.
        let _ = send.send(batch);
    }
    Ok((count, csv_header))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    GeoJson,
    Csv,
    /// Any format GDAL reads, as GeoJSON from `ogr2ogr` (`gdal_source.rs`).
    Gdal,
}

fn detect_format(path: &Path, given: Option<&str>) -> Result<Format, Failure> {
    let name = path.display();
    match given {
        Some("csv") => return Ok(Format::Csv),
        Some("gdal") => return Ok(Format::Gdal),
        Some(_) => return Ok(Format::GeoJson),
        None => {}
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if path.is_dir() || super::gdal_source::EXTENSIONS.contains(&ext.as_str()) {
        return Ok(Format::Gdal);
    }
    let mut head = [0u8; 8192];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Failure::input(format!("{name}: cannot open: {e}")))?;
    if n == 0 {
        return Err(Failure::input(format!(
            "{name}: the file is empty (0 bytes); expected a GeoJSON FeatureCollection or CSV; nothing was imported"
        )));
    }
    let head = &head[..n];
    if head.contains(&0) {
        return Err(Failure::input(format!(
            "{name}: this is a binary file, not GeoJSON or CSV text; nothing was imported"
        )));
    }
    // A multi-byte character may be cut at the end of a full sample; that is not an error.
    if let Err(e) = std::str::from_utf8(head)
        && (e.error_len().is_some() || n < 8192)
    {
        return Err(Failure::input(format!(
            "{name}: the file is not UTF-8 text (byte {} is not valid UTF-8; perhaps it was saved as Latin-1 or Windows-1251): save it as UTF-8 and import again; nothing was imported",
            e.valid_up_to() + 1
        )));
    }
    match ext.as_str() {
        "csv" => Ok(Format::Csv),
        "geojson" | "json" => Ok(Format::GeoJson),
        _ => {
            let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
            Ok(if first == Some(b'{') {
                Format::GeoJson
            } else {
                Format::Csv
            })
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Writes the rejected features beside the input, each with a `cairn_problems` list.
fn write_rejects(
    input: &Path,
    format: Format,
    header: &[String],
    rejected: &[Rejected],
) -> std::io::Result<PathBuf> {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = input.parent().unwrap_or(Path::new("."));
    match format {
        Format::GeoJson | Format::Gdal => {
            let out = dir.join(format!("{stem}.rejects.geojson"));
            let mut w = BufWriter::new(File::create(&out)?);
            w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
            for (i, r) in rejected.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",\n")?;
                }
                let mut v = match &r.raw {
                    Raw::Json(v) => v.clone(),
                    Raw::Csv(_) => serde_json::Value::Null,
                };
                let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
                if let Some(obj) = v.as_object_mut() {
                    let props = obj
                        .entry("properties")
                        .or_insert_with(|| serde_json::json!({}));
                    if !props.is_object() {
                        *props = serde_json::json!({});
                    }
                    if let Some(p) = props.as_object_mut() {
                        p.insert("cairn_problems".into(), serde_json::json!(problems));
                    }
                } else {
                    v = serde_json::json!({"type": "Feature", "geometry": null, "properties": {"cairn_problems": problems, "input": v}});
                }
                serde_json::to_writer(&mut w, &v)?;
            }
            w.write_all(b"\n]}\n")?;
            w.flush()?;
            Ok(out)
        }
        Format::Csv => {
            let out = dir.join(format!("{stem}.rejects.csv"));
            let mut w = csv::Writer::from_path(&out)?;
            let mut h = header.to_vec();
            h.push("cairn_problems".into());
            w.write_record(&h)?;
            for r in rejected {
                if let Raw::Csv(cells) = &r.raw {
                    let mut row = cells.clone();
                    row.push(
                        r.problems
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("; "),
                    );
                    w.write_record(&row)?;
                }
            }
            w.flush()?;
            Ok(out)
        }
    }
}
