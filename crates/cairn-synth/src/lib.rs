//! A deterministic, realistic and clearly fictional data set of hazardous areas in Ukraine,
//! clustered around real settlements (GeoNames) inside the country's outline (Natural Earth).
//! The same seed and size always give the same data; it is also the demo data set.

pub mod history;

use std::sync::OnceLock;

pub mod zones;

use cairn_core::{
    AreaProperties, Catalogue, Classification, DeviceGroup, Emplacement, EmplacingMethod, Evidence,
    EvidenceKind, HazardArea, HowKnown, Marking, Shape, Status, Timestamp,
};
use chrono::{DateTime, Duration, Utc};
use geo::{Contains, Orient, orient::Direction};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SETTLEMENTS_CSV: &str = include_str!("../data/settlements-ua.csv");
const OBLASTS_CSV: &str = include_str!("../data/oblasts-ua.csv");
const UKRAINE_GEOJSON: &str = include_str!("../data/ukraine.geojson");

/// A settlement from GeoNames.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub population: u64,
    pub admin1: String,
}

/// The shipped reference data: settlements, oblast names and the country outline.
#[derive(Debug)]
pub struct Reference {
    pub settlements: Vec<Settlement>,
    pub oblasts: Vec<(String, String)>,
    pub outline: MultiPolygon<f64>,
}

/// The shipped reference data, parsed once.
pub fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        let settlements = SETTLEMENTS_CSV
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some(Settlement {
                    name: f.get(1)?.to_string(),
                    lat: f.get(2)?.parse().ok()?,
                    lon: f.get(3)?.parse().ok()?,
                    population: f.get(4)?.parse().ok()?,
                    admin1: f.get(5)?.to_string(),
                })
            })
            .collect();
        let oblasts = OBLASTS_CSV
            .lines()
            .skip(1)
            .filter_map(|l| {
                l.split_once(',')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
            .collect();
        Reference {
            settlements,
            oblasts,
            outline: parse_outline(UKRAINE_GEOJSON),
        }
    })
}

fn parse_outline(text: &str) -> MultiPolygon<f64> {
    let v: serde_json::Value = serde_json::from_str(text).expect("shipped outline is JSON");
    let g = &v["geometry"];
    let ring = |r: &serde_json::Value| -> LineString<f64> {
        r.as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| Coord {
                        x: p[0].as_f64().unwrap_or(0.0),
                        y: p[1].as_f64().unwrap_or(0.0),
                    })
                    .collect()
            })
            .unwrap_or_else(|| LineString(vec![]))
    };
    let poly = |p: &serde_json::Value| -> Polygon<f64> {
        let rings: Vec<LineString<f64>> = p
            .as_array()
            .map(|rs| rs.iter().map(ring).collect())
            .unwrap_or_default();
        let mut it = rings.into_iter();
        Polygon::new(
            it.next().unwrap_or_else(|| LineString(vec![])),
            it.collect(),
        )
    };
    match g["type"].as_str() {
        Some("Polygon") => MultiPolygon(vec![poly(&g["coordinates"])]),
        _ => MultiPolygon(
            g["coordinates"]
                .as_array()
                .map(|ps| ps.iter().map(poly).collect())
                .unwrap_or_default(),
        ),
    }
}

/// Relative contamination weight per oblast (GeoNames admin1 code): highest along the front
/// line and in once-occupied northern oblasts; fictional but shaped like Landmine Monitor's picture.
fn oblast_weight(admin1: &str) -> f64 {
    match admin1 {
        "05" | "14" => 10.0,              // Donetsk, Luhansk
        "07" | "26" | "08" => 8.0,        // Kharkiv, Zaporizhzhia, Kherson
        "21" | "02" | "16" => 4.0,        // Sumy, Chernihiv, Mykolaiv
        "13" | "04" | "11" | "20" => 2.5, // Kyiv oblast, Dnipropetrovsk, Crimea, Sevastopol
        "27" | "18" | "12" | "17" => 0.6, // Zhytomyr, Poltava, Kyiv, Odesa
        _ => 0.08,
    }
}

/// The fixed end of the synthetic time line, so that a seed always gives the same data.
pub fn default_until() -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

/// The generator: `area(i)` is a pure function of the seed, `until` and `i`.
#[derive(Debug)]
pub struct Synth {
    seed: u64,
    until: Timestamp,
    cumulative: Vec<f64>,
    catalogue: Catalogue,
}

const WAR_START: &str = "2022-02-24T04:00:00Z";

impl Synth {
    /// A generator for `seed`, with every time at or before `until`.
    pub fn new(seed: u64, until: Timestamp) -> Synth {
        let r = reference();
        let mut acc = 0.0;
        let cumulative = r
            .settlements
            .iter()
            .map(|s| {
                acc += oblast_weight(&s.admin1) * ((s.population as f64) + 800.0).sqrt();
                acc
            })
            .collect();
        Synth {
            seed,
            until,
            cumulative,
            catalogue: Catalogue::builtin(),
        }
    }

    /// The `i`-th area (from 0); ids are `HA-000001` onward.
    pub fn area(&self, i: u64) -> HazardArea {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(i);
        let r = reference();
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let pick = rng.random::<f64>() * total;
        let si = self
            .cumulative
            .partition_point(|&c| c < pick)
            .min(r.settlements.len() - 1);
        let s = &r.settlements[si];
        // Distance from the settlement: mostly within a few kilometres, some far out in fields.
        let mut centre = Coord { x: s.lon, y: s.lat };
        let mut dist_m = 0.0;
        let mut bearing = 0.0;
        for attempt in 0..8 {
            let scale = 4000.0 / (1.0 + attempt as f64);
            dist_m = 300.0 + (-(1.0 - rng.random::<f64>()).ln()) * scale;
            bearing = rng.random::<f64>() * 360.0;
            let c = offset(Coord { x: s.lon, y: s.lat }, dist_m, bearing);
            if r.outline.contains(&Point(c)) {
                centre = c;
                break;
            }
        }
        loop {
            if let Some(mut a) = self.try_area(&mut rng, i, s, centre, dist_m, bearing) {
                self.add_emplacement(&mut a, i);
                return a;
            }
        }
    }

    /// Gives an area whose AP devices are known from a record the facts of its emplacement
    /// record (APII TA 1), mostly complete; drawn from a stream of its own so that every other
    /// field stays as it was before emplacement records existed.
    fn add_emplacement(&self, a: &mut HazardArea, i: u64) {
        if !a
            .props
            .devices
            .iter()
            .any(|g| g.how_known == Some(HowKnown::Record))
        {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x656d_706c_6163_656d);
        rng.set_stream(i);
        let lifetime_h = a
            .props
            .devices
            .iter()
            .filter_map(|g| match self.catalogue.get(&g.device_type)?.profile {
                cairn_core::residual::Profile::NonPersistent { sd_max_s, .. } => {
                    Some(sd_max_s as f64 / 3600.0)
                }
                _ => None,
            })
            .fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h))));
        let mut e = Emplacement {
            method: Some(pick(
                &mut rng,
                &[
                    (EmplacingMethod::HandEmplaced, 50.0),
                    (EmplacingMethod::RemotelyDelivered, 35.0),
                    (EmplacingMethod::MechanicallyLaid, 15.0),
                ],
            )),
            anti_handling: Some(rng.random::<f64>() < 0.12),
            fuze: Some("electronic fuze with self-destruct timer (fictional)".into()),
            fuze_lifetime_hours: lifetime_h,
            laid_by: Some(format!("fictional unit {}", rng.random_range(1..40))),
        };
        // A record states numbers and times for most of its groups (the observation-based draw
        // above left many unknown).
        for g in a.props.devices.iter_mut() {
            if g.how_known != Some(HowKnown::Record) {
                continue;
            }
            if g.quantity.is_none() && rng.random::<f64>() < 0.85 {
                g.quantity = Some(rng.random_range(8..240));
            }
            if let (None, Some(to)) = (g.emplaced_from, g.emplaced_to)
                && rng.random::<f64>() < 0.85
            {
                g.emplaced_from = Some(to - Duration::hours(rng.random_range(1..12)));
            }
            if let (Some(from), None) = (g.emplaced_from, g.emplaced_to)
                && rng.random::<f64>() < 0.85
            {
                g.emplaced_to =
                    Some((from + Duration::hours(rng.random_range(1..12))).min(self.until));
            }
        }
        // Some records are incomplete, one fact missing each.
        match rng.random_range(0..100) {
            0..5 => e.method = None,
            5..12 => e.anti_handling = None,
            12..16 => e.fuze = None,
            16..22 => e.fuze_lifetime_hours = None,
            _ => {}
        }
        a.props.emplacement = Some(Box::new(e));
    }

    fn try_area(
        &self,
        rng: &mut ChaCha8Rng,
        i: u64,
        s: &Settlement,
        centre: Coord<f64>,
        dist_m: f64,
        bearing: f64,
    ) -> Option<HazardArea> {
        let roll = rng.random::<f64>();
        let (kind, shape) = if roll < 0.38 {
            ("Field", Shape::Polygon(field(rng, centre)))
        } else if roll < 0.56 {
            (
                "Tree line",
                Shape::Polygon(corridor(rng, centre, 200.0..2000.0, 15.0..60.0, 6..30)),
            )
        } else if roll < 0.70 {
            (
                "Road verge",
                Shape::Polygon(corridor(rng, centre, 600.0..5000.0, 10.0..30.0, 15..100)),
            )
        } else if roll < 0.80 {
            ("Wood edge", Shape::Polygon(blob(rng, centre, false)))
        } else if roll < 0.83 {
            ("Farmstead", Shape::Polygon(blob(rng, centre, true)))
        } else if roll < 0.85 {
            let a = field(rng, centre);
            let (d, b) = (
                1500.0 + rng.random::<f64>() * 1000.0,
                rng.random::<f64>() * 360.0,
            );
            let b = field(rng, offset(centre, d, b));
            ("Fields", Shape::MultiPolygon(MultiPolygon(vec![a, b])))
        } else if roll < 0.97 {
            let radius_m = round1(10.0 + rng.random::<f64>().powi(2) * 290.0);
            (
                "Spot",
                Shape::Spot {
                    at: Point(round_coord(centre)),
                    radius_m,
                },
            )
        } else {
            let n = rng.random_range(2..10);
            let mut heading = rng.random::<f64>() * 360.0;
            let mut pts = vec![round_coord(centre)];
            let mut c = centre;
            for _ in 1..n {
                heading += rng.random_range(-20.0..20.0);
                c = offset(c, rng.random_range(50.0..400.0), heading);
                pts.push(round_coord(c));
            }
            let width_m = round1(rng.random_range(5.0..50.0));
            (
                "Track",
                Shape::Linear {
                    line: LineString(pts),
                    width_m,
                },
            )
        };
        // Every synthetic shape must pass the same checks as an import.
        let mut problems = Vec::new();
        cairn_core::validate::validate_shape(&shape, &mut problems);
        if !problems.is_empty() {
            return None;
        }
        let shape = shape.oriented();
        let props = self.properties(rng, kind, s, dist_m, bearing);
        Some(HazardArea {
            id: format!("HA-{:06}", i + 1),
            shape,
            props,
        })
    }

    fn properties(
        &self,
        rng: &mut ChaCha8Rng,
        kind: &str,
        s: &Settlement,
        dist_m: f64,
        bearing: f64,
    ) -> AreaProperties {
        let status = pick(
            rng,
            &[
                (Status::Reported, 5.0),
                (Status::Suspected, 44.0),
                (Status::Confirmed, 33.0),
                (Status::Reduced, 6.0),
                (Status::Cancelled, 5.0),
                (Status::Cleared, 4.0),
                (Status::Closed, 3.0),
            ],
        );
        let war_start = DateTime::parse_from_rfc3339(WAR_START)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(self.until);
        let span = (self.until - war_start).num_seconds().max(1);
        let ngroups = match status {
            Status::Reported => rng.random_range(0..2),
            Status::Suspected => rng.random_range(0..3),
            _ => rng.random_range(1..4),
        };
        let mut devices = Vec::new();
        let mut emplacement_record = false;
        let mut latest = war_start;
        for _ in 0..ngroups {
            let ty = pick(
                rng,
                &[
                    ("ap-mine-persistent", 14.0),
                    ("ap-mine-scatterable-persistent", 4.0),
                    ("ap-mine-nonpersistent-4h", 4.0),
                    ("ap-mine-nonpersistent-48h", 5.0),
                    ("ap-mine-nonpersistent-15d", 7.0),
                    ("at-mine-persistent", 18.0),
                    ("at-mine-nonpersistent-24h", 3.0),
                    ("cluster-submunition", 12.0),
                    ("uxo-projectile", 17.0),
                    ("uxo-rocket", 5.0),
                    ("uxo-aircraft-bomb", 1.0),
                    ("axo", 2.0),
                    ("ied", 3.0),
                    ("booby-trap", 2.0),
                    ("unknown-eo", 3.0),
                ],
            );
            let non_persistent = self
                .catalogue
                .get(ty)
                .map(|t| t.is_non_persistent())
                .unwrap_or(false);
            let quantity = if rng.random::<f64>() < 0.3 {
                None
            } else {
                let max: f64 = if ty.starts_with("ap-") {
                    400.0
                } else if ty.starts_with("at-") {
                    120.0
                } else {
                    30.0
                };
                Some(max.powf(rng.random::<f64>()).round() as u64)
            };
            // Non-persistent mines are recent; the rest since the full-scale invasion.
            let to = if non_persistent {
                self.until - Duration::seconds(rng.random_range(3600..400 * 86400))
            } else {
                war_start + Duration::seconds(rng.random_range(0..span))
            };
            let to = to.with_nanosecond0();
            let from = to - Duration::seconds(rng.random_range(0..5 * 86400));
            let known = rng.random::<f64>();
            let (emplaced_from, emplaced_to) = if known < 0.12 {
                (None, None)
            } else if known < 0.18 {
                (Some(from), None)
            } else {
                (Some(from), Some(to))
            };
            latest = latest.max(to);
            let how_known = if non_persistent && ty.starts_with("ap-") && rng.random::<f64>() < 0.6
            {
                emplacement_record = true;
                Some(HowKnown::Record)
            } else {
                Some(pick(
                    rng,
                    &[(HowKnown::Observation, 3.0), (HowKnown::Estimate, 2.0)],
                ))
            };
            devices.push(DeviceGroup {
                device_type: ty.to_string(),
                quantity,
                emplaced_from,
                emplaced_to,
                how_known,
            });
        }
        let reported_at = (latest + Duration::seconds(rng.random_range(3600..120 * 86400)))
            .min(self.until)
            .with_nanosecond0();
        let evidence = match status {
            Status::Confirmed | Status::Reduced | Status::Cleared | Status::Closed => Some(Evidence {
                kind: EvidenceKind::Direct,
                description: Some(
                    pick(
                        rng,
                        &[
                            ("mines seen at the field edge by a survey team", 3.0),
                            ("tripwire and a fragmentation mine found during technical survey", 2.0),
                            ("anti-tank mines visible on the surface after rain", 2.0),
                            ("unexploded submunitions found among crops", 2.0),
                            ("emplacement record received from the armed forces", if emplacement_record { 6.0 } else { 0.0 }),
                        ],
                    )
                    .to_string(),
                ),
                source: Some("fictional survey report".into()),
            }),
            _ => Some(Evidence {
                kind: EvidenceKind::Indirect,
                description: Some(
                    pick(
                        rng,
                        &[
                            ("farmer reports a tractor hit a mine nearby", 2.0),
                            ("former defensive position; shelling craters", 3.0),
                            ("residents avoid the area; informant reports mines", 2.0),
                            ("report from the public of a suspicious object", 1.0),
                        ],
                    )
                    .to_string(),
                ),
                source: Some("fictional non-technical survey".into()),
            }),
        };
        let classification = if emplacement_record || rng.random::<f64>() < 0.08 {
            Classification::Restricted
        } else {
            Classification::Public
        };
        let marking = Some(pick(
            rng,
            &[
                (Marking::Unmarked, 40.0),
                (Marking::PartiallyMarked, 20.0),
                (Marking::Marked, 30.0),
                (Marking::Fenced, 10.0),
            ],
        ));
        let reference_points =
            if matches!(status, Status::Confirmed | Status::Reduced) || emplacement_record {
                let a = offset(Coord { x: s.lon, y: s.lat }, dist_m + 150.0, bearing);
                let b = offset(a, 120.0, bearing + 90.0);
                vec![[round7(a.x), round7(a.y)], [round7(b.x), round7(b.y)]]
            } else {
                Vec::new()
            };
        let org = pick(
            rng,
            &[
                ("Fictional Demining Operator A", 3.0),
                ("Fictional Demining Operator B", 2.0),
                ("Fictional Humanitarian Mine Action Group", 2.0),
                ("Fictional State Emergency Service team 3", 3.0),
            ],
        );
        AreaProperties {
            name: Some(format!(
                "{kind} {:.1} km {} of {} (fictional)",
                dist_m / 1000.0,
                compass(bearing),
                s.name
            )),
            status,
            classification,
            evidence,
            devices,
            reference_points,
            marking,
            organisation: Some(org.to_string()),
            reported_at: Some(reported_at),
            extra: Default::default(),
            emplacement: None,
        }
    }
}

trait Whole {
    fn with_nanosecond0(self) -> Self;
}
impl Whole for Timestamp {
    fn with_nanosecond0(self) -> Self {
        DateTime::from_timestamp(self.timestamp(), 0).unwrap_or(self)
    }
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

fn compass(bearing: f64) -> &'static str {
    const N: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    N[(((bearing.rem_euclid(360.0) + 22.5) / 45.0) as usize) % 8]
}

/// Moves `c` by `dist_m` metres on `bearing_deg` (local flat approximation, fine at these scales).
fn offset(c: Coord<f64>, dist_m: f64, bearing_deg: f64) -> Coord<f64> {
    let b = bearing_deg.to_radians();
    let dy = dist_m * b.cos();
    let dx = dist_m * b.sin();
    Coord {
        x: c.x + dx / (111_320.0 * c.y.to_radians().cos()),
        y: c.y + dy / 110_574.0,
    }
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round_coord(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: round7(c.x),
        y: round7(c.y),
    }
}

fn closed(mut pts: Vec<Coord<f64>>) -> LineString<f64> {
    let pts2: Vec<Coord<f64>> = pts.drain(..).map(round_coord).collect();
    let mut ls = LineString(pts2);
    ls.close();
    ls
}

/// A field: a rotated rectangle whose edges are subdivided with small jitter.
fn field(rng: &mut ChaCha8Rng, centre: Coord<f64>) -> Polygon<f64> {
    let w: f64 = rng.random_range(80.0..800.0);
    let h: f64 = rng.random_range(60.0..600.0);
    let rot = rng.random::<f64>() * 180.0;
    let k = rng.random_range(1..10);
    let corners = [
        (-w / 2.0, -h / 2.0),
        (w / 2.0, -h / 2.0),
        (w / 2.0, h / 2.0),
        (-w / 2.0, h / 2.0),
    ];
    let mut pts = Vec::new();
    for e in 0..4 {
        let (x0, y0) = corners[e];
        let (x1, y1) = corners[(e + 1) % 4];
        for j in 0..k {
            let t = j as f64 / k as f64;
            let jitter = if j == 0 {
                0.0
            } else {
                rng.random_range(-0.01..0.01) * w.min(h)
            };
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            // Jitter outward or inward perpendicular to the edge.
            let (nx, ny) = ((y1 - y0), -(x1 - x0));
            let len = (nx * nx + ny * ny).sqrt();
            pts.push(local(
                centre,
                x + jitter * nx / len,
                y + jitter * ny / len,
                rot,
            ));
        }
    }
    Polygon::new(closed(pts), vec![]).orient(Direction::Default)
}

/// A tree line or road verge: a thin band along a gently curving centre line.
fn corridor(
    rng: &mut ChaCha8Rng,
    centre: Coord<f64>,
    length: std::ops::Range<f64>,
    width: std::ops::Range<f64>,
    points: std::ops::Range<usize>,
) -> Polygon<f64> {
    let len = rng.random_range(length);
    let w = rng.random_range(width);
    let n = rng.random_range(points);
    let step = len / (n - 1) as f64;
    let mut heading: f64 = rng.random::<f64>() * 360.0;
    let mut line = vec![(0.0f64, 0.0f64)];
    let mut headings = vec![heading];
    for _ in 1..n {
        heading += rng.random_range(-6.0..6.0);
        let (x, y) = *line.last().unwrap_or(&(0.0, 0.0));
        let h = heading.to_radians();
        line.push((x + step * h.sin(), y + step * h.cos()));
        headings.push(heading);
    }
    let (mx, my) = line[n / 2];
    let mut left = Vec::new();
    let mut right = Vec::new();
    for (i, &(x, y)) in line.iter().enumerate() {
        let h = headings[i].to_radians();
        let (nx, ny) = (h.cos(), -h.sin());
        left.push(local(
            centre,
            x - mx + nx * w / 2.0,
            y - my + ny * w / 2.0,
            0.0,
        ));
        right.push(local(
            centre,
            x - mx - nx * w / 2.0,
            y - my - ny * w / 2.0,
            0.0,
        ));
    }
    right.reverse();
    left.extend(right);
    Polygon::new(closed(left), vec![]).orient(Direction::Default)
}

/// An irregular star-shaped outline, optionally with a hole (a farmstead with its yard excluded).
fn blob(rng: &mut ChaCha8Rng, centre: Coord<f64>, with_hole: bool) -> Polygon<f64> {
    let r0 = rng.random_range(60.0..700.0);
    let n = rng.random_range(8..120);
    let ring = |rng: &mut ChaCha8Rng, r: f64, noise: f64, n: usize| {
        let pts: Vec<Coord<f64>> = (0..n)
            .map(|j| {
                let a = j as f64 / n as f64 * std::f64::consts::TAU;
                let rr = r * (1.0 + rng.random_range(-noise..noise));
                local(centre, rr * a.cos(), rr * a.sin(), 0.0)
            })
            .collect();
        closed(pts)
    };
    let outer = ring(rng, r0, 0.25, n);
    let holes = if with_hole {
        vec![ring(rng, r0 * 0.2, 0.1, (n / 4).max(6))]
    } else {
        vec![]
    };
    Polygon::new(outer, holes).orient(Direction::Default)
}

/// A point `x`, `y` metres east and north of `centre`, after rotating by `rot_deg`.
fn local(centre: Coord<f64>, x: f64, y: f64, rot_deg: f64) -> Coord<f64> {
    let r = rot_deg.to_radians();
    let (xr, yr) = (x * r.cos() - y * r.sin(), x * r.sin() + y * r.cos());
    Coord {
        x: centre.x + xr / (111_320.0 * centre.y.to_radians().cos()),
        y: centre.y + yr / 110_574.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::CoordsIter;

    #[test]
    fn reference_data_is_shipped_and_sane() {
        let r = reference();
        assert!(r.settlements.len() > 3000);
        assert_eq!(r.oblasts.len(), 27);
        let kyiv = Point::new(30.52, 50.45);
        let simferopol = Point::new(34.1, 44.95);
        let warsaw = Point::new(21.0, 52.23);
        assert!(r.outline.contains(&kyiv) && r.outline.contains(&simferopol));
        assert!(!r.outline.contains(&warsaw));
    }

    #[test]
    fn same_seed_same_data_and_every_area_valid() {
        let c = Catalogue::builtin();
        let a = Synth::new(7, default_until());
        let b = Synth::new(7, default_until());
        let other = Synth::new(8, default_until());
        let mut vertices = Vec::new();
        let mut statuses = std::collections::BTreeMap::new();
        for i in 0..2000 {
            let x = a.area(i);
            assert_eq!(x, b.area(i));
            let problems = cairn_core::validate::validate_area(&x, &c, default_until());
            assert!(problems.is_empty(), "{}: {problems:?}", x.id);
            vertices.push(x.shape.geometry().coords_count());
            *statuses.entry(x.props.status).or_insert(0) += 1;
            assert!(x.props.name.as_deref().unwrap_or("").contains("fictional"));
        }
        assert_ne!(a.area(0), other.area(0));
        vertices.sort();
        let median = vertices[vertices.len() / 2];
        assert!((15..=60).contains(&median), "median vertices {median}");
        assert!(*vertices.last().unwrap() <= 202);
        assert_eq!(statuses.len(), 7, "{statuses:?}");
    }
}
