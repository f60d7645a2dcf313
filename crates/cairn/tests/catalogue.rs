//! `cairn catalogue` with the real binary: the audit over one store under two catalogue versions
//! gives two results, each naming its version, and `--at` a time before the change gives the
//! earlier result exactly; `cairn show` names its version; an identical import, a bad file and the
//! removal of a type an area uses write nothing.

mod common;

use common::env::Env;
use serde_json::{Value, json};

const SHIPPED: &str = include_str!("../../cairn-core/data/device-types.toml");

const ENTRY_15D: &str = "id = \"ap-mine-nonpersistent-15d\"\nname = \"Anti-personnel mine, non-persistent, self-destruct within 15 days\"\ncategory = \"ap-mine\"\npersistence = \"non-persistent\"\nsd_max_hours = 360\nsd_fail = 0.10\nsda_max_days = 120\nresidual = 0.001\n";

/// The shipped catalogue with the 15-day AP type recorded as persistent (its self-destruct
/// found not to work).
fn persistent_15d() -> String {
    let out = SHIPPED.replace(
        ENTRY_15D,
        "id = \"ap-mine-nonpersistent-15d\"\nname = \"Anti-personnel mine, non-persistent, self-destruct within 15 days\"\ncategory = \"ap-mine\"\npersistence = \"persistent\"\n",
    );
    assert_ne!(out, SHIPPED, "the shipped entry changed; update this test");
    out
}

fn rect(x0: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, 48.2], [x0 + 0.1, 48.2], [x0 + 0.1, 48.3], [x0, 48.3], [x0, 48.2]]]})
}

/// A complete AP emplacement record of devices of `device_type`.
fn record(id: &str, x0: f64, device_type: &str) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": rect(x0),
        "properties": {
            "status": "confirmed",
            "classification": "restricted",
            "marking": "marked",
            "reference_points": [[x0, 48.19], [x0 + 0.01, 48.19]],
            "devices": [{
                "type": device_type,
                "quantity": 12,
                "emplaced_from": "2026-10-01T06:00:00Z",
                "emplaced_to": "2026-10-01T08:00:00Z",
                "how_known": "record"
            }],
            "emplacement": {
                "method": "hand-emplaced",
                "anti_handling": false,
                "fuze": "electronic, battery timer",
                "fuze_lifetime_hours": 360,
                "laid_by": "fictional unit 1"
            }
        }
    })
}

const POLICY: &str = "[policy]\nname = \"lifetime only\"\n\n[rules.ap-lifetime]\nmax-self-destruct = \"15 days\"\nmax-self-deactivation = \"120 days\"\n";

fn prepare() -> Env {
    let env = Env::with_store();
    env.write(
        "records.geojson",
        &json!({"type": "FeatureCollection", "features": [
            record("HA-15d", 36.2, "ap-mine-nonpersistent-15d"),
            record("HA-48h", 36.4, "ap-mine-nonpersistent-48h"),
        ]}),
    );
    env.ok(&["import", &env.p("records.geojson")]);
    std::fs::write(env.path("policy.toml"), POLICY).unwrap();
    env
}

/// Runs the audit; returns its exit code and standard output.
fn audit(env: &Env, extra: &[&str]) -> (i32, String) {
    let policy = env.p("policy.toml");
    let mut args = vec!["audit", "--policy", policy.as_str()];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn rules_and_records(v: &Value) -> Vec<(String, String)> {
    v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["record"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_audit_names_its_catalogue_version_and_at_gives_the_earlier_result_exactly() {
    let env = prepare();
    // A fixed time after the import and before the catalogue changes.
    let before_change = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (code, earlier) = audit(&env, &["--json", "--at", &before_change]);
    assert_eq!(code, 0, "{earlier}");
    let v: Value = serde_json::from_str(&earlier).unwrap();
    assert_eq!(v["catalogue_version"], 1);
    assert_eq!(v["violations"], json!([]));
    let (_, earlier_text) = audit(&env, &["--at", &before_change]);
    assert!(
        earlier_text.contains("device catalogue version 1"),
        "{earlier_text}"
    );

    std::fs::write(env.path("catalogue.toml"), persistent_15d()).unwrap();
    let said = env.ok(&[
        "catalogue",
        "import",
        &env.p("catalogue.toml"),
        "--reason",
        "the 15-day type's self-destruct found not to work",
    ]);
    assert!(said.contains("version 2"), "{said}");

    // Now: version 2 judges the 15-day record's devices persistent.
    let (code, now) = audit(&env, &["--json"]);
    assert_eq!(code, 1, "{now}");
    let v: Value = serde_json::from_str(&now).unwrap();
    assert_eq!(v["catalogue_version"], 2);
    assert_eq!(
        rules_and_records(&v),
        vec![("ap-lifetime".to_string(), "HA-15d".to_string())]
    );
    let (_, text) = audit(&env, &[]);
    assert!(text.contains("device catalogue version 2"), "{text}");
    assert!(text.contains("HA-15d"), "{text}");

    // At the time before the change: the earlier result, byte for byte.
    let (code, again) = audit(&env, &["--json", "--at", &before_change]);
    assert_eq!((code, again), (0, earlier));
    let (_, again_text) = audit(&env, &["--at", &before_change]);
    assert_eq!(again_text, earlier_text);

    // The residual estimate names its version too, and follows it.
    let shown = env.ok_json(&["show", "HA-15d", "--json", "--at", "2027-01-01"]);
    assert_eq!(shown["catalogue_version"], 2);
    assert_eq!(shown["estimate"]["groups"][0]["persistent"], true);
    assert_eq!(shown["estimate"]["expected"], 12.0);
    let past = env.ok_json(&[
        "show",
        "HA-15d",
        "--json",
        "--as-of",
        &before_change,
        "--at",
        "2027-01-01",
    ]);
    assert_eq!(past["catalogue_version"], 1);
    assert_eq!(past["estimate"]["groups"][0]["persistent"], false);
    // 92 days after emplacement: past self-destruct, before self-deactivation.
    assert_eq!(past["estimate"]["groups"][0]["p_functioning"], 0.1);
    let text = env.ok(&["show", "HA-15d"]);
    assert!(text.contains("(device catalogue version 2)"), "{text}");

    // The versions and the type's history say who changed what, when and why.
    let versions = env.ok_json(&["catalogue", "versions", "--json"]);
    let vs = versions.as_array().unwrap();
    assert_eq!(vs.len(), 2);
    assert_eq!(
        (vs[0]["version"].clone(), vs[0]["author"].clone()),
        (json!(1), json!("cairn"))
    );
    assert_eq!(
        (
            vs[1]["version"].clone(),
            vs[1]["author"].clone(),
            vs[1]["reason"].clone()
        ),
        (
            json!(2),
            json!("test author"),
            json!("the 15-day type's self-destruct found not to work")
        )
    );
    let t = env.ok_json(&["catalogue", "show", "ap-mine-nonpersistent-15d", "--json"]);
    assert_eq!(t["type"]["persistence"], "persistent");
    let changes: Vec<(Value, Value)> = t["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["version"].clone(), c["change"].clone()))
        .collect();
    assert_eq!(
        changes,
        vec![(json!(1), json!("added")), (json!(2), json!("changed"))]
    );
    assert_eq!(t["changes"][1]["before"]["sd_max_hours"], 360.0);
    let text = env.ok(&["catalogue", "show", "ap-mine-nonpersistent-15d"]);
    assert!(
        text.contains("version 2")
            && text.contains("test author")
            && text.contains("persistence non-persistent"),
        "{text}"
    );
    // An unchanged type has only its first version.
    let t = env.ok_json(&["catalogue", "show", "ied", "--json"]);
    assert_eq!(t["changes"].as_array().unwrap().len(), 1);

    // The list: the version in force now, and at the earlier time.
    let now = env.ok_json(&["catalogue", "list", "--json"]);
    assert_eq!(now["version"], 2);
    let row = now["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "ap-mine-nonpersistent-15d")
        .unwrap();
    assert_eq!(row["persistence"], "persistent");
    let then = env.ok_json(&["catalogue", "list", "--json", "--at", &before_change]);
    assert_eq!(then["version"], 1);
    let text = env.ok(&["catalogue", "list"]);
    assert!(text.starts_with("Device catalogue version 2"), "{text}");
}

#[test]
fn imports_that_change_nothing_or_are_refused_write_nothing() {
    let env = prepare();
    let counts = env.counts();

    // Identical (with other comments) writes nothing and says so.
    std::fs::write(env.path("same.toml"), format!("# a copy\n{SHIPPED}")).unwrap();
    let said = env.ok(&[
        "catalogue",
        "import",
        &env.p("same.toml"),
        "--reason",
        "again",
    ]);
    assert!(
        said.contains("identical to device catalogue version 1")
            && said.contains("nothing written"),
        "{said}"
    );
    assert_eq!(env.counts(), counts);

    // A file that does not parse: exit 2 naming the file and the entry.
    let bad = SHIPPED.replace(
        ENTRY_15D,
        &ENTRY_15D.replace("sd_fail = 0.10", "sd_fail = 2"),
    );
    std::fs::write(env.path("bad.toml"), bad).unwrap();
    let err = env.bad(&[
        "catalogue",
        "import",
        &env.p("bad.toml"),
        "--reason",
        "typo",
    ]);
    assert!(
        err.contains("bad.toml")
            && err.contains("entry 4 (ap-mine-nonpersistent-15d)")
            && err.contains("sd_fail"),
        "{err}"
    );
    assert_eq!(env.counts(), counts);

    // Removing a type a stored area uses: exit 2 naming the type and the area.
    let without = SHIPPED.replace(
        &format!("[[device_type]]\n{ENTRY_15D}claimed_sd_fail = 0.0001\n\n"),
        "",
    );
    assert_ne!(without, SHIPPED);
    std::fs::write(env.path("without.toml"), without).unwrap();
    let err = env.bad(&[
        "catalogue",
        "import",
        &env.p("without.toml"),
        "--reason",
        "tidy",
    ]);
    assert!(
        err.contains("ap-mine-nonpersistent-15d") && err.contains("HA-15d"),
        "{err}"
    );
    assert_eq!(env.counts(), counts);

    // A reason is required, and an empty one refused.
    let err = env.bad(&["catalogue", "import", &env.p("same.toml")]);
    assert!(err.contains("--reason"), "{err}");
    let err = env.bad(&["catalogue", "import", &env.p("same.toml"), "--reason", " "]);
    assert!(err.contains("--reason"), "{err}");
    // The global --catalogue flag is gone: the catalogue is the store's.
    let err = env.bad(&["--catalogue", &env.p("same.toml"), "catalogue", "list"]);
    assert!(err.contains("--catalogue"), "{err}");
    assert_eq!(env.counts(), counts);
    assert_eq!(
        env.ok_json(&["catalogue", "versions", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
