//! Secrets and files (issue 18): a store the real `cairn` creates, and the `-wal` and `-shm`
//! files SQLite makes beside it, are readable by their owner only; a refused token gets one and
//! the same answer over HTTP whether it is unknown, revoked, expired or its user disabled.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::server::{Server, cairn, request};

fn ok(db: &Path, args: &[&str]) -> String {
    let out = cairn(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cairn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn beside(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

#[test]
fn a_store_and_its_companions_are_created_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    // `init` and `import` both create stores.
    let db = dir.path().join("init.db");
    ok(&db, &["init"]);
    assert_eq!(mode(&db), 0o600, "a store made by cairn init");
    let imported = dir.path().join("import.db");
    let input = dir.path().join("areas.geojson");
    std::fs::write(
        &input,
        r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "HA-000001",
            "geometry": {"type": "Polygon", "coordinates": [[[36.1, 49.9], [36.11, 49.9], [36.11, 49.91], [36.1, 49.9]]]},
            "properties": {"status": "confirmed", "classification": "public", "evidence": {"kind": "direct"}}}]}"#,
    )
    .unwrap();
    let out = cairn(&imported).arg("import").arg(&input).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&imported), 0o600, "a store made by cairn import");

    // While a server holds the store, SQLite's write-ahead log and shared memory exist: they
    // take the store's mode.
    ok(
        &db,
        &["token", "create", "--name", "Olena", "--role", "officer"],
    );
    let server = Server::start(&db, None);
    let (status, _, _) = request(
        &server.addr,
        "POST",
        "/api/reports",
        &[],
        r#"{"lon": 36.2, "lat": 49.9, "category": "mine"}"#,
    );
    assert_eq!(status, 201);
    for suffix in ["-wal", "-shm"] {
        let p = beside(&db, suffix);
        assert!(p.exists(), "{} exists while serving", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    drop(server);
    assert_eq!(mode(&db), 0o600);

    // A store that exists keeps the mode its operator gave it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(&db, &["init"]);
    assert_eq!(mode(&db), 0o640);
}

/// The status, the headers but `date` (names and values) and the body of an answer.
fn answer(addr: &str, path: &str, token: &str) -> (u16, Vec<String>, String) {
    let auth = format!("Bearer {token}");
    let (status, head, body) = request(addr, "GET", path, &[("Authorization", &auth)], "");
    let mut headers: Vec<String> = head
        .lines()
        .skip(1)
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .map(str::to_string)
        .collect();
    headers.sort();
    (status, headers, body)
}

#[test]
fn a_refused_token_gets_one_answer_whatever_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    ok(&db, &["init"]);
    let secret = |out: String| out.lines().next().unwrap().trim().to_string();
    let revoked = secret(ok(
        &db,
        &["token", "create", "--name", "Olena", "--role", "officer"],
    ));
    ok(&db, &["token", "revoke", "1"]);
    ok(&db, &["user", "add", "Petro", "--role", "officer"]);
    let disabled = secret(ok(&db, &["token", "create", "--user", "Petro"]));
    ok(&db, &["user", "disable", "Petro"]);
    ok(&db, &["user", "add", "Iryna", "--role", "auditor"]);
    let expired = secret(ok(
        &db,
        &["token", "create", "--user", "Iryna", "--expires-days", "0"],
    ));
    ok(&db, &["user", "add", "Oksana", "--role", "officer"]);
    let valid = secret(ok(&db, &["token", "create", "--user", "Oksana"]));
    // An unknown token of the right form, and one of another form.
    let unknown = format!("cairn_{}", "5a".repeat(32));
    let garbage = "not-a-token".to_string();
    let states = ok(&db, &["token", "list"]);
    for (id, state) in [
        ("1", "revoked"),
        ("2", "user disabled"),
        ("3", "expired"),
        ("4", "valid"),
    ] {
        assert!(
            states
                .lines()
                .any(|l| l.starts_with(&format!("{id}\t")) && l.ends_with(state)),
            "token {id} is {state}: {states}"
        );
    }

    let server = Server::start(&db, None);
    for path in [
        "/api/reports",
        "/api/zones",
        "/ogc/collections/hazardous-areas/items?limit=1",
    ] {
        let (status, _, body) = answer(&server.addr, path, &valid);
        assert_eq!(status, 200, "{path}: a valid token is accepted: {body}");
        let first = answer(&server.addr, path, &unknown);
        assert_eq!(first.0, 401, "{path}: {first:?}");
        assert!(
            first
                .1
                .iter()
                .any(|h| h.eq_ignore_ascii_case("www-authenticate: Bearer realm=\"Cairn\"")),
            "{path}: {first:?}"
        );
        for name in ["Olena", "Petro", "Iryna", "Oksana"] {
            assert!(!first.2.contains(name), "{path}: {}", first.2);
        }
        for (why, token) in [
            ("revoked", &revoked),
            ("user disabled", &disabled),
            ("expired", &expired),
            ("another form", &garbage),
        ] {
            assert_eq!(
                answer(&server.addr, path, token),
                first,
                "{path}: a {why} token is answered as an unknown one"
            );
        }
    }
}
