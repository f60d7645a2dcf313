//! The territory of operations: where a hazard recorded in this store may lie. A position far
//! outside it, or one whose latitude and longitude were swapped on the way in, is a mistake
//! (a spreadsheet's columns in the wrong order, a grid reference read in the wrong zone), and the
//! one door refuses it (`command::check`, rule `territory`) whatever door it came through.
//!
//! The default is Ukraine's outline grown by at least 50 km (`data/territory-ukraine.geojson`,
//! made by `scripts/data/make-territory.py` from the Natural Earth outline that `cairn-synth`
//! ships): generous enough for border areas, the coast and outlines drawn a little wide, and far
//! from anything swapped (swapping puts a Ukrainian position near 49° E, 36° N, in Iran). A store
//! may hold another (`cairn territory set`), kept as a record of kind `territory` with its history.
//!
//! Every vertex of a shape is tested. So that this costs next to nothing on an import of many
//! areas, the outline's bounding box is cut into a grid whose cells are classed once, by a
//! scanline over each row of cell centres, as inside, outside or touched by the outline; only a
//! vertex in a touched cell is tested against the outline itself.

use std::sync::{Arc, OnceLock};

use geo::{BoundingRect, Intersects};
use geo_types::{Coord, MultiPolygon, Point, Polygon};

use crate::area::Shape;

/// Where hazards of this store may lie.
#[derive(Clone, Debug)]
pub struct Territory {
    name: String,
    outline: MultiPolygon<f64>,
    grid: Grid,
}

impl PartialEq for Territory {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.outline == other.outline
    }
}

/// The default territory's outline, as shipped.
const UKRAINE: &str = include_str!("../data/territory-ukraine.geojson");

impl Territory {
    /// A territory named `name` (said in refusals) with this outline; an error says what is wrong
    /// with an outline that cannot be one.
    pub fn new(name: &str, outline: MultiPolygon<f64>) -> Result<Territory, String> {
        if name.trim().is_empty() {
            return Err("a territory needs a name".into());
        }
        if outline.0.is_empty() || outline.0.iter().any(|p| p.exterior().0.len() < 4) {
            return Err("a territory's outline needs at least one polygon of three corners".into());
        }
        if outline
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| &r.0)
            .any(|c| {
                !(c.x.is_finite() && c.y.is_finite() && c.x.abs() <= 180.0 && c.y.abs() <= 90.0)
            })
        {
            return Err("a territory's outline must be in longitude, latitude (WGS 84)".into());
        }
        let grid = Grid::new(&outline);
        Ok(Territory {
            name: name.trim().to_string(),
            outline,
            grid,
        })
    }

    /// The default: Ukraine and 50 km around it.
    pub fn ukraine() -> Arc<Territory> {
        static T: OnceLock<Arc<Territory>> = OnceLock::new();
        T.get_or_init(|| {
            let v: serde_json::Value = serde_json::from_str(UKRAINE).expect("shipped outline");
            let outline = outline_from_geojson(&v["geometry"]).expect("shipped outline");
            let name = v["properties"]["name"].as_str().expect("shipped name");
            Arc::new(Territory::new(name, outline).expect("shipped outline"))
        })
        .clone()
    }

    /// The name said in refusals.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The outline, longitude and latitude.
    pub fn outline(&self) -> &MultiPolygon<f64> {
        &self.outline
    }

    /// True when the position (longitude, latitude) lies inside or on the outline.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        match self.grid.cell(lon, lat) {
            Cell::Outside => false,
            Cell::Inside => true,
            Cell::Edge => self.outline.intersects(&Point::new(lon, lat)),
        }
    }

    /// Checks one position; the error is a sentence for people, saying when swapping the axes
    /// would put it inside.
    pub fn check_position(&self, lon: f64, lat: f64) -> Result<(), String> {
        if self.contains(lon, lat) {
            return Ok(());
        }
        let swapped = if self.contains(lat, lon) {
            format!(
                "; latitude and longitude look swapped: longitude {lat}, latitude {lon} would be inside, so check the order of the columns or coordinates (GeoJSON and WKT give longitude first)"
            )
        } else {
            String::new()
        };
        Err(format!(
            "the position longitude {lon}, latitude {lat} lies outside the territory of operations ({}){swapped}",
            self.name
        ))
    }

    /// Checks every position of a shape: its vertices, or its centre or centre line.
    pub fn check_shape(&self, shape: &Shape) -> Result<(), String> {
        let mut result = Ok(());
        let mut each = |c: &Coord<f64>| {
            if result.is_ok() {
                result = self.check_position(c.x, c.y);
            }
        };
        match shape {
            Shape::Polygon(p) => rings(p).for_each(&mut each),
            Shape::MultiPolygon(m) => m.0.iter().flat_map(rings).for_each(&mut each),
            Shape::Spot { at, .. } => each(&at.0),
            Shape::Linear { line, .. } => line.0.iter().for_each(&mut each),
        }
        result
    }
}

fn rings(p: &Polygon<f64>) -> impl Iterator<Item = &Coord<f64>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .flat_map(|r| r.0.iter())
}

/// A GeoJSON Polygon or MultiPolygon geometry as an outline.
pub fn outline_from_geojson(v: &serde_json::Value) -> Result<MultiPolygon<f64>, String> {
    let ring = |r: &serde_json::Value| -> Result<geo_types::LineString<f64>, String> {
        r.as_array()
            .ok_or("a ring must be an array of positions")?
            .iter()
            .map(|p| match p.as_array().map(|a| a.as_slice()) {
                Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => Ok(Coord { x, y }),
                    _ => Err("a position must be two numbers".to_string()),
                },
                _ => Err("a position must be two numbers".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(geo_types::LineString)
    };
    let polygon = |p: &serde_json::Value| -> Result<Polygon<f64>, String> {
        let rs = p.as_array().ok_or("a polygon must be an array of rings")?;
        let mut rs = rs.iter().map(ring).collect::<Result<Vec<_>, _>>()?;
        if rs.is_empty() {
            return Err("a polygon needs an outer ring".into());
        }
        let outer = rs.remove(0);
        Ok(Polygon::new(outer, rs))
    };
    let coords = &v["coordinates"];
    match v["type"].as_str() {
        Some("Polygon") => Ok(MultiPolygon(vec![polygon(coords)?])),
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or("coordinates must be an array of polygons")?
            .iter()
            .map(polygon)
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon),
        Some(other) => Err(format!(
            "a territory is a Polygon or MultiPolygon, not {other}"
        )),
        None => Err("a territory's geometry needs a type".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Outside,
    Inside,
    Edge,
}

/// The outline's bounding box cut into cells classed inside, outside or touched by the outline.
#[derive(Clone, Debug)]
struct Grid {
    x0: f64,
    y0: f64,
    size: f64,
    cols: usize,
    rows: usize,
    cells: Vec<Cell>,
}

/// Cells along the longer side of the outline's box.
const GRID_CELLS: f64 = 512.0;

impl Grid {
    fn new(outline: &MultiPolygon<f64>) -> Grid {
        let Some(bbox) = outline.bounding_rect() else {
            return Grid {
                x0: 0.0,
                y0: 0.0,
                size: 1.0,
                cols: 0,
                rows: 0,
                cells: Vec::new(),
            };
        };
        let size = (bbox.width().max(bbox.height()) / GRID_CELLS).max(1e-6);
        let cols = (bbox.width() / size).ceil() as usize + 1;
        let rows = (bbox.height() / size).ceil() as usize + 1;
        let (x0, y0) = (bbox.min().x, bbox.min().y);
        let mut cells = vec![Cell::Outside; cols * rows];
        let edges: Vec<(Coord<f64>, Coord<f64>)> = outline
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
            .collect();
        // Inside or outside by the cell's centre, one scanline per row (even-odd rule).
        let mut xs = Vec::new();
        for row in 0..rows {
            let y = y0 + (row as f64 + 0.5) * size;
            xs.clear();
            for (a, b) in &edges {
                if (a.y <= y) != (b.y <= y) {
                    xs.push(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
                }
            }
            xs.sort_by(f64::total_cmp);
            let mut k = 0;
            for col in 0..cols {
                let x = x0 + (col as f64 + 0.5) * size;
                while k < xs.len() && xs[k] < x {
                    k += 1;
                }
                if k % 2 == 1 {
                    cells[row * cols + col] = Cell::Inside;
                }
            }
        }
        // Every cell an edge's box touches (and its neighbours, for rounding) is tested exactly.
        for (a, b) in &edges {
            let c0 = (((a.x.min(b.x) - x0) / size).floor() as isize - 1).max(0) as usize;
            let c1 = (((a.x.max(b.x) - x0) / size).floor() as usize + 1).min(cols - 1);
            let r0 = (((a.y.min(b.y) - y0) / size).floor() as isize - 1).max(0) as usize;
            let r1 = (((a.y.max(b.y) - y0) / size).floor() as usize + 1).min(rows - 1);
            for row in r0..=r1 {
                for col in c0..=c1 {
                    cells[row * cols + col] = Cell::Edge;
                }
            }
        }
        Grid {
            x0,
            y0,
            size,
            cols,
            rows,
            cells,
        }
    }

    fn cell(&self, x: f64, y: f64) -> Cell {
        let (c, r) = ((x - self.x0) / self.size, (y - self.y0) / self.size);
        if !(c >= 0.0 && r >= 0.0) {
            return Cell::Outside;
        }
        let (c, r) = (c as usize, r as usize);
        if c >= self.cols || r >= self.rows {
            return Cell::Outside;
        }
        self.cells[r * self.cols + c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, polygon};

    #[test]
    fn ukraine_holds_its_cities_and_refuses_swaps_and_far_places() {
        let t = Territory::ukraine();
        // Kyiv, Lviv, Kharkiv, Odesa, Uzhhorod, Sevastopol, the Zmiinyi island, and Chernihiv.
        for (lon, lat) in [
            (30.52, 50.45),
            (24.03, 49.84),
            (36.23, 49.99),
            (30.73, 46.48),
            (22.30, 48.62),
            (33.52, 44.60),
            (30.20, 45.26),
            (31.29, 51.49),
        ] {
            assert_eq!(t.check_position(lon, lat), Ok(()), "{lon}, {lat}");
        }
        // 40 km outside the border (Belgorod is ~40 km from it) still inside the margin.
        assert!(t.contains(36.59, 50.60));
        // Far: Berlin, Moscow, Tbilisi, null island.
        for (lon, lat) in [(13.4, 52.5), (37.6, 55.75), (44.8, 41.7), (0.0, 0.0)] {
            let e = t.check_position(lon, lat).expect_err("outside");
            assert!(e.contains("outside the territory"), "{e}");
            assert!(!e.contains("swapped"), "{e}");
        }
        // Swapped: Kyiv given as latitude first.
        let e = t.check_position(50.45, 30.52).expect_err("swapped");
        assert!(e.contains("latitude and longitude look swapped"), "{e}");
    }

    #[test]
    fn the_grid_agrees_with_the_outline_everywhere() {
        let t = Territory::ukraine();
        let b = t.outline.bounding_rect().unwrap();
        let n = 400;
        for i in 0..=n {
            for j in 0..=n {
                let x = b.min().x - 0.5 + (b.width() + 1.0) * i as f64 / n as f64;
                let y = b.min().y - 0.5 + (b.height() + 1.0) * j as f64 / n as f64;
                assert_eq!(
                    t.contains(x, y),
                    t.outline.intersects(&Point::new(x, y)),
                    "{x}, {y}"
                );
            }
        }
    }

    #[test]
    fn every_vertex_of_a_shape_is_checked() {
        let t = Territory::ukraine();
        let inside = polygon![(x: 36.0, y: 49.9), (x: 36.1, y: 49.9), (x: 36.1, y: 50.0)];
        assert_eq!(t.check_shape(&Shape::Polygon(inside)), Ok(()));
        let far_corner = polygon![(x: 36.0, y: 49.9), (x: 46.1, y: 49.9), (x: 36.1, y: 50.0)];
        assert!(t.check_shape(&Shape::Polygon(far_corner)).is_err());
        let line = LineString::from(vec![(36.0, 49.9), (36.0, 59.9)]);
        assert!(
            t.check_shape(&Shape::Linear {
                line,
                width_m: 10.0
            })
            .is_err()
        );
        let spot = Shape::Spot {
            at: Point::new(49.9, 36.0),
            radius_m: 5.0,
        };
        assert!(t.check_shape(&spot).unwrap_err().contains("swapped"));
    }

    #[test]
    fn another_territory_can_be_made_and_bad_outlines_are_refused() {
        let square = MultiPolygon(vec![polygon![
            (x: -1.0, y: 51.0), (x: 1.0, y: 51.0), (x: 1.0, y: 53.0), (x: -1.0, y: 53.0)
        ]]);
        let t = Territory::new("test square", square.clone()).unwrap();
        assert!(t.contains(0.0, 52.0));
        assert!(!t.contains(30.5, 50.4));
        assert!(Territory::new(" ", square).is_err());
        assert!(Territory::new("x", MultiPolygon(vec![])).is_err());
        let v = serde_json::json!({"type": "Point", "coordinates": [0, 0]});
        assert!(outline_from_geojson(&v).unwrap_err().contains("Point"));
    }
}
