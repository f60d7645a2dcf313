//! Fictional zones for demos, tests and benchmarks: 27 administrative zones approximating the
//! oblasts, and 23 fictional permitted zones — 50 in all.
//!
//! No oblast boundaries ship with Cairn (no openly licensed set is installable from the
//! registries here), so the oblasts are drawn from GeoNames: every 0.25° cell whose centre lies
//! in Ukraine's outline goes to the oblast of the nearest of each oblast's most populous
//! settlement, and each oblast is the union of its cells. The outlines are blocky and only
//! roughly where the real ones are; every zone is named "(fictional)". A permitted zone is the
//! part east of 25.5° E of one of the 23 easternmost oblasts: invented for exercising the audit,
//! not any real arrangement.

use std::collections::BTreeMap;

use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
#[cfg(test)]
use geo::BooleanOps;
use geo::{Centroid, Contains};
use geo_types::{Coord, MultiPolygon, Point, Rect};

use crate::reference;

const CELL: f64 = 0.25;
const PERMITTED_EAST_OF: f64 = 25.5;

/// The fictional oblast and permitted zones, oblasts first, each in id order.
pub fn fictional_zones() -> Vec<Zone> {
    let r = reference();
    // Each oblast's most populous settlement stands for it.
    let mut capitals: BTreeMap<&str, (u64, Coord<f64>)> = BTreeMap::new();
    for s in &r.settlements {
        let e = capitals
            .entry(s.admin1.as_str())
            .or_insert((0, Coord { x: s.lon, y: s.lat }));
        if s.population > e.0 {
            *e = (s.population, Coord { x: s.lon, y: s.lat });
        }
    }
    let Some(b) = geo::BoundingRect::bounding_rect(&r.outline) else {
        return Vec::new();
    };
    let x0 = (b.min().x / CELL).floor() * CELL;
    let y0 = (b.min().y / CELL).floor() * CELL;
    let mut cells: BTreeMap<&str, Vec<Rect<f64>>> = BTreeMap::new();
    let mut y = y0;
    while y < b.max().y {
        let mut x = x0;
        while x < b.max().x {
            let centre = Coord {
                x: x + CELL / 2.0,
                y: y + CELL / 2.0,
            };
            if r.outline.contains(&Point(centre)) {
                let cos = centre.y.to_radians().cos();
                let nearest = capitals
                    .iter()
                    .min_by(|a, b| {
                        let d = |c: &Coord<f64>| {
                            ((c.x - centre.x) * cos).powi(2) + (c.y - centre.y).powi(2)
                        };
                        d(&a.1.1).total_cmp(&d(&b.1.1))
                    })
                    .map(|(k, _)| *k);
                if let Some(k) = nearest {
                    cells.entry(k).or_default().push(Rect::new(
                        Coord { x, y },
                        Coord {
                            x: x + CELL,
                            y: y + CELL,
                        },
                    ));
                }
            }
            x += CELL;
        }
        y += CELL;
    }
    let name_of: BTreeMap<&str, &str> = r
        .oblasts
        .iter()
        .map(|(a, n)| (a.as_str(), n.as_str()))
        .collect();
    let union = |rects: &[Rect<f64>]| -> MultiPolygon<f64> {
        let polys: Vec<_> = rects.iter().map(|c| c.to_polygon()).collect();
        geo::unary_union(&polys)
    };
    let mut oblasts = Vec::new();
    let mut permitted = Vec::new();
    for (admin1, rects) in &cells {
        let name = name_of.get(admin1).copied().unwrap_or("Unnamed oblast");
        let geometry = union(rects);
        let east: Vec<Rect<f64>> = rects
            .iter()
            .copied()
            .filter(|c| c.min().x >= PERMITTED_EAST_OF)
            .collect();
        let centre_x = geometry.centroid().map(|c| c.x()).unwrap_or(0.0);
        let slug = crate::zone_slug(name);
        if !east.is_empty() {
            permitted.push((centre_x, slug.clone(), name.to_string(), union(&east)));
        }
        oblasts.push(Zone {
            id: format!("Z-oblast-{slug}"),
            facts: ZoneFacts {
                name: format!("{name} (fictional outline)"),
                kind: ZoneKind::Oblast,
                source: Some(
                    "fictional: 0.25° cells nearest the oblast's most populous GeoNames settlement"
                        .into(),
                ),
                description: None,
            },
            geometry,
        });
    }
    // The 23 easternmost.
    permitted.sort_by(|a, b| b.0.total_cmp(&a.0));
    permitted.truncate(23);
    let mut permitted: Vec<Zone> = permitted
        .into_iter()
        .map(|(_, slug, name, geometry)| Zone {
            id: format!("Z-permitted-{slug}"),
            facts: ZoneFacts {
                name: format!("Permitted zone in {name} (fictional)"),
                kind: ZoneKind::Permitted,
                source: Some("fictional, for exercising the compliance audit".into()),
                description: None,
            },
            geometry,
        })
        .collect();
    permitted.sort_by(|a, b| a.id.cmp(&b.id));
    oblasts.extend(permitted);
    oblasts
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::release::area_m2;

    #[test]
    fn fifty_zones_oblasts_tile_without_overlap_and_permitted_lie_within_them() {
        let z = fictional_zones();
        let oblasts: Vec<&Zone> = z
            .iter()
            .filter(|z| z.facts.kind == ZoneKind::Oblast)
            .collect();
        let permitted: Vec<&Zone> = z
            .iter()
            .filter(|z| z.facts.kind == ZoneKind::Permitted)
            .collect();
        assert_eq!((oblasts.len(), permitted.len()), (27, 23));
        let mut problems = Vec::new();
        for x in &z {
            cairn_core::zone::validate_zone(x, &mut problems);
        }
        assert!(problems.is_empty(), "{problems:?}");
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
            let outside = area_m2(&p.geometry.difference(&all));
            assert!(
                outside < 1.0,
                "{} lies {outside} m² outside the oblasts",
                p.id
            );
        }
    }
}
