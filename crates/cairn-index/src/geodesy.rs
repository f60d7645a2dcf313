//! Metres on the WGS 84 ellipsoid: geodesic distances (Gauss's mid-latitude formula for short
//! lines, Karney's algorithm via geographiclib for the rest) and a local plane for finding
//! closest points, whose small distortion only moves a foot point and so changes the final
//! geodesic distance by a second-order amount.

use geo_types::Coord;
use geographiclib_rs::{Geodesic, InverseGeodesic};

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;

fn geodesic() -> &'static Geodesic {
    static G: std::sync::OnceLock<Geodesic> = std::sync::OnceLock::new();
    G.get_or_init(Geodesic::wgs84)
}

/// Lines up to this long, between latitudes 60 S and 60 N, are measured with Gauss's
/// mid-latitude formula: against Karney's algorithm its error is under 4 mm at 10 km and 3 cm
/// at 20 km there (tests below, and the differential oracle against pyproj), and it takes about
/// 20 ns instead of 500. Longer lines, and lines nearer the poles, go to Karney's algorithm.
pub const SHORT_M: f64 = 20_000.0;

/// Between latitudes 55.5 S and 55.5 N (all of Ukraine), lines up to this long are measured
/// with the same formula: its error grows with the cube of the length, to under 0.35 m at 50 km.
pub const MID_M: f64 = 50_000.0;

/// Distance and initial azimuth of a short line by the mid-latitude formula on the ellipsoid,
/// or `None` when the line is too long or too near a pole for it.
fn short_inverse(a: Coord<f64>, b: Coord<f64>) -> Option<(f64, f64)> {
    let mid_lat = (a.y + b.y) / 2.0;
    let mut dlon = b.x - a.x;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let dlat = b.y - a.y;
    // 0.5 degrees is more than 50 km in latitude; 1.0 degree of longitude more than 50 km
    // below 60 degrees.
    if mid_lat.abs() > 60.0 || dlat.abs() > 0.5 || dlon.abs() > 1.0 {
        return None;
    }
    let e2 = F * (2.0 - F);
    let phi = mid_lat.to_radians();
    let (s, c) = phi.sin_cos();
    let w2 = 1.0 - e2 * s * s;
    let w = w2.sqrt();
    let n = A / w;
    let m = A * (1.0 - e2) / (w2 * w);
    let x = dlon.to_radians() * n * c;
    let y = dlat.to_radians() * m;
    let d = (x * x + y * y).sqrt();
    if d > SHORT_M && (d > MID_M || mid_lat.abs() > 55.5) {
        return None;
    }
    // The azimuth at the midpoint, less half the meridians' convergence between the ends.
    let az = x.atan2(y).to_degrees() - dlon * s / 2.0;
    Some((d, if d == 0.0 { 0.0 } else { az.rem_euclid(360.0) }))
}

/// Geodesic distance in metres and initial bearing in degrees [0, 360) from `a` to `b` (lon, lat).
pub fn inverse(a: Coord<f64>, b: Coord<f64>) -> (f64, f64) {
    if let Some(r) = short_inverse(a, b) {
        return r;
    }
    karney_inverse(a, b)
}

/// Karney's algorithm alone: distance and initial bearing in degrees [0, 360).
pub fn karney_inverse(a: Coord<f64>, b: Coord<f64>) -> (f64, f64) {
    let (s12, azi1, _azi2, _a12): (f64, f64, f64, f64) = geodesic().inverse(a.y, a.x, b.y, b.x);
    (s12, azi1.rem_euclid(360.0))
}

/// Geodesic distance in metres.
pub fn distance(a: Coord<f64>, b: Coord<f64>) -> f64 {
    inverse(a, b).0
}

/// An equirectangular plane tangent at `origin`, in metres, using the ellipsoid's radii of
/// curvature there. Good to about 0.2 % within 10 km; used to find candidates and foot points.
#[derive(Clone, Copy, Debug)]
pub struct LocalPlane {
    origin: Coord<f64>,
    kx: f64,
    ky: f64,
    /// The factor of `slack`'s drift term.
    drift: f64,
}

impl LocalPlane {
    /// The plane at `origin` (lon, lat).
    pub fn at(origin: Coord<f64>) -> LocalPlane {
        let e2 = F * (2.0 - F);
        let phi = origin.y.to_radians();
        let s = phi.sin();
        let w = (1.0 - e2 * s * s).sqrt();
        let n = A / w; // prime vertical radius
        let m = A * (1.0 - e2) / (w * w * w); // meridional radius
        let t = (origin.y.abs() + 0.5).min(89.0).to_radians().tan() + 0.1;
        LocalPlane {
            origin,
            kx: n * phi.cos() * std::f64::consts::PI / 180.0,
            ky: m * std::f64::consts::PI / 180.0,
            drift: t / (4.0 * 6_371_000.0),
        }
    }

    /// Projects (lon, lat) to metres east and north of the origin.
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        let mut dx = c.x - self.origin.x;
        if dx > 180.0 {
            dx -= 360.0;
        } else if dx < -180.0 {
            dx += 360.0;
        }
        Coord {
            x: dx * self.kx,
            y: (c.y - self.origin.y) * self.ky,
        }
    }

    /// Planar distance from the origin to a box in degrees (a box in the plane, too); never
    /// more than about 2 % above the true distance within 50 km, see `lower_bound`.
    pub fn distance_to_box(&self, min: Coord<f64>, max: Coord<f64>) -> f64 {
        let (a, b) = (self.project(min), self.project(max));
        let dx = (a.x.max(0.0)).max(-b.x).max(0.0);
        let dy = (a.y.max(0.0)).max(-b.y).max(0.0);
        (dx * dx + dy * dy).sqrt()
    }

    /// A distance on the ellipsoid that is surely no more than what this plane measures as
    /// `planar` metres (within 50 km of the origin).
    pub fn lower_bound(planar: f64) -> f64 {
        planar / 1.02 - 1.0
    }

    /// How far, at most, a geodesic distance from the origin can differ from what this plane
    /// measures as `planar` metres, within 50 km: the plane is exact to first order at its origin
    /// and drifts as the parallels converge, by a fraction of about d·tan φ / (5.3 R) (measured
    /// against Karney's algorithm; see the test below, which holds this bound to it with a margin).
    #[inline]
    pub fn slack(&self, planar: f64) -> f64 {
        planar * (planar * self.drift + 1e-6) + 0.001
    }

    /// The inverse of `project`.
    pub fn unproject(&self, p: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + p.x / self.kx,
            y: self.origin.y + p.y / self.ky,
        }
    }
}

/// Degrees of latitude and of longitude (at latitude `lat`) that surely cover `m` metres.
pub fn degrees_covering(m: f64, lat: f64) -> (f64, f64) {
    // A degree of latitude is at least 110,574 m; of longitude at least 111,319 m · cos φ
    // (smallest at the most poleward latitude reached). Two percent margin on top.
    let dlat = m / 110_574.0 * 1.02;
    let phi = (lat.abs() + dlat).min(89.9).to_radians();
    let dlon = (m / (111_319.0 * phi.cos()) * 1.02).min(360.0);
    (dlat, dlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // One degree of latitude at 50 N is about 111.2 km; Kyiv to Kharkiv about 409 km.
        let d = distance(Coord { x: 30.0, y: 49.5 }, Coord { x: 30.0, y: 50.5 });
        assert!((d - 111_229.0).abs() < 100.0, "{d}");
        let (d, az) = inverse(
            Coord {
                x: 30.5234,
                y: 50.4501,
            },
            Coord {
                x: 36.2304,
                y: 49.9935,
            },
        );
        assert!((d - 409_000.0).abs() < 3_000.0, "{d}");
        assert!(az > 90.0 && az < 110.0, "{az}");
    }

    #[test]
    fn short_lines_agree_with_karney() {
        // Seeded walk over latitudes 60 S to 60 N, every direction, lines up to 55 km.
        let mut seed = 0x5eed_u64;
        let mut unit = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut worst_d, mut worst_side, mut short) = (0.0f64, 0.0f64, 0);
        for _ in 0..100_000 {
            let a = Coord {
                x: -180.0 + unit() * 360.0,
                y: -59.8 + unit() * 119.6,
            };
            let (len, dir) = (unit() * 55_000.0, unit() * std::f64::consts::TAU);
            let b = Coord {
                x: a.x + len * dir.sin() / (111_000.0 * a.y.to_radians().cos()),
                y: a.y + len * dir.cos() / 111_000.0,
            };
            let (kd, kaz) = karney_inverse(a, b);
            let (d, az) = inverse(a, b);
            if short_inverse(a, b).is_some() {
                short += 1;
            }
            if kd <= 10_000.0 {
                worst_d = worst_d.max((d - kd).abs());
            }
            let mut da = (az - kaz).rem_euclid(360.0);
            if da > 180.0 {
                da = 360.0 - da;
            }
            worst_side = worst_side.max(da.to_radians() * kd);
            let tolerance = if kd <= SHORT_M { 0.05 } else { 0.35 };
            assert!((d - kd).abs() < tolerance, "{a:?} {b:?}: {d} vs {kd}");
        }
        assert!(
            short > 60_000,
            "the short formula served only {short} lines"
        );
        assert!(worst_side < 0.3, "azimuth off by {worst_side} m sideways");
        assert!(worst_d < 0.005, "off by {worst_d} m within 10 km");
    }

    #[test]
    fn plane_slack_bounds_the_geodesic_within_fifty_km() {
        // Seeded: places from 70 S to 70 N, lines up to 50 km in every direction.
        let mut seed = 0x51ac_u64;
        let mut unit = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut tightest = f64::INFINITY;
        for _ in 0..200_000 {
            let o = Coord {
                x: unit() * 360.0 - 180.0,
                y: (unit() * 2.0 - 1.0) * 70.0,
            };
            let (d, t) = (50_000.0 * unit().sqrt(), unit() * std::f64::consts::TAU);
            let c = Coord {
                x: o.x + d * t.sin() / (111_320.0 * o.y.to_radians().cos()),
                y: o.y + d * t.cos() / 110_574.0,
            };
            let p = LocalPlane::at(o);
            let q = p.project(c);
            let planar = (q.x * q.x + q.y * q.y).sqrt();
            let (g, _) = karney_inverse(o, c);
            let slack = p.slack(planar);
            assert!(
                (g - planar).abs() <= slack,
                "{o:?} {c:?}: {g} vs {planar}, slack {slack}"
            );
            if planar > 1_000.0 {
                tightest = tightest.min(slack / (g - planar).abs().max(1e-9));
            }
        }
        // The bound is not so loose as to be useless: somewhere it is within 2x of the error.
        assert!(tightest < 2.0, "slack at least {tightest} times the error");
    }

    #[test]
    fn local_plane_is_close_to_geodesic_within_ten_km() {
        let o = Coord { x: 36.2, y: 49.9 };
        let p = LocalPlane::at(o);
        for (dx, dy) in [(0.1, 0.0), (0.0, 0.09), (0.1, 0.06), (-0.12, -0.05)] {
            let c = Coord {
                x: o.x + dx,
                y: o.y + dy,
            };
            let q = p.project(c);
            let planar = (q.x * q.x + q.y * q.y).sqrt();
            let true_d = distance(o, c);
            assert!(
                (planar - true_d).abs() / true_d < 0.003,
                "{planar} {true_d}"
            );
            let back = p.unproject(q);
            assert!((back.x - c.x).abs() < 1e-12 && (back.y - c.y).abs() < 1e-12);
        }
    }
}
