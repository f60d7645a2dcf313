//! The residual-hazard model of non-persistent devices: a conservative step function of age.
//!
//! The model informs priorities only. It never changes a status, never releases land and never
//! says "safe": a self-deactivated mine is still explosive ordnance.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::area::{DeviceGroup, Status};
use crate::catalogue::Catalogue;

/// How a device type's probability of still functioning falls with age.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Profile {
    /// Functions until removed: p(a) = 1.
    Persistent,
    /// Self-destruct by `sd_max_s` with planning failure `sd_fail`; self-deactivation by
    /// `sda_max_s` with planning residual `residual`.
    NonPersistent {
        sd_max_s: i64,
        sd_fail: f64,
        sda_max_s: i64,
        residual: f64,
    },
}

impl Profile {
    /// Checks the profile's planning values; the message names the field at fault.
    pub fn check(&self) -> Result<(), String> {
        if let Profile::NonPersistent {
            sd_max_s,
            sd_fail,
            sda_max_s,
            residual,
        } = *self
        {
            if sd_max_s <= 0 {
                return Err("sd_max_hours must be positive".into());
            }
            if sda_max_s <= sd_max_s {
                return Err("sda_max_days must be later than sd_max_hours".into());
            }
            if !(0.0..=1.0).contains(&sd_fail) {
                return Err(format!("sd_fail must be between 0 and 1, not {sd_fail}"));
            }
            if !(0.0..=1.0).contains(&residual) {
                return Err(format!("residual must be between 0 and 1, not {residual}"));
            }
            if residual > sd_fail {
                return Err("residual must not exceed sd_fail".into());
            }
        }
        Ok(())
    }

    /// Probability that one device of this profile still functions as a mine at `age_s` seconds
    /// after emplacement. Negative ages count as zero (the conservative choice).
    pub fn p_functioning(&self, age_s: i64) -> f64 {
        match *self {
            Profile::Persistent => 1.0,
            Profile::NonPersistent {
                sd_max_s,
                sd_fail,
                sda_max_s,
                residual,
            } => {
                if age_s < sd_max_s {
                    1.0
                } else if age_s < sda_max_s {
                    sd_fail
                } else {
                    residual
                }
            }
        }
    }

    /// The next age (seconds) at which the step function falls, if any.
    pub fn next_step_after(&self, age_s: i64) -> Option<i64> {
        match *self {
            Profile::Persistent => None,
            Profile::NonPersistent {
                sd_max_s,
                sda_max_s,
                ..
            } => {
                if age_s < sd_max_s {
                    Some(sd_max_s)
                } else if age_s < sda_max_s {
                    Some(sda_max_s)
                } else {
                    None
                }
            }
        }
    }
}

/// The estimate for one device group at one time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupEstimate {
    pub device_type: String,
    pub quantity: Option<u64>,
    /// The emplacement time the model used: the latest possible one.
    pub emplaced: Option<DateTime<Utc>>,
    pub age_days: Option<f64>,
    /// Probability that one device still functions.
    pub p_functioning: f64,
    /// Expected functioning devices; unknown when the quantity is unknown.
    pub expected: Option<f64>,
    pub next_step: Option<DateTime<Utc>>,
    /// When the design says the last device should be inert; never a promise of safety.
    pub designed_inert: Option<DateTime<Utc>>,
    pub persistent: bool,
}

/// The estimate for a whole area at one time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaEstimate {
    pub at: DateTime<Utc>,
    /// Expected functioning devices; unknown when any quantity is unknown or nothing is recorded.
    pub expected: Option<f64>,
    /// Probability that at least one device functions.
    pub p_any: f64,
    pub next_step: Option<DateTime<Utc>>,
    /// The latest designed-inert date over the groups; none when any group is persistent or unknown.
    pub designed_inert: Option<DateTime<Utc>>,
    pub groups: Vec<GroupEstimate>,
    /// Plain-language reminder that the estimate never makes land safe.
    pub caveat: &'static str,
}

/// The fixed caveat shown with every estimate.
pub const CAVEAT: &str = "An estimate for priorities only: it never makes land safe. \
A self-destructed or self-deactivated device may still hold explosive; only survey and clearance release land.";

/// Estimates one group at time `at`. Unknown types and unknown emplacement times count as persistent.
pub fn estimate_group(
    group: &DeviceGroup,
    catalogue: &Catalogue,
    at: DateTime<Utc>,
) -> GroupEstimate {
    let profile = catalogue
        .get(&group.device_type)
        .map(|t| t.profile)
        .unwrap_or(Profile::Persistent);
    // The conservative emplacement time is the latest possible one; without it, age is unknown.
    let t0 = group.emplaced_to;
    let (p, next_step, designed_inert, age_days) = match t0 {
        None => (1.0, None, None, None),
        Some(t0) => {
            let age_s = (at - t0).num_seconds().max(0);
            let p = profile.p_functioning(age_s);
            let next = profile
                .next_step_after(age_s)
                .map(|s| t0 + Duration::seconds(s));
            let inert = match profile {
                Profile::Persistent => None,
                Profile::NonPersistent { sda_max_s, .. } => Some(t0 + Duration::seconds(sda_max_s)),
            };
            (p, next, inert, Some(age_s as f64 / 86400.0))
        }
    };
    GroupEstimate {
        device_type: group.device_type.clone(),
        quantity: group.quantity,
        emplaced: t0,
        age_days,
        p_functioning: p,
        expected: group.quantity.map(|n| n as f64 * p),
        next_step,
        designed_inert,
        persistent: matches!(profile, Profile::Persistent),
    }
}

/// Estimates an area's device groups at time `at`.
pub fn estimate_area(
    groups: &[DeviceGroup],
    catalogue: &Catalogue,
    at: DateTime<Utc>,
) -> AreaEstimate {
    let groups: Vec<GroupEstimate> = groups
        .iter()
        .map(|g| estimate_group(g, catalogue, at))
        .collect();
    // Groups recorded with no devices say nothing; with none else, the area counts as having no
    // device information: expectation unknown, probability one.
    let counted: Vec<&GroupEstimate> = groups.iter().filter(|g| g.quantity != Some(0)).collect();
    let mut expected = if counted.is_empty() { None } else { Some(0.0) };
    // log of the probability that no device functions, summed over groups.
    let mut log_none = 0.0f64;
    let mut certain = counted.is_empty();
    for g in counted {
        match (g.quantity, g.expected) {
            (Some(n), Some(e)) => {
                expected = expected.map(|x| x + e);
                if g.p_functioning >= 1.0 && n > 0 {
                    certain = true;
                } else {
                    log_none += n as f64 * (1.0 - g.p_functioning).ln();
                }
            }
            _ => {
                expected = None;
                certain = true;
            }
        }
    }
    let p_any = if certain { 1.0 } else { 1.0 - log_none.exp() };
    let next_step = groups.iter().filter_map(|g| g.next_step).min();
    let designed_inert = if groups.is_empty() || groups.iter().any(|g| g.designed_inert.is_none()) {
        None
    } else {
        groups.iter().filter_map(|g| g.designed_inert).max()
    };
    AreaEstimate {
        at,
        expected,
        p_any,
        next_step,
        designed_inert,
        groups,
        caveat: CAVEAT,
    }
}

/// True for an area released as a whole: `closed`, or `cleared` or `cancelled` entire. Nothing
/// recorded remains there, so there are no devices to estimate.
pub fn released_whole(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Cleared | Status::Cancelled)
}

/// What an area released as a whole says instead of an estimate. Never "safe": it says what the
/// record holds, and where a later find goes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReleasedEstimate {
    pub at: DateTime<Utc>,
    pub status: Status,
    /// One sentence: nothing recorded remains, and a find there is a post-release find.
    pub remaining: String,
    pub caveat: &'static str,
}

/// The estimate of a record: expected devices for an area with hazard left, or the statement that
/// nothing recorded remains for one released as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RecordEstimate {
    Open(AreaEstimate),
    Released(ReleasedEstimate),
}

/// Estimates a record of status `status` with device groups `groups` at time `at`: an area
/// released as a whole (`released_whole`) gets no E or P figures, whatever devices it once held.
pub fn estimate_record(
    status: Status,
    groups: &[DeviceGroup],
    catalogue: &Catalogue,
    at: DateTime<Utc>,
) -> RecordEstimate {
    if released_whole(status) {
        return RecordEstimate::Released(ReleasedEstimate {
            at,
            status,
            remaining: format!(
                "nothing recorded remains: the area is {} (released land); a find there is recorded as a post-release find",
                crate::WireEnum::as_str(status)
            ),
            caveat: CAVEAT,
        });
    }
    RecordEstimate::Open(estimate_area(groups, catalogue, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn group(ty: &str, n: Option<u64>, from: Option<&str>, to: Option<&str>) -> DeviceGroup {
        DeviceGroup {
            device_type: ty.into(),
            quantity: n,
            emplaced_from: from.map(t),
            emplaced_to: to.map(t),
            how_known: None,
        }
    }

    const NP15: Profile = Profile::NonPersistent {
        sd_max_s: 15 * 86400,
        sd_fail: 0.10,
        sda_max_s: 120 * 86400,
        residual: 0.001,
    };

    #[test]
    fn step_function_matches_domain_definition() {
        assert_eq!(NP15.p_functioning(0), 1.0);
        assert_eq!(NP15.p_functioning(15 * 86400 - 1), 1.0);
        assert_eq!(NP15.p_functioning(15 * 86400), 0.10);
        assert_eq!(NP15.p_functioning(120 * 86400 - 1), 0.10);
        assert_eq!(NP15.p_functioning(120 * 86400), 0.001);
        assert_eq!(NP15.p_functioning(100 * 365 * 86400), 0.001);
        assert_eq!(Profile::Persistent.p_functioning(1_000_000_000), 1.0);
    }

    #[test]
    fn worked_example_forty_mines_of_fifteen_days() {
        // The interfaces.md example: 40 devices emplaced between 1 and 3 October 2026.
        let c = Catalogue::builtin();
        let g = [group(
            "ap-mine-nonpersistent-15d",
            Some(40),
            Some("2026-10-01T00:00:00Z"),
            Some("2026-10-03T00:00:00Z"),
        )];
        // Ten days after the latest emplacement: all may still function.
        let e = estimate_area(&g, &c, t("2026-10-13T00:00:00Z"));
        assert_eq!(e.expected, Some(40.0));
        assert_eq!(e.p_any, 1.0);
        assert_eq!(e.next_step, Some(t("2026-10-18T00:00:00Z")));
        assert_eq!(e.designed_inert, Some(t("2027-01-31T00:00:00Z")));
        // On 25 November 2026 (53 days): 10% planning failure.
        let e = estimate_area(&g, &c, t("2026-11-25T00:00:00Z"));
        assert!((e.expected.unwrap() - 4.0).abs() < 1e-12);
        assert!((e.p_any - (1.0 - 0.9f64.powi(40))).abs() < 1e-12);
        assert_eq!(e.next_step, Some(t("2027-01-31T00:00:00Z")));
        // After 120 days: residual 1 in 1,000, never zero.
        let e = estimate_area(&g, &c, t("2027-06-01T00:00:00Z"));
        assert!((e.expected.unwrap() - 0.04).abs() < 1e-12);
        assert!((e.p_any - (1.0 - 0.999f64.powi(40))).abs() < 1e-12);
        assert!(e.p_any > 0.0);
        assert_eq!(e.next_step, None);
    }

    #[test]
    fn unknown_quantity_makes_expectation_unknown_and_probability_one() {
        let c = Catalogue::builtin();
        let g = [
            group(
                "ap-mine-nonpersistent-4h",
                None,
                None,
                Some("2025-01-01T00:00:00Z"),
            ),
            group(
                "ap-mine-nonpersistent-4h",
                Some(3),
                None,
                Some("2025-01-01T00:00:00Z"),
            ),
        ];
        let e = estimate_area(&g, &c, t("2026-11-25T00:00:00Z"));
        assert_eq!(e.expected, None);
        assert_eq!(e.p_any, 1.0);
    }

    #[test]
    fn unknown_emplacement_time_and_persistent_types_stay_dangerous() {
        let c = Catalogue::builtin();
        let e = estimate_area(
            &[group(
                "ap-mine-nonpersistent-4h",
                Some(5),
                Some("2020-01-01T00:00:00Z"),
                None,
            )],
            &c,
            t("2026-11-25T00:00:00Z"),
        );
        assert_eq!(e.expected, Some(5.0));
        assert_eq!(e.p_any, 1.0);
        assert_eq!(e.designed_inert, None);
        let e = estimate_area(
            &[group(
                "at-mine-persistent",
                Some(2),
                None,
                Some("1990-01-01T00:00:00Z"),
            )],
            &c,
            t("2026-11-25T00:00:00Z"),
        );
        assert_eq!(e.expected, Some(2.0));
        assert_eq!(e.designed_inert, None);
        let empty = estimate_area(&[], &c, t("2026-11-25T00:00:00Z"));
        assert_eq!((empty.expected, empty.p_any), (None, 1.0));
    }

    #[test]
    fn groups_of_zero_devices_count_for_nothing() {
        // Found by the property test: 0 × ln(0) made the probability NaN.
        let c = Catalogue::builtin();
        let zero = group(
            "ap-mine-nonpersistent-4h",
            Some(0),
            None,
            Some("2024-08-25T22:54:23Z"),
        );
        let e = estimate_area(std::slice::from_ref(&zero), &c, t("2024-08-25T22:54:23Z"));
        assert_eq!((e.expected, e.p_any), (None, 1.0));
        let five = group(
            "ap-mine-persistent",
            Some(5),
            None,
            Some("2024-01-01T00:00:00Z"),
        );
        let e = estimate_area(&[zero, five], &c, t("2026-01-01T00:00:00Z"));
        assert_eq!((e.expected, e.p_any), (Some(5.0), 1.0));
    }

    fn arb_group() -> impl Strategy<Value = DeviceGroup> {
        let types = prop::sample::select(vec![
            "ap-mine-nonpersistent-4h",
            "ap-mine-nonpersistent-48h",
            "ap-mine-nonpersistent-15d",
            "at-mine-nonpersistent-24h",
            "ap-mine-persistent",
        ]);
        (
            types,
            prop::option::weighted(0.9, 0u64..500),
            0i64..400 * 86400,
        )
            .prop_map(|(ty, n, offset)| DeviceGroup {
                device_type: ty.into(),
                quantity: n,
                emplaced_from: None,
                emplaced_to: Some(Utc.timestamp_opt(1_700_000_000 + offset, 0).unwrap()),
                how_known: None,
            })
    }

    #[test]
    fn an_area_released_whole_says_nothing_recorded_remains_and_gives_no_figures() {
        let c = Catalogue::builtin();
        let groups = [group(
            "ap-mine-persistent",
            Some(40),
            None,
            Some("2026-10-01T00:00:00Z"),
        )];
        let at = t("2026-12-01T00:00:00Z");
        for status in [Status::Closed, Status::Cleared, Status::Cancelled] {
            let e = estimate_record(status, &groups, &c, at);
            let RecordEstimate::Released(r) = &e else {
                panic!("{status:?} gave figures: {e:?}");
            };
            assert!(
                r.remaining
                    .starts_with("nothing recorded remains: the area is ")
                    && r.remaining.contains("post-release find"),
                "{}",
                r.remaining
            );
            let v = serde_json::to_value(&e).unwrap();
            assert!(
                v.get("expected").is_none() && v.get("p_any").is_none(),
                "{v}"
            );
            assert!(
                !r.remaining.to_lowercase().contains("safe"),
                "{}",
                r.remaining
            );
        }
        // Hazard that remains (reduced land included) keeps its figures.
        for status in [Status::Confirmed, Status::Reduced, Status::Suspected] {
            let RecordEstimate::Open(a) = estimate_record(status, &groups, &c, at) else {
                panic!("{status:?} lost its figures");
            };
            assert_eq!((a.expected, a.p_any), (Some(40.0), 1.0));
        }
    }

    proptest! {
        #[test]
        fn estimate_never_rises_with_time_and_never_falls_below_residual(
            groups in prop::collection::vec(arb_group(), 1..5),
            t1 in 0i64..600 * 86400,
            dt in 0i64..600 * 86400,
        ) {
            let c = Catalogue::builtin();
            let a = Utc.timestamp_opt(1_700_000_000 + t1, 0).unwrap();
            let b = a + Duration::seconds(dt);
            let ea = estimate_area(&groups, &c, a);
            let eb = estimate_area(&groups, &c, b);
            prop_assert!(eb.p_any <= ea.p_any + 1e-15);
            if let (Some(x), Some(y)) = (ea.expected, eb.expected) {
                prop_assert!(y <= x + 1e-9);
            }
            for (ga, gb) in ea.groups.iter().zip(&eb.groups) {
                prop_assert!(gb.p_functioning <= ga.p_functioning);
                prop_assert!(gb.p_functioning >= 0.001);
                // Before the designed self-destruct time, every device counts as functioning.
                let age = ga.age_days.unwrap() * 86400.0;
                if let Profile::NonPersistent { sd_max_s, .. } = c.get(&ga.device_type).unwrap().profile {
                    if age < sd_max_s as f64 { prop_assert_eq!(ga.p_functioning, 1.0); }
                } else {
                    prop_assert_eq!(ga.p_functioning, 1.0);
                }
            }
            // Combination over groups: P = 1 - prod (1 - p)^n, E = sum n p; groups of zero
            // devices alone count as no device information.
            if ea.groups.iter().all(|g| g.quantity == Some(0)) {
                prop_assert_eq!((ea.expected, ea.p_any), (None, 1.0));
            } else if ea.groups.iter().all(|g| g.quantity.is_some()) {
                let prod: f64 = ea.groups.iter().map(|g| (1.0 - g.p_functioning).powf(g.quantity.unwrap() as f64)).product();
                prop_assert!((ea.p_any - (1.0 - prod)).abs() < 1e-9);
                let sum: f64 = ea.groups.iter().map(|g| g.quantity.unwrap() as f64 * g.p_functioning).sum();
                prop_assert!((ea.expected.unwrap() - sum).abs() < 1e-9);
            }
        }
    }
}
