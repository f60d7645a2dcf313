//! Reports of suspicious objects from the public and their triage. Reports arrive in batches (the
//! service commits every report waiting at that moment in one durable transaction: group commit)
//! and each gets a reference the reporter can quote. Nothing here is ever updated or deleted: a
//! triage decision is a new row, and opening an area from a report writes that area through the
//! ordinary `Writer`, in the same transaction as the decision, attributed to whoever decided.

use cairn_core::report::{
    PhotoType, ReportCategory, ReportFacts, ReportState, make_reference, reported_area,
};
use cairn_core::{Timestamp, WireEnum};
use chrono::Utc;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::SqliteStore;
use crate::commands::CommandTx;
use crate::records::{from_micros, now, to_micros};
use crate::{ChangeMeta, StoreError, Writer};

/// A report as received, checked by the caller.
#[derive(Clone, Debug)]
pub struct NewReport {
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub category: ReportCategory,
    pub description: String,
    pub seen_at: Option<Timestamp>,
    /// A photo already sniffed and stripped of metadata.
    pub photo: Option<(PhotoType, Vec<u8>)>,
}

/// What the reporter is told: the reference and when the report was stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Receipt {
    pub reference: String,
    pub received_at: Timestamp,
}

/// A stored photo's description (the bytes are read on their own).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhotoInfo {
    #[serde(rename = "type")]
    pub media_type: String,
    pub bytes: u64,
}

/// A triage decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriageRecord {
    /// `link`, `open` or `dismiss`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub by: String,
    pub at: Timestamp,
    /// For `open`: the changeset that created the area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changeset: Option<i64>,
}

/// A stored report with its state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub reference: String,
    /// `new`, `linked`, `opened` or `dismissed`.
    pub state: String,
    pub received_at: Timestamp,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub category: String,
    pub description: String,
    pub seen_at: Option<Timestamp>,
    pub photo: Option<PhotoInfo>,
    pub triage: Option<TriageRecord>,
}

/// What an information officer decides about a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The report is about this existing area.
    Link { area_id: String },
    /// The report opens a new `reported` area around its place.
    Open,
    /// The report needs no area, for this reason.
    Dismiss { reason: String },
}

/// Why a triage was refused.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no report {0}")]
    NoReport(String),
    #[error("report {reference} was already triaged ({}) by {} at {}; a decision is final", .record.action, .record.by, .record.at.to_rfc3339())]
    AlreadyTriaged {
        reference: String,
        record: Box<TriageRecord>,
    },
    #[error("no hazardous area {0} to link the report to")]
    NoArea(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TriageError {
    fn from(e: rusqlite::Error) -> TriageError {
        TriageError::Store(e.into())
    }
}

/// How many times a reference is drawn again when it is already taken (1 in 10^10 per draw).
pub(crate) const REFERENCE_DRAWS: usize = 32;

pub(crate) fn new_reference() -> String {
    use rand::RngCore;
    loop {
        let mut r = [0u8; 7];
        rand::rng().fill_bytes(&mut r);
        // Values 240..255 would make the first characters a little likelier: draw again.
        if r.iter().any(|&b| b >= 240) {
            continue;
        }
        if let Some(s) = make_reference(r) {
            return s;
        }
    }
}

const REPORT_COLUMNS: &str = "r.id, r.reference, r.received_at, r.lon, r.lat, r.accuracy_m, r.category, r.description, r.seen_at, r.photo_type, length(r.photo), \
     t.action, t.area_id, t.reason, t.by, t.at, t.changeset";

const REPORT_FROM: &str = "reports r LEFT JOIN report_triage t ON t.report_id = r.id";

fn report_row(r: &rusqlite::Row<'_>) -> Result<Report, StoreError> {
    let reference: String = r.get(1)?;
    let corrupt = |message: &str| StoreError::Corrupt {
        id: reference.clone(),
        message: message.into(),
    };
    let time = |us: i64| from_micros(us).ok_or_else(|| corrupt("bad time"));
    let action: Option<String> = r.get(11)?;
    let triage = match action {
        None => None,
        Some(action) => Some(TriageRecord {
            action,
            area_id: r.get(12)?,
            reason: r.get(13)?,
            by: r.get(14)?,
            at: time(r.get(15)?)?,
            changeset: r.get(16)?,
        }),
    };
    let state = state_of(triage.as_ref()).ok_or_else(|| corrupt("unknown triage action"))?;
    let photo_type: Option<String> = r.get(9)?;
    let photo_len: Option<i64> = r.get(10)?;
    Ok(Report {
        state: state.as_str().to_string(),
        received_at: time(r.get(2)?)?,
        lon: r.get(3)?,
        lat: r.get(4)?,
        accuracy_m: r.get(5)?,
        category: r.get(6)?,
        description: r.get(7)?,
        seen_at: r.get::<_, Option<i64>>(8)?.map(time).transpose()?,
        photo: photo_type.map(|t| PhotoInfo {
            media_type: t,
            bytes: photo_len.unwrap_or(0) as u64,
        }),
        triage,
        reference,
    })
}

/// A report's state from its triage decision, if the decision's action is known.
pub(crate) fn state_of(triage: Option<&TriageRecord>) -> Option<ReportState> {
    match triage.map(|t| t.action.as_str()) {
        None => Some(ReportState::New),
        Some("link") => Some(ReportState::Linked),
        Some("open") => Some(ReportState::Opened),
        Some("dismiss") => Some(ReportState::Dismissed),
        Some(_) => None,
    }
}

/// The SQL condition selecting reports in a state.
fn state_condition(state: Option<ReportState>) -> &'static str {
    match state {
        None => "1",
        Some(ReportState::New) => "t.id IS NULL",
        Some(ReportState::Linked) => "t.action = 'link'",
        Some(ReportState::Opened) => "t.action = 'open'",
        Some(ReportState::Dismissed) => "t.action = 'dismiss'",
    }
}

impl crate::ReportStore for SqliteStore {
    /// Stores reports in one transaction, durably (the store runs with `synchronous=FULL`), and
    /// returns their receipts in the same order. Either every report is stored or none is.
    fn add_reports(&mut self, batch: &[NewReport]) -> Result<Vec<Receipt>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO reports (reference, received_at, lon, lat, accuracy_m, category, description, seen_at, photo_type, photo) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in batch {
                let received = Utc::now();
                let micros = to_micros(received);
                let mut stored = None;
                for _ in 0..REFERENCE_DRAWS {
                    let reference = new_reference();
                    let n = insert.execute(params![
                        reference,
                        micros,
                        r.lon,
                        r.lat,
                        r.accuracy_m,
                        r.category.as_str(),
                        r.description,
                        r.seen_at.map(to_micros),
                        r.photo.as_ref().map(|(t, _)| t.mime()),
                        r.photo.as_ref().map(|(_, b)| b.as_slice()),
                    ])?;
                    if n == 1 {
                        stored = Some(reference);
                        break;
                    }
                }
                let reference = stored.ok_or_else(|| StoreError::Encode {
                    id: "report".into(),
                    message: "no free reference after many draws".into(),
                })?;
                out.push(Receipt {
                    reference,
                    received_at: from_micros(micros).unwrap_or(received),
                });
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// One report by its canonical reference, without its photo's bytes.
    fn get_report(&self, reference: &str) -> Result<Option<Report>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.reference = ?1"
        ))?;
        let mut rows = stmt.query([reference])?;
        match rows.next()? {
            Some(r) => Ok(Some(report_row(r)?)),
            None => Ok(None),
        }
    }

    /// A report's photo: its media type and bytes.
    fn report_photo(&self, reference: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT photo_type, photo FROM reports WHERE reference = ?1 AND photo IS NOT NULL",
                [reference],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Reports in a state (all when `None`), oldest first, and how many there are in all.
    fn list_reports(
        &self,
        state: Option<ReportState>,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Report>, u64), StoreError> {
        let cond = state_condition(state);
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM {REPORT_FROM} WHERE {cond}"),
            [],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE {cond} ORDER BY r.id LIMIT ?1 OFFSET ?2"
        ))?;
        let mut rows = stmt.query(params![limit as i64, offset as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(report_row(r)?);
        }
        Ok((out, total as u64))
    }

    /// How many reports are in each state, for metrics.
    fn report_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut out = Vec::new();
        for (state, name) in ReportState::ALL {
            let n: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM {REPORT_FROM} WHERE {}",
                    state_condition(Some(*state))
                ),
                [],
                |r| r.get(0),
            )?;
            out.push((*name, n as u64));
        }
        Ok(out)
    }

    /// Records an information officer's decision about a report, attributed to `by`. A report
    /// is triaged once: a second decision is refused with [`TriageError::AlreadyTriaged`].
    /// `Open` creates the reported area (a new revision in a changeset by `by`) in the same
    /// transaction as the decision, so there is never an area without its decision or the reverse.
    fn triage_report(
        &mut self,
        reference: &str,
        decision: &Decision,
        by: &str,
    ) -> Result<TriageRecord, TriageError> {
        match decision {
            Decision::Open => {
                let meta = ChangeMeta {
                    author: by.to_string(),
                    reason: format!(
                        "triage of public report {reference}: opened as a reported area"
                    ),
                    source: Some(format!("report {reference}")),
                };
                let mut w = self.begin(meta)?;
                let (id, report) = pending_report(&w.tx, reference)?;
                let area_id = w.new_area_id()?;
                let facts = ReportFacts {
                    reference: &report.reference,
                    lon: report.lon,
                    lat: report.lat,
                    accuracy_m: report.accuracy_m,
                    category: ReportCategory::parse(&report.category).map_err(|m| {
                        StoreError::Corrupt {
                            id: report.reference.clone(),
                            message: m,
                        }
                    })?,
                    description: &report.description,
                    received_at: report.received_at,
                };
                w.put_area_by("triage", &reported_area(area_id.clone(), &facts))?;
                let record = TriageRecord {
                    action: "open".into(),
                    area_id: Some(area_id),
                    reason: None,
                    by: by.to_string(),
                    at: now(),
                    changeset: Some(w.changeset),
                };
                insert_triage(&w.tx, id, &record)?;
                w.commit()?;
                Ok(record)
            }
            Decision::Link { area_id } => {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (id, _) = pending_report(&tx, reference)?;
                let exists = tx
                    .query_row(
                        "SELECT 1 FROM heads WHERE kind = 'area' AND record_id = ?1",
                        [area_id],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if !exists {
                    return Err(TriageError::NoArea(area_id.clone()));
                }
                let record = TriageRecord {
                    action: "link".into(),
                    area_id: Some(area_id.clone()),
                    reason: None,
                    by: by.to_string(),
                    at: now(),
                    changeset: None,
                };
                insert_triage(&tx, id, &record)?;
                tx.commit()?;
                Ok(record)
            }
            Decision::Dismiss { reason } => {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (id, _) = pending_report(&tx, reference)?;
                let record = TriageRecord {
                    action: "dismiss".into(),
                    area_id: None,
                    reason: Some(reason.clone()),
                    by: by.to_string(),
                    at: now(),
                    changeset: None,
                };
                insert_triage(&tx, id, &record)?;
                tx.commit()?;
                Ok(record)
            }
        }
    }
}

/// The report's row id and content, if it exists and has no decision yet.
fn pending_report(
    conn: &rusqlite::Connection,
    reference: &str,
) -> Result<(i64, Report), TriageError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.reference = ?1"
    ))?;
    let mut rows = stmt.query([reference])?;
    let Some(row) = rows.next()? else {
        return Err(TriageError::NoReport(reference.to_string()));
    };
    let id: i64 = row.get(0)?;
    let report = report_row(row)?;
    if let Some(record) = report.triage.clone() {
        return Err(TriageError::AlreadyTriaged {
            reference: reference.to_string(),
            record: Box::new(record),
        });
    }
    Ok((id, report))
}

fn insert_triage(
    conn: &rusqlite::Connection,
    report_id: i64,
    t: &TriageRecord,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO report_triage (report_id, at, by, action, area_id, reason, changeset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![report_id, to_micros(t.at), t.by, t.action, t.area_id, t.reason, t.changeset],
    )?;
    Ok(())
}
