//! The handover certificate of released land (IMAS 08.30) as one printable HTML page: the
//! released land drawn as inline SVG (no map tiles, so it prints offline and says only what the
//! record says), the method, dates, area in m², items found and destroyed, organisation, and
//! blank sign-off lines for whoever hands the land over and whoever receives it. The turning
//! points of the released land (each vertex, numbered, in WGS 84 degrees) are listed and marked on
//! the drawing, as IMAS 08.30 asks. In Ukrainian or English (`Lang`); every label and sentence
//! comes from [`CertText`], which the PDF of `cairn-docs` uses too.

use std::fmt::Write;

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon};

use crate::area::{HazardArea, Timestamp, WireEnum};
use crate::lang::Lang;
use crate::release::{Activity, Plane, Release};

/// Everything a certificate shows.
#[derive(Clone, Debug)]
pub struct CertificateInput<'a> {
    pub release: &'a Release,
    pub activity: &'a Activity,
    /// The area as it is now (its name, organisation and what remains).
    pub area: &'a HazardArea,
    /// The hazard that still remains of the area, drawn in red beside the released land.
    pub remaining: Option<&'a MultiPolygon<f64>>,
    /// Items found on this land after its release, so far.
    pub post_release_finds: u64,
    /// When the page was made.
    pub printed_at: Timestamp,
    /// The language of the page.
    pub lang: Lang,
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Formats square metres with thin thousands separators, and hectares beside.
pub fn format_m2(m2: f64) -> String {
    Lang::En.m2(m2)
}

/// How a drawing of land fits a box: a local plane (metres) scaled to `w` × `h` units with a
/// margin, north up. The certificate's SVG and its PDF draw through the same frame.
#[derive(Clone, Debug)]
pub struct Frame {
    plane: Plane,
    min: Coord<f64>,
    max: Coord<f64>,
    /// Units per metre.
    pub scale: f64,
    ox: f64,
    oy: f64,
}

impl Frame {
    /// A frame of `w` × `h` units holding `all`, `pad` units from each side and `foot` units
    /// free at the bottom (for the scale bar); `None` for empty land.
    pub fn fit(all: &MultiPolygon<f64>, w: f64, h: f64, pad: f64, foot: f64) -> Option<Frame> {
        let bb = all.bounding_rect()?;
        let plane = Plane::at(bb.center());
        let (a, b) = (plane.project(bb.min()), plane.project(bb.max()));
        let (mw, mh) = ((b.x - a.x).max(1e-3), (b.y - a.y).max(1e-3));
        let scale = ((w - 2.0 * pad) / mw).min((h - 2.0 * pad - foot) / mh);
        Some(Frame {
            plane,
            min: a,
            max: b,
            scale,
            ox: (w - mw * scale) / 2.0,
            oy: (h - foot - mh * scale) / 2.0,
        })
    }

    /// A position in the box (x to the right, y down).
    pub fn to(&self, c: Coord<f64>) -> (f64, f64) {
        let p = self.plane.project(c);
        (
            self.ox + (p.x - self.min.x) * self.scale,
            self.oy + (self.max.y - p.y) * self.scale,
        )
    }

    /// A scale bar near `target_units` long: its length in metres and in units.
    pub fn scale_bar(&self, target_units: f64) -> (f64, f64) {
        let target = target_units / self.scale;
        let pow = 10f64.powf(target.log10().floor());
        let len = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|k| k * pow)
            .rfind(|l| *l <= target)
            .unwrap_or(pow);
        (len, len * self.scale)
    }
}

/// A scale bar's label: `200 m`, `2 km` (`м`, `км` in Ukrainian).
pub fn scale_label(len_m: f64, lang: Lang) -> String {
    if len_m >= 1000.0 {
        format!("{} {}", len_m / 1000.0, lang.pick("км", "km"))
    } else {
        format!("{len_m} {}", lang.pick("м", "m"))
    }
}

/// One turning point of released land: its number, the ring it belongs to, and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct TurningPoint {
    pub number: usize,
    /// The polygon (from 1) and the ring in it (0 the outer boundary, 1… its holes).
    pub part: usize,
    pub ring: usize,
    pub lon: f64,
    pub lat: f64,
}

/// The turning points of land, numbered from 1 through every ring in order (outer boundary, then
/// holes, polygon by polygon), each ring's closing point not repeated.
pub fn turning_points(land: &MultiPolygon<f64>) -> Vec<TurningPoint> {
    let mut out = Vec::new();
    for (pi, p) in land.0.iter().enumerate() {
        for (ri, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            let n = ring.0.len().saturating_sub(1);
            for c in &ring.0[..n] {
                out.push(TurningPoint {
                    number: out.len() + 1,
                    part: pi + 1,
                    ring: ri,
                    lon: c.x,
                    lat: c.y,
                });
            }
        }
    }
    out
}

/// Which turning points the drawing numbers: all of them up to `MAX_LABELS`, else every k-th
/// (the table lists them all).
pub const MAX_LABELS: usize = 60;

/// True when the drawing labels turning point `number` of `count`.
pub fn labelled(number: usize, count: usize) -> bool {
    count <= MAX_LABELS || (number - 1).is_multiple_of(count.div_ceil(MAX_LABELS))
}

/// A ring's name in the turning-point table.
pub fn ring_name(t: &TurningPoint, parts: usize, lang: Lang) -> String {
    let ring = if t.ring == 0 {
        lang.pick("зовнішня межа", "outer boundary").to_string()
    } else {
        format!("{} {}", lang.pick("виріз", "hole"), t.ring)
    };
    if parts > 1 {
        format!("{} {}, {ring}", lang.pick("ділянка", "part"), t.part)
    } else {
        ring
    }
}

/// The SVG drawing of the released land (green) and any remaining hazard (red, hatched), with its
/// turning points numbered, a scale bar and a north arrow. Width 640, height 420 user units.
pub fn svg(released: &MultiPolygon<f64>, remaining: Option<&MultiPolygon<f64>>) -> String {
    svg_in(released, remaining, Lang::En)
}

/// [`svg`] in a language.
pub fn svg_in(
    released: &MultiPolygon<f64>,
    remaining: Option<&MultiPolygon<f64>>,
    lang: Lang,
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 420.0;
    const PAD: f64 = 30.0;
    let mut all = released.clone();
    if let Some(r) = remaining {
        all.0.extend(r.0.iter().cloned());
    }
    let Some(frame) = Frame::fit(&all, W, H, PAD, 30.0) else {
        return format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}"></svg>"#);
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
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{label}">
<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#b00020" stroke-width="2"/></pattern></defs>
<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#999"/>
"##,
        label = lang.pick("Звільнена земля", "Released land"),
    );
    if let Some(r) = remaining {
        let _ = writeln!(
            s,
            r##"<path class="remaining" d="{}" fill="url(#hatch)" fill-rule="evenodd" stroke="#b00020" stroke-width="1.5"/>"##,
            path(r)
        );
    }
    let _ = writeln!(
        s,
        r##"<path class="released" d="{}" fill="#2e7d32" fill-opacity="0.35" fill-rule="evenodd" stroke="#1b5e20" stroke-width="2"/>"##,
        path(released)
    );
    let points = turning_points(released);
    s.push_str(r##"<g class="turning-points" font-family="sans-serif" font-size="11">"##);
    for t in &points {
        let (x, y) = frame.to(Coord { x: t.lon, y: t.lat });
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="#1b5e20"/>"##
        );
        if labelled(t.number, points.len()) {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" paint-order="stroke" stroke="#fff" stroke-width="3">{}</text>"##,
                x + 4.0,
                y - 4.0,
                t.number
            );
        }
    }
    s.push_str("</g>\n");
    let (len, px) = frame.scale_bar(W / 4.0);
    let _ = write!(
        s,
        r##"<g font-family="sans-serif" font-size="12"><line x1="{PAD}" y1="{y}" x2="{x2:.1}" y2="{y}" stroke="#000" stroke-width="3"/><text x="{PAD}" y="{ty}">{label}</text>
<path d="M{nx} {ny0} l8 20 l-8 -6 l-8 6 Z" fill="#000"/><text x="{nxt}" y="{nyt}">{north}</text></g>
</svg>"##,
        y = H - 20.0,
        x2 = PAD + px,
        ty = H - 6.0,
        label = scale_label(len, lang),
        nx = W - PAD,
        ny0 = 10.0,
        nxt = W - PAD - 4.0,
        nyt = 44.0,
        north = lang.pick("Пн", "N"),
    );
    s
}

/// Every label and sentence of the certificate, in one language. The HTML page and the PDF
/// (`cairn-docs`) both take their words from here.
#[derive(Debug)]
pub struct CertText {
    pub page_title: &'static str,
    pub title: &'static str,
    pub number: &'static str,
    pub hazardous_area: &'static str,
    pub release: &'static str,
    pub method: &'static str,
    pub activity: &'static str,
    pub organisation: &'static str,
    pub team: &'static str,
    pub work_dates: &'static str,
    pub released_on: &'static str,
    pub area_released: &'static str,
    pub extent: &'static str,
    pub remaining_at: &'static str,
    pub items_found: &'static str,
    pub post_release_finds: &'static str,
    pub outcome: &'static str,
    pub h_released_land: &'static str,
    pub drawing_note: &'static str,
    pub h_turning_points: &'static str,
    pub tp_header: [&'static str; 4],
    pub tp_note: &'static str,
    pub h_items: &'static str,
    pub items_header: [&'static str; 4],
    pub no_items: &'static str,
    pub h_signoff: &'static str,
    pub handed: &'static str,
    pub received: &'static str,
    pub sign_rows: [&'static str; 4],
    pub cm: &'static str,
}

const CERT_EN: CertText = CertText {
    page_title: "Handover certificate",
    title: "Land release handover certificate (IMAS 08.30)",
    number: "Certificate number",
    hazardous_area: "Hazardous area",
    release: "Release",
    method: "Method",
    activity: "Activity",
    organisation: "Organisation",
    team: "Team",
    work_dates: "Work dates",
    released_on: "Released on",
    area_released: "Area released",
    extent: "Extent (WGS 84)",
    remaining_at: "Remaining hazard at release",
    items_found: "Items found / destroyed",
    post_release_finds: "Post-release finds",
    outcome: "Outcome",
    h_released_land: "Released land",
    drawing_note: "Green: the land released by this certificate. Red hatching: the hazard of the area that remains as this page is printed. Numbers: the turning points listed below. Drawn on a local plane; areas measured on the WGS 84 ellipsoid.",
    h_turning_points: "Turning points of the released land (WGS 84)",
    tp_header: ["No.", "Boundary", "Latitude (°N)", "Longitude (°E)"],
    tp_note: "Decimal degrees to six places (about 0.1 m). The boundary runs straight from each point to the next of its ring, and from the last back to the first.",
    h_items: "Items",
    items_header: ["Device type", "Count", "Depth", "Action"],
    no_items: "No items were found or destroyed.",
    h_signoff: "Sign-off",
    handed: "Handed over by (operator)",
    received: "Received by (land user / local authority)",
    sign_rows: ["Name", "Position and organisation", "Date", "Signature"],
    cm: "cm",
};

const CERT_UK: CertText = CertText {
    page_title: "Акт передачі",
    title: "Акт передачі звільненої землі (IMAS 08.30)",
    number: "Номер акта",
    hazardous_area: "Небезпечна територія",
    release: "Звільнення",
    method: "Спосіб звільнення",
    activity: "Робота",
    organisation: "Організація",
    team: "Група",
    work_dates: "Дати робіт",
    released_on: "Дата звільнення",
    area_released: "Звільнена площа",
    extent: "Межі (WGS 84)",
    remaining_at: "Залишкова небезпека на момент звільнення",
    items_found: "Предмети виявлено / знищено",
    post_release_finds: "Знахідки після звільнення",
    outcome: "Результат",
    h_released_land: "Звільнена земля",
    drawing_note: "Зеленим позначено землю, звільнену цим актом. Червоним штрихуванням — небезпечну частину території, що залишається на момент друку. Цифри — поворотні точки, перелічені нижче. Накреслено на місцевій площині; площі виміряно на еліпсоїді WGS 84.",
    h_turning_points: "Поворотні точки звільненої землі (WGS 84)",
    tp_header: ["№", "Межа", "Широта (° пн. ш.)", "Довгота (° сх. д.)"],
    tp_note: "Десяткові градуси з шістьма знаками після коми (близько 0,1 м). Межа проходить прямою від кожної точки до наступної точки того самого контуру, а від останньої — до першої.",
    h_items: "Предмети",
    items_header: ["Тип предмета", "Кількість", "Глибина", "Дія"],
    no_items: "Жодних предметів не виявлено й не знищено.",
    h_signoff: "Підписи",
    handed: "Передав (оператор)",
    received: "Прийняв (землекористувач / орган місцевого самоврядування)",
    sign_rows: [
        "Прізвище та ім'я",
        "Посада та організація",
        "Дата",
        "Підпис",
    ],
    cm: "см",
};

impl CertText {
    /// The words of `lang`.
    pub fn of(lang: Lang) -> &'static CertText {
        match lang {
            Lang::Uk => &CERT_UK,
            Lang::En => &CERT_EN,
        }
    }
}

/// The facts of a certificate as words of one language, in the order both renderings show them:
/// the rows of the main table, the sentences about what remains, the items and the footer.
#[derive(Debug)]
pub struct CertFacts {
    pub number: String,
    pub rows: Vec<(&'static str, String)>,
    pub devices: Vec<[String; 4]>,
    pub residual: String,
    pub footer: String,
    pub points: Vec<TurningPoint>,
    pub parts: usize,
}

/// Everything the certificate says, as text of `c.lang` (unescaped).
pub fn cert_facts(c: &CertificateInput<'_>) -> CertFacts {
    let lang = c.lang;
    let t = CertText::of(lang);
    let r = &c.release.facts;
    let a = &c.activity.facts;
    let (found, destroyed) = c.activity.device_totals();
    let area_name = c
        .area
        .props
        .name
        .as_deref()
        .map(|n| format!("{} — {}", c.area.id, n))
        .unwrap_or_else(|| c.area.id.clone());
    let devices = a
        .devices
        .iter()
        .map(|d| {
            [
                d.device_type.clone(),
                d.count.to_string(),
                d.depth_cm
                    .map(|x| {
                        format!(
                            "{} {}",
                            lang.decimal(x, if x.fract() == 0.0 { 0 } else { 1 }),
                            t.cm
                        )
                    })
                    .unwrap_or_else(|| "—".into()),
                lang.action(d.action).to_string(),
            ]
        })
        .collect();
    let extent = c
        .release
        .geometry
        .bounding_rect()
        .map(|b| match lang {
            Lang::En => format!(
                "{:.6}°E {:.6}°N – {:.6}°E {:.6}°N",
                b.min().x,
                b.min().y,
                b.max().x,
                b.max().y
            ),
            Lang::Uk => format!(
                "{}° сх. д. {}° пн. ш. – {}° сх. д. {}° пн. ш.",
                lang.decimal(b.min().x, 6),
                lang.decimal(b.min().y, 6),
                lang.decimal(b.max().x, 6),
                lang.decimal(b.max().y, 6)
            ),
        })
        .unwrap_or_default();
    let remaining = match (lang, r.remaining_m2 > 0.0) {
        (Lang::En, true) => format!(
            "{} of area {} remains hazardous (hatched red) and is NOT handed over.",
            lang.m2(r.remaining_m2),
            c.area.id
        ),
        (Lang::En, false) => format!(
            "Nothing of area {} remains hazardous; the area is closed.",
            c.area.id
        ),
        (Lang::Uk, true) => format!(
            "{} території {} залишаються небезпечними (червоне штрихування) і НЕ передаються.",
            lang.m2(r.remaining_m2),
            c.area.id
        ),
        (Lang::Uk, false) => format!(
            "На території {} не залишилося небезпечної землі; територію закрито.",
            c.area.id
        ),
    };
    let work = match lang {
        Lang::En => format!("{} to {}", a.started, a.ended),
        Lang::Uk => format!("з {} по {}", lang.date(a.started), lang.date(a.ended)),
    };
    let items = match lang {
        Lang::En => format!("{found} found, {destroyed} destroyed"),
        Lang::Uk => format!("виявлено: {found}, знищено: {destroyed}"),
    };
    let number = r.certificate.clone();
    let residual = match lang {
        Lang::En => format!(
            "Released land carries a residual risk. Any item found on it must be reported to the mine action authority, quoting certificate {number}; it is recorded as a post-release find."
        ),
        Lang::Uk => format!(
            "Звільнена земля несе залишковий ризик. Про будь-який предмет, знайдений на ній, слід повідомити орган протимінної діяльності, вказавши номер акта {number}; його буде зареєстровано як знахідку після звільнення."
        ),
    };
    let footer = match lang {
        Lang::En => format!(
            "Recorded in Cairn by {}. Printed {}.",
            r.by,
            lang.datetime(c.printed_at)
        ),
        Lang::Uk => format!(
            "Внесено до Cairn: {}. Надруковано {}.",
            r.by,
            lang.datetime(c.printed_at)
        ),
    };
    let rows = vec![
        (t.hazardous_area, area_name),
        (t.release, c.release.id.clone()),
        (
            t.method,
            format!("{} ({})", lang.method(r.method), r.method.as_str()),
        ),
        (
            t.activity,
            format!("{}: {}", c.activity.id, lang.activity(a.kind)),
        ),
        (t.organisation, a.organisation.clone()),
        (t.team, a.team.clone().unwrap_or_else(|| "—".into())),
        (t.work_dates, work),
        (t.released_on, lang.datetime(r.released_at)),
        (t.area_released, lang.m2(r.released_m2)),
        (t.extent, extent),
        (t.remaining_at, remaining),
        (t.items_found, items),
        (t.post_release_finds, c.post_release_finds.to_string()),
        (t.outcome, a.outcome.clone().unwrap_or_else(|| "—".into())),
    ];
    CertFacts {
        number,
        rows,
        devices,
        residual,
        footer,
        points: turning_points(&c.release.geometry),
        parts: c.release.geometry.0.len(),
    }
}

/// A coordinate of the turning-point table: six decimals, comma in Ukrainian.
pub fn degrees(v: f64, lang: Lang) -> String {
    lang.decimal(v, 6)
}

/// The certificate page.
pub fn certificate_html(c: &CertificateInput<'_>) -> String {
    let lang = c.lang;
    let t = CertText::of(lang);
    let f = cert_facts(c);
    let mut rows = String::new();
    for (label, value) in &f.rows {
        // The method keeps its wire name in a span of its own, for scripts reading the page.
        let value = if *label == t.method {
            format!(
                "{} (<span class=\"method\">{}</span>)",
                esc(lang.method(c.release.facts.method)),
                c.release.facts.method.as_str()
            )
        } else {
            esc(value)
        };
        let class = if *label == t.area_released {
            " class=\"area-m2\""
        } else {
            ""
        };
        let _ = writeln!(
            rows,
            "<tr><th>{}</th><td{class}>{value}</td></tr>",
            esc(label)
        );
    }
    let mut devices = String::new();
    for d in &f.devices {
        let _ = writeln!(
            devices,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d[0]),
            esc(&d[1]),
            esc(&d[2]),
            esc(&d[3])
        );
    }
    if devices.is_empty() {
        let _ = writeln!(devices, "<tr><td colspan=\"4\">{}</td></tr>", t.no_items);
    }
    let mut points = String::new();
    for p in &f.points {
        let _ = writeln!(
            points,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            p.number,
            esc(&ring_name(p, f.parts, lang)),
            degrees(p.lat, lang),
            degrees(p.lon, lang)
        );
    }
    let signs: String = t
        .sign_rows
        .iter()
        .map(|r| format!("<tr><th>{r}</th><td></td><td></td></tr>\n"))
        .collect();
    format!(
        r##"<!doctype html>
<html lang="{lang_attr}"><head><meta charset="utf-8">
<title>{page_title} {number}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 1.5rem auto; color: #111; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0; }}
.number {{ font-size: 1.2rem; font-weight: bold; font-family: monospace; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }}
th, td {{ border: 1px solid #888; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ width: 30%; background: #f2f2f2; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.points th {{ width: auto; }}
.sign td {{ height: 3.5rem; }}
.note {{ font-size: .85rem; color: #333; }}
@media print {{ body {{ margin: 0; }} @page {{ size: A4; margin: 15mm; }} }}
</style></head>
<body>
<h1>{title}</h1>
<p>{number_label} <span class="number">{number}</span></p>
<table>
{rows}</table>
<h2>{h_released}</h2>
{svg}
<p class="note">{drawing_note}</p>
<h2>{h_points}</h2>
<table class="points"><tr><th>{tp0}</th><th>{tp1}</th><th>{tp2}</th><th>{tp3}</th></tr>
{points}</table>
<p class="note">{tp_note}</p>
<h2>{h_items}</h2>
<table><tr><th>{i0}</th><th>{i1}</th><th>{i2}</th><th>{i3}</th></tr>
{devices}</table>
<h2>{h_signoff}</h2>
<p class="note">{residual}</p>
<table class="sign">
<tr><th></th><th>{handed}</th><th>{received}</th></tr>
{signs}</table>
<p class="note">{footer}</p>
</body></html>
"##,
        lang_attr = lang.as_str(),
        page_title = t.page_title,
        title = t.title,
        number_label = t.number,
        number = esc(&f.number),
        rows = rows,
        h_released = t.h_released_land,
        svg = svg_in(&c.release.geometry, c.remaining, lang),
        drawing_note = t.drawing_note,
        h_points = t.h_turning_points,
        tp0 = t.tp_header[0],
        tp1 = t.tp_header[1],
        tp2 = t.tp_header[2],
        tp3 = t.tp_header[3],
        points = points,
        tp_note = t.tp_note,
        h_items = t.h_items,
        i0 = t.items_header[0],
        i1 = t.items_header[1],
        i2 = t.items_header[2],
        i3 = t.items_header[3],
        devices = devices,
        h_signoff = t.h_signoff,
        residual = esc(&f.residual),
        handed = t.handed,
        received = t.received,
        signs = signs,
        footer = esc(&f.footer),
    )
}
