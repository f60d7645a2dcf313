//! Reports from the public and their triage in the PostgreSQL store (migration 3), as in the
//! SQLite store: append-only rows, one decision per report, and opening an area from a report in
//! the decision's own transaction through the ordinary writer. Report intake takes no writer
//! lock (a report is no changeset): it waits for no import, and each batch is one durable
//! transaction (`synchronous_commit = on`).

use cairn_core::report::{ReportCategory, ReportFacts, ReportState, reported_area};
use cairn_core::{Timestamp, WireEnum};
use postgres::{GenericClient, Row};

use super::{PgStore, WRITER_LOCK};
use crate::commands::CommandTx;
use crate::records::now;
use crate::sqlite::reports::{
    Decision, NewReport, PhotoInfo, REFERENCE_DRAWS, Receipt, Report, TriageError, TriageRecord,
    new_reference, state_of,
};
use crate::{ChangeMeta, StoreError, Writer};

const REPORT_COLUMNS: &str = "r.id, r.reference, r.received_at, r.lon, r.lat, r.accuracy_m, r.category, r.description, r.seen_at, r.photo_type, octet_length(r.photo)::bigint, \
     t.action, t.area_id, t.reason, t.decided_by, t.at, t.changeset";

const REPORT_FROM: &str = "reports r LEFT JOIN report_triage t ON t.report_id = r.id";

fn report_row(r: &Row) -> Result<Report, StoreError> {
    let reference: String = r.try_get(1)?;
    let action: Option<String> = r.try_get(11)?;
    let triage = match action {
        None => None,
        Some(action) => Some(TriageRecord {
            action,
            area_id: r.try_get(12)?,
            reason: r.try_get(13)?,
            by: r.try_get(14)?,
            at: r.try_get(15)?,
            changeset: r.try_get(16)?,
        }),
    };
    let state = state_of(triage.as_ref())
        .ok_or_else(|| crate::records::corrupt(&reference, "unknown triage action"))?;
    let photo_type: Option<String> = r.try_get(9)?;
    let photo_len: Option<i64> = r.try_get(10)?;
    Ok(Report {
        state: state.as_str().to_string(),
        received_at: r.try_get(2)?,
        lon: r.try_get(3)?,
        lat: r.try_get(4)?,
        accuracy_m: r.try_get(5)?,
        category: r.try_get(6)?,
        description: r.try_get(7)?,
        seen_at: r.try_get(8)?,
        photo: photo_type.map(|t| PhotoInfo {
            media_type: t,
            bytes: photo_len.unwrap_or(0) as u64,
        }),
        triage,
        reference,
    })
}

/// The SQL condition selecting reports in a state.
fn state_condition(state: Option<ReportState>) -> &'static str {
    match state {
        None => "true",
        Some(ReportState::New) => "t.id IS NULL",
        Some(ReportState::Linked) => "t.action = 'link'",
        Some(ReportState::Opened) => "t.action = 'open'",
        Some(ReportState::Dismissed) => "t.action = 'dismiss'",
    }
}

/// The report's row id and content, if it exists and has no decision yet. The row is locked
/// (`FOR UPDATE OF r`) so that two decisions about one report cannot pass this check together.
fn pending_report(
    c: &mut impl GenericClient,
    reference: &str,
) -> Result<(i64, Report), TriageError> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.reference = $1 FOR UPDATE OF r"
            ),
            &[&reference],
        )
        .map_err(StoreError::from)?;
    let Some(row) = row else {
        return Err(TriageError::NoReport(reference.to_string()));
    };
    let id: i64 = row.try_get(0).map_err(StoreError::from)?;
    let report = report_row(&row)?;
    if let Some(record) = report.triage.clone() {
        return Err(TriageError::AlreadyTriaged {
            reference: reference.to_string(),
            record: Box::new(record),
        });
    }
    Ok((id, report))
}

fn insert_triage(
    c: &mut impl GenericClient,
    report_id: i64,
    t: &TriageRecord,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO report_triage (report_id, at, decided_by, action, area_id, reason, changeset) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &report_id,
            &t.at,
            &t.by,
            &t.action,
            &t.area_id,
            &t.reason,
            &t.changeset,
        ],
    )?;
    Ok(())
}

fn decision(
    action: &str,
    by: &str,
    area_id: Option<String>,
    reason: Option<String>,
) -> TriageRecord {
    TriageRecord {
        action: action.into(),
        area_id,
        reason,
        by: by.to_string(),
        at: now(),
        changeset: None,
    }
}

impl crate::ReportStore for PgStore {
    fn add_reports(&mut self, batch: &[NewReport]) -> Result<Vec<Receipt>, StoreError> {
        let mut tx = self.client_mut()?.transaction()?;
        let insert = tx.prepare(
            "INSERT INTO reports (reference, received_at, lon, lat, accuracy_m, category, description, seen_at, photo_type, photo) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (reference) DO NOTHING",
        )?;
        let mut out = Vec::with_capacity(batch.len());
        for r in batch {
            let received: Timestamp = now();
            let mut stored = None;
            for _ in 0..REFERENCE_DRAWS {
                let reference = new_reference();
                let n = tx.execute(
                    &insert,
                    &[
                        &reference,
                        &received,
                        &r.lon,
                        &r.lat,
                        &r.accuracy_m,
                        &r.category.as_str(),
                        &r.description,
                        &r.seen_at,
                        &r.photo.as_ref().map(|(t, _)| t.mime()),
                        &r.photo.as_ref().map(|(_, b)| b.as_slice()),
                    ],
                )?;
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
                received_at: received,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    fn get_report(&self, reference: &str) -> Result<Option<Report>, StoreError> {
        self.with(|c| {
            c.query_opt(
                &format!("SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.reference = $1"),
                &[&reference],
            )?
            .map(|r| report_row(&r))
            .transpose()
        })
    }

    fn report_photo(&self, reference: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT photo_type, photo FROM reports WHERE reference = $1 AND photo IS NOT NULL",
                &[&reference],
            )?
            .map(|r| (r.get(0), r.get(1))))
        })
    }

    fn list_reports(
        &self,
        state: Option<ReportState>,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Report>, u64), StoreError> {
        let cond = state_condition(state);
        self.with(|c| {
            let total: i64 = c
                .query_one(&format!("SELECT count(*) FROM {REPORT_FROM} WHERE {cond}"), &[])?
                .get(0);
            let rows = c.query(
                &format!(
                    "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE {cond} ORDER BY r.id LIMIT $1 OFFSET $2"
                ),
                &[&(limit.min(i64::MAX as u64) as i64), &(offset.min(i64::MAX as u64) as i64)],
            )?;
            let reports = rows.iter().map(report_row).collect::<Result<_, _>>()?;
            Ok((reports, total as u64))
        })
    }

    fn report_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        self.with(|c| {
            let mut out = Vec::new();
            for (state, name) in ReportState::ALL {
                let n: i64 = c
                    .query_one(
                        &format!(
                            "SELECT count(*) FROM {REPORT_FROM} WHERE {}",
                            state_condition(Some(*state))
                        ),
                        &[],
                    )?
                    .get(0);
                out.push((*name, n as u64));
            }
            Ok(out)
        })
    }

    fn triage_report(
        &mut self,
        reference: &str,
        decision_made: &Decision,
        by: &str,
    ) -> Result<TriageRecord, TriageError> {
        match decision_made {
            Decision::Open => {
                let meta = ChangeMeta {
                    author: by.to_string(),
                    reason: format!(
                        "triage of public report {reference}: opened as a reported area"
                    ),
                    source: Some(format!("report {reference}")),
                };
                let mut w = self.begin(meta)?;
                let (id, report) = pending_report(&mut w.tx, reference)?;
                let area_id = w.new_area_id()?;
                let facts = ReportFacts {
                    reference: &report.reference,
                    lon: report.lon,
                    lat: report.lat,
                    accuracy_m: report.accuracy_m,
                    category: ReportCategory::parse(&report.category)
                        .map_err(|m| crate::records::corrupt(&report.reference, m))?,
                    description: &report.description,
                    received_at: report.received_at,
                };
                w.put_area_by("triage", &reported_area(area_id.clone(), &facts))?;
                let mut record = decision("open", by, Some(area_id), None);
                record.changeset = Some(w.changeset);
                insert_triage(&mut w.tx, id, &record)?;
                w.commit()?;
                Ok(record)
            }
            Decision::Link { area_id } => {
                let mut tx = self
                    .client
                    .get_mut()
                    .transaction()
                    .map_err(StoreError::from)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
                    .map_err(StoreError::from)?;
                let (id, _) = pending_report(&mut tx, reference)?;
                let exists = tx
                    .query_opt(
                        "SELECT 1 FROM heads WHERE kind = 'area' AND record_id = $1",
                        &[area_id],
                    )
                    .map_err(StoreError::from)?
                    .is_some();
                if !exists {
                    return Err(TriageError::NoArea(area_id.clone()));
                }
                let record = decision("link", by, Some(area_id.clone()), None);
                insert_triage(&mut tx, id, &record)?;
                tx.commit().map_err(StoreError::from)?;
                Ok(record)
            }
            Decision::Dismiss { reason } => {
                let mut tx = self
                    .client
                    .get_mut()
                    .transaction()
                    .map_err(StoreError::from)?;
                let (id, _) = pending_report(&mut tx, reference)?;
                let record = decision("dismiss", by, None, Some(reason.clone()));
                insert_triage(&mut tx, id, &record)?;
                tx.commit().map_err(StoreError::from)?;
                Ok(record)
            }
        }
    }
}
