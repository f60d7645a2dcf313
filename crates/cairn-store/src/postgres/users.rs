//! Organisations, users and API tokens in the PostgreSQL store (migration 2), as in the SQLite
//! store: a user has one role and at most one organisation, is disabled rather than deleted, and
//! owns tokens kept as SHA-256 hashes (why not argon2: `sqlite/tokens.rs`). Writes here take the
//! writer lock, so a check and the insert it allows cannot interleave with another server's.

use cairn_core::Timestamp;
use postgres::{GenericClient, Row, Transaction};
use sha2::{Digest, Sha256};

use super::{PgStore, WRITER_LOCK};
use crate::StoreError;
use crate::records::now;
use crate::sqlite::tokens::TokenInfo;
use crate::sqlite::users::{Organisation, ROLES, User, UserError, check_new_user, checked_name};

const USER_COLUMNS: &str = "u.id, u.name, u.role, o.name, u.created_at, u.disabled_at \
     FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id";

/// The columns every token query selects, in the order `token_row` reads them.
const TOKEN_COLUMNS: &str = "t.id, u.name, u.id, u.role, o.name, t.created_at, t.expires_at, t.revoked_at, u.disabled_at \
     FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN organisations o ON o.id = u.organisation_id";

fn user_row(r: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: r.try_get(2)?,
        organisation: r.try_get(3)?,
        created_at: r.try_get(4)?,
        disabled_at: r.try_get(5)?,
    })
}

fn token_row(r: &Row) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        user_id: r.try_get(2)?,
        role: r.try_get(3)?,
        organisation: r.try_get(4)?,
        created_at: r.try_get(5)?,
        expires_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
        user_disabled_at: r.try_get(8)?,
    })
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn get_user(c: &mut impl GenericClient, name: &str) -> Result<Option<User>, StoreError> {
    c.query_opt(
        &format!("SELECT {USER_COLUMNS} WHERE u.name = $1"),
        &[&name],
    )?
    .map(|r| user_row(&r))
    .transpose()
}

fn organisation_id(c: &mut impl GenericClient, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        c.query_opt("SELECT id FROM organisations WHERE name = $1", &[&name])?
            .map(|r| r.get(0)),
    )
}

fn insert_organisation(tx: &mut Transaction<'_>, name: &str) -> Result<Organisation, UserError> {
    let name = checked_name(name, "the organisation's name")?;
    if organisation_id(tx, &name)?.is_some() {
        return Err(UserError::OrganisationExists(name));
    }
    let at = now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO organisations (name, created_at) VALUES ($1, $2) RETURNING id",
            &[&name, &at],
        )
        .map_err(StoreError::from)?
        .get(0);
    Ok(Organisation {
        id,
        name,
        created_at: at,
    })
}

fn insert_user(
    tx: &mut Transaction<'_>,
    name: &str,
    role: &str,
    org: Option<i64>,
) -> Result<User, UserError> {
    tx.execute(
        "INSERT INTO users (name, role, organisation_id, created_at) VALUES ($1, $2, $3, $4)",
        &[&name, &role, &org, &now()],
    )
    .map_err(StoreError::from)?;
    get_user(tx, name)?.ok_or_else(|| UserError::NoUser(name.to_string()))
}

fn insert_token(
    tx: &mut Transaction<'_>,
    user: &str,
    expires_at: Option<Timestamp>,
) -> Result<(String, TokenInfo), UserError> {
    let u = get_user(tx, user)?.ok_or_else(|| UserError::NoUser(user.into()))?;
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
    let id: i64 = tx
        .query_one(
            "INSERT INTO tokens (user_id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&u.id, &hash(&secret), &now(), &expires_at],
        )
        .map_err(StoreError::from)?
        .get(0);
    let row = tx
        .query_one(&format!("SELECT {TOKEN_COLUMNS} WHERE t.id = $1"), &[&id])
        .map_err(StoreError::from)?;
    Ok((secret, token_row(&row)?))
}

impl PgStore {
    /// A transaction holding the writer lock, for the writes of this file.
    fn locked(&mut self) -> Result<Transaction<'_>, StoreError> {
        let mut tx = self.client_mut()?.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        Ok(tx)
    }
}

/// Commits `tx` when `r` is a success; otherwise drops it (rolls back).
fn commit_if_ok<T>(tx: Transaction<'_>, r: Result<T, UserError>) -> Result<T, UserError> {
    let v = r?;
    tx.commit().map_err(StoreError::from)?;
    Ok(v)
}

impl crate::UserStore for PgStore {
    fn add_organisation(&mut self, name: &str) -> Result<Organisation, UserError> {
        let mut tx = self.locked()?;
        let r = insert_organisation(&mut tx, name);
        commit_if_ok(tx, r)
    }

    fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT id, name, created_at FROM organisations ORDER BY name",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Organisation {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn add_user(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
    ) -> Result<User, UserError> {
        let name = check_new_user(name, role, organisation)?;
        let mut tx = self.locked()?;
        let r = (|| {
            let org = match organisation {
                None => None,
                Some(o) => Some(
                    organisation_id(&mut tx, o.trim())?
                        .ok_or_else(|| UserError::NoOrganisation(o.trim().into()))?,
                ),
            };
            if get_user(&mut tx, &name)?.is_some() {
                return Err(UserError::UserExists(name.clone()));
            }
            insert_user(&mut tx, &name, role, org)
        })();
        commit_if_ok(tx, r)
    }

    fn get_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.with(|c| get_user(c, name))
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.with(|c| {
            c.query(&format!("SELECT {USER_COLUMNS} ORDER BY u.name"), &[])?
                .iter()
                .map(user_row)
                .collect()
        })
    }

    fn disable_user(&mut self, name: &str) -> Result<User, UserError> {
        let mut tx = self.locked()?;
        let r = (|| {
            let n = tx
                .execute(
                    "UPDATE users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL",
                    &[&now(), &name],
                )
                .map_err(StoreError::from)?;
            match get_user(&mut tx, name)? {
                None => Err(UserError::NoUser(name.into())),
                Some(u) if n == 0 => Err(UserError::Disabled(u.name)),
                Some(u) => Ok(u),
            }
        })();
        commit_if_ok(tx, r)
    }
}

impl crate::TokenStore for PgStore {
    fn create_user_token(
        &mut self,
        user: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError> {
        let mut tx = self.locked()?;
        let r = insert_token(&mut tx, user, expires_at);
        commit_if_ok(tx, r)
    }

    fn create_token(
        &mut self,
        name: &str,
        role: &str,
        organisation: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<(String, TokenInfo), UserError> {
        let name = checked_name(name, "--name")?;
        let mut tx = self.locked()?;
        // The user a legacy `token create --name --role [--organisation]` means: the user of that
        // name when role and organisation agree, else a new user (and organisation) made for it;
        // all in one transaction, so a refused request leaves nothing behind.
        let r = (|| {
            if let Some(u) = get_user(&mut tx, &name)? {
                if u.role != role || u.organisation.as_deref() != organisation.map(str::trim) {
                    return Err(UserError::Mismatch {
                        existing: format!(
                            "{}{}",
                            u.role,
                            u.organisation
                                .as_deref()
                                .map(|o| format!(" of {o}"))
                                .unwrap_or_default()
                        ),
                        name: name.clone(),
                    });
                }
            } else {
                if !ROLES.contains(&role) {
                    return Err(UserError::BadRole(role.into()));
                }
                let org = match organisation {
                    None => None,
                    Some(o) => match organisation_id(&mut tx, o.trim())? {
                        Some(id) => Some(id),
                        None => Some(insert_organisation(&mut tx, o)?.id),
                    },
                };
                insert_user(&mut tx, &name, role, org)?;
            }
            insert_token(&mut tx, &name, expires_at)
        })();
        commit_if_ok(tx, r)
    }

    fn find_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.with(|c| {
            c.query_opt(
                &format!("SELECT {TOKEN_COLUMNS} WHERE t.hash = $1"),
                &[&hash(secret)],
            )?
            .map(|r| token_row(&r))
            .transpose()
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.with(|c| {
            c.query(&format!("SELECT {TOKEN_COLUMNS} ORDER BY t.id"), &[])?
                .iter()
                .map(token_row)
                .collect()
        })
    }

    fn revoke_token(&mut self, id: i64) -> Result<bool, StoreError> {
        let tx = self.client_mut()?;
        Ok(tx.execute(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now(), &id],
        )? > 0)
    }
}
