//! Metres on the WGS 84 ellipsoid: exact geodesics (Karney, via geographiclib) and a local
//! plane for finding closest points, whose small distortion only moves a foot point and so
//! changes the final geodesic distance by a second-order amount.

use geo_types::Coord;
use geographiclib_rs::{Geodesic, InverseGeodesic};

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;

fn geodesic() -> &'static Geodesic {
    static G: std::sync::OnceLock<Geodesic> = std::sync::OnceLock::new();
    G.get_or_init(Geodesic::wgs84)
}

/// Geodesic distance in metres and initial bearing in degrees [0, 360) from `a` to `b` (lon, lat).
pub fn inverse(a: Coord<f64>, b: Coord<f64>) -> (f64, f64) {
    let (s12, azi1, _azi2, _a12): (f64, f64, f64, f64) = geodesic().inverse(a.y, a.x, b.y, b.x);
    (s12, azi1.rem_euclid(360.0))
}

/// Geodesic distance in metres.
pub fn distance(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let s12: f64 = geodesic().inverse(a.y, a.x, b.y, b.x);
    s12
}

/// An equirectangular plane tangent at `origin`, in metres, using the ellipsoid's radii of
/// curvature there. Good to about 0.2 % within 10 km; used to find candidates and foot points.
#[derive(Clone, Copy, Debug)]
pub struct LocalPlane {
    origin: Coord<f64>,
    kx: f64,
    ky: f64,
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
        LocalPlane {
            origin,
            kx: n * phi.cos() * std::f64::consts::PI / 180.0,
            ky: m * std::f64::consts::PI / 180.0,
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
