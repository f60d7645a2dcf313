//! Users, organisations and tokens (migration 004): the rules of `cairn user`, `cairn org` and
//! `cairn token`, and the migration of tokens made before users existed.

use cairn_store::SqliteStore;
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::users::UserError;
use sha2::{Digest, Sha256};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    (dir, s)
}

#[test]
fn users_belong_to_known_organisations_and_field_users_need_one() {
    let (_d, mut s) = store();
    s.add_organisation("Operator A").unwrap();
    assert!(matches!(
        s.add_organisation("Operator A"),
        Err(UserError::OrganisationExists(_))
    ));
    assert!(matches!(
        s.add_user("Team 7", "field", None),
        Err(UserError::FieldNeedsOrganisation)
    ));
    assert!(matches!(
        s.add_user("Team 7", "field", Some("Nobody")),
        Err(UserError::NoOrganisation(_))
    ));
    assert!(matches!(
        s.add_user("Team 7", "emperor", None),
        Err(UserError::BadRole(_))
    ));
    assert!(matches!(
        s.add_user("  ", "officer", None),
        Err(UserError::Empty(_))
    ));
    let u = s.add_user("Team 7", "field", Some("Operator A")).unwrap();
    assert_eq!(
        (u.role.as_str(), u.organisation.as_deref()),
        ("field", Some("Operator A"))
    );
    assert!(matches!(
        s.add_user("Team 7", "officer", None),
        Err(UserError::UserExists(_))
    ));
    s.add_user("Olena", "officer", None).unwrap();
    let names: Vec<String> = s
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["Olena", "Team 7"]);
    assert_eq!(s.list_organisations().unwrap()[0].name, "Operator A");
}

#[test]
fn tokens_carry_their_users_role_and_stop_when_the_user_is_disabled() {
    let (_d, mut s) = store();
    s.add_organisation("Operator A").unwrap();
    s.add_user("Team 7", "field", Some("Operator A")).unwrap();
    let (secret, info) = s.create_user_token("Team 7", None).unwrap();
    assert!(secret.starts_with("cairn_") && secret.len() == 70);
    assert_eq!(info.role, "field");
    let found = s.find_token(&secret).unwrap().unwrap();
    assert_eq!(found.organisation.as_deref(), Some("Operator A"));
    assert!(found.is_valid_at(chrono::Utc::now()));
    assert!(s.find_token("cairn_nope").unwrap().is_none());
    s.disable_user("Team 7").unwrap();
    assert!(matches!(
        s.disable_user("Team 7"),
        Err(UserError::Disabled(_))
    ));
    assert!(matches!(
        s.disable_user("Nobody"),
        Err(UserError::NoUser(_))
    ));
    let found = s.find_token(&secret).unwrap().unwrap();
    assert_eq!(found.state_at(chrono::Utc::now()), "user disabled");
    assert!(matches!(
        s.create_user_token("Team 7", None),
        Err(UserError::Disabled(_))
    ));
    // Expired and revoked.
    s.add_user("Olena", "officer", None).unwrap();
    let (old, _) = s
        .create_user_token(
            "Olena",
            Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .unwrap();
    assert_eq!(
        s.find_token(&old)
            .unwrap()
            .unwrap()
            .state_at(chrono::Utc::now()),
        "expired"
    );
    let (t, info) = s.create_user_token("Olena", None).unwrap();
    assert!(s.revoke_token(info.id).unwrap());
    assert!(!s.revoke_token(info.id).unwrap());
    assert_eq!(
        s.find_token(&t)
            .unwrap()
            .unwrap()
            .state_at(chrono::Utc::now()),
        "revoked"
    );
}

#[test]
fn the_older_token_form_makes_or_reuses_a_user() {
    let (_d, mut s) = store();
    let (_, a) = s
        .create_token("Olena", "officer", Some("IMO"), None)
        .unwrap();
    let (_, b) = s
        .create_token("Olena", "officer", Some("IMO"), None)
        .unwrap();
    assert_eq!(a.user_id, b.user_id);
    assert_eq!(s.list_organisations().unwrap()[0].name, "IMO");
    assert!(matches!(
        s.create_token("Olena", "admin", Some("IMO"), None),
        Err(UserError::Mismatch { .. })
    ));
    assert_eq!(s.list_users().unwrap().len(), 1);
    assert_eq!(s.list_tokens().unwrap().len(), 2);
}

fn sha(s: &str) -> Vec<u8> {
    Sha256::digest(s.as_bytes()).to_vec()
}

#[test]
fn migration_4_gives_every_older_token_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../src/sqlite/migrations/001_init.sql"),
            include_str!("../src/sqlite/migrations/002_tokens.sql"),
            include_str!("../src/sqlite/migrations/003_reports.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        let add = |name: &str,
                   role: &str,
                   org: Option<&str>,
                   secret: &str,
                   revoked: Option<i64>| {
            c.execute(
                "INSERT INTO tokens (name, role, organisation, hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, 1000, ?5)",
                rusqlite::params![name, role, org, sha(secret), revoked],
            )
            .unwrap();
        };
        add("Olena", "officer", Some("IMO"), "s1", None);
        add("Olena", "field", Some("Operator A"), "s2", None);
        add("Petro", "auditor", None, "s3", None);
        add("Petro", "auditor", None, "s4", Some(2000));
    }
    let s = SqliteStore::open(&path, OpenMode::Existing).unwrap();
    let t1 = s.find_token("s1").unwrap().unwrap();
    assert_eq!(
        (
            t1.name.as_str(),
            t1.role.as_str(),
            t1.organisation.as_deref()
        ),
        ("Olena (officer, IMO)", "officer", Some("IMO"))
    );
    let t2 = s.find_token("s2").unwrap().unwrap();
    assert_eq!(
        (
            t2.name.as_str(),
            t2.role.as_str(),
            t2.organisation.as_deref()
        ),
        ("Olena (field, Operator A)", "field", Some("Operator A"))
    );
    let t3 = s.find_token("s3").unwrap().unwrap();
    let t4 = s.find_token("s4").unwrap().unwrap();
    assert_eq!((t3.name.as_str(), t3.user_id), ("Petro", t4.user_id));
    assert!(t3.is_valid_at(chrono::Utc::now()));
    assert_eq!(t4.state_at(chrono::Utc::now()), "revoked");
    assert_eq!(s.list_users().unwrap().len(), 3);
    let orgs: Vec<String> = s
        .list_organisations()
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(orgs, ["IMO", "Operator A"]);
    assert_eq!(s.list_tokens().unwrap().len(), 4);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}
