//! Activities, land releases, finds, zones, accidents and the readers over a period, in the
//! PostgreSQL store: the commands and readers are `crate::commands`', shared with every backend,
//! run on this backend's primitives (`CommandStore for PgStore`); the history of a record that is
//! not an area is read here.

use cairn_core::accident::{Accident, AccidentFacts};
use cairn_core::release::{Activity, Find, Release};
use cairn_core::zone::Zone;
use cairn_core::{Catalogue, Evidence, HazardArea, Status};
use geo_types::Point;

use super::PgStore;
use crate::commands;
use crate::records::geometry;
use crate::sqlite::release::{
    FindOutcome, FindRequest, NewActivity, ReleaseError, ReleaseOutcome, ReleaseRequest,
};
use crate::sqlite::zones::RecordRevision;
use crate::{ChangeMeta, ChangeSummary, StoreError};

impl crate::ReleaseStore for PgStore {
    fn add_activity(
        &mut self,
        new: &NewActivity,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<Activity, ReleaseError> {
        commands::add_activity(self, new, catalogue, by)
    }

    fn get_activity(&self, id: &str) -> Result<Option<Activity>, StoreError> {
        commands::get_activity(self, id)
    }

    fn activities_for_area(&self, area_id: &str) -> Result<Vec<Activity>, StoreError> {
        commands::activities_for_area(self, area_id)
    }

    fn release_land(
        &mut self,
        req: &ReleaseRequest,
        by: &str,
    ) -> Result<ReleaseOutcome, ReleaseError> {
        commands::release_land(self, req, by)
    }

    fn get_release(&self, id: &str) -> Result<Option<Release>, StoreError> {
        commands::get_release(self, id)
    }

    fn releases_for_area(&self, area_id: &str) -> Result<Vec<Release>, StoreError> {
        commands::releases_for_area(self, area_id)
    }

    fn finds_for_release(&self, release_id: &str) -> Result<Vec<Find>, StoreError> {
        commands::finds_for_release(self, release_id)
    }

    fn record_find(
        &mut self,
        req: &FindRequest,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<FindOutcome, ReleaseError> {
        commands::record_find(self, req, catalogue, by)
    }

    fn change_status(
        &mut self,
        area_id: &str,
        to: Status,
        evidence: Option<&Evidence>,
        reason: &str,
        by: &str,
    ) -> Result<HazardArea, ReleaseError> {
        commands::change_status(self, area_id, to, evidence, reason, by)
    }
}

impl crate::ZoneStore for PgStore {
    fn record_history(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError> {
        self.with(|c| {
            let rows = c.query(
                "SELECT r.seq, c.recorded_at, c.author, c.reason, ST_AsBinary(r.geom, 'NDR'), r.props::text \
                 FROM revisions r JOIN changesets c ON c.id = r.changeset \
                 WHERE r.kind = $1 AND r.record_id = $2 ORDER BY r.seq",
                &[&kind, &id],
            )?;
            rows.iter()
                .map(|r| {
                    let wkb: Vec<u8> = r.try_get(4)?;
                    let props: String = r.try_get(5)?;
                    Ok(RecordRevision {
                        seq: r.try_get(0)?,
                        recorded_at: r.try_get(1)?,
                        author: r.try_get(2)?,
                        reason: r.try_get(3)?,
                        geometry: geometry(id, &wkb)?,
                        props: serde_json::from_str(&props).map_err(|e| {
                            crate::records::corrupt(id, format!("properties: {e}"))
                        })?,
                    })
                })
                .collect()
        })
    }

    fn put_zones(
        &mut self,
        zones: &[Zone],
        meta: ChangeMeta,
    ) -> Result<ChangeSummary, ReleaseError> {
        commands::put_zones(self, zones, meta)
    }

    fn zones(&self) -> Result<Vec<Zone>, StoreError> {
        commands::zones(self)
    }

    fn get_zone(&self, id: &str) -> Result<Option<Zone>, StoreError> {
        commands::get_zone(self, id)
    }

    fn add_accident(
        &mut self,
        facts: &AccidentFacts,
        place: Point<f64>,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<Accident, ReleaseError> {
        commands::add_accident(self, facts, place, catalogue, by)
    }

    fn accidents(&self) -> Result<Vec<Accident>, StoreError> {
        commands::accidents(self)
    }

    fn get_accident(&self, id: &str) -> Result<Option<Accident>, StoreError> {
        commands::get_accident(self, id)
    }
}

impl crate::PeriodStore for PgStore {
    fn all_activities(&self) -> Result<Vec<Activity>, StoreError> {
        commands::all_activities(self)
    }

    fn all_releases(&self) -> Result<Vec<Release>, StoreError> {
        commands::all_releases(self)
    }

    fn all_finds(&self) -> Result<Vec<Find>, StoreError> {
        commands::all_finds(self)
    }

    fn transparency_report(
        &self,
        catalogue: &Catalogue,
        period: cairn_core::transparency::Period,
        edition: cairn_core::transparency::Edition,
        generated_at: cairn_core::Timestamp,
    ) -> Result<cairn_core::transparency::Report, StoreError> {
        commands::transparency_report(self, catalogue, period, edition, generated_at)
    }
}
