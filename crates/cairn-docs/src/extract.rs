//! The parcel extract ("Is my land affected?") as PDF: the words and rows of the HTML page
//! (`cairn_core::parcel`), the parcel and what it shares drawn as vector paths.

use cairn_core::lang::Lang;
use cairn_core::parcel::{Extract, ExtractText, Touch, rows};
use geo_types::MultiPolygon;

use crate::certificate::draw_land;
use crate::pdf::{BLACK, BODY, DARK_GREEN, GREEN, H1, H2, Layout, NOTE, ORANGE, RED, Style};

/// The extract as a PDF document.
pub fn extract_pdf(e: &Extract, lang: Lang) -> Vec<u8> {
    let t = ExtractText::of(lang);
    let (hazards, released) = rows(e, lang);
    let mut l = Layout::new(t.title);
    l.para(t.title, H1);
    l.para(t.intro, BODY);
    let date = e
        .data_date
        .map(|d| lang.datetime(d))
        .unwrap_or_else(|| t.unknown_date.to_string());
    l.facts(&[
        (t.parcel_area.to_string(), lang.m2(e.parcel_m2)),
        (t.data_date.to_string(), date),
        (t.made_at.to_string(), lang.datetime(e.made_at)),
    ]);
    if !hazards.is_empty() {
        l.para(
            t.danger_advice,
            Style {
                colour: RED,
                ..crate::pdf::BOLD
            },
        );
    }
    let table = |l: &mut Layout, header: &[&str; 4], rows: &[[String; 4]], empty: &str| {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        let mut body: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
        if body.is_empty() {
            body.push(vec![
                empty.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        l.table(
            &[0.3, 0.26, 0.26, 0.18],
            Some(&header),
            &body,
            &[false, false, true, true],
        );
    };
    l.heading(t.h_hazards, H2, 40.0);
    table(&mut l, &t.hazards_header, &hazards, t.no_hazards);
    if e.hazards().any(|x| x.touch == Touch::DangerZone) {
        l.para(t.danger_zone_note, NOTE);
    }
    l.heading(t.h_released, H2, 40.0);
    table(&mut l, &t.released_header, &released, t.no_released);
    l.para(t.certificate_note, NOTE);
    l.heading(t.h_drawing, H2, 300.0);
    let by = |f: fn(&Touch) -> bool| {
        MultiPolygon(
            e.lines
                .iter()
                .filter(|x| f(&x.touch))
                .flat_map(|x| x.land.0.iter().cloned())
                .collect(),
        )
    };
    let hazard = by(|t| matches!(t, Touch::Hazard { .. }));
    let zones = by(|t| matches!(t, Touch::DangerZone));
    let freed = by(|t| matches!(t, Touch::Released { .. }));
    let parcel = &e.parcel;
    draw_land(
        &mut l,
        300.0,
        &[
            (parcel, (255, 255, 255), 0.0, BLACK),
            (&freed, GREEN, 0.35, DARK_GREEN),
            (&zones, ORANGE, 0.35, ORANGE),
            (&hazard, RED, 0.45, RED),
        ],
        |frame, canvas| {
            // The parcel's outline again, on top and heavier.
            for ring in crate::certificate::rings(frame, parcel) {
                canvas.line(&ring, BLACK, 2.0);
            }
        },
        lang,
    );
    l.para(t.drawing_note, NOTE);
    l.para(t.caveat, crate::pdf::BOLD);
    l.finish(t.title, lang.as_str())
}
