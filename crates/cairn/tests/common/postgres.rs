//! A fresh PostgreSQL database for a test, in the throwaway cluster that `scripts/test` starts
//! (`CAIRN_TEST_PG`, an administrator's URL). Without it the test fails saying how to get one:
//! PostgreSQL tests are never skipped.

/// The administrator's URL of the test cluster, or a failure saying how to get one.
pub fn admin_url() -> String {
    match std::env::var("CAIRN_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "CAIRN_TEST_PG is not set: the PostgreSQL tests need a cluster. Run them through \
             scripts/test (which starts a throwaway one), or start one with \
             `scripts/pg-cluster start DIR` and set CAIRN_TEST_PG=$(cat DIR/url)"
        ),
    }
}

/// A new, empty database with PostGIS; its URL. Dropped when the returned guard is.
pub struct Database {
    pub url: String,
    name: String,
}

impl Database {
    pub fn fresh() -> Database {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let admin = admin_url();
        let name = format!(
            "cairn_cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
            panic!("cannot reach the test cluster at CAIRN_TEST_PG ({admin}): {e}")
        });
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .batch_execute("CREATE EXTENSION postgis")
            .unwrap();
        Database { url, name }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // A failed test leaves its database to look at.
        if std::thread::panicking() {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&admin_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A throwaway PostgreSQL cluster of the test's own (`scripts/pg-cluster`), for a test that stops
/// and restarts its database, which the shared cluster of `CAIRN_TEST_PG` must never be. Stopped
/// when dropped.
pub struct Cluster {
    pub url: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn script(command: &str, dir: &std::path::Path) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster");
        let out = std::process::Command::new(script)
            .args([command, &dir.to_string_lossy()])
            .output()
            .expect("run scripts/pg-cluster");
        assert!(
            out.status.success(),
            "scripts/pg-cluster {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts a new cluster (installing PostgreSQL when missing, as `scripts/test` does).
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("a directory for the cluster");
        Cluster::script("start", dir.path());
        let url = std::fs::read_to_string(dir.path().join("url"))
            .expect("the cluster's URL")
            .trim()
            .to_string();
        Cluster { url, dir }
    }

    /// A streaming replica (hot standby) of this cluster, started (`scripts/pg-cluster replica`).
    pub fn replica(&self) -> Cluster {
        let dir = tempfile::tempdir().expect("a directory for the replica");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster");
        let out = std::process::Command::new(script)
            .args([
                "replica",
                &self.dir.path().to_string_lossy(),
                &dir.path().to_string_lossy(),
            ])
            .output()
            .expect("run scripts/pg-cluster");
        assert!(
            out.status.success(),
            "scripts/pg-cluster replica: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = std::fs::read_to_string(dir.path().join("url"))
            .expect("the replica's URL")
            .trim()
            .to_string();
        Cluster { url, dir }
    }

    /// Stops the database server (fast shutdown: its connections are cut).
    pub fn stop(&self) {
        Cluster::script("stop", self.dir.path());
    }

    /// Starts it again on the same port.
    pub fn resume(&self) {
        Cluster::script("resume", self.dir.path());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster");
        let _ = std::process::Command::new(script)
            .args(["stop", &self.dir.path().to_string_lossy()])
            .output();
    }
}
