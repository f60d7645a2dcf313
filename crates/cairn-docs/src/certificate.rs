//! The handover certificate as PDF: the same words and facts as the HTML page
//! (`cairn_core::certificate::cert_facts`), the released land drawn as vector paths through the
//! same frame as the page's SVG, with its turning points numbered and listed.

use cairn_core::certificate::{
    CertText, CertificateInput, Frame, cert_facts, degrees, labelled, ring_name, scale_label,
};
use geo_types::{Coord, MultiPolygon};

use crate::pdf::{BLACK, BODY, DARK_GREEN, GREEN, H1, H2, Layout, NOTE, RED, Rgb, Style, TEXT_W};

/// Rings of `mp` in a frame, as box coordinates.
pub fn rings(frame: &Frame, mp: &MultiPolygon<f64>) -> Vec<Vec<(f32, f32)>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| {
            r.0.iter()
                .map(|c| {
                    let (x, y) = frame.to(*c);
                    (x as f32, y as f32)
                })
                .collect()
        })
        .collect()
}

/// Draws land in a box `h` points high: `layers` of (land, fill, opacity, stroke), a scale bar
/// and a north arrow; returns the frame used, for further marks.
pub fn draw_land(
    l: &mut Layout,
    h: f32,
    layers: &[(&MultiPolygon<f64>, Rgb, f32, Rgb)],
    marks: impl FnOnce(&Frame, &mut crate::pdf::Canvas<'_>),
    lang: cairn_core::lang::Lang,
) {
    let mut all = MultiPolygon(Vec::new());
    for (mp, ..) in layers {
        all.0.extend(mp.0.iter().cloned());
    }
    let Some(frame) = Frame::fit(&all, TEXT_W as f64, h as f64, 24.0, 24.0) else {
        return;
    };
    l.drawing(h, |c| {
        let (w, hh) = (c.w, c.h);
        c.polygon(
            &[vec![(0.0, 0.0), (w, 0.0), (w, hh), (0.0, hh)]],
            None,
            Some(((153, 153, 153), 0.5)),
        );
        for (mp, fill, opacity, stroke) in layers {
            c.polygon(
                &rings(&frame, mp),
                Some((*fill, *opacity)),
                Some((*stroke, 1.2)),
            );
        }
        marks(&frame, c);
        let (len, px) = frame.scale_bar(TEXT_W as f64 / 4.0);
        c.line(
            &[(24.0, hh - 16.0), (24.0 + px as f32, hh - 16.0)],
            BLACK,
            2.5,
        );
        c.text(24.0, hh - 5.0, NOTE, &scale_label(len, lang), false);
        let nx = w - 24.0;
        c.polygon(
            &[vec![
                (nx, 8.0),
                (nx + 7.0, 26.0),
                (nx, 21.0),
                (nx - 7.0, 26.0),
            ]],
            Some((BLACK, 1.0)),
            None,
        );
        c.text(nx - 4.0, 38.0, NOTE, lang.pick("Пн", "N"), false);
    });
}

/// The certificate as a PDF document.
pub fn certificate_pdf(c: &CertificateInput<'_>) -> Vec<u8> {
    let lang = c.lang;
    let t = CertText::of(lang);
    let f = cert_facts(c);
    let mut l = Layout::new(&format!("{} {}", t.page_title, f.number));
    l.para(t.title, H1);
    l.para(
        &format!("{} {}", t.number, f.number),
        Style {
            size: 12.0,
            ..crate::pdf::BOLD
        },
    );
    let rows: Vec<(String, String)> = f
        .rows
        .iter()
        .map(|(a, b)| (a.to_string(), b.clone()))
        .collect();
    l.facts(&rows);
    l.heading(t.h_released_land, H2, 300.0);
    let empty = MultiPolygon(Vec::new());
    let remaining = c.remaining.unwrap_or(&empty);
    let count = f.points.len();
    let points = f.points.clone();
    draw_land(
        &mut l,
        300.0,
        &[
            (remaining, (244, 199, 205), 1.0, RED),
            (&c.release.geometry, GREEN, 0.35, DARK_GREEN),
        ],
        |frame, canvas| {
            for p in &points {
                let (x, y) = frame.to(Coord { x: p.lon, y: p.lat });
                let (x, y) = (x as f32, y as f32);
                canvas.polygon(
                    &[vec![
                        (x - 2.0, y - 2.0),
                        (x + 2.0, y - 2.0),
                        (x + 2.0, y + 2.0),
                        (x - 2.0, y + 2.0),
                    ]],
                    Some((DARK_GREEN, 1.0)),
                    None,
                );
                if labelled(p.number, count) {
                    canvas.text(x + 3.5, y - 3.5, NOTE, &p.number.to_string(), false);
                }
            }
        },
        lang,
    );
    l.para(t.drawing_note, NOTE);
    l.heading(t.h_turning_points, H2, 40.0);
    let header: Vec<String> = t.tp_header.iter().map(|s| s.to_string()).collect();
    let rows: Vec<Vec<String>> = f
        .points
        .iter()
        .map(|p| {
            vec![
                p.number.to_string(),
                ring_name(p, f.parts, lang),
                degrees(p.lat, lang),
                degrees(p.lon, lang),
            ]
        })
        .collect();
    l.table(
        &[0.1, 0.4, 0.25, 0.25],
        Some(&header),
        &rows,
        &[true, false, true, true],
    );
    l.para(t.tp_note, NOTE);
    l.heading(t.h_items, H2, 40.0);
    let header: Vec<String> = t.items_header.iter().map(|s| s.to_string()).collect();
    let mut rows: Vec<Vec<String>> = f.devices.iter().map(|d| d.to_vec()).collect();
    if rows.is_empty() {
        rows.push(vec![
            t.no_items.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    l.table(
        &[0.4, 0.15, 0.15, 0.3],
        Some(&header),
        &rows,
        &[false, true, true, false],
    );
    l.heading(t.h_signoff, H2, 160.0);
    l.para(&f.residual, BODY);
    let header = vec![String::new(), t.handed.to_string(), t.received.to_string()];
    let rows: Vec<Vec<String>> = t
        .sign_rows
        .iter()
        .map(|r| vec![format!("{r}\n\n"), String::new(), String::new()])
        .collect();
    l.table(
        &[0.26, 0.37, 0.37],
        Some(&header),
        &rows,
        &[false, false, false],
    );
    l.para(&f.footer, NOTE);
    l.finish(&format!("{} {}", t.page_title, f.number), lang.as_str())
}
