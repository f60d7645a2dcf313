//! The one place that decides what the public may see of a hazardous area.
//!
//! Classification governs detail, never whether people are warned: a public record shows its
//! outline and public fields; a restricted one shows only a generalised danger zone that always
//! covers the true geometry, with no attribute but "danger" and the date of the data.

use std::collections::BTreeSet;

use geo_types::{Coord, Polygon, Rect};
use serde::Serialize;

use crate::area::{EvidenceKind, HazardArea, Marking, Shape, Status, Timestamp};
use crate::catalogue::{Catalogue, Category};

/// Size of the grid, in degrees, to which restricted areas are generalised (about 1.1 km north-south).
pub const ZONE_GRID_DEG: f64 = 0.01;

/// Plain-language danger text in English.
pub const DANGER_EN: &str = "Danger: explosive ordnance (mines or unexploded munitions) may be here. Do not enter. Do not touch anything. Call 101 or 112.";
/// Plain-language danger text in Ukrainian.
pub const DANGER_UK: &str = "Небезпечно: тут можуть бути вибухонебезпечні предмети (міни чи боєприпаси, що не розірвалися). Не заходьте. Нічого не торкайтеся. Телефонуйте 101 або 112.";
/// Danger text in English for a reported area: an indication not yet surveyed.
pub const REPORTED_EN: &str = "Reported, not yet surveyed: explosive ordnance may be here. Keep away until it is checked. Do not touch anything. Call 101 or 112.";
/// Danger text in Ukrainian for a reported area.
pub const REPORTED_UK: &str = "Повідомлено, ще не обстежено: тут можуть бути вибухонебезпечні предмети. Не наближайтеся, доки місце не перевірять. Нічого не торкайтеся. Телефонуйте 101 або 112.";

/// What the public may see of one record.
#[derive(Clone, Debug, PartialEq)]
pub enum PublicView {
    /// A public record: its exact shape and public fields.
    Detailed { shape: Shape, detail: PublicDetail },
    /// A restricted record: a coarse zone that covers it, and nothing else.
    Zone(DangerZone),
}

/// The public fields of a public record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublicDetail {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marking: Option<Marking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceKind>,
    /// Broad categories only: never device types, counts or emplacement times.
    pub device_categories: Vec<Category>,
    pub danger: bool,
    pub danger_en: &'static str,
    pub danger_uk: &'static str,
    pub data_date: Timestamp,
}

/// A generalised danger zone standing for a restricted record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DangerZone {
    #[serde(skip)]
    pub polygon: Polygon<f64>,
    pub danger: bool,
    pub danger_en: &'static str,
    pub danger_uk: &'static str,
    pub data_date: Timestamp,
}

impl DangerZone {
    /// A stable id made from the zone's own corners only, so it tells nothing of the records
    /// behind it; records that generalise to the same zone share it and are shown once.
    pub fn id(&self) -> String {
        let r = geo::BoundingRect::bounding_rect(&self.polygon);
        match r {
            Some(r) => format!(
                "zone-{}-{}-{}-{}",
                (r.min().x * 100.0).round() as i64,
                (r.min().y * 100.0).round() as i64,
                (r.max().x * 100.0).round() as i64,
                (r.max().y * 100.0).round() as i64
            ),
            None => "zone-empty".into(),
        }
    }
}

/// Decides what the public may see of `area`; `None` when the public is not to be shown it
/// (released land). A `reported` area warns like any other, with its own text; a restricted
/// one, such as an area opened from a public report, as a danger zone.
pub fn public_view(
    area: &HazardArea,
    catalogue: &Catalogue,
    data_date: Timestamp,
) -> Option<PublicView> {
    if !area.props.status.is_open_hazard() {
        return None;
    }
    let reported = area.props.status == Status::Reported;
    match area.props.classification {
        crate::area::Classification::Public => {
            let categories: BTreeSet<Category> = area
                .props
                .devices
                .iter()
                .map(|g| {
                    catalogue
                        .get(&g.device_type)
                        .map(|t| t.category)
                        .unwrap_or(Category::Other)
                })
                .collect();
            Some(PublicView::Detailed {
                shape: area.shape.clone(),
                detail: PublicDetail {
                    id: area.id.clone(),
                    name: area.props.name.clone(),
                    status: area.props.status,
                    marking: area.props.marking,
                    organisation: area.props.organisation.clone(),
                    reported_at: area.props.reported_at,
                    evidence: area.props.evidence.as_ref().map(|e| e.kind),
                    device_categories: categories.into_iter().collect(),
                    danger: true,
                    danger_en: if reported { REPORTED_EN } else { DANGER_EN },
                    danger_uk: if reported { REPORTED_UK } else { DANGER_UK },
                    data_date,
                },
            })
        }
        crate::area::Classification::Restricted => {
            let r = area.shape.covering_bbox()?;
            Some(PublicView::Zone(DangerZone {
                polygon: generalise(r),
                danger: true,
                danger_en: DANGER_EN,
                danger_uk: DANGER_UK,
                data_date,
            }))
        }
    }
}

/// Snaps a box outward to the zone grid, with a further cell wherever an edge falls on a grid
/// line, so that the zone never reveals where the true perimeter lies.
fn generalise(r: Rect<f64>) -> Polygon<f64> {
    let g = ZONE_GRID_DEG;
    let down = |v: f64| {
        let s = (v / g).floor() * g;
        if s >= v { s - g } else { s }
    };
    let up = |v: f64| {
        let s = (v / g).ceil() * g;
        if s <= v { s + g } else { s }
    };
    let min = Coord {
        x: down(r.min().x),
        y: down(r.min().y),
    };
    let max = Coord {
        x: up(r.max().x),
        y: up(r.max().y),
    };
    Rect::new(min, max).to_polygon()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::{AreaProperties, Classification, DeviceGroup};
    use geo::Contains;
    use geo_types::{Point, polygon};

    fn area(class: Classification, status: Status, shape: Shape) -> HazardArea {
        HazardArea {
            id: "HA-1".into(),
            shape,
            props: AreaProperties {
                name: Some("secret name".into()),
                status,
                classification: class,
                evidence: None,
                devices: vec![DeviceGroup {
                    device_type: "ap-mine-nonpersistent-15d".into(),
                    quantity: Some(40),
                    emplaced_from: None,
                    emplaced_to: None,
                    how_known: None,
                }],
                reference_points: vec![],
                marking: None,
                organisation: None,
                reported_at: None,
                emplacement: None,
                extra: Default::default(),
            },
        }
    }

    #[test]
    fn restricted_areas_become_covering_zones_without_detail() {
        let c = Catalogue::builtin();
        let p = polygon![(x: 36.1234, y: 49.5), (x: 36.2, y: 49.5), (x: 36.2, y: 49.6), (x: 36.1234, y: 49.5)];
        let a = area(
            Classification::Restricted,
            Status::Confirmed,
            Shape::Polygon(p.clone()),
        );
        let Some(PublicView::Zone(z)) = public_view(&a, &c, chrono::Utc::now()) else {
            panic!("restricted area must give a zone");
        };
        assert!(z.polygon.contains(&p));
        // Edges on the grid get one more cell, so no zone edge touches the true perimeter.
        let r = geo::BoundingRect::bounding_rect(&z.polygon).unwrap();
        assert!(
            r.min().y < 49.5 - 0.005 && r.max().x > 36.2 + 0.005,
            "{r:?}"
        );
        let json = serde_json::to_string(&z).unwrap();
        assert!(!json.contains("secret") && !json.contains("HA-1") && !json.contains("ap-mine"));
    }

    #[test]
    fn spot_hazards_are_covered_with_their_radius() {
        let c = Catalogue::builtin();
        let a = area(
            Classification::Restricted,
            Status::Suspected,
            Shape::Spot {
                at: Point::new(30.0, 50.0),
                radius_m: 3000.0,
            },
        );
        let Some(PublicView::Zone(z)) = public_view(&a, &c, chrono::Utc::now()) else {
            panic!()
        };
        let r = geo::BoundingRect::bounding_rect(&z.polygon).unwrap();
        // 3 km is about 0.027 degrees of latitude and 0.042 of longitude at 50 N.
        assert!(r.min().y <= 50.0 - 0.027 && r.max().y >= 50.0 + 0.027);
        assert!(r.min().x <= 30.0 - 0.042 && r.max().x >= 30.0 + 0.042);
    }

    #[test]
    fn public_records_show_categories_not_devices_and_released_are_hidden() {
        let c = Catalogue::builtin();
        let shape = Shape::Spot {
            at: Point::new(30.0, 50.0),
            radius_m: 10.0,
        };
        let a = area(Classification::Public, Status::Confirmed, shape.clone());
        let Some(PublicView::Detailed { detail, .. }) = public_view(&a, &c, chrono::Utc::now())
        else {
            panic!()
        };
        assert_eq!(detail.device_categories, vec![Category::ApMine]);
        let r = area(Classification::Public, Status::Reported, shape.clone());
        let Some(PublicView::Detailed { detail, .. }) = public_view(&r, &c, chrono::Utc::now())
        else {
            panic!("a reported area warns")
        };
        assert_eq!(detail.status, Status::Reported);
        assert_eq!(detail.danger_en, REPORTED_EN);
        for s in [Status::Cancelled, Status::Cleared, Status::Closed] {
            assert!(
                public_view(
                    &area(Classification::Public, s, shape.clone()),
                    &c,
                    chrono::Utc::now()
                )
                .is_none()
            );
        }
    }
}
