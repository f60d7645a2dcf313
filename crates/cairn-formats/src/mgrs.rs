//! MGRS grid references, for `cairn import --mgrs-column`. A reference names a square of the UTM
//! grid (10 km with one digit pair, 1 km with two, … 1 m with five), not a point: a hazard known
//! only to a 1 km square may lie anywhere in it. So a reference becomes its square's outline, never
//! its centre alone, and a hazard is never drawn smaller than what the reference says.
//!
//! Parsing and the UTM ↔ WGS 84 conversion are the `geoconvert` crate's (a Rust translation of
//! GeographicLib's MGRS and Krüger-series transverse Mercator). The square's corners are the
//! reference's easting and northing rounded down to its precision; its edges are walked in steps
//! of at most `STEP_M` so the outline follows the grid's square, and it is grown by `GROW` of its
//! side (at least 1 cm) so that straight lon/lat edges between those points never cut inside it.

use geoconvert::{Mgrs, UtmUps};

/// The square a reference names: its outline (a closed ring, longitude and latitude), its centre
/// and its side in metres.
#[derive(Clone, Debug, PartialEq)]
pub struct Square {
    pub ring: Vec<[f64; 2]>,
    pub centre: [f64; 2],
    pub side_m: f64,
}

/// Longest step along a square's edge, in metres.
const STEP_M: f64 = 500.0;
/// How much each side of the square is pushed outward, as a fraction of its length.
const GROW: f64 = 0.001;

/// Reads an MGRS reference (spaces allowed, any case) into the square it names; the error says
/// what is wrong, for a message naming the row and column.
pub fn square(text: &str) -> Result<Square, String> {
    let s: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if s.is_empty() {
        return Err("is empty: an MGRS reference is needed, such as 36UUA8040".into());
    }
    let m = Mgrs::parse_str(&s).map_err(|e| format!("{text:?} is not an MGRS reference: {e}"))?;
    let digits = m.precision();
    if digits < 1 {
        return Err(format!(
            "{text:?} names a {} only; give at least one digit pair of easting and northing (a 10 km square)",
            if digits < 0 {
                "grid zone"
            } else {
                "100 km square"
            }
        ));
    }
    if !m.is_utm() {
        return Err(format!(
            "{text:?} is in the polar (UPS) grid, far from any territory of operations"
        ));
    }
    let side = 10f64.powi(5 - digits.min(5));
    let (zone, north) = (m.zone(), m.is_north());
    // The reference's easting and northing are its square's centre.
    let (e0, n0) = (m.easting() - side / 2.0, m.northing() - side / 2.0);
    let grow = (side * GROW).max(0.01);
    let (e0, n0, len) = (e0 - grow, n0 - grow, side + 2.0 * grow);
    let steps = (len / STEP_M).ceil().max(1.0) as usize;
    let at = |e: f64, n: f64| -> Result<[f64; 2], String> {
        let p = UtmUps::create(zone, north, e, n)
            .map_err(|e| format!("{text:?} lies outside its UTM zone: {e}"))?
            .to_latlon();
        Ok([p.longitude(), p.latitude()])
    };
    let mut ring = Vec::with_capacity(4 * steps + 1);
    let corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
    for k in 0..4 {
        let (a, b) = (corners[k], corners[(k + 1) % 4]);
        for i in 0..steps {
            let t = i as f64 / steps as f64;
            let (u, v) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            ring.push(at(e0 + u * len, n0 + v * len)?);
        }
    }
    ring.push(ring[0]);
    let c = m.to_latlon();
    Ok(Square {
        ring,
        centre: [c.longitude(), c.latitude()],
        side_m: side,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_is_as_large_as_its_precision_and_refusals_say_why() {
        let sq = square("36U VA 12 34").unwrap();
        assert_eq!(sq.side_m, 1000.0);
        assert_eq!(sq.ring.first(), sq.ring.last());
        // About a kilometre across: 0.0139° of longitude at 50° N, 0.009° of latitude.
        let (xs, ys): (Vec<f64>, Vec<f64>) = sq.ring.iter().map(|p| (p[0], p[1])).unzip();
        let w = xs.iter().cloned().fold(f64::MIN, f64::max)
            - xs.iter().cloned().fold(f64::MAX, f64::min);
        let h = ys.iter().cloned().fold(f64::MIN, f64::max)
            - ys.iter().cloned().fold(f64::MAX, f64::min);
        assert!((0.0135..0.0150).contains(&w), "{w}");
        assert!((0.0089..0.0095).contains(&h), "{h}");
        for (bad, says) in [
            ("", "empty"),
            ("36U", "grid zone"),
            ("36UUA", "100 km"),
            ("36UUA123", "not an MGRS reference"),
            ("hello", "not an MGRS reference"),
        ] {
            let e = square(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }
}
