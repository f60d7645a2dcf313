//! Zones and accidents in the SQLite store: records in `revisions` (kind `zone` and `accident`)
//! with the same append-only history and attribution as hazardous areas (migration 006).

use cairn_core::accident::{Accident, AccidentFacts, validate_accident};
use cairn_core::zone::{Zone, ZoneFacts, validate_zone};
use cairn_core::{Catalogue, Problem};
use chrono::Utc;
use geo_types::{Geometry, Point};
use rusqlite::params;

use super::release::{ReleaseError, corrupt, head, json, multipolygon};
use super::{SqliteStore, from_micros};
use crate::{ChangeMeta, ChangeSummary, StoreError, decode_wkb};

pub(crate) const ZONE: &str = "zone";
pub(crate) const ACCIDENT: &str = "accident";

fn zone_of(id: String, g: Geometry<f64>, props: &str) -> Result<Zone, StoreError> {
    let facts: ZoneFacts =
        serde_json::from_str(props).map_err(|e| corrupt(&id, format!("properties: {e}")))?;
    Ok(Zone {
        geometry: multipolygon(&id, g)?,
        facts,
        id,
    })
}

fn accident_of(id: String, g: Geometry<f64>, props: &str) -> Result<Accident, StoreError> {
    let facts: AccidentFacts =
        serde_json::from_str(props).map_err(|e| corrupt(&id, format!("properties: {e}")))?;
    let Geometry::Point(place) = g else {
        return Err(corrupt(&id, "an accident's place is not a point"));
    };
    Ok(Accident { id, facts, place })
}

/// A revision of a record other than an area: when, by whom, why, and its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRevision {
    pub seq: i64,
    pub recorded_at: cairn_core::Timestamp,
    pub author: String,
    pub reason: String,
    pub geometry: Geometry<f64>,
    pub props: serde_json::Value,
}

impl SqliteStore {
    /// Every current record of `kind` (`zone`, `accident`, …) in id order, decoded by `f`.
    pub(super) fn current<T>(
        &self,
        kind: &str,
        f: impl Fn(String, Geometry<f64>, &str) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.record_id, r.geom, r.props FROM heads h JOIN revisions r ON r.rev = h.rev \
             WHERE h.kind = ?1 ORDER BY h.record_id",
        )?;
        let mut rows = stmt.query([kind])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let g = decode_wkb(
                r.get_ref(1)?
                    .as_blob()
                    .map_err(|e| corrupt(&id, e.to_string()))?,
            )
            .map_err(|e| corrupt(&id, format!("geometry: {e}")))?;
            let props: String = r.get(2)?;
            out.push(f(id, g, &props)?);
        }
        Ok(out)
    }
}

impl crate::ZoneStore for SqliteStore {
    /// Every revision of a record that is not an area (a zone, an accident, an activity…), oldest
    /// first; empty when there is no such record.
    fn record_history(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.seq, c.recorded_at, c.author, c.reason, r.geom, r.props FROM revisions r \
             JOIN changesets c ON c.id = r.changeset WHERE r.kind = ?1 AND r.record_id = ?2 ORDER BY r.seq",
        )?;
        let mut rows = stmt.query(params![kind, id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let micros: i64 = r.get(1)?;
            let props: String = r.get(5)?;
            out.push(RecordRevision {
                seq: r.get(0)?,
                recorded_at: from_micros(micros).ok_or_else(|| corrupt(id, "recorded time"))?,
                author: r.get(2)?,
                reason: r.get(3)?,
                geometry: decode_wkb(
                    r.get_ref(4)?
                        .as_blob()
                        .map_err(|e| corrupt(id, e.to_string()))?,
                )
                .map_err(|e| corrupt(id, format!("geometry: {e}")))?,
                props: serde_json::from_str(&props)
                    .map_err(|e| corrupt(id, format!("properties: {e}")))?,
            });
        }
        Ok(out)
    }

    /// Writes zones in one changeset: new ids are created, changed ones get a new revision, equal
    /// ones are left alone. Every zone is checked first; one bad zone writes nothing, and the
    /// error lists every problem, each field prefixed with `zones[i]` and the zone's id.
    fn put_zones(
        &mut self,
        zones: &[Zone],
        meta: ChangeMeta,
    ) -> Result<ChangeSummary, ReleaseError> {
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, z) in zones.iter().enumerate() {
            let mut p = Vec::new();
            validate_zone(z, &mut p);
            if !seen.insert(z.id.as_str()) {
                p.push(Problem::new("id", format!("{} appears twice", z.id)));
            }
            problems
                .extend(p.into_iter().map(|p| {
                    Problem::new(format!("zones[{i}] ({}).{}", z.id, p.field), p.message)
                }));
        }
        if !problems.is_empty() {
            return Err(ReleaseError::Invalid(problems));
        }
        let mut w = self.begin(meta)?;
        for z in zones {
            let props = json(&z.id, &z.facts)?;
            let geometry = Geometry::MultiPolygon(z.geometry.clone());
            if let Some((g, p)) = head(&w.tx, ZONE, &z.id)?
                && g == geometry
                && serde_json::from_str::<ZoneFacts>(&p).ok().as_ref() == Some(&z.facts)
            {
                w.summary.unchanged += 1;
                continue;
            }
            w.put_record(ZONE, &z.id, &geometry, &props)?;
        }
        Ok(w.commit()?)
    }

    /// Every current zone, in id order.
    fn zones(&self) -> Result<Vec<Zone>, StoreError> {
        self.current(ZONE, zone_of)
    }

    /// One zone as it is now.
    fn get_zone(&self, id: &str) -> Result<Option<Zone>, StoreError> {
        head(&self.conn, ZONE, id)?
            .map(|(g, p)| zone_of(id.to_string(), g, &p))
            .transpose()
    }

    /// Records an accident, attributed to `by`. An `area_id` must name an existing area.
    fn add_accident(
        &mut self,
        facts: &AccidentFacts,
        place: Point<f64>,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<Accident, ReleaseError> {
        let mut problems = Vec::new();
        validate_accident(facts, place, catalogue, Utc::now(), &mut problems);
        if !problems.is_empty() {
            return Err(ReleaseError::Invalid(problems));
        }
        let meta = ChangeMeta {
            author: by.to_string(),
            reason: format!(
                "accident on {} ({} killed, {} injured)",
                facts.occurred_at.date_naive(),
                facts
                    .casualties
                    .iter()
                    .filter(|c| c.outcome == cairn_core::accident::Outcome::Killed)
                    .count(),
                facts
                    .casualties
                    .iter()
                    .filter(|c| c.outcome == cairn_core::accident::Outcome::Injured)
                    .count()
            ),
            source: Some("accident".into()),
        };
        let mut w = self.begin(meta)?;
        if let Some(a) = &facts.area_id
            && head(&w.tx, super::AREA, a)?.is_none()
        {
            return Err(ReleaseError::NotFound(Problem::new(
                "area_id",
                format!("there is no hazardous area {a}"),
            )));
        }
        let id = format!("AC-{:06}", w.next_number("accident_id")?);
        w.put_record(ACCIDENT, &id, &Geometry::Point(place), &json(&id, facts)?)?;
        w.commit()?;
        Ok(Accident {
            id,
            facts: facts.clone(),
            place,
        })
    }

    /// Every accident, in id order.
    fn accidents(&self) -> Result<Vec<Accident>, StoreError> {
        self.current(ACCIDENT, accident_of)
    }

    /// One accident as it is now.
    fn get_accident(&self, id: &str) -> Result<Option<Accident>, StoreError> {
        head(&self.conn, ACCIDENT, id)?
            .map(|(g, p)| accident_of(id.to_string(), g, &p))
            .transpose()
    }
}
