//! Readers for reports over a period: every current activity, land release and post-release
//! find in the store, in id order (the transparency report picks the dates it needs).

use cairn_core::release::{Activity, ActivityFacts, Find, FindFacts, Release, ReleaseFacts};
use geo_types::Geometry;
use serde::de::DeserializeOwned;

use super::SqliteStore;
use super::release::{corrupt, multipolygon};
use crate::{StoreError, decode_wkb};

impl SqliteStore {
    /// Every current record of `kind` as (id, geometry, facts), in id order.
    fn all_of<F: DeserializeOwned>(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, Geometry<f64>, F)>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
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
            let props = r
                .get_ref(2)?
                .as_str()
                .map_err(|e| corrupt(&id, e.to_string()))?;
            let facts: F = serde_json::from_str(props)
                .map_err(|e| corrupt(&id, format!("properties: {e}")))?;
            out.push((id, g, facts));
        }
        Ok(out)
    }

    /// Every activity, in id order.
    pub fn all_activities(&self) -> Result<Vec<Activity>, StoreError> {
        self.all_of::<ActivityFacts>("activity")?
            .into_iter()
            .map(|(id, g, facts)| {
                Ok(Activity {
                    geometry: multipolygon(&id, g)?,
                    facts,
                    id,
                })
            })
            .collect()
    }

    /// Every land release, in id order.
    pub fn all_releases(&self) -> Result<Vec<Release>, StoreError> {
        self.all_of::<ReleaseFacts>("release")?
            .into_iter()
            .map(|(id, g, facts)| {
                Ok(Release {
                    geometry: multipolygon(&id, g)?,
                    facts,
                    id,
                })
            })
            .collect()
    }

    /// Every post-release find, in id order.
    pub fn all_finds(&self) -> Result<Vec<Find>, StoreError> {
        self.all_of::<FindFacts>("find")?
            .into_iter()
            .map(|(id, g, facts)| match g {
                Geometry::Point(at) => Ok(Find { at, facts, id }),
                _ => Err(corrupt(&id, "a find's geometry is not a point")),
            })
            .collect()
    }
}

impl SqliteStore {
    /// The transparency report for `period` in `edition`, from the store as it is now: every
    /// activity, release, find, accident and zone, and the current areas one at a time.
    pub fn transparency_report(
        &self,
        catalogue: &cairn_core::Catalogue,
        period: cairn_core::transparency::Period,
        edition: cairn_core::transparency::Edition,
        generated_at: cairn_core::Timestamp,
    ) -> Result<cairn_core::transparency::Report, StoreError> {
        use crate::Store;
        use cairn_core::transparency::{ReportBuilder, ReportInput};
        let zones = self.zones()?;
        let activities = self.all_activities()?;
        let releases = self.all_releases()?;
        let finds = self.all_finds()?;
        let accidents = self.accidents()?;
        let mut b = ReportBuilder::new(ReportInput {
            period,
            edition,
            catalogue,
            zones: &zones,
            activities: &activities,
            releases: &releases,
            finds: &finds,
            accidents: &accidents,
            generated_at,
        });
        self.for_each_area(None, &mut |s| {
            b.add_area(&s.area);
            Ok(())
        })?;
        Ok(b.finish())
    }
}
