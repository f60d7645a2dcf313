//! The store boundary: every kind of record and every reader that the commands and the service
//! use, as traits that any backend implements (SQLite today, PostgreSQL/PostGIS next), and
//! `Backend`, all of them at once, which the service holds as `Box<dyn Backend>`. One
//! conformance suite (`tests/conformance.rs`) runs against it.
//!
//! The record types some signatures name still live beside the SQLite backend (`sqlite::*`):
//! they are plain data and move here when a second backend needs them.

use cairn_core::accident::{Accident, AccidentFacts};
use cairn_core::release::{Activity, Find, Release};
use cairn_core::report::ReportState;
use cairn_core::zone::Zone;
use cairn_core::{Catalogue, Evidence, HazardArea, Status, Timeline, Timestamp, TrackedArea};
use geo_types::Point;

use crate::sqlite::catalogue::{
    CatalogueImport, CatalogueImportError, CatalogueVersion, TypeChange, VersionedCatalogue,
};
use crate::sqlite::release::{
    FindOutcome, FindRequest, NewActivity, ReleaseError, ReleaseOutcome, ReleaseRequest,
};
use crate::sqlite::reports::{Decision, NewReport, Receipt, Report, TriageError, TriageRecord};
use crate::sqlite::tokens::TokenInfo;
use crate::sqlite::users::{Organisation, User, UserError};
use crate::sqlite::zones::RecordRevision;
use crate::{ChangeMeta, ChangeSummary, Store, StoreError};

/// Everything a store offers: what `cairn serve` holds, and what the conformance suite tests.
pub trait Backend:
    Store
    + ReportStore
    + ReleaseStore
    + ZoneStore
    + UserStore
    + TokenStore
    + AuditStore
    + PeriodStore
    + CatalogueStore
    + Send
{
    /// Another connection to the same store (read-only when asked), for work that must not wait
    /// for the main one: the change feed's reader, report intake, audits and reports.
    fn reopen(&self, read_only: bool) -> Result<Box<dyn Backend>, StoreError>;

    /// Where the store is, for messages: a file's path, or a database's address without its
    /// password.
    fn location(&self) -> String;
}

/// Reports from the public and their triage.
pub trait ReportStore {
    /// Stores reports in one transaction, durably (the store runs with `synchronous=FULL`), and
    /// returns their receipts in the same order. Either every report is stored or none is.
    fn add_reports(&mut self, batch: &[NewReport]) -> Result<Vec<Receipt>, StoreError>;

    /// One report by its canonical reference, without its photo's bytes.
    fn get_report(&self, reference: &str) -> Result<Option<Report>, StoreError>;

    /// A report's photo: its media type and bytes.
    fn report_photo(&self, reference: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// Reports in a state (all when `None`), oldest first, and how many there are in all.
    fn list_reports(
        &self,
        state: Option<ReportState>,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Report>, u64), StoreError>;

    /// How many reports are in each state, for metrics.
    fn report_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError>;

    /// Records an information officer's decision about a report, attributed to `by`. A report
    /// is triaged once: a second decision is refused with [`TriageError::AlreadyTriaged`].
    /// `Open` creates the reported area (a new revision in a changeset by `by`) in the same
    /// transaction as the decision, so there is never an area without its decision or the reverse.
    fn triage_report(
        &mut self,
        reference: &str,
        decision: &Decision,
        by: &str,
    ) -> Result<TriageRecord, TriageError>;
}

/// Activities, land release, post-release finds and status changes: the store's own commands, each checked by `cairn_core`'s rules inside its transaction.
pub trait ReleaseStore {
    /// Records an activity on an area, attributed to `by`.
    fn add_activity(
        &mut self,
        new: &NewActivity,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<Activity, ReleaseError>;

    /// One activity as it is now.
    fn get_activity(&self, id: &str) -> Result<Option<Activity>, StoreError>;

    /// Every activity recorded on an area, in id order.
    fn activities_for_area(&self, area_id: &str) -> Result<Vec<Activity>, StoreError>;

    /// Releases part of an area on the evidence of an activity, attributed to `by`: the release
    /// record and the area's new revision (remaining geometry and status) in one changeset.
    fn release_land(
        &mut self,
        req: &ReleaseRequest,
        by: &str,
    ) -> Result<ReleaseOutcome, ReleaseError>;

    /// One release.
    fn get_release(&self, id: &str) -> Result<Option<Release>, StoreError>;

    /// Every release of an area, oldest first.
    fn releases_for_area(&self, area_id: &str) -> Result<Vec<Release>, StoreError>;

    /// Every item found on the land of a release.
    fn finds_for_release(&self, release_id: &str) -> Result<Vec<Find>, StoreError>;

    /// Records an item found on released land, attributed to `by`, and opens a confirmed area
    /// of [`FIND_RADIUS_M`] around it, in one changeset.
    fn record_find(
        &mut self,
        req: &FindRequest,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<FindOutcome, ReleaseError>;

    /// Changes an area's status (reported → suspected → confirmed) when the evidence supports
    /// it, attributed to `by` with `reason`.
    fn change_status(
        &mut self,
        area_id: &str,
        to: Status,
        evidence: Option<&Evidence>,
        reason: &str,
        by: &str,
    ) -> Result<HazardArea, ReleaseError>;
}

/// Zones, accidents, and the history of any record that is not an area.
pub trait ZoneStore {
    /// Every revision of a record that is not an area (a zone, an accident, an activity…), oldest
    /// first; empty when there is no such record.
    fn record_history(&self, kind: &str, id: &str) -> Result<Vec<RecordRevision>, StoreError>;

    /// Writes zones in one changeset: new ids are created, changed ones get a new revision, equal
    /// ones are left alone. Every zone is checked first; one bad zone writes nothing, and the
    /// error lists every problem, each field prefixed with `zones[i]` and the zone's id.
    fn put_zones(
        &mut self,
        zones: &[Zone],
        meta: ChangeMeta,
    ) -> Result<ChangeSummary, ReleaseError>;

    /// Every current zone, in id order.
    fn zones(&self) -> Result<Vec<Zone>, StoreError>;

    /// One zone as it is now.
    fn get_zone(&self, id: &str) -> Result<Option<Zone>, StoreError>;

    /// The territory of operations in force: the one set last, else the default (Ukraine and
    /// 50 km around it). Every area write is checked against it (`cairn_core::command::check`).
    fn territory(&self) -> Result<std::sync::Arc<cairn_core::territory::Territory>, StoreError>;

    /// Sets the territory of operations in a changeset of its own (record kind `territory`, with
    /// history); nothing is written when it is the one in force. Records already kept are not
    /// checked again.
    fn set_territory(
        &mut self,
        territory: &cairn_core::territory::Territory,
        meta: ChangeMeta,
    ) -> Result<ChangeSummary, StoreError>;

    /// Records an accident, attributed to `by`. An `area_id` must name an existing area.
    fn add_accident(
        &mut self,
        facts: &AccidentFacts,
        place: Point<f64>,
        catalogue: &Catalogue,
        by: &str,
    ) -> Result<Accident, ReleaseError>;

    /// Every accident, in id order.
    fn accidents(&self) -> Result<Vec<Accident>, StoreError>;

    /// One accident as it is now.
    fn get_accident(&self, id: &str) -> Result<Option<Accident>, StoreError>;
}

/// Organisations, users and their API tokens.
pub trait UserStore {
    /// Adds an organisation.
    fn add_organisation(&mut self, name: &str) -> Result<Organisation, UserError>;

    /// Every organisation, by name.
    fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError>;

    /// Adds a user with a role and (required for `field`) an existing organisation.
    fn add_user(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
    ) -> Result<User, UserError>;

    /// The user with this name.
    fn get_user(&self, name: &str) -> Result<Option<User>, StoreError>;

    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// Disables a user: every token of theirs is refused from now on. Returns the user as
    /// disabled (a user disabled earlier keeps the first time).
    fn disable_user(&mut self, name: &str) -> Result<User, UserError>;
}

/// API tokens, each of a user, stored hashed.
pub trait TokenStore {
    /// Creates a token for an existing, enabled user and returns its secret (shown once).
    fn create_user_token(
        &mut self,
        user: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError>;

    /// The older form, kept for scripts: a token for the user `name` with `role` (and
    /// `organisation`), who is created when missing; refused when a user of that name exists
    /// with another role or organisation.
    fn create_token(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError>;

    /// The token with this secret, whatever its state.
    fn find_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError>;

    /// Every token's record.
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token by id; returns whether it existed and was not yet revoked.
    fn revoke_token(&mut self, id: i64) -> Result<bool, StoreError>;
}

/// What the compliance audit reads.
pub trait AuditStore {
    /// Every emplacement record as it is now, with its timeline, in id order.
    fn audit_subjects(&self) -> Result<Vec<(HazardArea, Timeline)>, StoreError>;

    /// Every area that is not (now) an emplacement record and is or was an open hazard: id,
    /// current status and timeline, in id order, in one pass over the history.
    fn audit_other_hazards(&self) -> Result<Vec<TrackedArea>, StoreError>;
}

/// What reports over a period read, and the transparency report assembled from it.
pub trait PeriodStore {
    /// Every activity, in id order.
    fn all_activities(&self) -> Result<Vec<Activity>, StoreError>;

    /// Every land release, in id order.
    fn all_releases(&self) -> Result<Vec<Release>, StoreError>;

    /// Every post-release find, in id order.
    fn all_finds(&self) -> Result<Vec<Find>, StoreError>;

    /// The transparency report for `period` in `edition`, from the store as it is now: every
    /// activity, release, find, accident and zone, and the current areas one at a time.
    fn transparency_report(
        &self,
        catalogue: &cairn_core::Catalogue,
        period: cairn_core::transparency::Period,
        edition: cairn_core::transparency::Edition,
        generated_at: cairn_core::Timestamp,
    ) -> Result<cairn_core::transparency::Report, StoreError>;
}

/// The device catalogue, versioned like records.
pub trait CatalogueStore {
    /// The catalogue in force at recorded time `as_of` (now when `None`) with its version
    /// number. A time before version 1 was recorded gets version 1.
    fn catalogue(&self, as_of: Option<Timestamp>) -> Result<VersionedCatalogue, StoreError>;

    /// The text of one version as it was imported, or `None` when there is no such version.
    fn catalogue_text(&self, version: i64) -> Result<Option<String>, StoreError>;

    /// Every version, oldest first, with its changeset's attribution.
    fn catalogue_versions(&self) -> Result<Vec<CatalogueVersion>, StoreError>;

    /// Every change to every device type, version by version (each version compared with the
    /// one before it; every type of version 1 is `Added`), oldest first and by type id within a
    /// version.
    fn catalogue_changes(&self) -> Result<Vec<TypeChange>, StoreError>;

    /// Every change to one device type, oldest first; empty when no version ever had it.
    fn device_type_history(&self, id: &str) -> Result<Vec<TypeChange>, StoreError>;

    /// Writes `toml` as the next catalogue version, attributed to `meta`, when it parses, differs
    /// from the version in force and keeps every device type the current areas use. Otherwise
    /// nothing is written: an equal catalogue is `Unchanged`, anything else an error.
    fn import_catalogue(
        &mut self,
        toml: &str,
        meta: ChangeMeta,
    ) -> Result<CatalogueImport, CatalogueImportError>;
}
