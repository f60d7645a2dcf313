//! Fictional zones for demos, tests and benchmarks: 25 approximate oblasts and a fictional
//! permitted zone in each, 50 in all.
//!
//! No oblast boundaries ship with Cairn (no openly licensed set is installable from the
//! registries here), so the oblasts are drawn from GeoNames (`approximate_oblasts`). A permitted
//! zone is the part of an oblast east of a meridian half a degree west of the oblast's middle:
//! invented to exercise the compliance audit, not any real arrangement. Every zone says so.

use std::collections::BTreeMap;

use cairn_core::zone::{Zone, ZoneFacts, ZoneKind, validate_zone, zone_id_from_name};
use geo::{BooleanOps, BoundingRect, Centroid};
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};

use crate::reference;

/// The fictional oblasts and permitted zones: oblasts first, then permitted zones, each in the
/// oblasts' order.
pub fn fictional_zones() -> Vec<Zone> {
    let oblasts = approximate_oblasts();
    let mut permitted = Vec::new();
    for o in &oblasts {
        let (Some(c), Some(b)) = (o.geometry.centroid(), o.geometry.bounding_rect()) else {
            continue;
        };
        let east = Rect::new(
            Coord {
                x: c.x() - 0.5,
                y: b.min().y - 1.0,
            },
            Coord {
                x: b.max().x + 1.0,
                y: b.max().y + 1.0,
            },
        )
        .to_polygon();
        let geometry = o.geometry.intersection(&MultiPolygon(vec![east]));
        let slug = o.id.trim_start_matches("Z-");
        let zone = Zone {
            id: format!("Z-permitted-{slug}"),
            facts: ZoneFacts {
                name: format!("Permitted zone in {} (fictional)", o.facts.name),
                kind: ZoneKind::Permitted,
                source: Some("cairn synth: fictional, for exercising the compliance audit".into()),
                description: Some("not any real arrangement".into()),
            },
            geometry,
        };
        let mut problems = Vec::new();
        validate_zone(&zone, &mut problems);
        if problems.is_empty() && !zone.geometry.0.is_empty() {
            permitted.push(zone);
        }
    }
    let mut all = oblasts;
    all.extend(permitted);
    all
}

/// Approximate oblast outlines, for reports on a store without real ones: the Voronoi cells of
/// each oblast's settlements' mean position (Kyiv city counted with Kyiv Oblast, Sevastopol
/// with Crimea), on a plane with longitudes scaled to the country's middle latitude, clipped
/// to the country's outline. Straight borders, clearly not the real ones: each zone says so.
pub fn approximate_oblasts() -> Vec<Zone> {
    let r = reference();
    let mut sums: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
    for s in &r.settlements {
        let code = match s.admin1.as_str() {
            "12" => "13",
            "20" => "11",
            c => c,
        };
        let e = sums.entry(code).or_default();
        e.0 += s.lon;
        e.1 += s.lat;
        e.2 += 1.0;
    }
    let k = 48.5f64.to_radians().cos();
    let sites: Vec<(&str, Coord<f64>)> = sums
        .iter()
        .map(|(c, (x, y, n))| {
            (
                *c,
                Coord {
                    x: x / n * k,
                    y: y / n,
                },
            )
        })
        .collect();
    let Some(bb) = r.outline.bounding_rect() else {
        return Vec::new();
    };
    let frame = vec![
        Coord {
            x: (bb.min().x - 1.0) * k,
            y: bb.min().y - 1.0,
        },
        Coord {
            x: (bb.max().x + 1.0) * k,
            y: bb.min().y - 1.0,
        },
        Coord {
            x: (bb.max().x + 1.0) * k,
            y: bb.max().y + 1.0,
        },
        Coord {
            x: (bb.min().x - 1.0) * k,
            y: bb.max().y + 1.0,
        },
    ];
    let mut zones = Vec::new();
    for (i, (code, s)) in sites.iter().enumerate() {
        let mut cell = frame.clone();
        for (j, (_, t)) in sites.iter().enumerate() {
            if i != j {
                cell = clip_half_plane(&cell, *s, *t);
            }
        }
        if cell.len() < 3 {
            continue;
        }
        let mut ring: Vec<Coord<f64>> = cell.iter().map(|c| Coord { x: c.x / k, y: c.y }).collect();
        ring.push(ring[0]);
        let cell = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
        let clipped = cell.intersection(&r.outline);
        if clipped.0.is_empty() {
            continue;
        }
        let name = r
            .oblasts
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("Oblast {code}"));
        let zone = Zone {
            id: zone_id_from_name(&name).unwrap_or_else(|| format!("Z-oblast-{code}")),
            facts: ZoneFacts {
                name,
                kind: ZoneKind::Oblast,
                source: Some("cairn synth: Voronoi cells of GeoNames settlements clipped to Natural Earth's outline".into()),
                description: Some("approximate outline for fictional reports; not the real border".into()),
            },
            geometry: clipped,
        };
        let mut problems = Vec::new();
        validate_zone(&zone, &mut problems);
        if problems.is_empty() {
            zones.push(zone);
        }
    }
    zones
}

/// The part of convex polygon `poly` nearer to `s` than to `t` (Sutherland–Hodgman).
fn clip_half_plane(poly: &[Coord<f64>], s: Coord<f64>, t: Coord<f64>) -> Vec<Coord<f64>> {
    let m = Coord {
        x: (s.x + t.x) / 2.0,
        y: (s.y + t.y) / 2.0,
    };
    let d = Coord {
        x: t.x - s.x,
        y: t.y - s.y,
    };
    let f = |p: Coord<f64>| (p.x - m.x) * d.x + (p.y - m.y) * d.y;
    let mut out = Vec::new();
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        let (fa, fb) = (f(a), f(b));
        if fa <= 0.0 {
            out.push(a);
        }
        if (fa < 0.0 && fb > 0.0) || (fa > 0.0 && fb < 0.0) {
            let u = fa / (fa - fb);
            out.push(Coord {
                x: a.x + u * (b.x - a.x),
                y: a.y + u * (b.y - a.y),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::release::area_m2;
    use geo_types::Point;

    #[test]
    fn approximate_oblasts_cover_ukraine_without_overlap() {
        let zones = approximate_oblasts();
        assert_eq!(zones.len(), 25);
        let kharkiv = Point::new(36.23, 49.99);
        let lviv = Point::new(24.03, 49.84);
        use geo::Contains;
        let holding = |p: Point<f64>| {
            zones
                .iter()
                .filter(|z| z.geometry.contains(&p))
                .map(|z| z.facts.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(holding(kharkiv), ["Kharkiv Oblast"]);
        assert_eq!(holding(lviv), ["Lviv Oblast"]);
    }

    #[test]
    fn fifty_zones_permitted_ones_within_their_oblasts() {
        let z = fictional_zones();
        let oblasts: Vec<&Zone> = z
            .iter()
            .filter(|z| z.facts.kind == ZoneKind::Oblast)
            .collect();
        let permitted: Vec<&Zone> = z
            .iter()
            .filter(|z| z.facts.kind == ZoneKind::Permitted)
            .collect();
        assert_eq!((oblasts.len(), permitted.len()), (25, 25));
        let total: f64 = oblasts.iter().map(|o| area_m2(&o.geometry)).sum();
        let all = geo::unary_union(oblasts.iter().flat_map(|o| o.geometry.0.iter()));
        // Disjoint: the union's area is the sum of the parts (to a square metre per km²).
        assert!(
            (area_m2(&all) - total).abs() < 1e-6 * total,
            "{} vs {total}",
            area_m2(&all)
        );
        // Roughly Ukraine's 603,500 km².
        assert!((550e9..660e9).contains(&total), "{total}");
        for p in &permitted {
            // Noise of the boolean operations only: under a millionth of a per cent.
            let outside = area_m2(&p.geometry.difference(&all));
            let limit = 1e-8 * area_m2(&p.geometry);
            assert!(
                outside < limit,
                "{} lies {outside} m² outside the oblasts",
                p.id
            );
            assert!(area_m2(&p.geometry) > 1e8, "{} is tiny", p.id);
        }
    }
}
