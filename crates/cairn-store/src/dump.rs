//! The whole store as rows, backend-neutral: what `cairn migrate` moves from one store to another.
//! A dump lists every table of the record (`TABLES`, in an order a restore can insert them) with
//! its logical columns and rows; a backend writes the same logical tables whatever its physical
//! schema, so a dump from one backend restores into another. `Digest` condenses a dump (counts
//! per table and a SHA-256 of every cell), so that a migration is verified by dumping both sides.

use sha2::{Digest as _, Sha256};

use crate::StoreError;

/// The tables of the record, parents before children. `heads` is derived (each record's newest
/// revision) but moved as it is, so that a restored store answers without rebuilding it.
pub const TABLES: &[&str] = &[
    "changesets",
    "revisions",
    "heads",
    "counters",
    "organisations",
    "users",
    "tokens",
    "reports",
    "report_triage",
    "catalogue_versions",
];

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Receives a dump: for each table, its columns once, then its rows.
pub trait DumpSink {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError>;
    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError>;
}

/// Rows of one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableRows {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A whole dump held in memory (tests; a migration streams).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected(pub Vec<TableRows>);

impl DumpSink for Collected {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError> {
        self.0.push(TableRows {
            name: name.to_string(),
            columns: columns.to_vec(),
            rows: Vec::new(),
        });
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        match self.0.last_mut() {
            Some(t) => {
                t.rows.push(cells.to_vec());
                Ok(())
            }
            None => Err(StoreError::Corrupt {
                id: "dump".into(),
                message: "a row before its table".into(),
            }),
        }
    }
}

/// Counts per table and a SHA-256 over every table, column and cell, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub counts: Vec<(String, u64)>,
    pub sha256: String,
}

impl Digest {
    /// The digest of `store`'s whole dump.
    pub fn of(store: &dyn Dump) -> Result<Digest, StoreError> {
        let mut d = Digester::new();
        store.dump(&mut d)?;
        Ok(d.finish())
    }

    /// Why `self` (what a restore wrote, read back) is not `want` (what the source gave), in a
    /// sentence naming the tables whose counts differ; `None` when they are equal.
    pub fn mismatch(&self, want: &Digest) -> Option<String> {
        if self == want {
            return None;
        }
        let differ: Vec<String> = want
            .counts
            .iter()
            .filter(|w| !self.counts.contains(w))
            .map(|(t, n)| {
                let got = self
                    .counts
                    .iter()
                    .find(|(g, _)| g == t)
                    .map_or(0, |(_, g)| *g);
                format!("{t}: {got} rows where the source has {n}")
            })
            .collect();
        Some(if differ.is_empty() {
            format!(
                "the rows read back differ from the source's (sha256 {} against {})",
                self.sha256, want.sha256
            )
        } else {
            format!(
                "the rows read back differ from the source's ({})",
                differ.join(", ")
            )
        })
    }
}

/// Feeds a dump into a `Digest`.
pub struct Digester {
    counts: Vec<(String, u64)>,
    hasher: Sha256,
}

impl Default for Digester {
    fn default() -> Digester {
        Digester::new()
    }
}

impl Digester {
    pub fn new() -> Digester {
        Digester {
            counts: Vec::new(),
            hasher: Sha256::new(),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        Digest {
            counts: self.counts,
            sha256: format!("{:x}", self.hasher.finalize()),
        }
    }

    fn hash(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }
}

impl DumpSink for Digester {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError> {
        self.counts.push((name.to_string(), 0));
        self.hash(b"table");
        self.hash(name.as_bytes());
        for c in columns {
            self.hash(c.as_bytes());
        }
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        if let Some((_, n)) = self.counts.last_mut() {
            *n += 1;
        }
        self.hash(b"row");
        for c in cells {
            match c {
                Cell::Null => self.hash(b"n"),
                Cell::Int(i) => {
                    self.hash(b"i");
                    self.hash(&i.to_le_bytes());
                }
                Cell::Real(r) => {
                    self.hash(b"r");
                    self.hash(&r.to_bits().to_le_bytes());
                }
                Cell::Text(t) => {
                    self.hash(b"t");
                    self.hash(t.as_bytes());
                }
                Cell::Blob(b) => {
                    self.hash(b"b");
                    self.hash(b);
                }
            }
        }
        Ok(())
    }
}

/// Passes a dump on to `sink` and digests it on the way: the digest of exactly the rows a
/// restore wrote, from the source's one consistent moment.
pub struct Tee<'a> {
    pub sink: &'a mut dyn DumpSink,
    pub digester: Digester,
}

impl DumpSink for Tee<'_> {
    fn table(&mut self, name: &str, columns: &[String]) -> Result<(), StoreError> {
        self.digester.table(name, columns)?;
        self.sink.table(name, columns)
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        self.digester.row(cells)?;
        self.sink.row(cells)
    }
}

/// A store that can be dumped whole and restored into an empty store of any backend.
pub trait Dump {
    /// Writes every table of `TABLES`, in that order, to `sink`, from one consistent moment.
    fn dump(&self, sink: &mut dyn DumpSink) -> Result<(), StoreError>;

    /// Replaces the content of this store, which must hold nothing yet but what creating it
    /// wrote, with `source`'s whole dump, streamed row by row, in one transaction: all of it or
    /// nothing. Before it commits, the transaction dumps what it wrote and compares that with
    /// the digest of the rows it read from `source` (`Tee`): a difference rolls everything back.
    /// Returns the digest, which a later `Digest::of` this store must equal.
    fn restore_from(&mut self, source: &dyn Dump) -> Result<Digest, StoreError>;
}

/// The error of a restore whose rows, read back inside its transaction, are not the source's.
pub(crate) fn verify(wrote: &Digest, read_back: &Digest, target: &str) -> Result<(), StoreError> {
    match read_back.mismatch(wrote) {
        None => Ok(()),
        Some(why) => Err(StoreError::Mismatch {
            target: target.to_string(),
            message: format!("{why}; nothing was written"),
        }),
    }
}
