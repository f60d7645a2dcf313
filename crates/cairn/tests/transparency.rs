//! The transparency report end to end: a store of 3,000 synthetic areas, three hand-made oblast
//! zones (two straight borders through the contaminated east, and land west of them in none),
//! and a year of fictional work from `cairn synth history`; then `cairn report transparency`
//! as CSV, each total cross-checked against SQL written independently over the same store file
//! (rusqlite, JSON functions of SQLite); the public edition checked for restricted ids, device
//! types only restricted areas hold, and victims' names; and the HTML page opened in Debian's
//! headless Chromium (`tests/browser/report.mjs`) with charts drawn, no request and no error,
//! its screenshot in `<target dir>/test-artifacts/transparency.png`. Bad dates exit 2 naming
//! the flag.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use cairn_core::Catalogue;
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, SqliteStore};
use common::browser::{browser_dir, ensure_playwright, require_chromium, run_node, target_dir};
use geo_types::{MultiPolygon, polygon};
use rusqlite::Connection;

fn cairn(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env_remove("CAIRN_DB")
        .env_remove("CAIRN_CATALOGUE")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run cairn")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let o = cairn(db, args);
    assert!(
        o.status.success(),
        "cairn {args:?} failed ({}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn zone(name: &str, x0: f64, x1: f64) -> Zone {
    Zone {
        id: cairn_core::zone::zone_id_from_name(name).unwrap(),
        facts: ZoneFacts {
            name: name.into(),
            kind: ZoneKind::Oblast,
            source: Some("hand-made for the test".into()),
            description: None,
        },
        geometry: MultiPolygon(vec![polygon![
            (x: x0, y: 43.0), (x: x1, y: 43.0), (x: x1, y: 53.5), (x: x0, y: 53.5), (x: x0, y: 43.0)
        ]]),
    }
}

/// The CSV report as (section, period, key) → value.
fn read_csv(text: &str) -> BTreeMap<(String, String, String), String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["section", "period", "key", "value"]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                (rec[0].to_string(), rec[1].to_string(), rec[2].to_string()),
                rec[3].to_string(),
            )
        })
        .collect()
}

fn num(m: &BTreeMap<(String, String, String), String>, s: &str, p: &str, k: &str) -> f64 {
    m.get(&(s.into(), p.into(), k.into()))
        .unwrap_or_else(|| panic!("the CSV has no row {s},{p},{k}"))
        .parse()
        .unwrap()
}

#[test]
fn the_report_agrees_with_the_store_and_the_public_edition_withholds_restricted_detail() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let areas = dir.path().join("areas.geojson");
    ok(
        &db,
        &["synth", "--areas", "3000", "-o", areas.to_str().unwrap()],
    );
    ok(&db, &["import", areas.to_str().unwrap()]);
    {
        let mut store = SqliteStore::open(&db, OpenMode::Existing).unwrap();
        store
            .put_zones(
                &[
                    zone("Test West Oblast", 24.0, 33.0),
                    zone("Test Centre Oblast", 33.0, 36.5),
                    zone("Test East Oblast", 36.5, 41.0),
                ],
                ChangeMeta {
                    author: "test".into(),
                    reason: "oblasts for the report test".into(),
                    source: None,
                },
            )
            .unwrap();
    }
    let to = chrono::Utc::now().date_naive();
    let from = to - chrono::Duration::days(364);
    let (from, to) = (from.to_string(), to.to_string());
    let said = ok(
        &db,
        &[
            "synth", "history", "--from", &from, "--to", &to, "--seed", "5",
        ],
    );
    assert!(
        !said.contains("approximate oblast"),
        "the store had oblasts: {said}"
    );
    let csv_path = dir.path().join("r.csv");
    ok(
        &db,
        &[
            "report",
            "transparency",
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "csv",
            "-o",
            csv_path.to_str().unwrap(),
        ],
    );
    let csv_text = std::fs::read_to_string(&csv_path).unwrap();
    let m = read_csv(&csv_text);
    let conn = Connection::open(&db).unwrap();
    let months: BTreeSet<String> = m
        .keys()
        .filter(|k| k.0 == "released_m2")
        .map(|k| k.1.clone())
        .collect();
    assert!(months.len() >= 12, "{months:?}");

    // Land released per method and month, dated by the activity's end.
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(r.props, '$.method'), substr(json_extract(a.props, '$.ended'), 1, 7), \
                    sum(json_extract(r.props, '$.released_m2')), count(*) \
             FROM heads h JOIN revisions r ON r.rev = h.rev \
             JOIN heads ha ON ha.kind = 'activity' AND ha.record_id = json_extract(r.props, '$.activity_id') \
             JOIN revisions a ON a.rev = ha.rev \
             WHERE h.kind = 'release' AND json_extract(a.props, '$.ended') BETWEEN ?1 AND ?2 \
             GROUP BY 1, 2",
        )
        .unwrap();
    let sql: BTreeMap<(String, String), (f64, i64)> = stmt
        .query_map([&from, &to], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(sql.len() > 10, "a year of work releases land: {sql:?}");
    let mut total = 0.0;
    for month in &months {
        for method in ["cancel", "reduce", "clear"] {
            let (m2, n) = sql
                .get(&(method.into(), month.clone()))
                .copied()
                .unwrap_or((0.0, 0));
            let got = num(&m, "released_m2", month, method);
            assert!(
                (got - m2).abs() < 0.01,
                "{month} {method}: report {got}, SQL {m2}"
            );
            assert_eq!(num(&m, "released_count", month, method), n as f64);
            total += m2;
        }
    }
    assert!(total > 1e5, "released {total} m²");

    // Devices found and destroyed, by category, from activities ended in the period.
    let catalogue = Catalogue::builtin();
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(d.value, '$.type'), json_extract(d.value, '$.action'), sum(json_extract(d.value, '$.count')) \
             FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.devices') d \
             WHERE h.kind = 'activity' AND json_extract(r.props, '$.ended') BETWEEN ?1 AND ?2 GROUP BY 1, 2",
        )
        .unwrap();
    let mut devices: BTreeMap<String, i64> = BTreeMap::new();
    for row in stmt
        .query_map([&from, &to], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap()
    {
        let (ty, action, n) = row.unwrap();
        let cat = catalogue.get(&ty).unwrap().category;
        *devices
            .entry(format!("{}/{action}", cat.as_str()))
            .or_default() += n;
    }
    let reported: BTreeMap<String, i64> = m
        .iter()
        .filter(|(k, _)| k.0 == "devices")
        .map(|(k, v)| (k.2.clone(), v.parse().unwrap()))
        .collect();
    assert_eq!(reported, devices);
    assert!(devices.get("ap-mine/destroyed").copied().unwrap_or(0) > 0);

    // Post-release finds recorded in the period.
    let (finds, items): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(json_extract(r.props, '$.count')), 0) FROM heads h JOIN revisions r ON r.rev = h.rev \
             WHERE h.kind = 'find' AND substr(json_extract(r.props, '$.recorded_at'), 1, 10) BETWEEN ?1 AND ?2",
            [&from, &to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let sum = |section: &str, key: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| k.0 == section && k.2 == key)
            .map(|(_, v)| v.parse::<f64>().unwrap())
            .sum()
    };
    assert_eq!(sum("post_release_finds", "finds"), finds as f64);
    assert_eq!(sum("post_release_finds", "items"), items as f64);

    // Casualties per month: killed and injured, and by role.
    let mut stmt = conn
        .prepare(
            "SELECT substr(json_extract(r.props, '$.occurred_at'), 1, 7), json_extract(c.value, '$.outcome'), \
                    json_extract(c.value, '$.role'), count(*) \
             FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.casualties') c \
             WHERE h.kind = 'accident' AND substr(json_extract(r.props, '$.occurred_at'), 1, 10) BETWEEN ?1 AND ?2 \
             GROUP BY 1, 2, 3",
        )
        .unwrap();
    let mut per_month: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut roles: BTreeMap<String, i64> = BTreeMap::new();
    for row in stmt
        .query_map([&from, &to], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .unwrap()
    {
        let (month, outcome, role, n) = row.unwrap();
        *per_month.entry((month, outcome)).or_default() += n;
        *roles.entry(role).or_default() += n;
    }
    for month in &months {
        for outcome in ["killed", "injured"] {
            let want = per_month
                .get(&(month.clone(), outcome.into()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                num(&m, "casualties", month, outcome),
                want as f64,
                "{month} {outcome}"
            );
        }
    }
    assert!(roles.get("civilian").copied().unwrap_or(0) > 0, "{roles:?}");
    for (role, n) in &roles {
        let got = sum("casualties_role", &format!("{role}/killed"))
            + sum("casualties_role", &format!("{role}/injured"));
        assert_eq!(got, *n as f64, "{role}");
    }

    // Risk-education sessions and participants per month.
    let mut stmt = conn
        .prepare(
            "SELECT substr(json_extract(r.props, '$.ended'), 1, 7), count(*), sum(json_extract(r.props, '$.participants')) \
             FROM heads h JOIN revisions r ON r.rev = h.rev \
             WHERE h.kind = 'activity' AND json_extract(r.props, '$.kind') = 'risk-education' \
               AND json_extract(r.props, '$.ended') BETWEEN ?1 AND ?2 GROUP BY 1",
        )
        .unwrap();
    let eore: BTreeMap<String, (i64, i64)> = stmt
        .query_map([&from, &to], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!eore.is_empty());
    for month in &months {
        let (n, p) = eore.get(month).copied().unwrap_or((0, 0));
        assert_eq!(num(&m, "risk_education", month, "sessions"), n as f64);
        assert_eq!(num(&m, "risk_education", month, "participants"), p as f64);
    }

    // Open hazards: every one counted in exactly one oblast (or outside), each oblast present.
    let open: i64 = conn
        .query_row(
            "SELECT count(*) FROM heads h JOIN revisions r ON r.rev = h.rev WHERE h.kind = 'area' \
             AND r.status IN ('reported', 'suspected', 'confirmed', 'reduced')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let by_oblast: BTreeMap<String, f64> = m
        .iter()
        .filter(|(k, _)| k.0 == "open_hazard" && k.2.ends_with("/areas"))
        .map(|(k, v)| {
            (
                k.2.trim_end_matches("/areas").to_string(),
                v.parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_oblast.values().sum::<f64>(),
        open as f64,
        "{by_oblast:?}"
    );
    for name in [
        "Test West Oblast",
        "Test Centre Oblast",
        "Test East Oblast",
        "outside any oblast",
    ] {
        assert!(
            by_oblast.get(name).copied().unwrap_or(0.0) > 0.0,
            "{name}: {by_oblast:?}"
        );
    }

    // The public edition: no restricted id, no device type only restricted areas hold, and no
    // victim's name in either edition.
    let public_csv = dir.path().join("p.csv");
    let public_html = dir.path().join("p.html");
    let html = dir.path().join("r.html");
    for (out, format, edition) in [
        (&public_csv, "csv", "public"),
        (&public_html, "html", "public"),
        (&html, "html", "restricted"),
    ] {
        ok(
            &db,
            &[
                "report",
                "transparency",
                "--from",
                &from,
                "--to",
                &to,
                "--format",
                format,
                "--edition",
                edition,
                "-o",
                out.to_str().unwrap(),
            ],
        );
    }
    let mut stmt = conn
        .prepare(
            "SELECT r.record_id, r.classification, d.value ->> '$.type' FROM heads h JOIN revisions r ON r.rev = h.rev \
             LEFT JOIN json_each(r.props, '$.devices') d \
             WHERE h.kind = 'area' AND r.status IN ('reported', 'suspected', 'confirmed', 'reduced')",
        )
        .unwrap();
    let mut restricted_ids = BTreeSet::new();
    let mut restricted_types = BTreeSet::new();
    let mut public_types = BTreeSet::new();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap()
    {
        let (id, class, ty) = row.unwrap();
        if class == "restricted" {
            restricted_ids.insert(id);
            restricted_types.extend(ty);
        } else {
            public_types.extend(ty);
        }
    }
    assert!(restricted_ids.len() > 50, "{}", restricted_ids.len());
    let only_restricted: Vec<&String> = restricted_types.difference(&public_types).collect();
    let names: Vec<String> = conn
        .prepare(
            "SELECT c.value ->> '$.name' FROM heads h JOIN revisions r ON r.rev = h.rev, json_each(r.props, '$.casualties') c \
             WHERE h.kind = 'accident' AND c.value ->> '$.name' IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!names.is_empty(), "the history names some victims");
    let restricted_html = std::fs::read_to_string(&html).unwrap();
    for (file, public) in [
        (&public_csv, true),
        (&public_html, true),
        (&csv_path, false),
        (&html, false),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        for n in &names {
            assert!(!text.contains(n.as_str()), "{}: names {n}", file.display());
        }
        assert!(!text.contains("medical notes"), "{}", file.display());
        if public {
            for id in &restricted_ids {
                // An id followed by a delimiter, so HA-0001 does not match HA-00012.
                for tail in ["/", "<", ","] {
                    assert!(
                        !text.contains(&format!("{id}{tail}")),
                        "{}: restricted id {id}",
                        file.display()
                    );
                }
            }
            for ty in &only_restricted {
                assert!(!text.contains(ty.as_str()), "{}: {ty}", file.display());
            }
            assert!(text.contains("public"), "{}", file.display());
        }
    }
    let some_restricted = restricted_ids.iter().next().unwrap();
    let restricted_csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        restricted_ids
            .iter()
            .any(|id| restricted_csv.contains(&format!("{id}/"))),
        "the restricted edition lists restricted areas (e.g. {some_restricted})"
    );
    assert!(restricted_html.contains("chart-released"));

    // The page in a browser.
    require_chromium();
    let browser = browser_dir();
    ensure_playwright(&browser);
    let artifacts = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("transparency.png");
    let _ = std::fs::remove_file(&png);
    let (ok, said) = run_node(
        &browser,
        &[
            "report.mjs",
            &html.to_string_lossy(),
            &png.to_string_lossy(),
        ],
        std::time::Duration::from_secs(240),
    );
    println!("{said}");
    assert!(ok, "the report failed in the browser:\n{said}");
    let len = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(len > 10_000, "{} is missing or too small", png.display());
}

#[test]
fn bad_periods_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    ok(&db, &["init"]);
    let out = dir.path().join("r.html");
    let out = out.to_str().unwrap();
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string();
    for (args, flag) in [
        (
            vec![
                "report",
                "transparency",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-01",
                "-o",
                out,
            ],
            "--from",
        ),
        (
            vec![
                "report",
                "transparency",
                "--from",
                "2026-03-01",
                "--to",
                "2026-02-30",
                "-o",
                out,
            ],
            "--to",
        ),
        (
            vec![
                "report",
                "transparency",
                "--from",
                "yesterday",
                "--to",
                "2026-03-01",
                "-o",
                out,
            ],
            "--from",
        ),
        (
            vec![
                "report",
                "transparency",
                "--from",
                "2026-01-01",
                "--to",
                "2026-03-01",
                "--format",
                "docx",
                "-o",
                out,
            ],
            "--format",
        ),
        (
            vec![
                "report",
                "transparency",
                "--from",
                "2026-01-01",
                "--to",
                "2026-03-01",
                "--edition",
                "secret",
                "-o",
                out,
            ],
            "--edition",
        ),
        (
            vec![
                "synth",
                "history",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-01",
            ],
            "--from",
        ),
        (
            vec![
                "synth",
                "history",
                "--from",
                "2026-01-01",
                "--to",
                &tomorrow,
            ],
            "--to",
        ),
    ] {
        let o = cairn(&db, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
    }
    assert!(!Path::new(out).exists(), "nothing is written on bad input");
    // An empty store gives an empty report, not an error.
    let csv = dir.path().join("e.csv");
    ok(
        &db,
        &[
            "report",
            "transparency",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--format",
            "csv",
            "-o",
            csv.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("released_m2,2026-01,clear,0\n"), "{text}");
}
