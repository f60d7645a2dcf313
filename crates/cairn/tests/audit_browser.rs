//! The auditors' page in a real browser: a store prepared with the CLI alone (`cairn zone import`
//! of a permitted zone, `cairn import` of emplacement records, `cairn user add` and
//! `cairn token create` for an auditor), `cairn serve --policy FILE` on it, and Debian's headless
//! Chromium (driven by playwright-core through `tests/browser/audit.mjs`, every host but loopback
//! unreachable) signing in with the auditor's token, running the audit, filtering by rule,
//! downloading the CSV and running a pasted policy, good and bad. The table must list exactly the
//! violations `cairn audit --json` finds on the same store. Screenshot:
//! `<target dir>/test-artifacts/audit.png` (and `audit-policy-error.png`).
//!
//! Chromium must be installed at /usr/bin/chromium (scripts/test installs it); without it the
//! test fails rather than skips. The harness lines are copied from `map_browser.rs`.

mod common;

use std::time::Duration;

use common::browser::{
    Server, browser_dir, ensure_playwright, require_chromium, run_node, start_cairn, target_dir,
};
use common::env::Env;
use serde_json::{Value, json};

/// The longest `cairn serve` may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest the browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

/// The policy `cairn serve` runs: zones, lifetimes, the APII record and marking in 72 hours.
const POLICY: &str = r#"[policy]
name = "Browser test supply conditions"

[rules.permitted-zones]
zone-kind = "permitted"

[rules.ap-lifetime]
max-self-destruct = "15 days"
max-self-deactivation = "120 days"

[rules.apii-record]
min-reference-points = 2

[rules.marking]
within = "72 hours"
"#;

/// What the audit must find now, in its order (rule in the policy's order, then record).
const EXPECTED: &[(&str, &str)] = &[
    ("permitted-zones", "HA-edge"),
    ("permitted-zones", "HA-out"),
    ("ap-lifetime", "HA-persistent"),
    ("apii-record", "HA-incomplete"),
];

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// A complete AP emplacement record; `edit` changes it.
fn record(id: &str, geometry: Value, edit: impl Fn(&mut Value)) -> Value {
    let mut f = json!({
        "type": "Feature",
        "id": id,
        "geometry": geometry,
        "properties": {
            "status": "confirmed",
            "classification": "restricted",
            "evidence": {"kind": "direct", "description": "the laying unit's record"},
            "marking": "marked",
            "reference_points": [[36.1, 48.1], [36.11, 48.1]],
            "devices": [{
                "type": "ap-mine-nonpersistent-48h",
                "quantity": 16,
                "emplaced_from": "2026-10-01T06:00:00Z",
                "emplaced_to": "2026-10-01T08:00:00Z"
            }],
            "emplacement": {
                "method": "mechanically-laid",
                "anti_handling": false,
                "fuze": "electronic, battery timer",
                "fuze_lifetime_hours": 48,
                "laid_by": "fictional unit 2"
            }
        }
    });
    edit(&mut f);
    f
}

/// A store with one permitted zone and the records of `EXPECTED` (and two that comply, and one
/// ordinary hazard the rules do not concern), made with the CLI; returns the auditor's token.
fn prepare(env: &Env) -> String {
    env.ok(&["init"]);
    env.write(
        "zones.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "Z-east", "geometry": rect(36.0, 48.0, 37.0, 49.0),
             "properties": {"name": "Permitted zone east (fictional)"}}
        ]}),
    );
    env.ok(&[
        "zone",
        "import",
        &env.p("zones.geojson"),
        "--kind",
        "permitted",
    ]);
    env.write(
        "records.geojson",
        &json!({"type": "FeatureCollection", "features": [
            record("HA-ok", rect(36.2, 48.2, 36.3, 48.3), |_| {}),
            record("HA-ok-15d", rect(36.5, 48.5, 36.6, 48.6), |f| {
                f["properties"]["devices"][0]["type"] = json!("ap-mine-nonpersistent-15d");
                f["properties"]["emplacement"]["fuze_lifetime_hours"] = json!(360);
            }),
            record("HA-out", rect(37.2, 48.2, 37.3, 48.3), |_| {}),
            record("HA-edge", rect(36.95, 48.4, 37.05, 48.45), |_| {}),
            record("HA-persistent", rect(36.4, 48.4, 36.5, 48.5), |f| {
                f["properties"]["devices"][0]["type"] = json!("ap-mine-persistent");
            }),
            record("HA-incomplete", rect(36.6, 48.6, 36.7, 48.7), |f| {
                f["properties"]["devices"][0]["quantity"] = Value::Null;
                let e = f["properties"]["emplacement"].as_object_mut().unwrap();
                e.remove("anti_handling");
                e.remove("method");
            }),
            // Not an emplacement record: outside the zone and persistent, but not audited.
            record("HA-survey", rect(38.0, 48.0, 38.1, 48.1), |f| {
                f["properties"].as_object_mut().unwrap().remove("emplacement");
                f["properties"]["devices"][0]["type"] = json!("ap-mine-persistent");
            }),
        ]}),
    );
    env.ok(&["import", &env.p("records.geojson")]);
    std::fs::write(env.path("policy.toml"), POLICY).expect("write the policy");
    env.ok(&["user", "add", "Auditor Petro", "--role", "auditor"]);
    env.ok(&["token", "create", "--user", "Auditor Petro"])
        .trim()
        .to_string()
}

/// Starts `cairn serve --policy` on a free loopback port and waits until it serves.
fn start_serve(env: &Env) -> Server {
    let policy = env.p("policy.toml");
    start_cairn(
        &env.path(""),
        env.path("store.db"),
        &["serve", "--addr", "127.0.0.1:0", "--policy", &policy],
        START_TIMEOUT,
    )
}

#[test]
fn the_auditors_page_runs_the_servers_policy_and_a_pasted_one() {
    require_chromium();
    let browser_dir = browser_dir();
    ensure_playwright(&browser_dir);
    let env = Env::new();
    let token = prepare(&env);

    // The CLI's audit of the same store is what the page must show.
    let out = env.run(&["audit", "--policy", &env.p("policy.toml"), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).expect("audit --json");
    let cli_pairs: Vec<String> = cli["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["rule"].as_str().unwrap(),
                v["record"].as_str().unwrap()
            )
        })
        .collect();
    let expected: Vec<String> = EXPECTED.iter().map(|(r, id)| format!("{r} {id}")).collect();
    assert_eq!(cli_pairs, expected, "cairn audit --json: {cli:#}");

    let server = start_serve(&env);
    let url = format!("http://{}/", server.addr);
    let out_dir = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&out_dir).expect("create the test-artifacts folder");
    let (ok, text) = run_node(
        &browser_dir,
        &[
            "audit.mjs",
            &url,
            &out_dir.to_string_lossy(),
            &token,
            &expected.join(","),
        ],
        BROWSER_TIMEOUT,
    );
    drop(server);
    println!("{text}");
    assert!(ok, "the auditors' page failed in the browser:\n{text}");
    for name in ["audit", "audit-policy-error"] {
        let f = out_dir.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} is missing or too small", f.display());
    }
}
