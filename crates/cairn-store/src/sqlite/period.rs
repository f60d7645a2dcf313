//! Readers for reports over a period: every current activity, land release and post-release
//! find in the store, in id order (the transparency report picks the dates it needs).

use cairn_core::release::{Activity, Find, Release};

use super::SqliteStore;
use super::release::{ACTIVITY, FIND, RELEASE, activity_of, find_of, release_of};
use crate::StoreError;
use crate::prelude::*;

impl crate::PeriodStore for SqliteStore {
    /// Every activity, in id order.
    fn all_activities(&self) -> Result<Vec<Activity>, StoreError> {
        self.current(ACTIVITY, activity_of)
    }

    /// Every land release, in id order.
    fn all_releases(&self) -> Result<Vec<Release>, StoreError> {
        self.current(RELEASE, release_of)
    }

    /// Every post-release find, in id order.
    fn all_finds(&self) -> Result<Vec<Find>, StoreError> {
        self.current(FIND, find_of)
    }

    /// The transparency report for `period` in `edition`, from the store as it is now: every
    /// activity, release, find, accident and zone, and the current areas one at a time.
    fn transparency_report(
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
