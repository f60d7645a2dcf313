//! Policy files: the supply conditions and treaty duties as rules, in TOML.
//!
//! The file is read into a spanned tree first, so that every error — a syntax error, an unknown
//! rule or key, a value in the wrong units, a zone the store does not have — names its line.
//! `docs/policy.example.toml` is the documented example; `POLICY_KEYS` below is the whole grammar.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use cairn_core::WireEnum;
use cairn_core::zone::{Zone, ZoneKind};
use chrono::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A policy error, naming the file and line.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Which records a deadline rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Emplacement records only (the supply conditions).
    EmplacementRecords,
    /// Every suspected or confirmed hazard (the authority's own duty to mark and warn).
    AllHazards,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EmplacementRecords => "emplacement-records",
            Scope::AllHazards => "all-hazards",
        }
    }
}

/// Which zones are permitted: named ones, or every zone of a kind.
#[derive(Clone, Debug, PartialEq)]
pub enum ZoneSelection {
    /// Zone ids, each with the line that names it.
    Ids(Vec<(String, usize)>),
    /// Every zone of this kind, with the line that says so.
    Kind(ZoneKind, usize),
}

/// `[rules.permitted-zones]`: AP devices of emplacement records only inside these zones.
#[derive(Clone, Debug, PartialEq)]
pub struct PermittedZones {
    pub zones: ZoneSelection,
    /// Area outside the zones below which a record still counts as inside (boolean-operation
    /// noise along a shared border), in m².
    pub tolerance_m2: f64,
}

/// `[rules.ap-lifetime]`: AP devices only of non-persistent types within these lifetimes.
#[derive(Clone, Debug, PartialEq)]
pub struct ApLifetime {
    pub max_self_destruct: Duration,
    pub max_self_deactivation: Duration,
}

/// `[rules.apii-record]`: Amended Protocol II, Technical Annex 1 recording completeness.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiiRecord {
    pub min_reference_points: usize,
}

/// `[rules.marking]` and `[rules.public-warning]`: done within a time of recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Deadline {
    pub within: Duration,
    pub applies_to: Scope,
}

/// Where the settlements of `[rules.settlement-distance]` come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SettlementSource {
    /// The GeoNames settlements shipped with Cairn.
    GeoNames,
    /// A GeoJSON file of Point features with a `name`, relative to the policy file.
    File(PathBuf),
}

/// `[rules.settlement-distance]`: AP emplacement records at least this far from settlements.
#[derive(Clone, Debug, PartialEq)]
pub struct SettlementDistance {
    pub minimum_m: f64,
    pub settlements: SettlementSource,
}

/// A parsed policy. A rule left out of the file is not checked.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Policy {
    pub name: Option<String>,
    pub permitted_zones: Option<PermittedZones>,
    pub ap_lifetime: Option<ApLifetime>,
    pub apii_record: Option<ApiiRecord>,
    pub marking: Option<Deadline>,
    pub public_warning: Option<Deadline>,
    pub settlement_distance: Option<SettlementDistance>,
}

/// The rules' names as a policy file and the audit's output spell them.
pub const RULES: &[&str] = &[
    "permitted-zones",
    "ap-lifetime",
    "apii-record",
    "marking",
    "public-warning",
    "settlement-distance",
];

/// Every key of every table a policy file may have.
pub const POLICY_KEYS: &[(&str, &[&str])] = &[
    ("policy", &["name"]),
    (
        "rules.permitted-zones",
        &["zones", "zone-kind", "tolerance"],
    ),
    (
        "rules.ap-lifetime",
        &["max-self-destruct", "max-self-deactivation"],
    ),
    ("rules.apii-record", &["min-reference-points"]),
    ("rules.marking", &["within", "applies-to"]),
    ("rules.public-warning", &["within", "applies-to"]),
    ("rules.settlement-distance", &["minimum", "settlements"]),
];

struct Reader<'a> {
    text: &'a str,
    file: String,
}

type Table<'i> = DeTable<'i>;

impl Reader<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> PolicyError {
        PolicyError {
            file: self.file.clone(),
            line: self.line(span),
            message: message.into(),
        }
    }

    /// Refuses keys of `table` not in `known`, naming the first unknown one's line.
    fn only(&self, table: &Table<'_>, path: &str, known: &[&str]) -> Result<(), PolicyError> {
        for (k, _) in table.iter() {
            if !known.contains(&k.get_ref().as_ref()) {
                return Err(self.err(
                    k.span(),
                    format!(
                        "{path} has no key {:?}; its keys are {}",
                        k.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn get<'t, 'i>(
        &self,
        table: &'t Table<'i>,
        key: &str,
    ) -> Option<(&'t Spanned<DeValue<'i>>, Range<usize>)> {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, v)| (v, k.span()))
    }

    fn string(&self, v: &Spanned<DeValue<'_>>, what: &str) -> Result<String, PolicyError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            other => Err(self.err(
                v.span(),
                format!("{what} must be text in quotes, not {}", kind(other)),
            )),
        }
    }

    fn table<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        what: &str,
    ) -> Result<&'t Table<'i>, PolicyError> {
        match v.get_ref() {
            DeValue::Table(t) => Ok(t),
            other => Err(self.err(
                v.span(),
                format!("{what} must be a table ([{what}]), not {}", kind(other)),
            )),
        }
    }

    /// A quantity written as text with its unit (`"15 days"`, `"500 m"`), read by `parse`; a bare
    /// number is refused, suggesting `units`; `example` shows the form in other errors.
    fn with_unit<T>(
        &self,
        v: &Spanned<DeValue<'_>>,
        what: &str,
        (kind_name, example, units): (&str, &str, [&str; 2]),
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<T, PolicyError> {
        match v.get_ref() {
            DeValue::String(s) => parse(s).map_err(|m| self.err(v.span(), format!("{what}: {m}"))),
            DeValue::Integer(i) => {
                let n = i.as_str();
                Err(self.err(
                    v.span(),
                    format!(
                        "{what} = {n} has no unit; write a {kind_name} such as \"{n} {}\" or \"{n} {}\"",
                        units[0], units[1]
                    ),
                ))
            }
            other => Err(self.err(
                v.span(),
                format!(
                    "{what} must be a {kind_name} such as \"{example}\", not {}",
                    kind(other)
                ),
            )),
        }
    }

    fn duration(&self, v: &Spanned<DeValue<'_>>, what: &str) -> Result<Duration, PolicyError> {
        self.with_unit(
            v,
            what,
            ("time", "15 days", ["days", "hours"]),
            parse_duration,
        )
    }

    fn distance_m(&self, v: &Spanned<DeValue<'_>>, what: &str) -> Result<f64, PolicyError> {
        self.with_unit(
            v,
            what,
            ("distance", "500 m", ["m", "km"]),
            parse_distance_m,
        )
    }

    fn scope(&self, table: &Table<'_>, path: &str) -> Result<Scope, PolicyError> {
        match self.get(table, "applies-to") {
            None => Ok(Scope::EmplacementRecords),
            Some((v, _)) => match self.string(v, &format!("{path}.applies-to"))?.as_str() {
                "emplacement-records" => Ok(Scope::EmplacementRecords),
                "all-hazards" => Ok(Scope::AllHazards),
                other => Err(self.err(
                    v.span(),
                    format!(
                        "{path}.applies-to is {other:?}; it must be emplacement-records or all-hazards"
                    ),
                )),
            },
        }
    }

    fn deadline(
        &self,
        t: &Table<'_>,
        path: &str,
        whole: Range<usize>,
    ) -> Result<Deadline, PolicyError> {
        self.only(t, path, keys(path))?;
        let (v, _) = self.get(t, "within").ok_or_else(|| {
            self.err(
                whole,
                format!("{path} needs within, e.g. within = \"72 hours\""),
            )
        })?;
        Ok(Deadline {
            within: self.duration(v, &format!("{path}.within"))?,
            applies_to: self.scope(t, path)?,
        })
    }
}

fn keys(path: &str) -> &'static [&'static str] {
    POLICY_KEYS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, k)| *k)
        .unwrap_or(&[])
}

fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "text",
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

/// Splits "15 days" into its number and unit.
fn number_and_unit(s: &str) -> Result<(f64, String), String> {
    let s = s.trim();
    let cut = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(cut);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("{s:?} does not start with a number"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("{s:?} is not a non-negative amount"));
    }
    Ok((n, unit.trim().to_ascii_lowercase()))
}

/// Parses a time such as "15 days", "72 hours", "90 minutes" or "2 weeks".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = number_and_unit(s)?;
    let seconds = match unit.as_str() {
        "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 7.0 * 86_400.0,
        "" => {
            return Err(format!(
                "{s:?} has no unit; use minutes, hours, days or weeks"
            ));
        }
        other => {
            return Err(format!(
                "{other:?} is not a unit of time; use minutes, hours, days or weeks"
            ));
        }
    };
    let total = n * seconds;
    if total > 100.0 * 365.0 * 86_400.0 {
        return Err(format!("{s:?} is longer than a century"));
    }
    Ok(Duration::milliseconds((total * 1000.0).round() as i64))
}

/// Parses a distance such as "500 m" or "1.5 km" into metres.
pub fn parse_distance_m(s: &str) -> Result<f64, String> {
    let (n, unit) = number_and_unit(s)?;
    match unit.as_str() {
        "m" | "metre" | "metres" | "meter" | "meters" => Ok(n),
        "km" | "kilometre" | "kilometres" | "kilometer" | "kilometers" => Ok(n * 1000.0),
        "" => Err(format!("{s:?} has no unit; use m or km")),
        other => Err(format!("{other:?} is not a unit of distance; use m or km")),
    }
}

/// Parses an area such as "10 m2" or "0.5 ha" into square metres.
pub fn parse_area_m2(s: &str) -> Result<f64, String> {
    let (n, unit) = number_and_unit(s)?;
    match unit.as_str() {
        "m2" | "m²" | "sq m" => Ok(n),
        "ha" | "hectare" | "hectares" => Ok(n * 10_000.0),
        "km2" | "km²" => Ok(n * 1e6),
        "" => Err(format!("{s:?} has no unit; use m2, ha or km2")),
        other => Err(format!(
            "{other:?} is not a unit of area; use m2, ha or km2"
        )),
    }
}

impl Policy {
    /// Parses a policy file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let r = Reader {
            text,
            file: file.to_string(),
        };
        let doc = DeTable::parse(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            r.err(span, format!("not valid TOML: {}", e.message()))
        })?;
        let doc = doc.get_ref();
        let mut policy = Policy::default();
        for (k, v) in doc.iter() {
            match k.get_ref().as_ref() {
                "policy" => {
                    let t = r.table(v, "policy")?;
                    r.only(t, "policy", keys("policy"))?;
                    if let Some((n, _)) = r.get(t, "name") {
                        policy.name = Some(r.string(n, "policy.name")?);
                    }
                }
                "rules" => {
                    let rules = r.table(v, "rules")?;
                    for (rk, rv) in rules.iter() {
                        let name = rk.get_ref().as_ref();
                        let path = format!("rules.{name}");
                        if !RULES.contains(&name) {
                            return Err(r.err(
                                rk.span(),
                                format!(
                                    "unknown rule {name:?}; the rules are {}",
                                    RULES.join(", ")
                                ),
                            ));
                        }
                        let t = r.table(rv, &path)?;
                        let whole = rk.span();
                        match name {
                            "permitted-zones" => {
                                policy.permitted_zones = Some(read_permitted(&r, t, whole)?)
                            }
                            "ap-lifetime" => {
                                r.only(t, &path, keys(&path))?;
                                let need = |k: &str| {
                                    r.get(t, k).map(|(v, _)| v).ok_or_else(|| {
                                        r.err(
                                            whole.clone(),
                                            format!("{path} needs {k}, e.g. {k} = \"15 days\""),
                                        )
                                    })
                                };
                                policy.ap_lifetime = Some(ApLifetime {
                                    max_self_destruct: r.duration(
                                        need("max-self-destruct")?,
                                        &format!("{path}.max-self-destruct"),
                                    )?,
                                    max_self_deactivation: r.duration(
                                        need("max-self-deactivation")?,
                                        &format!("{path}.max-self-deactivation"),
                                    )?,
                                });
                            }
                            "apii-record" => {
                                r.only(t, &path, keys(&path))?;
                                let min = match r.get(t, "min-reference-points") {
                                    None => 2,
                                    Some((v, _)) => match v.get_ref() {
                                        DeValue::Integer(i) => i
                                            .as_str()
                                            .parse::<usize>()
                                            .ok()
                                            .filter(|n| (1..=100).contains(n))
                                            .ok_or_else(|| {
                                                r.err(
                                                    v.span(),
                                                    format!(
                                                        "{path}.min-reference-points must be a whole number from 1 to 100, not {}",
                                                        i.as_str()
                                                    ),
                                                )
                                            })?,
                                        other => {
                                            return Err(r.err(
                                                v.span(),
                                                format!(
                                                    "{path}.min-reference-points must be a whole number, not {}",
                                                    kind(other)
                                                ),
                                            ));
                                        }
                                    },
                                };
                                policy.apii_record = Some(ApiiRecord {
                                    min_reference_points: min,
                                });
                            }
                            "marking" => policy.marking = Some(r.deadline(t, &path, whole)?),
                            "public-warning" => {
                                policy.public_warning = Some(r.deadline(t, &path, whole)?)
                            }
                            "settlement-distance" => {
                                r.only(t, &path, keys(&path))?;
                                let (v, _) = r.get(t, "minimum").ok_or_else(|| {
                                    r.err(
                                        whole.clone(),
                                        format!("{path} needs minimum, e.g. minimum = \"1 km\""),
                                    )
                                })?;
                                let minimum_m = r.distance_m(v, &format!("{path}.minimum"))?;
                                let settlements = match r.get(t, "settlements") {
                                    None => SettlementSource::GeoNames,
                                    Some((v, _)) => {
                                        match r.string(v, &format!("{path}.settlements"))?.as_str()
                                        {
                                            "geonames" => SettlementSource::GeoNames,
                                            f if f.ends_with(".geojson")
                                                || f.ends_with(".json") =>
                                            {
                                                SettlementSource::File(PathBuf::from(f))
                                            }
                                            other => {
                                                return Err(r.err(
                                                    v.span(),
                                                    format!(
                                                        "{path}.settlements is {other:?}; use \"geonames\" (shipped with Cairn) or a .geojson file of Point features"
                                                    ),
                                                ));
                                            }
                                        }
                                    }
                                };
                                policy.settlement_distance = Some(SettlementDistance {
                                    minimum_m,
                                    settlements,
                                });
                            }
                            _ => unreachable!("checked against RULES"),
                        }
                    }
                }
                other => {
                    return Err(r.err(
                        k.span(),
                        format!(
                            "a policy file has [policy] and [rules.NAME] tables, not {other:?}"
                        ),
                    ));
                }
            }
        }
        if policy.enabled().is_empty() {
            return Err(PolicyError {
                file: file.to_string(),
                line: 1,
                message: format!(
                    "the policy sets no rules; add at least one of [rules.{}]",
                    RULES.join("], [rules.")
                ),
            });
        }
        Ok(policy)
    }

    /// The rules the policy sets, in the order of `RULES`.
    pub fn enabled(&self) -> Vec<&'static str> {
        let on = [
            self.permitted_zones.is_some(),
            self.ap_lifetime.is_some(),
            self.apii_record.is_some(),
            self.marking.is_some(),
            self.public_warning.is_some(),
            self.settlement_distance.is_some(),
        ];
        RULES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(r, _)| *r)
            .collect()
    }

    /// The permitted zones among `zones`; an id the store lacks, or a kind with no zone, is an
    /// error naming its line in the policy file.
    pub fn permitted<'z>(
        &self,
        zones: &'z [Zone],
        file: &str,
    ) -> Result<Vec<&'z Zone>, PolicyError> {
        let Some(p) = &self.permitted_zones else {
            return Ok(Vec::new());
        };
        let known = || {
            let ids: Vec<&str> = zones.iter().map(|z| z.id.as_str()).take(20).collect();
            if ids.is_empty() {
                "the store has no zones; import them with `cairn zone import`".to_string()
            } else {
                format!("the store's zones include {}", ids.join(", "))
            }
        };
        match &p.zones {
            ZoneSelection::Ids(ids) => ids
                .iter()
                .map(|(id, line)| {
                    zones
                        .iter()
                        .find(|z| &z.id == id)
                        .ok_or_else(|| PolicyError {
                            file: file.to_string(),
                            line: *line,
                            message: format!("zone {id:?} is not in the store; {}", known()),
                        })
                })
                .collect(),
            ZoneSelection::Kind(kind, line) => {
                let v: Vec<&Zone> = zones.iter().filter(|z| z.facts.kind == *kind).collect();
                if v.is_empty() {
                    return Err(PolicyError {
                        file: file.to_string(),
                        line: *line,
                        message: format!(
                            "the store has no zone of kind {}; {}",
                            kind.as_str(),
                            known()
                        ),
                    });
                }
                Ok(v)
            }
        }
    }
}

fn read_permitted(
    r: &Reader<'_>,
    t: &Table<'_>,
    whole: Range<usize>,
) -> Result<PermittedZones, PolicyError> {
    let path = "rules.permitted-zones";
    r.only(t, path, keys(path))?;
    let zones = match (r.get(t, "zones"), r.get(t, "zone-kind")) {
        (Some(_), Some((_, k))) => {
            return Err(r.err(k, format!("{path} takes zones or zone-kind, not both")));
        }
        (None, None) => {
            return Err(r.err(
                whole,
                format!("{path} needs zones = [\"ZONE-ID\", ...] or zone-kind = \"permitted\""),
            ));
        }
        (Some((v, _)), None) => match v.get_ref() {
            DeValue::Array(a) if !a.is_empty() => {
                let mut ids = Vec::new();
                for item in a.iter() {
                    ids.push((
                        r.string(item, &format!("{path}.zones"))?,
                        r.line(item.span()),
                    ));
                }
                ZoneSelection::Ids(ids)
            }
            DeValue::Array(_) => {
                return Err(r.err(
                    v.span(),
                    format!("{path}.zones is empty; name at least one zone"),
                ));
            }
            other => {
                return Err(r.err(
                    v.span(),
                    format!(
                        "{path}.zones must be a list of zone ids, not {}",
                        kind(other)
                    ),
                ));
            }
        },
        (None, Some((v, _))) => {
            let s = r.string(v, &format!("{path}.zone-kind"))?;
            let k = ZoneKind::parse(&s)
                .map_err(|m| r.err(v.span(), format!("{path}.zone-kind: {m}")))?;
            ZoneSelection::Kind(k, r.line(v.span()))
        }
    };
    let tolerance_m2 = match r.get(t, "tolerance") {
        None => 1.0,
        Some((v, _)) => r.with_unit(
            v,
            &format!("{path}.tolerance"),
            ("area", "10 m2", ["m2", "ha"]),
            parse_area_m2,
        )?,
    };
    Ok(PermittedZones {
        zones,
        tolerance_m2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../docs/policy.example.toml");

    #[test]
    fn the_documented_example_parses_with_every_rule() {
        let p = Policy::parse(EXAMPLE, "policy.example.toml").unwrap();
        assert_eq!(p.enabled(), RULES);
        let l = p.ap_lifetime.unwrap();
        assert_eq!(l.max_self_destruct, Duration::days(15));
        assert_eq!(l.max_self_deactivation, Duration::days(120));
        assert_eq!(p.marking.unwrap().within, Duration::hours(72));
    }

    fn error(text: &str) -> PolicyError {
        Policy::parse(text, "p.toml").unwrap_err()
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = error("[policy]\nname = \"x\"\n\n[rules.lay-more-mines]\nwithin = \"1 h\"\n");
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("unknown rule \"lay-more-mines\""), "{e}");

        let e = error("[rules.marking]\nwithin = \"72 kg\"\n");
        assert_eq!(
            (e.line, e.to_string().starts_with("p.toml line 2: ")),
            (2, true),
            "{e}"
        );
        assert!(e.message.contains("\"kg\" is not a unit of time"), "{e}");

        let e = error("[rules.marking]\n\nwithin = 72\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("has no unit"), "{e}");

        let e = error("[rules.settlement-distance]\nminimum = \"2 hours\"\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("not a unit of distance"), "{e}");

        let e = error("[rules.marking]\nwithin = \"1 day\"\nwhithin = \"2 days\"\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("no key \"whithin\""), "{e}");

        let e = error("[rules.marking]\nwithin = \"1 day\"\n[rules.marking]\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("not valid TOML"), "{e}");

        let e = error("[rules.ap-lifetime]\nmax-self-destruct = \"15 days\"\n");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("needs max-self-deactivation"), "{e}");

        let e = error("# nothing\n[policy]\nname = \"empty\"\n");
        assert!(e.message.contains("sets no rules"), "{e}");

        let e = error("[rules.marking]\nwithin = \"1 day\"\napplies-to = \"everything\"\n");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn missing_zones_name_their_line() {
        let p = Policy::parse(
            "[rules.permitted-zones]\nzones = [\n  \"Z-a\",\n  \"Z-missing\",\n]\n",
            "p.toml",
        )
        .unwrap();
        let z = Zone {
            id: "Z-a".into(),
            facts: cairn_core::zone::ZoneFacts {
                name: "A".into(),
                kind: ZoneKind::Permitted,
                source: None,
                description: None,
            },
            geometry: geo_types::MultiPolygon(vec![]),
        };
        let e = p.permitted(std::slice::from_ref(&z), "p.toml").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(
            e.message.contains("zone \"Z-missing\" is not in the store"),
            "{e}"
        );

        let p = Policy::parse(
            "[rules.permitted-zones]\nzone-kind = \"oblast\"\n",
            "p.toml",
        )
        .unwrap();
        let e = p.permitted(std::slice::from_ref(&z), "p.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let p = Policy::parse(
            "[rules.permitted-zones]\nzone-kind = \"permitted\"\n",
            "p.toml",
        )
        .unwrap();
        assert_eq!(
            p.permitted(std::slice::from_ref(&z), "p.toml")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn units() {
        assert_eq!(parse_duration("15 days").unwrap(), Duration::days(15));
        assert_eq!(parse_duration("4h").unwrap(), Duration::hours(4));
        assert_eq!(parse_duration("1.5 hours").unwrap(), Duration::minutes(90));
        assert!(parse_duration("15").is_err());
        assert_eq!(parse_distance_m("1.5 km").unwrap(), 1500.0);
        assert!(parse_distance_m("3 miles").is_err());
        assert_eq!(parse_area_m2("2 ha").unwrap(), 20_000.0);
    }
}
