//! API tokens: random secrets given once to their holder; the store keeps only their hash.

use cairn_core::Timestamp;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{SqliteStore, StoreError};

/// A token's record, without its secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl TokenInfo {
    /// True when the token may be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn time(us: Option<i64>) -> Option<Timestamp> {
    us.and_then(DateTime::<Utc>::from_timestamp_micros)
}

/// The columns every token query selects, in the order `token_row` reads them.
const COLUMNS: &str = "id, name, role, organisation, created_at, expires_at, revoked_at";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        organisation: r.get(3)?,
        created_at: time(Some(r.get(4)?)).unwrap_or_default(),
        expires_at: time(r.get(5)?),
        revoked_at: time(r.get(6)?),
    })
}

impl SqliteStore {
    /// Creates a token and returns its secret (shown once) and record.
    pub fn create_token(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), StoreError> {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret: String = format!(
            "cairn_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let now = Utc::now();
        self.conn().execute(
            "INSERT INTO tokens (name, role, organisation, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, role, organisation, hash(&secret), micros(now), expires_at.map(micros)],
        )?;
        let id = self.conn().last_insert_rowid();
        let info = TokenInfo {
            id,
            name: name.into(),
            role: role.into(),
            organisation: organisation.map(str::to_string),
            created_at: DateTime::<Utc>::from_timestamp_micros(micros(now)).unwrap_or(now),
            expires_at,
            revoked_at: None,
        };
        Ok((secret, info))
    }

    /// The token with this secret, whatever its state.
    pub fn find_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"),
                [hash(secret)],
                token_row,
            )
            .optional()?)
    }

    /// Every token's record.
    pub fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes a token by id; returns whether it existed and was not yet revoked.
    pub fn revoke_token(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![micros(Utc::now()), id],
        )? > 0)
    }
}
