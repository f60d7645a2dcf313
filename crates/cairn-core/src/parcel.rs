//! "Is my land affected?": the extract for a parcel of land. Every hazard touching the parcel
//! (for the public, as `public::public_view` shows it: a restricted record only as its
//! generalised danger zone, with no id and no detail), with its status and the land it shares
//! with the parcel in m² and as a share of the parcel; the released land touching it, with its
//! handover certificate; the data's date; and the caveat that no mark does not mean safe.
//!
//! The land shared is measured as land release measures it: `release::common_land` (i_overlay's
//! intersection) and `release::area_m2` on the ellipsoid, spots and corridors drawn outward by
//! `footprint`.

use std::fmt::Write;

use geo_types::MultiPolygon;

use crate::area::{Shape, Status, Timestamp};
use crate::certificate::esc;
use crate::lang::Lang;
use crate::release::{ReleaseMethod, area_m2, common_land};
use crate::validate::Problem;

/// The largest parcel an extract is made for, in km²: a farm, a village and its fields; a
/// district is asked of the map or the open data instead.
pub const MAX_PARCEL_KM2: f64 = 100.0;
/// The most vertices a parcel may have.
pub const MAX_PARCEL_VERTICES: usize = 20_000;

/// Checks a parcel: a valid polygon (no self-intersection, rings closed), at most
/// [`MAX_PARCEL_VERTICES`] vertices and [`MAX_PARCEL_KM2`]; problems name `field`. Returns its
/// area in m².
pub fn check_parcel(parcel: &MultiPolygon<f64>, field: &str) -> Result<f64, Vec<Problem>> {
    let vertices: usize = parcel
        .0
        .iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum();
    if vertices > MAX_PARCEL_VERTICES {
        return Err(vec![Problem::new(
            field,
            format!("has {vertices} vertices; a parcel may have at most {MAX_PARCEL_VERTICES}"),
        )]);
    }
    let mut problems = Vec::new();
    crate::validate::validate_shape(&Shape::MultiPolygon(parcel.clone()), &mut problems);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|p| {
                let f = match p.field.strip_prefix("geometry") {
                    Some(rest) => format!("{field}{rest}"),
                    None => p.field,
                };
                Problem::new(f, p.message)
            })
            .collect());
    }
    let m2 = area_m2(parcel);
    if m2 > MAX_PARCEL_KM2 * 1e6 {
        return Err(vec![Problem::new(
            field,
            format!(
                "the parcel is {:.1} km²; an extract is made for at most {MAX_PARCEL_KM2} km² (a farm, a village and its fields): split it, or use the map",
                m2 / 1e6
            ),
        )]);
    }
    Ok(m2)
}

/// The land `land` shares with `parcel`, and its area in m²; `None` when they share less than a
/// sliver.
pub fn shared_land(
    parcel: &MultiPolygon<f64>,
    land: &MultiPolygon<f64>,
) -> Option<(MultiPolygon<f64>, f64)> {
    let common = common_land(parcel, land);
    let m2 = area_m2(&common);
    (!common.0.is_empty() && m2 >= crate::release::SLIVER_M2).then_some((common, m2))
}

/// What touches the parcel.
#[derive(Clone, Debug, PartialEq)]
pub enum Touch {
    /// A hazardous area the caller may see: its id, public name and status.
    Hazard {
        id: String,
        name: Option<String>,
        status: Status,
    },
    /// A generalised danger zone standing for restricted records: nothing but "danger".
    DangerZone,
    /// Land released (no longer a recorded hazard), with its handover certificate.
    Released {
        release_id: String,
        certificate: String,
        method: ReleaseMethod,
        released_at: Timestamp,
        area_id: String,
    },
}

/// One line of the extract.
#[derive(Clone, Debug)]
pub struct Line {
    pub touch: Touch,
    /// The land shared with the parcel.
    pub land: MultiPolygon<f64>,
    pub m2: f64,
}

/// A parcel's extract.
#[derive(Clone, Debug)]
pub struct Extract {
    pub parcel: MultiPolygon<f64>,
    pub parcel_m2: f64,
    /// Hazards and danger zones first, largest share first; then released land.
    pub lines: Vec<Line>,
    /// The data's date as the caller may know it.
    pub data_date: Option<Timestamp>,
    pub made_at: Timestamp,
}

impl Extract {
    /// An extract from what touches the parcel (`candidates`: what it touches, and its land);
    /// those sharing less than a sliver are left out.
    pub fn new(
        parcel: MultiPolygon<f64>,
        parcel_m2: f64,
        candidates: impl IntoIterator<Item = (Touch, MultiPolygon<f64>)>,
        data_date: Option<Timestamp>,
        made_at: Timestamp,
    ) -> Extract {
        let mut lines: Vec<Line> = candidates
            .into_iter()
            .filter_map(|(touch, land)| {
                shared_land(&parcel, &land).map(|(land, m2)| Line { touch, land, m2 })
            })
            .collect();
        let rank = |t: &Touch| match t {
            Touch::Hazard { .. } | Touch::DangerZone => 0,
            Touch::Released { .. } => 1,
        };
        lines.sort_by(|a, b| {
            rank(&a.touch)
                .cmp(&rank(&b.touch))
                .then(b.m2.total_cmp(&a.m2))
        });
        Extract {
            parcel,
            parcel_m2,
            lines,
            data_date,
            made_at,
        }
    }

    /// The hazard lines (hazards and danger zones).
    pub fn hazards(&self) -> impl Iterator<Item = &Line> {
        self.lines
            .iter()
            .filter(|l| !matches!(l.touch, Touch::Released { .. }))
    }

    /// The released lines.
    pub fn released(&self) -> impl Iterator<Item = &Line> {
        self.lines
            .iter()
            .filter(|l| matches!(l.touch, Touch::Released { .. }))
    }

    /// A share of the parcel, in per cent.
    pub fn share(&self, m2: f64) -> f64 {
        if self.parcel_m2 > 0.0 {
            (m2 / self.parcel_m2 * 100.0).min(100.0)
        } else {
            0.0
        }
    }
}

/// Every label and sentence of the extract, in one language (the page and the PDF).
#[derive(Debug)]
pub struct ExtractText {
    pub title: &'static str,
    pub intro: &'static str,
    pub parcel_area: &'static str,
    pub data_date: &'static str,
    pub made_at: &'static str,
    pub h_hazards: &'static str,
    pub hazards_header: [&'static str; 4],
    pub danger_zone: &'static str,
    pub danger_zone_note: &'static str,
    pub no_hazards: &'static str,
    pub danger_advice: &'static str,
    pub h_released: &'static str,
    pub released_header: [&'static str; 4],
    pub no_released: &'static str,
    pub certificate_note: &'static str,
    pub h_drawing: &'static str,
    pub drawing_note: &'static str,
    pub caveat: &'static str,
    pub unknown_date: &'static str,
}

const EXTRACT_EN: ExtractText = ExtractText {
    title: "Is my land affected? Extract for a parcel",
    intro: "This extract lists every recorded hazard and every part of released land that touches the parcel given, with the land each shares with it.",
    parcel_area: "Area of the parcel",
    data_date: "Data as of",
    made_at: "Extract made",
    h_hazards: "Recorded hazards touching the parcel",
    hazards_header: [
        "Hazard",
        "Status",
        "Shared with the parcel",
        "Share of the parcel",
    ],
    danger_zone: "Danger zone",
    danger_zone_note: "A danger zone stands for hazardous areas whose detail is restricted: it is drawn larger than the hazard, so the land it shares with the parcel is an upper bound. Ask the mine action authority before any work there.",
    no_hazards: "No recorded hazard touches this parcel.",
    danger_advice: "DANGER: explosive ordnance may be on this land. Do not enter the marked parts, do not touch anything, and call 101 or 112. Ask the mine action authority before working the land.",
    h_released: "Released land touching the parcel",
    released_header: [
        "Handover certificate",
        "How released",
        "Released on",
        "Shared with the parcel",
    ],
    no_released: "No released land touches this parcel.",
    certificate_note: "The handover certificate is held by the land user and the mine action authority; quote its number when asking for it.",
    h_drawing: "The parcel",
    drawing_note: "Black outline: the parcel. Red: recorded hazards; orange hatching: danger zones; green: released land. Drawn on a local plane; areas measured on the WGS 84 ellipsoid.",
    caveat: "No mark does not mean safe: explosive ordnance may be anywhere in former combat areas, recorded or not. Report anything suspicious: call 101 or 112.",
    unknown_date: "unknown",
};

const EXTRACT_UK: ExtractText = ExtractText {
    title: "Чи є небезпека на моїй землі? Витяг щодо ділянки",
    intro: "У цьому витягу перелічено всі зареєстровані небезпечні території та всю звільнену землю, що торкаються зазначеної ділянки, з площею, спільною з нею.",
    parcel_area: "Площа ділянки",
    data_date: "Дані станом на",
    made_at: "Витяг складено",
    h_hazards: "Зареєстровані небезпечні території на ділянці",
    hazards_header: [
        "Небезпечна територія",
        "Статус",
        "Спільна площа з ділянкою",
        "Частка ділянки",
    ],
    danger_zone: "Небезпечна зона",
    danger_zone_note: "Небезпечна зона позначає небезпечні території, відомості про які мають обмежений доступ: її накреслено більшою за саму небезпечну територію, тож спільна з ділянкою площа — це верхня межа. Перш ніж працювати там, зверніться до органу протимінної діяльності.",
    no_hazards: "Жодна зареєстрована небезпечна територія не торкається цієї ділянки.",
    danger_advice: "НЕБЕЗПЕКА: на цій землі можуть бути вибухонебезпечні предмети. Не заходьте на позначені частини, нічого не торкайтеся й телефонуйте 101 або 112. Перш ніж обробляти землю, зверніться до органу протимінної діяльності.",
    h_released: "Звільнена земля на ділянці",
    released_header: [
        "Акт передачі",
        "Спосіб звільнення",
        "Дата звільнення",
        "Спільна площа з ділянкою",
    ],
    no_released: "Жодна звільнена земля не торкається цієї ділянки.",
    certificate_note: "Акт передачі зберігається в землекористувача та в органі протимінної діяльності; щоб отримати його, назвіть його номер.",
    h_drawing: "Ділянка",
    drawing_note: "Чорний контур — ділянка. Червоним позначено зареєстровані небезпечні території, помаранчевим штрихуванням — небезпечні зони, зеленим — звільнену землю. Накреслено на місцевій площині; площі виміряно на еліпсоїді WGS 84.",
    caveat: "Відсутність позначки не означає, що місце безпечне: вибухонебезпечні предмети можуть бути будь-де в колишніх районах бойових дій, зареєстровані чи ні. Повідомляйте про все підозріле: телефонуйте 101 або 112.",
    unknown_date: "невідомо",
};

impl ExtractText {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static ExtractText {
        match lang {
            Lang::Uk => &EXTRACT_UK,
            Lang::En => &EXTRACT_EN,
        }
    }
}

/// The rows of the extract's two tables as text of `lang`: hazards (what, status, m², %) and
/// released land (certificate, method, date, m²).
pub fn rows(e: &Extract, lang: Lang) -> (Vec<[String; 4]>, Vec<[String; 4]>) {
    let t = ExtractText::of(lang);
    let pct = |m2: f64| format!("{} %", lang.decimal(e.share(m2), 1));
    let hazards = e
        .hazards()
        .map(|l| match &l.touch {
            Touch::Hazard { id, name, status } => [
                match name {
                    Some(n) => format!("{id} — {n}"),
                    None => id.clone(),
                },
                lang.status(*status).to_string(),
                lang.m2(l.m2),
                pct(l.m2),
            ],
            _ => [
                t.danger_zone.to_string(),
                lang.pick("небезпечно", "danger").to_string(),
                format!("≤ {}", lang.m2(l.m2)),
                format!("≤ {}", pct(l.m2)),
            ],
        })
        .collect();
    let released = e
        .released()
        .filter_map(|l| match &l.touch {
            Touch::Released {
                certificate,
                method,
                released_at,
                ..
            } => Some([
                certificate.clone(),
                lang.method(*method).to_string(),
                lang.date(released_at.date_naive()),
                lang.m2(l.m2),
            ]),
            _ => None,
        })
        .collect();
    (hazards, released)
}

/// The extract as one printable HTML page (no script, no request elsewhere); `pdf_href`, when
/// given, links the same extract as PDF.
pub fn extract_html(e: &Extract, lang: Lang, drawing_svg: &str) -> String {
    let t = ExtractText::of(lang);
    let (hazards, released) = rows(e, lang);
    let date = e
        .data_date
        .map(|d| lang.datetime(d))
        .unwrap_or_else(|| t.unknown_date.to_string());
    let table = |header: &[&str; 4], rows: &[[String; 4]], class: &str, empty: &str| {
        let mut s = format!("<table class=\"{class}\"><thead><tr>");
        for h in header {
            let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>\n");
        if rows.is_empty() {
            let _ = writeln!(s, "<tr><td colspan=\"4\">{}</td></tr>", esc(empty));
        }
        for r in rows {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&r[0]),
                esc(&r[1]),
                esc(&r[2]),
                esc(&r[3])
            );
        }
        s.push_str("</tbody></table>\n");
        s
    };
    let any_zone = e.hazards().any(|l| l.touch == Touch::DangerZone);
    let danger = if hazards.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"danger\" role=\"alert\">{}</p>\n",
            esc(t.danger_advice)
        )
    };
    format!(
        r##"<!doctype html>
<html lang="{lang_attr}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; }}
h1 {{ font-size: 1.4rem; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }}
th, td {{ border: 1px solid #888; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.danger {{ border-left: 6px solid #b00020; background: #fdecee; padding: .5rem .75rem; font-weight: bold; }}
.caveat {{ border-left: 6px solid #444; background: #f4f4f4; padding: .5rem .75rem; }}
.note {{ font-size: .9rem; color: #333; }}
@media print {{ body {{ margin: 0; }} @page {{ size: A4; margin: 15mm; }} }}
</style></head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<table class="facts">
<tr><th scope="row">{parcel_area}</th><td class="parcel-m2">{parcel_m2}</td></tr>
<tr><th scope="row">{data_date}</th><td class="data-date">{date}</td></tr>
<tr><th scope="row">{made_at}</th><td>{made}</td></tr>
</table>
{danger}<h2>{h_hazards}</h2>
{hazards_table}{zone_note}<h2>{h_released}</h2>
{released_table}<p class="note">{certificate_note}</p>
<h2>{h_drawing}</h2>
{drawing_svg}
<p class="note">{drawing_note}</p>
<p class="caveat">{caveat}</p>
</body></html>
"##,
        lang_attr = lang.as_str(),
        title = esc(t.title),
        intro = esc(t.intro),
        parcel_area = esc(t.parcel_area),
        parcel_m2 = esc(&lang.m2(e.parcel_m2)),
        data_date = esc(t.data_date),
        made_at = esc(t.made_at),
        made = esc(&lang.datetime(e.made_at)),
        h_hazards = esc(t.h_hazards),
        hazards_table = table(&t.hazards_header, &hazards, "hazards", t.no_hazards),
        zone_note = if any_zone {
            format!("<p class=\"note\">{}</p>\n", esc(t.danger_zone_note))
        } else {
            String::new()
        },
        h_released = esc(t.h_released),
        released_table = table(&t.released_header, &released, "released", t.no_released),
        certificate_note = esc(t.certificate_note),
        h_drawing = esc(t.h_drawing),
        drawing_note = esc(t.drawing_note),
        caveat = esc(t.caveat),
    )
}

/// The drawing of the extract as inline SVG: the parcel outlined, hazards red, danger zones
/// hatched orange, released land green (each clipped to the parcel, as measured).
pub fn extract_svg(e: &Extract, lang: Lang) -> String {
    const W: f64 = 640.0;
    const H: f64 = 420.0;
    let Some(frame) = crate::certificate::Frame::fit(&e.parcel, W, H, 30.0, 30.0) else {
        return String::new();
    };
    let path = |mp: &MultiPolygon<f64>| {
        let mut d = String::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for (i, c) in ring.0.iter().enumerate() {
                    let (x, y) = frame.to(*c);
                    let _ = write!(d, "{}{x:.1} {y:.1} ", if i == 0 { "M" } else { "L" });
                }
                d.push_str("Z ");
            }
        }
        d
    };
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{label}">
<defs><pattern id="zone-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#e67800" stroke-width="3"/></pattern></defs>
<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#999"/>
"##,
        label = esc(ExtractText::of(lang).h_drawing)
    );
    for l in &e.lines {
        let (class, fill, stroke) = match l.touch {
            Touch::Hazard { .. } => ("hazard", "#b00020\" fill-opacity=\"0.45", "#b00020"),
            Touch::DangerZone => ("danger-zone", "url(#zone-hatch)", "#e67800"),
            Touch::Released { .. } => ("released", "#2e7d32\" fill-opacity=\"0.35", "#1b5e20"),
        };
        let _ = writeln!(
            s,
            r##"<path class="{class}" d="{}" fill="{fill}" fill-rule="evenodd" stroke="{stroke}" stroke-width="1.5"/>"##,
            path(&l.land)
        );
    }
    let _ = writeln!(
        s,
        r##"<path class="parcel" d="{}" fill="none" stroke="#000" stroke-width="2.5"/>"##,
        path(&e.parcel)
    );
    let (len, px) = frame.scale_bar(W / 4.0);
    let _ = write!(
        s,
        r##"<g font-family="sans-serif" font-size="12"><line x1="30" y1="{y}" x2="{x2:.1}" y2="{y}" stroke="#000" stroke-width="3"/><text x="30" y="{ty}">{label}</text></g>
</svg>"##,
        y = H - 20.0,
        x2 = 30.0 + px,
        ty = H - 6.0,
        label = crate::certificate::scale_label(len, lang),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn square(x: f64, y: f64, d: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d), (x: x, y: y)
        ]])
    }

    #[test]
    fn shares_are_measured_and_bad_parcels_named() {
        let parcel = square(30.0, 50.0, 0.01);
        let m2 = check_parcel(&parcel, "parcel").unwrap();
        let half = square(30.005, 50.0, 0.01);
        let e = Extract::new(
            parcel.clone(),
            m2,
            [
                (
                    Touch::Hazard {
                        id: "HA-1".into(),
                        name: None,
                        status: Status::Confirmed,
                    },
                    half,
                ),
                (Touch::DangerZone, square(31.0, 50.0, 0.01)),
            ],
            None,
            chrono::Utc::now(),
        );
        assert_eq!(e.lines.len(), 1, "the far zone does not touch");
        assert!((e.share(e.lines[0].m2) - 50.0).abs() < 0.1);
        let bowtie = MultiPolygon(vec![polygon![
            (x: 30.0, y: 50.0), (x: 30.01, y: 50.01), (x: 30.01, y: 50.0), (x: 30.0, y: 50.01), (x: 30.0, y: 50.0)
        ]]);
        let err = check_parcel(&bowtie, "parcel").unwrap_err();
        assert!(err[0].field.starts_with("parcel"), "{err:?}");
        let big = square(30.0, 50.0, 0.2);
        let err = check_parcel(&big, "parcel").unwrap_err();
        assert!(err[0].message.contains("100 km²"), "{err:?}");
    }
}
