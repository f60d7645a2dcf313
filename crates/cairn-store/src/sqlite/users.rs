//! Organisations and users (migration 004). A user has one role and at most one organisation;
//! tokens belong to users (see `tokens.rs`). Nothing is deleted: a user who leaves is disabled,
//! which refuses every token of theirs, and their name stays on the changes they made.

use cairn_core::Timestamp;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::prelude::*;
use crate::{SqliteStore, StoreError};

/// The roles a user may have, as stored. The public has no user.
pub const ROLES: &[&str] = &["field", "officer", "auditor", "admin"];

/// An organisation: a national authority, an operator, a humanitarian agency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
}

/// A user of the API and the command line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// Why a user or organisation command was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user named {0:?} already exists")]
    UserExists(String),
    #[error("there is no user named {0:?}; add one with `cairn user add`")]
    NoUser(String),
    #[error("user {0:?} is disabled")]
    Disabled(String),
    #[error("an organisation named {0:?} already exists")]
    OrganisationExists(String),
    #[error("there is no organisation named {0:?}; add it with `cairn org add`")]
    NoOrganisation(String),
    #[error("role {0:?} is not one of field, officer, auditor, admin")]
    BadRole(String),
    #[error("a field user writes for their organisation, so --org is required for role field")]
    FieldNeedsOrganisation,
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error(
        "user {name:?} exists as {existing}; a token for them is made with `cairn token create --user {name:?}`"
    )]
    Mismatch { name: String, existing: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for UserError {
    fn from(e: rusqlite::Error) -> UserError {
        UserError::Store(StoreError::Sqlite(e))
    }
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn time(us: Option<i64>) -> Option<Timestamp> {
    us.and_then(DateTime::<Utc>::from_timestamp_micros)
}

/// Now, at the store's resolution (microseconds).
pub(crate) fn now() -> Timestamp {
    let n = Utc::now();
    DateTime::<Utc>::from_timestamp_micros(micros(n)).unwrap_or(n)
}

const USER_COLUMNS: &str = "u.id, u.name, u.role, o.name, u.created_at, u.disabled_at \
     FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        organisation: r.get(3)?,
        created_at: time(Some(r.get(4)?)).unwrap_or_default(),
        disabled_at: time(r.get(5)?),
    })
}

pub(crate) fn checked_name(s: &str, what: &'static str) -> Result<String, UserError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(UserError::Empty(what));
    }
    Ok(t.to_string())
}

/// A new user's name, trimmed, when the name, role and organisation are acceptable as given
/// (whether the organisation exists is the store's to say).
pub(crate) fn check_new_user(
    name: &str,
    role: &str,
    organisation: Option<&str>,
) -> Result<String, UserError> {
    let name = checked_name(name, "the user's name")?;
    if !ROLES.contains(&role) {
        return Err(UserError::BadRole(role.into()));
    }
    if role == "field" && organisation.is_none() {
        return Err(UserError::FieldNeedsOrganisation);
    }
    Ok(name)
}

impl SqliteStore {
    fn organisation_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM organisations WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The user a legacy `token create --name --role [--organisation]` means: the user of that
    /// name when role and organisation agree, else a new user (and organisation) made for it.
    pub(crate) fn legacy_user(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
    ) -> Result<User, UserError> {
        let name = checked_name(name, "--name")?;
        if let Some(u) = self.get_user(&name)? {
            if u.role == role && u.organisation.as_deref() == organisation.map(str::trim) {
                return Ok(u);
            }
            return Err(UserError::Mismatch {
                existing: format!(
                    "{}{}",
                    u.role,
                    u.organisation
                        .as_deref()
                        .map(|o| format!(" of {o}"))
                        .unwrap_or_default()
                ),
                name,
            });
        }
        // The role first: a refused request leaves no organisation behind.
        if !ROLES.contains(&role) {
            return Err(UserError::BadRole(role.into()));
        }
        if let Some(o) = organisation
            && self.organisation_id(o.trim())?.is_none()
        {
            self.add_organisation(o)?;
        }
        // Legacy tokens could name a field holder without an organisation; such a user may read
        // restricted data but writes nothing (the server refuses field writes without one).
        let org = match organisation {
            None => None,
            Some(o) => self.organisation_id(o.trim())?,
        };
        self.conn().execute(
            "INSERT INTO users (name, role, organisation_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role, org, micros(now())],
        )?;
        self.get_user(&name)?
            .ok_or_else(|| UserError::NoUser(name.clone()))
    }
}

impl crate::UserStore for SqliteStore {
    /// Adds an organisation.
    fn add_organisation(&mut self, name: &str) -> Result<Organisation, UserError> {
        let name = checked_name(name, "the organisation's name")?;
        if self.organisation_id(&name)?.is_some() {
            return Err(UserError::OrganisationExists(name));
        }
        let at = now();
        self.conn().execute(
            "INSERT INTO organisations (name, created_at) VALUES (?1, ?2)",
            params![name, micros(at)],
        )?;
        Ok(Organisation {
            id: self.conn().last_insert_rowid(),
            name,
            created_at: at,
        })
    }

    /// Every organisation, by name.
    fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, name, created_at FROM organisations ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Organisation {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: time(Some(r.get(2)?)).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Adds a user with a role and (required for `field`) an existing organisation.
    fn add_user(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
    ) -> Result<User, UserError> {
        let name = check_new_user(name, role, organisation)?;
        let org = match organisation {
            None => None,
            Some(o) => Some(
                self.organisation_id(o.trim())?
                    .ok_or_else(|| UserError::NoOrganisation(o.trim().into()))?,
            ),
        };
        if self.get_user(&name)?.is_some() {
            return Err(UserError::UserExists(name));
        }
        self.conn().execute(
            "INSERT INTO users (name, role, organisation_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role, org, micros(now())],
        )?;
        self.get_user(&name)?
            .ok_or_else(|| UserError::NoUser(name.clone()))
    }

    /// The user with this name.
    fn get_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} WHERE u.name = ?1"),
                [name],
                user_row,
            )
            .optional()?)
    }

    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {USER_COLUMNS} ORDER BY u.name"))?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Disables a user: every token of theirs is refused from now on. Returns the user as
    /// disabled (a user disabled earlier keeps the first time).
    fn disable_user(&mut self, name: &str) -> Result<User, UserError> {
        let n = self.conn().execute(
            "UPDATE users SET disabled_at = ?1 WHERE name = ?2 AND disabled_at IS NULL",
            params![micros(now()), name],
        )?;
        match self.get_user(name)? {
            None => Err(UserError::NoUser(name.into())),
            Some(u) if n == 0 => Err(UserError::Disabled(u.name)),
            Some(u) => Ok(u),
        }
    }
}
