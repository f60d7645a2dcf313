//! Property-based fuzzing of the policy file reader (`Policy::parse`): nothing panics on any
//! text, and a policy with one bad value, unknown key or unknown rule is refused with an error
//! naming that key (or rule) and its line.
//!
//! `CAIRN_FUZZ_SCALE=N` multiplies every case count (bench/fuzz.sh runs them at 20×).

use cairn_audit::policy::Policy;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// The runner: one file shared by every crate's fuzz tests.

#[path = "../../../tests-support/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz;

const EXAMPLE: &str = include_str!("../../../docs/policy.example.toml");

/// A valid policy, one key per line: (table, key, value as TOML).
const VALID: &[(&str, &str, &str)] = &[
    ("policy", "name", "\"Fuzzed policy\""),
    ("rules.permitted-zones", "zone-kind", "\"permitted\""),
    ("rules.permitted-zones", "tolerance", "\"1 m2\""),
    ("rules.ap-lifetime", "max-self-destruct", "\"15 days\""),
    ("rules.ap-lifetime", "max-self-deactivation", "\"120 days\""),
    ("rules.apii-record", "min-reference-points", "2"),
    ("rules.marking", "within", "\"72 hours\""),
    ("rules.marking", "applies-to", "\"emplacement-records\""),
    ("rules.public-warning", "within", "\"24 hours\""),
    ("rules.public-warning", "applies-to", "\"all-hazards\""),
    ("rules.settlement-distance", "minimum", "\"1 km\""),
    ("rules.settlement-distance", "settlements", "\"geonames\""),
];

/// The policy's text with the value of key `bad` replaced (or an extra key after it), and the
/// line on which the changed key stands.
fn render(bad: usize, value: &str, extra_key: Option<&str>, blank: &[usize]) -> (String, usize) {
    let mut text = String::new();
    let mut line = 1;
    let mut at = 0;
    let mut table = "";
    for (i, (t, k, v)) in VALID.iter().enumerate() {
        if *t != table {
            text.push_str(&format!("[{t}]\n"));
            line += 1;
            table = t;
        }
        for _ in 0..blank.get(i).copied().unwrap_or(0) {
            text.push_str("# a comment\n\n");
            line += 2;
        }
        if i == bad {
            match extra_key {
                None => {
                    text.push_str(&format!("{k} = {value}\n"));
                    at = line;
                    line += 1;
                }
                Some(x) => {
                    text.push_str(&format!("{k} = {v}\n{x} = {value}\n"));
                    at = line + 1;
                    line += 2;
                }
            }
        } else {
            text.push_str(&format!("{k} = {v}\n"));
            line += 1;
        }
    }
    (text, at)
}

/// Values that are wrong for the key: of another type, or text that is not a valid choice.
fn bad_value(key: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        Just("true".to_string()),
        Just("1.5".to_string()),
        Just("[\"a\", 1]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("2026-01-01T00:00:00Z".to_string()),
        "[a-z]{1,8}( [a-z]{1,6})?".prop_map(|s| format!("\"{s}\"")),
        prop_oneof![
            Just("-5 days"),
            Just("1e400 km"),
            Just("5"),
            Just("9999999 weeks"),
            Just(".")
        ]
        .prop_map(|s| format!("\"{s}\"")),
    ]
    .prop_filter("a value that is valid for the key", move |v| {
        let v = v.as_str();
        match key {
            "name" => !v.starts_with('"'),
            "min-reference-points" => !matches!(v.parse::<i64>(), Ok(1..=100)),
            "applies-to" => !matches!(v, "\"emplacement-records\"" | "\"all-hazards\""),
            "settlements" => v != "\"geonames\"",
            "zone-kind" => !matches!(
                v,
                "\"permitted\"" | "\"oblast\"" | "\"admin\"" | "\"other\""
            ),
            _ => true,
        }
    })
}

#[test]
fn policy_with_one_bad_value_names_the_key_and_line() {
    let strategy = (0..VALID.len())
        .prop_flat_map(|bad| (Just(bad), bad_value(VALID[bad].1)))
        .prop_flat_map(|(bad, value)| {
            (
                Just(bad),
                Just(value),
                proptest::collection::vec(0usize..3, VALID.len()),
            )
        });
    fuzz("policy-bad-value", 2048, strategy, |(bad, value, blank)| {
        let (text, line) = render(bad, &value, None, &blank);
        let (table, key, _) = VALID[bad];
        match Policy::parse(&text, "fuzz.toml") {
            Ok(p) => prop_assert!(false, "accepted {key} = {value}: {p:?}\n{text}"),
            Err(e) => {
                prop_assert!(
                    e.message.contains(&format!("{table}.{key}")),
                    "the error does not name {table}.{key}: {e}\n{text}"
                );
                prop_assert_eq!(e.line, line, "{}\n{}", e, text);
                prop_assert_eq!(e.file, "fuzz.toml");
            }
        }
        Ok(())
    });
}

#[test]
fn policy_with_an_unknown_key_or_rule_names_it() {
    let strategy = (
        0..VALID.len(),
        "[a-z][a-z0-9-]{0,12}",
        proptest::collection::vec(0usize..3, VALID.len()),
        any::<bool>(),
    );
    fuzz(
        "policy-unknown-key",
        1024,
        strategy,
        |(at, name, blank, as_rule)| {
            let (table, _, _) = VALID[at];
            if as_rule {
                if cairn_audit::policy::RULES.contains(&name.as_str()) {
                    return Ok(());
                }
                let (text, _) = render(at, VALID[at].2, None, &blank);
                let text = format!("{text}[rules.{name}]\nx = 1\n");
                let line = text.lines().count() - 1;
                let e = Policy::parse(&text, "fuzz.toml").unwrap_err();
                prop_assert!(e.message.contains(&format!("{name:?}")), "{e}");
                prop_assert_eq!(e.line, line, "{}\n{}", e, text);
            } else {
                let known = cairn_audit::policy::POLICY_KEYS
                    .iter()
                    .find(|(t, _)| *t == table)
                    .unwrap()
                    .1;
                if known.contains(&name.as_str()) {
                    return Ok(());
                }
                let (text, line) = render(at, "\"x\"", Some(&name), &blank);
                let e = Policy::parse(&text, "fuzz.toml").unwrap_err();
                prop_assert!(
                    e.message.contains(&format!("{name:?}")) && e.message.contains(table),
                    "the error does not name {table} and {name}: {e}\n{text}"
                );
                prop_assert_eq!(e.line, line, "{}\n{}", e, text);
            }
            Ok(())
        },
    );
}

#[test]
fn policy_text_mutations_never_panic_and_name_a_line_in_the_file() {
    let edits = proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            0usize..8,
            prop_oneof![
                "\\PC{0,6}",
                prop::sample::select(
                    &[
                        "[",
                        "]",
                        "[[",
                        "=",
                        "\"",
                        "'''",
                        "\"\"\"",
                        "\n",
                        "\\u0000",
                        "#",
                        ".",
                        "-",
                        "inf",
                        "nan",
                        "1e999",
                        "{",
                        "}",
                        "[rules]\n",
                        "\u{FEFF}",
                        "\r",
                    ][..]
                )
                .prop_map(str::to_string),
            ],
        ),
        1..6,
    );
    fuzz("policy-text", 1024, edits, |edits| {
        let mut text: Vec<char> = EXAMPLE.chars().collect();
        for (at, delete, insert) in &edits {
            let i = at.index(text.len() + 1);
            let end = (i + delete).min(text.len());
            text.splice(i..end, insert.chars());
        }
        let text: String = text.into_iter().collect();
        if let Err(e) = Policy::parse(&text, "fuzz.toml") {
            let lines = text.split('\n').count();
            prop_assert!(
                (1..=lines).contains(&e.line),
                "line {} outside the file's {lines} lines: {e}",
                e.line
            );
            prop_assert!(!e.message.is_empty());
        }
        Ok(())
    });
}
