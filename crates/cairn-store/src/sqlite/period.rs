//! Readers for reports over a period: every current activity, land release and post-release
//! find in the store, in id order (the transparency report picks the dates it needs). The
//! readers and the report's assembly are `crate::commands`', shared with every backend.

use cairn_core::release::{Activity, Find, Release};

use super::SqliteStore;
use crate::StoreError;
use crate::commands;

impl crate::PeriodStore for SqliteStore {
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
        catalogue: &cairn_core::Catalogue,
        period: cairn_core::transparency::Period,
        edition: cairn_core::transparency::Edition,
        generated_at: cairn_core::Timestamp,
    ) -> Result<cairn_core::transparency::Report, StoreError> {
        commands::transparency_report(self, catalogue, period, edition, generated_at)
    }
}
