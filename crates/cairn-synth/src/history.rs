//! A fictional period of mine action over the areas already in a store: non-technical and
//! technical survey, clearance, marking and risk education, land released by cancel, reduce and
//! clear with devices found and destroyed, some post-release finds, and accidents with casualties
//! (mostly civilians, some deminers), spread over the period. Everything is written through the
//! store's ordinary API (`add_activity`, `release_land`, `change_status`, `record_find`,
//! `add_accident`, a `Writer` for marking), so it is validated and attributed like real work; a
//! step the rules refuse ends that area's work (counted as `refused`). The same store, seed and
//! period always give the same history. When the store holds no oblast zone, approximate oblast
//! outlines are added first (`approximate_oblasts`), so reports have oblasts to split by.

use std::collections::BTreeMap;

use cairn_core::accident::{AccidentFacts, ActivityAtTime, AgeGroup, Casualty, Outcome, Role, Sex};
use cairn_core::release::{
    ActivityFacts, ActivityKind, DeviceAction, DeviceRecord, ReleaseMethod, shape_polygons,
};
use cairn_core::zone::ZoneKind;
use cairn_core::{Catalogue, Category, Evidence, EvidenceKind, Marking, Status};
use cairn_store::sqlite::release::{FindRequest, NewActivity, ReleaseError, ReleaseRequest};
use cairn_store::{ChangeMeta, StoreError};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use geo::{BooleanOps, BoundingRect, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What `populate` wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistorySummary {
    pub activities: BTreeMap<ActivityKind, u64>,
    pub releases: BTreeMap<ReleaseMethod, u64>,
    pub released_m2: f64,
    pub confirmed: u64,
    pub marked: u64,
    pub finds: u64,
    pub accidents: u64,
    pub casualties: u64,
    pub participants: u64,
    /// Oblast zones added because the store had none.
    pub zones_added: u64,
    /// Steps the store's rules refused (that area's work stopped there).
    pub refused: u64,
}

/// Why a history could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The period is not usable; the message names the flag's field (`from`, `to`).
    #[error("{field}: {message}")]
    Period {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One open hazard as the plan needs it.
struct Candidate {
    id: String,
    status: Status,
    reported: Option<NaiveDate>,
    centre: Coord<f64>,
    organisation: String,
    types: Vec<(String, Option<u64>)>,
    marking: Option<Marking>,
}

/// A step of work on an area.
#[derive(Clone, Debug)]
struct Work {
    kind: ActivityKind,
    started: NaiveDate,
    ended: NaiveDate,
    /// Release after the activity: the method, and whether only the western half.
    release: Option<(ReleaseMethod, bool)>,
    confirm: bool,
    find: bool,
    deminer_accident: bool,
}

enum Event {
    Work {
        area: usize,
        step: Work,
    },
    Marking {
        area: usize,
        day: NaiveDate,
        fenced: bool,
    },
    Eore {
        area: usize,
        day: NaiveDate,
        participants: u64,
    },
    Accident {
        area: usize,
        day: NaiveDate,
        deminer: bool,
    },
}

/// Writes a fictional period of work `[from, to]` (both included, not after today) over the
/// open hazards in `store`, attributed to `author`.
pub fn populate(
    store: &mut dyn cairn_store::Backend,
    catalogue: &Catalogue,
    seed: u64,
    from: NaiveDate,
    to: NaiveDate,
    author: &str,
) -> Result<HistorySummary, HistoryError> {
    let today = Utc::now().date_naive();
    if from > to {
        return Err(HistoryError::Period {
            field: "from",
            message: format!("{from} is after the end of the period ({to})"),
        });
    }
    if to > today {
        return Err(HistoryError::Period {
            field: "to",
            message: format!("{to} is in the future; work is recorded once it is done"),
        });
    }
    let mut summary = HistorySummary::default();
    if !store
        .zones()?
        .iter()
        .any(|z| z.facts.kind == ZoneKind::Oblast)
    {
        let zones = crate::zones::approximate_oblasts();
        summary.zones_added = zones.len() as u64;
        store
            .put_zones(
                &zones,
                ChangeMeta {
                    author: author.to_string(),
                    reason: "approximate oblast outlines for reports (fictional)".into(),
                    source: Some("cairn synth history".into()),
                },
            )
            .map_err(|e| match e {
                ReleaseError::Store(s) => HistoryError::Store(s),
                other => HistoryError::Store(StoreError::Corrupt {
                    id: "zones".into(),
                    message: other.to_string(),
                }),
            })?;
    }
    let mut areas = Vec::new();
    store.for_each_area(None, &mut |s| {
        let a = s.area;
        if !a.props.status.is_open_hazard() {
            return Ok(());
        }
        let Some(bb) = a.shape.bbox() else {
            return Ok(());
        };
        areas.push(Candidate {
            id: a.id,
            status: a.props.status,
            reported: a.props.reported_at.map(|t| t.date_naive()),
            centre: bb.center(),
            organisation: a
                .props
                .organisation
                .unwrap_or_else(|| "Fictional Demining Operator A".into()),
            types: a
                .props
                .devices
                .iter()
                .map(|g| (g.device_type.clone(), g.quantity))
                .collect(),
            marking: a.props.marking,
        });
        Ok(())
    })?;
    if areas.is_empty() {
        return Ok(summary);
    }
    let days = (to - from).num_days() + 1;
    let years = days as f64 / 365.0;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0068_6973_746f_7279);
    let mut events: Vec<(NaiveDate, u64, Event)> = Vec::new();
    let mut seq = 0u64;
    let mut push = |events: &mut Vec<(NaiveDate, u64, Event)>, d: NaiveDate, e: Event| {
        seq += 1;
        events.push((d, seq, e));
    };
    let day_in = |rng: &mut ChaCha8Rng, lo: NaiveDate| -> Option<NaiveDate> {
        let lo = lo.max(from);
        if lo > to {
            return None;
        }
        Some(lo + Duration::days(rng.random_range(0..=(to - lo).num_days())))
    };
    let p_work = (0.05 * years).min(0.9);
    let p_mark = (0.04 * years).min(0.9);
    for (i, a) in areas.iter().enumerate() {
        let earliest = a.reported.map(|d| d + Duration::days(1)).unwrap_or(from);
        if rng.random::<f64>() < p_work
            && let Some(start) = day_in(&mut rng, earliest)
        {
            for step in plan_work(&mut rng, a.status, start, to) {
                push(&mut events, step.started, Event::Work { area: i, step });
            }
        }
        if matches!(
            a.marking,
            None | Some(Marking::Unmarked) | Some(Marking::PartiallyMarked)
        ) && rng.random::<f64>() < p_mark
            && let Some(day) = day_in(&mut rng, earliest)
        {
            let fenced = rng.random::<f64>() < 0.2;
            push(
                &mut events,
                day,
                Event::Marking {
                    area: i,
                    day,
                    fenced,
                },
            );
        }
    }
    let n = areas.len() as f64;
    let sessions = ((n * 0.05 * years).round() as u64).clamp(12, 20_000);
    for _ in 0..sessions {
        let area = rng.random_range(0..areas.len());
        if let Some(day) = day_in(&mut rng, from) {
            let participants = 8 + (rng.random::<f64>().powi(2) * 140.0) as u64;
            push(
                &mut events,
                day,
                Event::Eore {
                    area,
                    day,
                    participants,
                },
            );
        }
    }
    let accidents = ((n * 0.004 * years).round() as u64).clamp(6, 5_000);
    for _ in 0..accidents {
        let area = rng.random_range(0..areas.len());
        if let Some(day) = day_in(&mut rng, from) {
            push(
                &mut events,
                day,
                Event::Accident {
                    area,
                    day,
                    deminer: false,
                },
            );
        }
    }
    events.sort_by_key(|e| (e.0, e.1));

    let mut stopped = vec![false; areas.len()];
    let mut last_release: Vec<Option<String>> = vec![None; areas.len()];
    for (_, _, e) in events {
        match e {
            Event::Work { area, step } => {
                if stopped[area] {
                    continue;
                }
                let a = &areas[area];
                match work(store, catalogue, &mut rng, a, &step, author, &mut summary)? {
                    Some(release) => {
                        if release.is_some() {
                            last_release[area] = release.clone();
                        }
                        if step.find
                            && let Some(r) = &last_release[area]
                        {
                            find(store, catalogue, &mut rng, a, r, author, &mut summary)?;
                        }
                        if step.deminer_accident {
                            accident(
                                store,
                                catalogue,
                                &mut rng,
                                a,
                                step.ended,
                                true,
                                author,
                                &mut summary,
                            )?;
                        }
                    }
                    None => {
                        summary.refused += 1;
                        stopped[area] = true;
                    }
                }
            }
            Event::Marking { area, day, fenced } => {
                mark(
                    store,
                    &areas[area],
                    day,
                    fenced,
                    author,
                    catalogue,
                    &mut summary,
                )?;
            }
            Event::Eore {
                area,
                day,
                participants,
            } => {
                let a = &areas[area];
                let Some(current) = store.get_area(&a.id, None)? else {
                    continue;
                };
                let facts = ActivityFacts {
                    kind: ActivityKind::RiskEducation,
                    area_id: a.id.clone(),
                    organisation: a.organisation.clone(),
                    team: Some(format!("EORE team {}", 1 + rng.random_range(0..6))),
                    started: day,
                    ended: day,
                    devices: vec![],
                    outcome: Some(format!(
                        "risk-education session in the settlement near {} (fictional)",
                        a.id
                    )),
                    participants: Some(participants),
                };
                let new = NewActivity {
                    facts,
                    geometry: shape_polygons(&current.area.shape),
                };
                if ok(store.add_activity(&new, catalogue, author))?.is_some() {
                    *summary
                        .activities
                        .entry(ActivityKind::RiskEducation)
                        .or_default() += 1;
                    summary.participants += participants;
                } else {
                    summary.refused += 1;
                }
            }
            Event::Accident { area, day, deminer } => {
                accident(
                    store,
                    catalogue,
                    &mut rng,
                    &areas[area],
                    day,
                    deminer,
                    author,
                    &mut summary,
                )?;
            }
        }
    }
    Ok(summary)
}

/// A refusal becomes `None`; a store failure stays an error.
fn ok<T>(r: Result<T, ReleaseError>) -> Result<Option<T>, HistoryError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ReleaseError::Store(e)) => Err(HistoryError::Store(e)),
        Err(_) => Ok(None),
    }
}

/// The steps of work on an area from `start`, as far as they end by `to`.
fn plan_work(rng: &mut ChaCha8Rng, status: Status, start: NaiveDate, to: NaiveDate) -> Vec<Work> {
    let mut steps = Vec::new();
    let mut day = start;
    let mut add = |rng: &mut ChaCha8Rng,
                   day: &mut NaiveDate,
                   kind: ActivityKind,
                   release: Option<(ReleaseMethod, bool)>,
                   confirm: bool|
     -> bool {
        let len = match kind {
            ActivityKind::NonTechnicalSurvey => rng.random_range(1..4),
            ActivityKind::TechnicalSurvey => rng.random_range(3..15),
            _ => rng.random_range(7..45),
        };
        let ended = *day + Duration::days(len);
        if ended > to {
            return false;
        }
        let released = release.is_some();
        steps.push(Work {
            kind,
            started: *day,
            ended,
            release,
            confirm,
            find: released && rng.random::<f64>() < 0.04,
            deminer_accident: kind == ActivityKind::Clearance && rng.random::<f64>() < 0.06,
        });
        *day = ended + Duration::days(rng.random_range(5..60));
        true
    };
    use ActivityKind::*;
    use ReleaseMethod::*;
    match status {
        Status::Suspected => {
            let r = rng.random::<f64>();
            if r < 0.45 {
                add(
                    rng,
                    &mut day,
                    NonTechnicalSurvey,
                    Some((Cancel, false)),
                    false,
                );
            } else if r < 0.7 {
                let _ = add(
                    rng,
                    &mut day,
                    NonTechnicalSurvey,
                    Some((Cancel, true)),
                    false,
                ) && add(rng, &mut day, Clearance, Some((Clear, false)), false);
            } else {
                let _ = add(rng, &mut day, NonTechnicalSurvey, None, true)
                    && add(rng, &mut day, TechnicalSurvey, Some((Reduce, true)), false)
                    && add(rng, &mut day, Clearance, Some((Clear, false)), false);
            }
        }
        Status::Confirmed if rng.random::<f64>() < 0.6 => {
            let _ = add(rng, &mut day, TechnicalSurvey, Some((Reduce, true)), false)
                && add(rng, &mut day, Clearance, Some((Clear, false)), false);
        }
        _ => {
            add(rng, &mut day, Clearance, Some((Clear, false)), false);
        }
    }
    steps
}

/// Devices an activity of `kind` finds or destroys on an area holding `types`.
fn devices_for(
    rng: &mut ChaCha8Rng,
    kind: ActivityKind,
    types: &[(String, Option<u64>)],
) -> Vec<DeviceRecord> {
    let share = match kind {
        ActivityKind::TechnicalSurvey => 0.2,
        ActivityKind::Clearance => 0.8,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for (ty, q) in types {
        let n = match q {
            Some(q) => ((*q as f64) * share * rng.random_range(0.5..1.2)).round() as u64,
            None => rng.random_range(0..12),
        };
        if n == 0 {
            continue;
        }
        let found = (n as f64 * rng.random_range(0.0..0.15)).round() as u64;
        if found > 0 {
            out.push(DeviceRecord {
                device_type: ty.clone(),
                count: found,
                depth_cm: None,
                action: DeviceAction::Found,
            });
        }
        if n > found {
            out.push(DeviceRecord {
                device_type: ty.clone(),
                count: n - found,
                depth_cm: Some(rng.random_range(0..30) as f64),
                action: DeviceAction::Destroyed,
            });
        }
    }
    if out.is_empty() && kind == ActivityKind::Clearance && rng.random::<f64>() < 0.5 {
        out.push(DeviceRecord {
            device_type: "uxo-projectile".into(),
            count: rng.random_range(1..4),
            depth_cm: Some(10.0),
            action: DeviceAction::Destroyed,
        });
    }
    out
}

/// The western half of `land` (cut at the middle of its box), or `None` when the cut leaves nothing.
fn west_half(land: &MultiPolygon<f64>) -> Option<MultiPolygon<f64>> {
    let bb = land.bounding_rect()?;
    let mid = (bb.min().x + bb.max().x) / 2.0;
    let cut = Rect::new(
        Coord {
            x: bb.min().x - 1.0,
            y: bb.min().y - 1.0,
        },
        Coord {
            x: mid,
            y: bb.max().y + 1.0,
        },
    )
    .to_polygon();
    let half = land.intersection(&MultiPolygon(vec![cut]));
    (!half.0.is_empty()).then_some(half)
}

/// Does one step of work: the activity, then any status change and release. `Some(release id
/// if any)` when done, `None` when the store refused a part of it.
#[allow(clippy::too_many_arguments)]
fn work(
    store: &mut dyn cairn_store::Backend,
    catalogue: &Catalogue,
    rng: &mut ChaCha8Rng,
    a: &Candidate,
    step: &Work,
    author: &str,
    summary: &mut HistorySummary,
) -> Result<Option<Option<String>>, HistoryError> {
    let Some(current) = store.get_area(&a.id, None)? else {
        return Ok(None);
    };
    if !current.area.props.status.is_open_hazard() {
        return Ok(None);
    }
    let land = shape_polygons(&current.area.shape);
    let devices = devices_for(rng, step.kind, &a.types);
    let outcome = match (step.kind, step.release, step.confirm) {
        (_, _, true) => "direct evidence found: mines seen at the edge of the area",
        (ActivityKind::NonTechnicalSurvey, Some((_, false)), _) => {
            "no evidence of explosive ordnance; informants and records agree"
        }
        (ActivityKind::NonTechnicalSurvey, Some((_, true)), _) => {
            "evidence only for the eastern part; the rest is in use by farmers"
        }
        (ActivityKind::TechnicalSurvey, _, _) => "contamination confined to the eastern part",
        _ => "cleared to 30 cm",
    };
    let new = NewActivity {
        facts: ActivityFacts {
            kind: step.kind,
            area_id: a.id.clone(),
            organisation: a.organisation.clone(),
            team: Some(format!("Team {}", 1 + rng.random_range(0..12))),
            started: step.started,
            ended: step.ended,
            devices,
            outcome: Some(format!("{outcome} (fictional)")),
            participants: None,
        },
        geometry: land.clone(),
    };
    let Some(activity) = ok(store.add_activity(&new, catalogue, author))? else {
        return Ok(None);
    };
    *summary.activities.entry(step.kind).or_default() += 1;
    if step.confirm {
        let evidence = Evidence {
            kind: EvidenceKind::Direct,
            description: Some(format!(
                "{} found mines at the edge of the area (fictional)",
                activity.id
            )),
            source: Some(format!("activity {}", activity.id)),
        };
        let r = store.change_status(
            &a.id,
            Status::Confirmed,
            Some(&evidence),
            "non-technical survey found direct evidence",
            author,
        );
        if ok(r)?.is_none() {
            return Ok(None);
        }
        summary.confirmed += 1;
    }
    let Some((method, half)) = step.release else {
        return Ok(Some(None));
    };
    let geometry = if half {
        match west_half(&land) {
            Some(h) => h,
            None => return Ok(None),
        }
    } else {
        land
    };
    let req = ReleaseRequest {
        area_id: a.id.clone(),
        method,
        activity_id: activity.id.clone(),
        geometry,
        reason: Some(format!("{} (fictional)", method.label())),
    };
    let Some(out) = ok(store.release_land(&req, author))? else {
        return Ok(None);
    };
    *summary.releases.entry(method).or_default() += 1;
    summary.released_m2 += out.release.facts.released_m2;
    Ok(Some(Some(out.release.id)))
}

/// Records an item found on the land of `release_id`.
fn find(
    store: &mut dyn cairn_store::Backend,
    catalogue: &Catalogue,
    rng: &mut ChaCha8Rng,
    a: &Candidate,
    release_id: &str,
    author: &str,
    summary: &mut HistorySummary,
) -> Result<(), HistoryError> {
    let Some(release) = store.get_release(release_id)? else {
        return Ok(());
    };
    let Some(at) = release.geometry.interior_point() else {
        return Ok(());
    };
    let ty = a
        .types
        .first()
        .map(|t| t.0.clone())
        .unwrap_or_else(|| "uxo-projectile".into());
    let req = FindRequest {
        release_id: release_id.to_string(),
        at,
        device_type: ty,
        count: 1 + (rng.random::<f64>() < 0.2) as u64,
        depth_cm: Some(rng.random_range(5..40) as f64),
        description: Some("found by a farmer while ploughing (fictional)".into()),
    };
    if ok(store.record_find(&req, catalogue, author))?.is_some() {
        summary.finds += 1;
    } else {
        summary.refused += 1;
    }
    Ok(())
}

/// Marks an area: the marking activity, then the area's marking state in its own changeset.
fn mark(
    store: &mut dyn cairn_store::Backend,
    a: &Candidate,
    day: NaiveDate,
    fenced: bool,
    author: &str,
    catalogue: &Catalogue,
    summary: &mut HistorySummary,
) -> Result<(), HistoryError> {
    let Some(current) = store.get_area(&a.id, None)? else {
        return Ok(());
    };
    if !current.area.props.status.is_open_hazard() {
        return Ok(());
    }
    let new = NewActivity {
        facts: ActivityFacts {
            kind: ActivityKind::Marking,
            area_id: a.id.clone(),
            organisation: a.organisation.clone(),
            team: Some("Marking team (fictional)".into()),
            started: day,
            ended: day,
            devices: vec![],
            outcome: Some(if fenced {
                "perimeter fenced with APII signs".into()
            } else {
                "perimeter marked with APII signs every 50 m".into()
            }),
            participants: None,
        },
        geometry: shape_polygons(&current.area.shape),
    };
    let Some(activity) = ok(store.add_activity(&new, catalogue, author))? else {
        summary.refused += 1;
        return Ok(());
    };
    *summary.activities.entry(ActivityKind::Marking).or_default() += 1;
    let mut area = current.area;
    area.props.marking = Some(if fenced {
        Marking::Fenced
    } else {
        Marking::Marked
    });
    let mut w = store.begin(ChangeMeta {
        author: author.to_string(),
        reason: format!("marking recorded by activity {}", activity.id),
        source: Some("marking".into()),
    })?;
    // Through the one door: marking is an edit that adds to what is known.
    if let Err(e) = w.write_area(
        cairn_core::command::Command::Edit,
        cairn_core::command::Actor::ADMIN,
        &area,
    ) {
        return match e {
            cairn_store::WriteError::Store(e) => Err(e.into()),
            cairn_store::WriteError::Refused(_) => {
                summary.refused += 1;
                Ok(())
            }
        };
    }
    w.commit()?;
    summary.marked += 1;
    Ok(())
}

/// Records an accident near area `a` on `day`: civilians mostly; deminers when `deminer`.
#[allow(clippy::too_many_arguments)]
fn accident(
    store: &mut dyn cairn_store::Backend,
    catalogue: &Catalogue,
    rng: &mut ChaCha8Rng,
    a: &Candidate,
    day: NaiveDate,
    deminer: bool,
    author: &str,
    summary: &mut HistorySummary,
) -> Result<(), HistoryError> {
    let (device_type, category) = match a.types.first() {
        Some((t, _)) => (
            Some(t.clone()),
            catalogue
                .get(t)
                .map(|d| d.category)
                .unwrap_or(Category::Other),
        ),
        None => (None, Category::Uxo),
    };
    let n = match rng.random::<f64>() {
        x if x < 0.6 => 1,
        x if x < 0.85 => 2,
        _ => rng.random_range(3..5),
    };
    let mut casualties = Vec::new();
    let mut activity = ActivityAtTime::Unknown;
    for i in 0..n {
        let role = if deminer {
            Role::Deminer
        } else if rng.random::<f64>() < 0.07 {
            Role::Military
        } else {
            Role::Civilian
        };
        let age_group = if role != Role::Civilian {
            AgeGroup::Adult
        } else {
            pick(
                rng,
                &[
                    (AgeGroup::Adult, 80.0),
                    (AgeGroup::Child, 12.0),
                    (AgeGroup::Unknown, 8.0),
                ],
            )
        };
        let sex = pick(
            rng,
            &[(Sex::Male, 70.0), (Sex::Female, 22.0), (Sex::Unknown, 8.0)],
        );
        if i == 0 {
            activity = match role {
                Role::Deminer => ActivityAtTime::Demining,
                Role::Military => ActivityAtTime::Military,
                Role::Civilian if age_group == AgeGroup::Child => ActivityAtTime::Playing,
                Role::Civilian => pick(
                    rng,
                    &[
                        (ActivityAtTime::Farming, 40.0),
                        (ActivityAtTime::Travelling, 20.0),
                        (ActivityAtTime::CollectingFoodOrWood, 15.0),
                        (ActivityAtTime::Herding, 6.0),
                        (ActivityAtTime::HouseholdWork, 6.0),
                        (ActivityAtTime::TamperingWithDevice, 5.0),
                        (ActivityAtTime::Unknown, 8.0),
                    ],
                ),
            };
        }
        let outcome = if rng.random::<f64>() < 0.3 {
            Outcome::Killed
        } else {
            Outcome::Injured
        };
        let named = rng.random::<f64>() < 0.5;
        casualties.push(Casualty {
            outcome,
            sex,
            age_group,
            role,
            name: named.then(|| format!("Fictional Victim {}-{i}", day.format("%Y%m%d"))),
            notes: named.then(|| "private medical notes (fictional)".to_string()),
        });
    }
    let mut at = Utc.from_utc_datetime(&day.and_hms_opt(6, 0, 0).unwrap_or_default())
        + Duration::seconds(rng.random_range(0..12 * 3600));
    let now = Utc::now() - Duration::minutes(1);
    if at > now {
        at = now;
    }
    let d = 0.002;
    let place = Point::new(
        a.centre.x + rng.random_range(-d..d),
        a.centre.y + rng.random_range(-d..d),
    );
    let facts = AccidentFacts {
        occurred_at: at,
        device_category: category,
        device_type,
        activity,
        area_id: Some(a.id.clone()),
        description: Some("accident near a recorded hazardous area (fictional)".into()),
        source: Some(if deminer {
            "operator's accident report (fictional)".into()
        } else {
            "police report (fictional)".into()
        }),
        casualties,
    };
    if ok(store.add_accident(&facts, place, catalogue, author))?.is_some() {
        summary.accidents += 1;
        summary.casualties += n;
    } else {
        summary.refused += 1;
    }
    Ok(())
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, f64)]) -> T {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut x = rng.random::<f64>() * total;
    for &(v, w) in choices {
        if x < w {
            return v;
        }
        x -= w;
    }
    choices[choices.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_store::SqliteStore;
    use cairn_store::prelude::*;
    use cairn_store::sqlite::OpenMode;

    fn store(dir: &std::path::Path, name: &str) -> SqliteStore {
        let mut s = SqliteStore::open(&dir.join(name), OpenMode::Create).unwrap();
        let synth = crate::Synth::new(3, crate::default_until());
        let mut w = s
            .begin(ChangeMeta {
                author: "t".into(),
                reason: "t".into(),
                source: None,
            })
            .unwrap();
        for i in 0..600 {
            w.write_area(
                cairn_core::command::Command::Migrate,
                cairn_core::command::Actor::ADMIN,
                &synth.area(i),
            )
            .unwrap();
        }
        w.commit().unwrap();
        s
    }

    #[test]
    fn the_same_store_seed_and_period_give_the_same_history() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalogue::builtin();
        let to = Utc::now().date_naive();
        let from = to - Duration::days(364);
        let mut a = store(dir.path(), "a.db");
        let mut b = store(dir.path(), "b.db");
        let sa = populate(&mut a, &c, 9, from, to, "t").unwrap();
        let sb = populate(&mut b, &c, 9, from, to, "t").unwrap();
        assert_eq!(sa, sb);
        assert_eq!(a.all_activities().unwrap(), b.all_activities().unwrap());
        assert_eq!(a.accidents().unwrap(), b.accidents().unwrap());
        assert!(sa.zones_added > 20, "{sa:?}");
        for kind in [
            ActivityKind::NonTechnicalSurvey,
            ActivityKind::Clearance,
            ActivityKind::RiskEducation,
        ] {
            assert!(sa.activities.get(&kind).copied().unwrap_or(0) > 0, "{sa:?}");
        }
        assert!(sa.accidents > 0 && sa.released_m2 > 0.0, "{sa:?}");
        let err = populate(&mut a, &c, 9, to, from, "t").unwrap_err();
        assert!(
            matches!(err, HistoryError::Period { field: "from", .. }),
            "{err}"
        );
    }
}
