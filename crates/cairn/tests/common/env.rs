//! A temporary directory with a store, and the real `cairn` binary run in it.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A directory with an empty store in it (`cairn init`).
    pub fn with_store() -> Env {
        let e = Env::new();
        e.ok(&["init"]);
        e
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(self.dir.path())
            .env_remove("CAIRN_DB")
            .env_remove("CAIRN_CATALOGUE")
            .env("CAIRN_AUTHOR", "test author")
            .arg("--db")
            .arg(self.path("store.db"))
            .args(args)
            .output()
            .expect("run cairn")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn ok_json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }

    /// Runs a command that must fail with exit 2 (bad input); returns its stderr.
    pub fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "cairn {args:?} should exit 2\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn write(&self, name: &str, v: &Value) {
        std::fs::write(self.path(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    /// Counts of revisions and changesets: any write changes them.
    pub fn counts(&self) -> (i64, i64) {
        let c = rusqlite::Connection::open(self.path("store.db")).unwrap();
        let q = |s: &str| c.query_row(s, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            q("SELECT count(*) FROM revisions"),
            q("SELECT count(*) FROM changesets"),
        )
    }

    /// A digest of every row of the store's history and current state (changesets, revisions,
    /// heads, counters), in order: equal digests mean nothing was written.
    pub fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let c = rusqlite::Connection::open_with_flags(
            self.path("store.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (table, key) in [
            ("changesets", "id"),
            ("revisions", "rev"),
            ("heads", "kind, record_id"),
            ("counters", "name"),
        ] {
            let mut stmt = c
                .prepare(&format!("SELECT * FROM {table} ORDER BY {key}"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            table.hash(&mut h);
            for row in rows {
                format!("{:?}", row.unwrap()).hash(&mut h);
            }
        }
        h.finish()
    }
}
