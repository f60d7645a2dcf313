//! A small flowing layout for A4 documents, written with krilla: headings, wrapped paragraphs,
//! tables whose cells wrap and whose rows break across pages (the header repeated), and boxes of
//! vector drawing. Text is drawn as text in DejaVu Sans, embedded and subsetted by krilla with a
//! ToUnicode map, so it can be searched, copied and read back (`pdftotext`) in Ukrainian as in
//! English.
//!
//! The layout is recorded first (a list of drawing operations per page) and written at the end,
//! as a krilla page borrows its document while it is drawn.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
/// The margin on every side, in points (15 mm, as the HTML pages print).
pub const MARGIN: f32 = 42.5;
/// The width text may take.
pub const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;

/// An RGB colour.
pub type Rgb = (u8, u8, u8);
pub const BLACK: Rgb = (17, 17, 17);
pub const GREY: Rgb = (68, 68, 68);
pub const RULE: Rgb = (136, 136, 136);
pub const HEAD_BG: Rgb = (238, 238, 238);
pub const GREEN: Rgb = (46, 125, 50);
pub const DARK_GREEN: Rgb = (27, 94, 32);
pub const RED: Rgb = (176, 0, 32);
pub const ORANGE: Rgb = (230, 120, 0);

/// The two faces used: DejaVu Sans and DejaVu Sans Bold, from the `dejavu` crate.
struct Face {
    data: &'static [u8],
    font: Font,
    upem: f32,
}

impl Face {
    fn new(data: &'static [u8]) -> Face {
        let font = Font::new(data.into(), 0).expect("DejaVu Sans is a valid font");
        let upem = FontRef::new(data)
            .map(|f| f.head().map(|h| h.units_per_em() as f32).unwrap_or(2048.0))
            .unwrap_or(2048.0);
        Face { data, font, upem }
    }

    /// The advance of `text` at `size` points (no kerning: lines are broken with a little slack).
    fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(f) = FontRef::new(self.data) else {
            return text.chars().count() as f32 * size * 0.6;
        };
        let map = f.charmap();
        let metrics = f.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units: f32 = text
            .chars()
            .map(|c| {
                map.map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(self.upem * 0.6)
            })
            .sum();
        units / self.upem * size
    }
}

use skrifa::raw::TableProvider;

/// One drawing operation, in page coordinates (points from the top left).
#[derive(Clone, Debug)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        colour: Rgb,
        text: String,
    },
    Path {
        rings: Vec<Vec<(f32, f32)>>,
        closed: bool,
        fill: Option<(Rgb, f32)>,
        stroke: Option<(Rgb, f32)>,
    },
}

/// Text style of a run.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub size: f32,
    pub bold: bool,
    pub colour: Rgb,
}

pub const BODY: Style = Style {
    size: 9.5,
    bold: false,
    colour: BLACK,
};
pub const BOLD: Style = Style {
    size: 9.5,
    bold: true,
    colour: BLACK,
};
pub const NOTE: Style = Style {
    size: 8.0,
    bold: false,
    colour: GREY,
};
pub const H1: Style = Style {
    size: 15.0,
    bold: true,
    colour: BLACK,
};
pub const H2: Style = Style {
    size: 11.5,
    bold: true,
    colour: BLACK,
};

/// A flowing A4 document.
pub struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    /// The top of the free space on the current page.
    y: f32,
    footer: String,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("pages", &self.pages.len())
            .finish()
    }
}

/// A box on the page to draw in, in points from its top left.
#[derive(Debug)]
pub struct Canvas<'l> {
    layout: &'l mut Layout,
    pub x0: f32,
    pub y0: f32,
    pub w: f32,
    pub h: f32,
}

impl Canvas<'_> {
    /// A polygon with holes (rings of box coordinates), filled even-odd and/or stroked.
    pub fn polygon(
        &mut self,
        rings: &[Vec<(f32, f32)>],
        fill: Option<(Rgb, f32)>,
        stroke: Option<(Rgb, f32)>,
    ) {
        let rings = rings
            .iter()
            .map(|r| r.iter().map(|(x, y)| (self.x0 + x, self.y0 + y)).collect())
            .collect();
        self.layout.push(Op::Path {
            rings,
            closed: true,
            fill,
            stroke,
        });
    }

    /// An open line.
    pub fn line(&mut self, points: &[(f32, f32)], colour: Rgb, width: f32) {
        let ring = points
            .iter()
            .map(|(x, y)| (self.x0 + x, self.y0 + y))
            .collect();
        self.layout.push(Op::Path {
            rings: vec![ring],
            closed: false,
            fill: None,
            stroke: Some((colour, width)),
        });
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Rgb) {
        self.polygon(
            &[vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h)]],
            Some((fill, 1.0)),
            None,
        );
    }

    /// Text with its baseline at `y`, starting at `x` (or ending there when `right`).
    pub fn text(&mut self, x: f32, y: f32, style: Style, text: &str, right: bool) {
        let x = if right {
            x - self.layout.width(text, style)
        } else {
            x
        };
        let (x0, y0) = (self.x0, self.y0);
        self.layout.text_at(x0 + x, y0 + y, style, text);
    }

    /// The advance of `text` in `style`.
    pub fn width(&self, text: &str, style: Style) -> f32 {
        self.layout.width(text, style)
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new("")
    }
}

impl Layout {
    /// An empty document; `footer` is printed at the foot of every page with its number.
    pub fn new(footer: &str) -> Layout {
        Layout {
            regular: Face::new(dejavu::sans::regular()),
            bold: Face::new(dejavu::sans::bold()),
            pages: vec![Vec::new()],
            y: MARGIN,
            footer: footer.to_string(),
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// The advance of `text` in `style`.
    pub fn width(&self, text: &str, style: Style) -> f32 {
        self.face(style.bold).width(text, style.size)
    }

    fn text_at(&mut self, x: f32, y: f32, style: Style, text: &str) {
        self.push(Op::Text {
            x,
            y,
            size: style.size,
            bold: style.bold,
            colour: style.colour,
            text: text.to_string(),
        });
    }

    fn line_height(style: Style) -> f32 {
        style.size * 1.3
    }

    /// Starts a new page.
    pub fn page_break(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Makes sure `h` points are free on this page, starting a new one if not.
    pub fn ensure(&mut self, h: f32) {
        if self.y + h > PAGE_H - MARGIN - 14.0 {
            self.page_break();
        }
    }

    /// Vertical space.
    pub fn space(&mut self, h: f32) {
        self.y += h;
    }

    /// Breaks `text` into lines no wider than `width` (at spaces; a word longer than a line is
    /// cut by characters). Hard line breaks are kept.
    pub fn wrap(&self, text: &str, style: Style, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, style) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word alone too wide: cut it.
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if self.width(&piece, style) > width && piece.chars().count() > 1 {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        lines
    }

    /// A paragraph of wrapped text across the text width.
    pub fn para(&mut self, text: &str, style: Style) {
        let lh = Layout::line_height(style);
        for line in self.wrap(text, style, TEXT_W) {
            self.ensure(lh);
            self.y += style.size;
            let y = self.y;
            self.text_at(MARGIN, y, style, &line);
            self.y += lh - style.size;
        }
        self.y += style.size * 0.5;
    }

    /// A heading, kept with at least `keep` points of what follows.
    pub fn heading(&mut self, text: &str, style: Style, keep: f32) {
        self.ensure(Layout::line_height(style) * 2.0 + keep);
        self.space(style.size * 0.4);
        self.para(text, style);
    }

    /// A table: column widths as fractions of the text width, an optional header row (repeated
    /// on each page), cells wrapped; `numeric` columns are right-aligned.
    pub fn table(
        &mut self,
        widths: &[f32],
        header: Option<&[String]>,
        rows: &[Vec<String>],
        numeric: &[bool],
    ) {
        let sum: f32 = widths.iter().sum();
        let cols: Vec<f32> = widths.iter().map(|w| w / sum * TEXT_W).collect();
        let pad = 3.0;
        let measure = |l: &Layout, row: &[String], style: Style| -> Vec<Vec<String>> {
            row.iter()
                .zip(&cols)
                .map(|(cell, w)| l.wrap(cell, style, w - 2.0 * pad))
                .collect()
        };
        let draw_row = |l: &mut Layout, cells: &[Vec<String>], style: Style, shade: bool| {
            let lh = Layout::line_height(style);
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = lines as f32 * lh + 2.0 * pad;
            let top = l.y;
            let mut x = MARGIN;
            for (i, (cell, w)) in cells.iter().zip(&cols).enumerate() {
                let rect = vec![(x, top), (x + w, top), (x + w, top + h), (x, top + h)];
                l.push(Op::Path {
                    rings: vec![rect],
                    closed: true,
                    fill: shade.then_some((HEAD_BG, 1.0)),
                    stroke: Some((RULE, 0.5)),
                });
                let right = numeric.get(i).copied().unwrap_or(false) && !shade;
                for (k, line) in cell.iter().enumerate() {
                    let ty = top + pad + style.size + k as f32 * lh;
                    let tx = if right {
                        x + w - pad - l.width(line, style)
                    } else {
                        x + pad
                    };
                    l.text_at(tx, ty, style, line);
                }
                x += w;
            }
            l.y = top + h;
            h
        };
        let head = header.map(|h| measure(self, h, BOLD));
        let head_h = head
            .as_ref()
            .map(|c| c.iter().map(Vec::len).max().unwrap_or(1) as f32 * 12.35 + 6.0)
            .unwrap_or(0.0);
        self.ensure(head_h + 20.0);
        if let Some(h) = &head {
            draw_row(self, h, BOLD, true);
        }
        for row in rows {
            let cells = measure(self, row, BODY);
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = lines as f32 * Layout::line_height(BODY) + 6.0;
            if self.y + h > PAGE_H - MARGIN - 14.0 {
                self.page_break();
                if let Some(hd) = &head {
                    draw_row(self, hd, BOLD, true);
                }
            }
            draw_row(self, &cells, BODY, false);
        }
        self.y += 6.0;
    }

    /// Rows of label and value, the labels shaded.
    pub fn facts(&mut self, rows: &[(String, String)]) {
        let cols = [0.32 * TEXT_W, 0.68 * TEXT_W];
        let pad = 3.0;
        for (label, value) in rows {
            let a = self.wrap(label, BOLD, cols[0] - 2.0 * pad);
            let b = self.wrap(value, BODY, cols[1] - 2.0 * pad);
            let lh = Layout::line_height(BODY);
            let h = a.len().max(b.len()).max(1) as f32 * lh + 2.0 * pad;
            self.ensure(h);
            let top = self.y;
            let mut x = MARGIN;
            for (i, (lines, w)) in [a, b].iter().zip(cols).enumerate() {
                let rect = vec![(x, top), (x + w, top), (x + w, top + h), (x, top + h)];
                self.push(Op::Path {
                    rings: vec![rect],
                    closed: true,
                    fill: (i == 0).then_some((HEAD_BG, 1.0)),
                    stroke: Some((RULE, 0.5)),
                });
                let style = if i == 0 { BOLD } else { BODY };
                for (k, line) in lines.iter().enumerate() {
                    let ty = top + pad + style.size + k as f32 * lh;
                    self.text_at(x + pad, ty, style, line);
                }
                x += w;
            }
            self.y = top + h;
        }
        self.y += 6.0;
    }

    /// A box `h` points high across the text width, drawn by `f` in box coordinates.
    pub fn drawing(&mut self, h: f32, f: impl FnOnce(&mut Canvas<'_>)) {
        self.ensure(h);
        let y0 = self.y;
        let mut c = Canvas {
            layout: self,
            x0: MARGIN,
            y0,
            w: TEXT_W,
            h,
        };
        f(&mut c);
        self.y = y0 + h + 6.0;
    }

    /// Writes the PDF. `title` and `lang` go into its metadata.
    pub fn finish(self, title: &str, lang: &str) -> Vec<u8> {
        let mut doc = Document::new();
        doc.set_metadata(
            Metadata::new()
                .title(title.to_string())
                .language(lang.to_string())
                .creator("Cairn".to_string()),
        );
        let n = self.pages.len();
        for (i, ops) in self.pages.iter().enumerate() {
            let Some(settings) = PageSettings::from_wh(PAGE_W, PAGE_H) else {
                continue;
            };
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            for op in ops {
                draw(&mut s, op, &self.regular, &self.bold);
            }
            let foot = if self.footer.is_empty() {
                format!("{}/{n}", i + 1)
            } else {
                format!("{} · {}/{n}", self.footer, i + 1)
            };
            draw(
                &mut s,
                &Op::Text {
                    x: MARGIN,
                    y: PAGE_H - MARGIN + 12.0,
                    size: 7.5,
                    bold: false,
                    colour: GREY,
                    text: foot,
                },
                &self.regular,
                &self.bold,
            );
            s.finish();
            page.finish();
        }
        // krilla refuses only documents it cannot express (such as bad images): none here.
        doc.finish().unwrap_or_default()
    }
}

fn colour(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn draw(s: &mut krilla::surface::Surface<'_>, op: &Op, regular: &Face, bold: &Face) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold: b,
            colour: c,
            text,
        } => {
            if text.is_empty() {
                return;
            }
            s.set_stroke(None);
            s.set_fill(Some(Fill {
                paint: colour(*c),
                opacity: NormalizedF32::ONE,
                rule: FillRule::NonZero,
            }));
            let face = if *b { bold } else { regular };
            s.draw_text(
                Point::from_xy(*x, *y),
                face.font.clone(),
                *size,
                text,
                false,
                TextDirection::LeftToRight,
            );
        }
        Op::Path {
            rings,
            closed,
            fill,
            stroke,
        } => {
            let mut pb = PathBuilder::new();
            for ring in rings {
                for (i, (x, y)) in ring.iter().enumerate() {
                    if i == 0 {
                        pb.move_to(*x, *y);
                    } else {
                        pb.line_to(*x, *y);
                    }
                }
                if *closed {
                    pb.close();
                }
            }
            let Some(path) = pb.finish() else {
                return;
            };
            s.set_fill(fill.map(|(c, o)| Fill {
                paint: colour(c),
                opacity: NormalizedF32::new(o).unwrap_or(NormalizedF32::ONE),
                rule: FillRule::EvenOdd,
            }));
            s.set_stroke(stroke.map(|(c, w)| Stroke {
                paint: colour(c),
                width: w,
                ..Stroke::default()
            }));
            s.draw_path(&path);
        }
    }
}
