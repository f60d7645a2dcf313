//! The Hilbert curve over a square of 2^order × 2^order cells: the order in which Cairn lays out
//! things that are read together because they lie together on the ground (the index's slots,
//! the grid's tiles, a GeoPackage's features).

/// The distance along the curve of order `order` (1 to 32) of the cell (`x`, `y`), both below
/// 2^order.
pub fn distance(order: u32, mut x: u64, mut y: u64) -> u64 {
    debug_assert!((1..=32).contains(&order));
    let n = 1u64 << order;
    debug_assert!(x < n && y < n);
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s != 0);
        let ry = u64::from(y & s != 0);
        // At most 3 × 4^31 per step and 4^32 − 1 in all: no overflow at order 32.
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant.
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// The cell at distance `d` along the curve of order `order`: the inverse of `distance`.
pub fn cell(order: u32, d: u64) -> (u64, u64) {
    debug_assert!((1..=32).contains(&order));
    let n = 1u64 << order;
    let (mut x, mut y) = (0u64, 0u64);
    let mut t = d;
    let mut s = 1u64;
    while s < n {
        let rx = 1 & (t / 2);
        let ry = 1 & (t ^ rx);
        if ry == 0 {
            if rx == 1 {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        x += s * rx;
        y += s * ry;
        t /= 4;
        s *= 2;
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_a_small_curve_once_each_step_to_a_neighbour() {
        for order in 1..=5 {
            let n = 1u64 << order;
            let mut seen = vec![false; (n * n) as usize];
            let mut last: Option<(u64, u64)> = None;
            for d in 0..n * n {
                let (x, y) = cell(order, d);
                assert!(x < n && y < n);
                assert_eq!(distance(order, x, y), d, "order {order}, cell ({x}, {y})");
                assert!(!seen[(y * n + x) as usize], "cell ({x}, {y}) twice");
                seen[(y * n + x) as usize] = true;
                if let Some((px, py)) = last {
                    assert_eq!(px.abs_diff(x) + py.abs_diff(y), 1, "a jump at {d}");
                }
                last = Some((x, y));
            }
        }
    }

    #[test]
    fn order_32_round_trips_at_its_corners_and_middle() {
        let top = u32::MAX as u64;
        for (x, y) in [
            (0, 0),
            (top, 0),
            (0, top),
            (top, top),
            (1 << 31, 1 << 31),
            (12345, 987654321),
        ] {
            assert_eq!(cell(32, distance(32, x, y)), (x, y));
        }
        assert_eq!(distance(32, top, 0), u64::MAX);
    }
}
