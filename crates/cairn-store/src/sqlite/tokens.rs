//! API tokens: random secrets given once to their holder; the store keeps only their SHA-256.
//! Every token belongs to a user (migration 004) and carries the user's role and organisation.
//!
//! Why SHA-256 and not argon2: a secret here is 256 bits from the operating system's random
//! source, not a password a person chose. A slow, salted hash protects guessable secrets
//! against offline guessing; nobody can guess among 2^256, so a fast hash loses nothing, while
//! an argon2 call per request (tens of milliseconds and many MiB on purpose) would make every
//! authenticated request slow and hand a denial of service to anyone who sends bad tokens. A
//! stolen copy of the store still yields no usable token. The hash is also the lookup key (one
//! indexed equality), so no per-token prefix needs to be stored.
//!
//! Timing: a token is looked up by the SHA-256 of what the client sent, never by the secret
//! itself. SQLite's index comparison may stop at the first differing byte, but of two hashes: at
//! most it tells a guesser how many leading bytes of the hash of their guess match some stored
//! hash, from which nothing about any secret follows (that would need SHA-256 inverted). The row
//! found is then confirmed in Cairn's own code with `subtle`'s constant-time equality, so no
//! comparison Cairn makes on secret material branches on its bytes. The HTTP layer answers every
//! refused token alike (see `cairn_server::auth`).

use cairn_core::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::users::{UserError, micros, now, time};
use crate::prelude::*;
use crate::{SqliteStore, StoreError};

/// A token's record, without its secret: its user's name, role and organisation included.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    /// The user the token belongs to.
    pub name: String,
    pub user_id: i64,
    pub role: String,
    pub organisation: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// When the token's user was disabled, if they were.
    pub user_disabled_at: Option<Timestamp>,
}

impl TokenInfo {
    /// True when the token may be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.state_at(now) == "valid"
    }

    /// `valid`, `revoked`, `user disabled` or `expired`.
    pub fn state_at(&self, now: Timestamp) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.user_disabled_at.is_some() {
            "user disabled"
        } else if self.expires_at.is_some_and(|e| now >= e) {
            "expired"
        } else {
            "valid"
        }
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The columns every token query selects, in the order `token_row` reads them.
const COLUMNS: &str = "t.id, u.name, u.id, u.role, o.name, t.created_at, t.expires_at, t.revoked_at, u.disabled_at \
     FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN organisations o ON o.id = u.organisation_id";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        user_id: r.get(2)?,
        role: r.get(3)?,
        organisation: r.get(4)?,
        created_at: time(Some(r.get(5)?)).unwrap_or_default(),
        expires_at: time(r.get(6)?),
        revoked_at: time(r.get(7)?),
        user_disabled_at: time(r.get(8)?),
    })
}

impl crate::TokenStore for SqliteStore {
    /// Creates a token for an existing, enabled user and returns its secret (shown once).
    fn create_user_token(
        &mut self,
        user: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError> {
        let u = self
            .get_user(user)?
            .ok_or_else(|| UserError::NoUser(user.into()))?;
        if u.disabled_at.is_some() {
            return Err(UserError::Disabled(u.name));
        }
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret: String = format!(
            "cairn_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        self.conn().execute(
            "INSERT INTO tokens (user_id, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![u.id, hash(&secret), micros(now()), expires_at.map(micros)],
        )?;
        let id = self.conn().last_insert_rowid();
        let info = self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} WHERE t.id = ?1"),
                [id],
                token_row,
            )
            .map_err(StoreError::from)?;
        Ok((secret, info))
    }

    /// The older form, kept for scripts: a token for the user `name` with `role` (and
    /// `organisation`), who is created when missing; refused when a user of that name exists
    /// with another role or organisation.
    fn create_token(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError> {
        let user = self.legacy_user(name, role, organisation)?;
        self.create_user_token(&user.name, expires_at)
    }

    /// The token with this secret, whatever its state: found by its hash, and the hash stored
    /// confirmed equal in constant time.
    fn find_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        let wanted = hash(secret);
        let found = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS_AND_HASH} WHERE t.hash = ?1",
                COLUMNS_AND_HASH = COLUMNS.replacen(" FROM", ", t.hash FROM", 1)
            ))?
            .query_row([&wanted], |r| Ok((token_row(r)?, r.get::<_, Vec<u8>>(9)?)))
            .optional()?;
        Ok(found.and_then(|(info, stored)| bool::from(stored.ct_eq(&wanted)).then_some(info)))
    }

    /// Every token's record.
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} ORDER BY t.id"))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes a token by id; returns whether it existed and was not yet revoked.
    fn revoke_token(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![micros(now()), id],
        )? > 0)
    }
}
