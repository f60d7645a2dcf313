//! SIGKILL at random points during a large import never leaves a partial import or a corrupt store.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags};

/// How many areas the large import holds; one full import takes a few seconds in a debug build.
const AREAS: i64 = 12000;
/// How many areas the prior, committed content holds.
const PRIOR: i64 = 50;
/// How many times the import is killed.
const KILLS: usize = 20;
/// How many kills must land before the commit for the test to prove anything.
const MIN_MID_IMPORT: usize = 15;

fn cairn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env_remove("CAIRN_DB").env_remove("CAIRN_CATALOGUE");
    c.env("CAIRN_AUTHOR", "kill-test");
    c
}

/// Runs `cairn` with `args` to completion and returns its stdout; panics with its stderr on failure.
fn run_ok(args: &[&str]) -> String {
    let out = cairn().args(args).output().expect("cairn runs");
    assert!(
        out.status.success(),
        "cairn {args:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the store at `db` by a copy of `pristine`, removing any WAL and shared-memory files.
fn restore(pristine: &Path, db: &Path) {
    for suffix in ["-wal", "-shm"] {
        let p = sidecar(db, suffix);
        if p.exists() {
            std::fs::remove_file(&p).expect("remove a stale sidecar file");
        }
    }
    std::fs::copy(pristine, db).expect("copy the pristine store");
}

/// A small deterministic generator (Knuth's MMIX LCG); its high bits are good enough for delays.
struct Lcg(u64);

impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next_f64() * n as f64) as usize).min(n - 1)
    }
}

/// What a store holds, as far as atomicity is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    revisions: i64,
    changesets: i64,
    heads: i64,
    /// The number of revisions of each changeset id, including ids that have no changeset row.
    per_changeset: BTreeMap<i64, i64>,
    /// The number of heads at each per-record revision number.
    heads_by_seq: BTreeMap<i64, i64>,
    /// The area id counter.
    area_counter: i64,
    /// A digest of the prior content: changeset 2 (the first import, after the shipped device
    /// catalogue's changeset 1) and its revisions, which every later state must keep.
    prior_digest: u64,
}

/// Opens the store read only (leaving any WAL of a killed process for the next `cairn` to recover),
/// checks that SQLite finds it sound and reads its state.
fn inspect(db: &Path) -> State {
    let conn =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the store");
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("integrity check runs");
    assert_eq!(integrity, vec!["ok".to_string()], "the store is corrupt");
    let dangling = conn
        .prepare("PRAGMA foreign_key_check")
        .and_then(|mut st| Ok(st.query_map([], |_| Ok(()))?.count()))
        .expect("foreign key check runs");
    assert_eq!(
        dangling, 0,
        "the store has dangling references (revisions without a changeset or heads without a revision)"
    );
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    let map = |sql: &str| -> BTreeMap<i64, i64> {
        conn.prepare(sql)
            .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect(sql)
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    {
        let mut st = conn
            .prepare(
                "SELECT rev, kind, record_id, seq, changeset, op, status, classification, geom, props \
                 FROM revisions WHERE changeset = 2 ORDER BY rev",
            )
            .expect("prepare");
        let mut rows = st.query([]).expect("query");
        while let Some(r) = rows.next().expect("row") {
            r.get::<_, i64>(0).unwrap().hash(&mut h);
            r.get::<_, String>(1).unwrap().hash(&mut h);
            r.get::<_, String>(2).unwrap().hash(&mut h);
            r.get::<_, i64>(3).unwrap().hash(&mut h);
            r.get::<_, i64>(4).unwrap().hash(&mut h);
            r.get::<_, String>(5).unwrap().hash(&mut h);
            r.get::<_, Option<String>>(6).unwrap().hash(&mut h);
            r.get::<_, Option<String>>(7).unwrap().hash(&mut h);
            r.get::<_, Vec<u8>>(8).unwrap().hash(&mut h);
            r.get::<_, String>(9).unwrap().hash(&mut h);
        }
        let row: (i64, i64, String, String, Option<String>) = conn
            .query_row(
                "SELECT id, recorded_at, author, reason, source FROM changesets WHERE id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .expect("the prior changeset is still there");
        row.hash(&mut h);
    }
    State {
        revisions: q("SELECT count(*) FROM revisions"),
        changesets: q("SELECT count(*) FROM changesets"),
        heads: q("SELECT count(*) FROM heads"),
        per_changeset: map("SELECT changeset, count(*) FROM revisions GROUP BY changeset"),
        heads_by_seq: map("SELECT seq, count(*) FROM heads GROUP BY seq"),
        area_counter: q("SELECT value FROM counters WHERE name = 'area_id'"),
        prior_digest: h.finish(),
    }
}

#[test]
fn sigkill_during_import_never_leaves_a_partial_import_or_a_corrupt_store() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temporary directory");
    let big = dir.path().join("big.geojson");
    let small = dir.path().join("small.geojson");
    let db = dir.path().join("store.db");
    let pristine = dir.path().join("pristine.db");
    let scratch = dir.path().join("scratch.db");
    let areas = AREAS.to_string();
    let prior = PRIOR.to_string();
    run_ok(&["synth", "--areas", &areas, "--seed", "11", "-o", s(&big)]);
    run_ok(&["synth", "--areas", &prior, "--seed", "1", "-o", s(&small)]);
    // The prior areas get ids of their own (P-…): the large file's areas of the same HA- ids
    // but other content would weaken them, which an import refuses (one door).
    let text = std::fs::read_to_string(&small).expect("read the small file");
    std::fs::write(&small, text.replace("\"HA-", "\"P-")).expect("rename the prior ids");

    // The prior content: one committed import, saved as a pristine copy with no WAL beside it.
    run_ok(&["--db", s(&db), "import", s(&small)]);
    {
        let conn = Connection::open(&db).expect("open the store");
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    }
    assert!(
        !sidecar(&db, "-wal").exists(),
        "closing the last connection removes the WAL"
    );
    std::fs::copy(&db, &pristine).expect("save the pristine store");
    let before = inspect(&db);
    assert_eq!(
        before,
        State {
            revisions: PRIOR,
            // The store's first changeset recorded the shipped device catalogue.
            changesets: 2,
            heads: PRIOR,
            per_changeset: BTreeMap::from([(2, PRIOR)]),
            heads_by_seq: BTreeMap::from([(1, PRIOR)]),
            area_counter: 0,
            prior_digest: before.prior_digest,
        }
    );

    // One full import into a copy measures the import time and gives the committed state: the
    // large file creates its areas beside the prior ones.
    restore(&pristine, &scratch);
    let t0 = Instant::now();
    run_ok(&["--db", s(&scratch), "import", s(&big)]);
    let full = t0.elapsed();
    let after = inspect(&scratch);
    assert_eq!(
        after,
        State {
            revisions: PRIOR + AREAS,
            changesets: 3,
            heads: PRIOR + AREAS,
            per_changeset: BTreeMap::from([(2, PRIOR), (3, AREAS)]),
            heads_by_seq: BTreeMap::from([(1, PRIOR + AREAS)]),
            area_counter: AREAS,
            prior_digest: before.prior_digest,
        }
    );
    println!("one full import of {AREAS} areas took {full:.2?}");

    // Kill delays: one in each of KILLS equal slices of 5%..70% of the measured time, jittered
    // within its slice and shuffled, so that the kills land throughout the import in no set order.
    // (Not up to 95%: with the faster allocator an import often runs quicker than the measured
    // one on a busy machine, and the last slices then fell after the commit.)
    let mut lcg = Lcg(0x00c0_ffee_2026_1125);
    let mut fractions: Vec<f64> = (0..KILLS)
        .map(|i| 0.05 + 0.65 * (i as f64 + lcg.next_f64()) / KILLS as f64)
        .collect();
    for i in (1..fractions.len()).rev() {
        let j = lcg.below(i + 1);
        fractions.swap(i, j);
    }

    let mut mid_import = 0;
    let mut committed = 0;
    let mut delays = Vec::new();
    for (i, fraction) in fractions.iter().enumerate() {
        let delay = full.mul_f64(*fraction);
        delays.push(delay);
        let mut child = cairn()
            .args(["--db", s(&db), "import", s(&big)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the import");
        // The kill delay: the one sleep of this test, and its point.
        std::thread::sleep(delay);
        child.kill().expect("send SIGKILL");
        let status = child.wait().expect("reap the import");
        let state = inspect(&db);
        let outcome = if state == before {
            assert!(
                !status.success(),
                "the import exited successfully but its changes are not in the store"
            );
            mid_import += 1;
            "killed before commit"
        } else if state == after {
            committed += 1;
            restore(&pristine, &db);
            "committed before the kill"
        } else {
            panic!(
                "kill {} at {delay:.2?} ({:.0}%) left a partial import: {state:?}; expected either {before:?} or {after:?}",
                i + 1,
                fraction * 100.0
            );
        };
        let how = match (status.signal(), status.code()) {
            (Some(sig), _) => format!("signal {sig}"),
            (None, Some(code)) => format!("exit {code}"),
            (None, None) => status.to_string(),
        };
        println!(
            "kill {:2}: {delay:>9.2?} ({:4.1}%): {how}: {outcome}",
            i + 1,
            fraction * 100.0
        );
    }
    let mut sorted = delays.clone();
    sorted.sort();
    println!(
        "{mid_import} of {KILLS} kills landed before commit, {committed} after; delays {:.2?}..{:.2?}",
        sorted[0],
        sorted[KILLS - 1]
    );
    assert!(
        mid_import >= MIN_MID_IMPORT,
        "only {mid_import} of {KILLS} kills landed mid-import; the delays do not cover the import"
    );

    // The store remains usable after all the kills, and a complete import still succeeds.
    let out = dir.path().join("out.geojson");
    run_ok(&["--db", s(&db), "export", "-o", s(&out)]);
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read the export"))
            .expect("the export is JSON");
    assert_eq!(
        exported["features"].as_array().map(Vec::len),
        Some(PRIOR as usize),
        "the export holds exactly the prior areas"
    );
    let history = run_ok(&["--db", s(&db), "history", "P-000001"]);
    assert!(
        history.contains("P-000001"),
        "history names the area: {history}"
    );
    run_ok(&["--db", s(&db), "import", s(&big)]);
    let last = inspect(&db);
    assert_eq!(
        last.heads,
        PRIOR + AREAS,
        "every area of the file is in the store"
    );
    assert_eq!(
        last, after,
        "the final import gives the same state as the measured one"
    );
    let conn = Connection::open(&db).expect("open the store");
    let heads: i64 = conn
        .query_row("SELECT count(*) FROM heads", [], |r| r.get(0))
        .expect("count heads");
    assert_eq!(heads, PRIOR + AREAS);
    println!("total test time {:.1?}", started.elapsed());
}
