//! The transparency report as PDF: the blocks of `cairn_core::transparency::report_text`, the
//! same as the HTML page's, with the charts drawn as vector bars.

use cairn_core::lang::Lang;
use cairn_core::transparency::{Block, ChartScale, ChartSeries, Report, report_text};

use crate::pdf::{BLACK, BODY, Canvas, GREY, H1, H2, Layout, NOTE, Rgb, Style, TEXT_W};

fn hex(c: &str) -> Rgb {
    let v = |i: usize| u8::from_str_radix(c.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    (v(1), v(3), v(5))
}

fn chart(
    c: &mut Canvas<'_>,
    title: &str,
    unit: &str,
    months: &[String],
    series: &[ChartSeries],
    lang: Lang,
) {
    let (left, right, top, bottom) = (48.0f32, 6.0f32, 22.0f32, 40.0f32);
    let (w, h) = (c.w, c.h);
    c.text(
        0.0,
        11.0,
        Style {
            size: 10.0,
            ..crate::pdf::BOLD
        },
        title,
        false,
    );
    let n = months.len().max(1);
    let ChartScale {
        totals: _,
        step,
        top: top_v,
    } = ChartScale::of(months.len(), series);
    let plot_h = h - top - bottom;
    let plot_w = w - left - right;
    let y = |v: f64| top + plot_h - (v / top_v) as f32 * plot_h;
    let mut v = 0.0;
    let small = Style { size: 7.0, ..NOTE };
    while v <= top_v + step * 1e-9 {
        let yy = y(v);
        c.line(&[(left, yy), (w - right, yy)], (221, 221, 221), 0.5);
        let places = if step < 1.0 {
            (-step.log10().floor()) as usize
        } else {
            0
        };
        c.text(left - 4.0, yy + 2.5, small, &lang.decimal(v, places), true);
        v += step;
    }
    c.text(0.0, top + plot_h / 2.0, small, unit, false);
    let slot = plot_w / n as f32;
    let bar_w = (slot * 0.7).max(1.5);
    for (i, m) in months.iter().enumerate() {
        let x = left + slot * i as f32 + (slot - bar_w) / 2.0;
        let mut base = 0.0;
        for s in series {
            let val = s.values.get(i).copied().unwrap_or(0.0);
            if val > 0.0 {
                let (y0, y1) = (y(base), y(base + val));
                c.rect(x, y1, bar_w, (y0 - y1).max(0.5), hex(s.colour));
            }
            base += val;
        }
        if n <= 13 || i % 2 == 0 {
            let tw = c.width(m, small);
            c.text(
                x + bar_w / 2.0 - tw / 2.0,
                top + plot_h + 10.0,
                small,
                m,
                false,
            );
        }
    }
    c.line(
        &[(left, top + plot_h), (w - right, top + plot_h)],
        BLACK,
        0.8,
    );
    let mut lx = left;
    for s in series {
        c.rect(lx, h - 12.0, 8.0, 8.0, hex(s.colour));
        c.text(lx + 11.0, h - 5.0, NOTE, &s.label, false);
        lx += 24.0 + c.width(&s.label, NOTE);
    }
}

/// The report as a PDF document.
pub fn report_pdf(r: &Report, lang: Lang) -> Vec<u8> {
    let t = report_text(r, lang);
    let mut l = Layout::new(&t.title);
    l.para(&t.title, H1);
    l.para(&t.period, BODY);
    l.para(
        &t.edition,
        Style {
            colour: GREY,
            ..crate::pdf::BOLD
        },
    );
    for (i, block) in t.blocks.iter().enumerate() {
        match block {
            Block::Heading(level, text) => {
                let style = if *level <= 2 { H2 } else { crate::pdf::BOLD };
                // A heading stays with its chart, or with the start of what follows.
                let keep = match t.blocks.get(i + 1) {
                    Some(Block::Chart { .. }) => TEXT_W * 0.42,
                    _ => 40.0,
                };
                l.heading(text, style, keep);
            }
            Block::Para(text) => l.para(text, BODY),
            Block::Note(text) => l.para(text, NOTE),
            Block::Facts(rows) => l.facts(rows),
            Block::Table {
                header,
                rows,
                numeric,
                ..
            } => {
                let widths: Vec<f32> = header
                    .iter()
                    .enumerate()
                    .map(|(i, _)| if i == 0 { 2.0 } else { 1.0 })
                    .collect();
                l.table(&widths, Some(header), rows, numeric);
            }
            Block::Chart {
                title,
                unit,
                months,
                series,
                ..
            } => {
                l.drawing(TEXT_W * 0.42, |c| {
                    chart(c, title, unit, months, series, lang)
                });
            }
        }
    }
    l.para(&t.closing, NOTE);
    l.finish(&t.title, lang.as_str())
}
