//! Accidents and their victims (IMSMA Accident and Victim; Landmine Monitor's casualty figures).
//!
//! An accident is where and when explosive ordnance hurt people, with one entry per casualty:
//! killed or injured, sex, age group, civilian or deminer, and what the person was doing.
//! Victims' details (names, notes) are restricted personal data: `public_summary` is all the
//! public may see of an accident, counts without any person in them.

use chrono::{DateTime, Utc};
use geo_types::Point;
use serde::{Deserialize, Serialize};

use crate::area::{Timestamp, WireEnum};
use crate::catalogue::Category;
use crate::validate::Problem;

/// Whether a casualty was killed or injured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Killed,
    Injured,
}

impl WireEnum for Outcome {
    const ALL: &'static [(Outcome, &'static str)] =
        &[(Outcome::Killed, "killed"), (Outcome::Injured, "injured")];
}

/// A casualty's sex as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Unknown,
}

impl WireEnum for Sex {
    const ALL: &'static [(Sex, &'static str)] = &[
        (Sex::Female, "female"),
        (Sex::Male, "male"),
        (Sex::Unknown, "unknown"),
    ];
}

/// A casualty's age group: children are under 18 (Landmine Monitor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeGroup {
    Child,
    Adult,
    Unknown,
}

impl WireEnum for AgeGroup {
    const ALL: &'static [(AgeGroup, &'static str)] = &[
        (AgeGroup::Child, "child"),
        (AgeGroup::Adult, "adult"),
        (AgeGroup::Unknown, "unknown"),
    ];
}

/// Whether a casualty was a civilian, a deminer at work, or military.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Civilian,
    Deminer,
    Military,
}

impl WireEnum for Role {
    const ALL: &'static [(Role, &'static str)] = &[
        (Role::Civilian, "civilian"),
        (Role::Deminer, "deminer"),
        (Role::Military, "military"),
    ];
}

/// What the people were doing when the accident happened (IMSMA's activity at time of accident).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityAtTime {
    Farming,
    Travelling,
    CollectingFoodOrWood,
    Herding,
    Playing,
    HouseholdWork,
    TamperingWithDevice,
    Demining,
    Military,
    Other,
    Unknown,
}

impl WireEnum for ActivityAtTime {
    const ALL: &'static [(ActivityAtTime, &'static str)] = &[
        (ActivityAtTime::Farming, "farming"),
        (ActivityAtTime::Travelling, "travelling"),
        (
            ActivityAtTime::CollectingFoodOrWood,
            "collecting-food-or-wood",
        ),
        (ActivityAtTime::Herding, "herding"),
        (ActivityAtTime::Playing, "playing"),
        (ActivityAtTime::HouseholdWork, "household-work"),
        (ActivityAtTime::TamperingWithDevice, "tampering-with-device"),
        (ActivityAtTime::Demining, "demining"),
        (ActivityAtTime::Military, "military"),
        (ActivityAtTime::Other, "other"),
        (ActivityAtTime::Unknown, "unknown"),
    ];
}

/// One person killed or injured. `name` and `notes` are restricted personal data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Casualty {
    pub outcome: Outcome,
    pub sex: Sex,
    pub age_group: AgeGroup,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What is recorded about an accident besides its id and place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccidentFacts {
    /// When it happened (valid time).
    pub occurred_at: Timestamp,
    pub device_category: Category,
    /// The device type from the catalogue, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    pub activity: ActivityAtTime,
    /// The hazardous area it happened in or nearest to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who reported it (an organisation, the police).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub casualties: Vec<Casualty>,
}

/// An accident: its id (`AC-NNNNNN`), facts and place.
#[derive(Clone, Debug, PartialEq)]
pub struct Accident {
    pub id: String,
    pub facts: AccidentFacts,
    pub place: Point<f64>,
}

/// Casualty counts: killed and injured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub killed: u64,
    pub injured: u64,
}

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Killed => self.killed += 1,
            Outcome::Injured => self.injured += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.killed + self.injured
    }
}

impl Accident {
    /// Killed and injured among all casualties.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for v in &self.facts.casualties {
            c.add(v.outcome);
        }
        c
    }
}

/// Where the public may be told an accident happened: rounded to 0.01° (about a kilometre), so
/// that a small village's accident does not point at a family.
pub const PUBLIC_PLACE_DEG: f64 = 0.01;

/// What the public may see of an accident: date, rough place, device category, activity and
/// counts by outcome, role, sex and age group; never names, notes or the exact place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublicAccident {
    pub id: String,
    pub date: chrono::NaiveDate,
    pub place: [f64; 2],
    pub device_category: Category,
    pub activity: ActivityAtTime,
    pub killed: u64,
    pub injured: u64,
    pub civilians: u64,
    pub deminers: u64,
    pub children: u64,
    pub female: u64,
}

/// The public summary of an accident.
pub fn public_summary(a: &Accident) -> PublicAccident {
    let round = |v: f64| (v / PUBLIC_PLACE_DEG).round() * PUBLIC_PLACE_DEG;
    let c = a.counts();
    let n =
        |f: &dyn Fn(&Casualty) -> bool| a.facts.casualties.iter().filter(|v| f(v)).count() as u64;
    PublicAccident {
        id: a.id.clone(),
        date: a.facts.occurred_at.date_naive(),
        place: [
            (round(a.place.x()) * 100.0).round() / 100.0,
            (round(a.place.y()) * 100.0).round() / 100.0,
        ],
        device_category: a.facts.device_category,
        activity: a.facts.activity,
        killed: c.killed,
        injured: c.injured,
        civilians: n(&|v| v.role == Role::Civilian),
        deminers: n(&|v| v.role == Role::Deminer),
        children: n(&|v| v.age_group == AgeGroup::Child),
        female: n(&|v| v.sex == Sex::Female),
    }
}

/// The longest free text accepted in an accident, in bytes.
pub const MAX_TEXT: usize = 4000;

/// Checks an accident against the catalogue and the present time; every problem names its field.
pub fn validate_accident(
    facts: &AccidentFacts,
    place: Point<f64>,
    catalogue: &crate::Catalogue,
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) {
    crate::validate::check_position([place.x(), place.y()], "place", problems);
    if facts.occurred_at > now + chrono::Duration::hours(1) {
        problems.push(Problem::new(
            "occurred_at",
            format!(
                "{} is in the future; record an accident once it has happened",
                facts.occurred_at.to_rfc3339()
            ),
        ));
    }
    if let Some(t) = &facts.device_type {
        match catalogue.get(t) {
            None => problems.push(Problem::new(
                "device_type",
                format!(
                    "unknown device type {t:?}; the catalogue has {}",
                    catalogue.known_ids()
                ),
            )),
            Some(d) if d.category != facts.device_category => problems.push(Problem::new(
                "device_category",
                format!(
                    "is {} but device type {t:?} is a {}",
                    facts.device_category, d.category
                ),
            )),
            Some(_) => {}
        }
    }
    if facts.casualties.is_empty() {
        problems.push(Problem::new(
            "casualties",
            "must list at least one person killed or injured; an explosion that hurt nobody is an incident, not an accident",
        ));
    }
    for (name, v) in [
        ("description", facts.description.as_ref()),
        ("source", facts.source.as_ref()),
        ("area_id", facts.area_id.as_ref()),
    ] {
        if let Some(s) = v
            && s.len() > MAX_TEXT
        {
            problems.push(Problem::new(
                name,
                format!("is longer than {MAX_TEXT} bytes"),
            ));
        }
    }
    for (i, c) in facts.casualties.iter().enumerate() {
        for (name, v) in [("name", c.name.as_ref()), ("notes", c.notes.as_ref())] {
            if let Some(s) = v
                && s.len() > MAX_TEXT
            {
                problems.push(Problem::new(
                    format!("casualties[{i}].{name}"),
                    format!("is longer than {MAX_TEXT} bytes"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accident() -> Accident {
        Accident {
            id: "AC-000001".into(),
            place: Point::new(36.123_456, 49.987_654),
            facts: AccidentFacts {
                occurred_at: "2026-06-01T08:30:00Z".parse().unwrap(),
                device_category: Category::ApMine,
                device_type: Some("ap-mine-persistent".into()),
                activity: ActivityAtTime::Farming,
                area_id: None,
                description: Some("tractor driver stepped off near the tree line".into()),
                source: Some("police".into()),
                casualties: vec![
                    Casualty {
                        outcome: Outcome::Injured,
                        sex: Sex::Male,
                        age_group: AgeGroup::Adult,
                        role: Role::Civilian,
                        name: Some("Secret Person".into()),
                        notes: Some("lost a foot".into()),
                    },
                    Casualty {
                        outcome: Outcome::Killed,
                        sex: Sex::Female,
                        age_group: AgeGroup::Child,
                        role: Role::Civilian,
                        name: None,
                        notes: None,
                    },
                ],
            },
        }
    }

    #[test]
    fn the_public_summary_counts_without_persons_and_rounds_the_place() {
        let s = public_summary(&accident());
        assert_eq!(
            (s.killed, s.injured, s.children, s.female, s.civilians),
            (1, 1, 1, 1, 2)
        );
        assert_eq!(s.place, [36.12, 49.99]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("Secret"), "{json}");
        assert!(!json.contains("foot"), "{json}");
        assert!(!json.contains("tree line"), "{json}");
    }

    #[test]
    fn validation_names_each_field() {
        let c = crate::Catalogue::builtin();
        let mut a = accident();
        a.facts.device_category = Category::AtMine;
        a.facts.occurred_at = "2099-01-01T00:00:00Z".parse().unwrap();
        a.facts.casualties.clear();
        let mut p = Vec::new();
        validate_accident(&a.facts, Point::new(200.0, 0.0), &c, Utc::now(), &mut p);
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["place", "occurred_at", "device_category", "casualties"],
            "{p:?}"
        );
        let mut p = Vec::new();
        let ok = accident();
        validate_accident(&ok.facts, ok.place, &c, Utc::now(), &mut p);
        assert!(p.is_empty(), "{p:?}");
    }
}
