//! The handover certificate of released land (IMAS 08.30) as one printable HTML page: the
//! released land drawn as inline SVG (no map tiles, so it prints offline and says only what the
//! record says), the method, dates, area in m², items found and destroyed, organisation, and
//! blank sign-off lines for whoever hands the land over and whoever receives it.

use std::fmt::Write;

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon};

use crate::area::{HazardArea, Timestamp, WireEnum};
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
    let whole = m2.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    format!("{out} m² ({:.4} ha)", m2 / 10_000.0)
}

/// The SVG drawing of the released land (green) and any remaining hazard (red, hatched), with a
/// scale bar and a north arrow. Width 640, height 420 user units.
pub fn svg(released: &MultiPolygon<f64>, remaining: Option<&MultiPolygon<f64>>) -> String {
    const W: f64 = 640.0;
    const H: f64 = 420.0;
    const PAD: f64 = 30.0;
    let mut all = released.clone();
    if let Some(r) = remaining {
        all.0.extend(r.0.iter().cloned());
    }
    let Some(bb) = all.bounding_rect() else {
        return format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}"></svg>"#);
    };
    let plane = Plane::at(bb.center());
    let (a, b) = (plane.project(bb.min()), plane.project(bb.max()));
    let (mw, mh) = ((b.x - a.x).max(1e-3), (b.y - a.y).max(1e-3));
    let scale = ((W - 2.0 * PAD) / mw).min((H - 2.0 * PAD - 30.0) / mh);
    let ox = (W - mw * scale) / 2.0;
    let oy = (H - 30.0 - mh * scale) / 2.0;
    let to = |c: Coord<f64>| {
        let p = plane.project(c);
        (ox + (p.x - a.x) * scale, oy + (b.y - p.y) * scale)
    };
    let path = |mp: &MultiPolygon<f64>| {
        let mut d = String::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for (i, c) in ring.0.iter().enumerate() {
                    let (x, y) = to(*c);
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
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="Released land">
<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#b00020" stroke-width="2"/></pattern></defs>
<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#999"/>
"##
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
    // A scale bar of a round length near a quarter of the drawing.
    let target = (W / 4.0) / scale;
    let pow = 10f64.powf(target.log10().floor());
    let len = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * pow)
        .rfind(|l| *l <= target)
        .unwrap_or(pow);
    let px = len * scale;
    let label = if len >= 1000.0 {
        format!("{} km", len / 1000.0)
    } else {
        format!("{len} m")
    };
    let _ = write!(
        s,
        r##"<g font-family="sans-serif" font-size="12"><line x1="{PAD}" y1="{y}" x2="{x2:.1}" y2="{y}" stroke="#000" stroke-width="3"/><text x="{PAD}" y="{ty}">{label}</text>
<path d="M{nx} {ny0} l8 20 l-8 -6 l-8 6 Z" fill="#000"/><text x="{nxt}" y="{nyt}">N</text></g>
</svg>"##,
        y = H - 20.0,
        x2 = PAD + px,
        ty = H - 6.0,
        nx = W - PAD,
        ny0 = 10.0,
        nxt = W - PAD - 4.0,
        nyt = 44.0,
    );
    s
}

/// The certificate page.
pub fn certificate_html(c: &CertificateInput<'_>) -> String {
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
    let mut devices = String::new();
    for d in &a.devices {
        let _ = writeln!(
            devices,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.device_type),
            d.count,
            d.depth_cm
                .map(|x| format!("{x} cm"))
                .unwrap_or_else(|| "—".into()),
            d.action.as_str()
        );
    }
    if devices.is_empty() {
        devices.push_str("<tr><td colspan=\"4\">No items were found or destroyed.</td></tr>\n");
    }
    let bb = c.release.geometry.bounding_rect();
    let extent = bb
        .map(|b| {
            format!(
                "{:.6}°E {:.6}°N – {:.6}°E {:.6}°N",
                b.min().x,
                b.min().y,
                b.max().x,
                b.max().y
            )
        })
        .unwrap_or_default();
    let remaining = if r.remaining_m2 > 0.0 {
        format!(
            "{} of area {} remains hazardous (hatched red) and is NOT handed over.",
            format_m2(r.remaining_m2),
            esc(&c.area.id)
        )
    } else {
        format!(
            "Nothing of area {} remains hazardous; the area is closed.",
            esc(&c.area.id)
        )
    };
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Handover certificate {number}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 1.5rem auto; color: #111; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0; }}
.number {{ font-size: 1.2rem; font-weight: bold; font-family: monospace; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }}
th, td {{ border: 1px solid #888; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ width: 30%; background: #f2f2f2; }}
.sign td {{ height: 3.5rem; }}
.note {{ font-size: .85rem; color: #333; }}
@media print {{ body {{ margin: 0; }} @page {{ size: A4; margin: 15mm; }} }}
</style></head>
<body>
<h1>Land release handover certificate (IMAS 08.30)</h1>
<p>Certificate number <span class="number">{number}</span></p>
<table>
<tr><th>Hazardous area</th><td>{area_name}</td></tr>
<tr><th>Release</th><td>{release_id}</td></tr>
<tr><th>Method</th><td>{method_label} (<span class="method">{method}</span>)</td></tr>
<tr><th>Activity</th><td>{activity_id}: {activity_kind}</td></tr>
<tr><th>Organisation</th><td>{org}</td></tr>
<tr><th>Team</th><td>{team}</td></tr>
<tr><th>Work dates</th><td>{started} to {ended}</td></tr>
<tr><th>Released on</th><td>{released_at}</td></tr>
<tr><th>Area released</th><td class="area-m2">{m2}</td></tr>
<tr><th>Extent (WGS 84)</th><td>{extent}</td></tr>
<tr><th>Remaining hazard at release</th><td>{remaining}</td></tr>
<tr><th>Items found / destroyed</th><td>{found} found, {destroyed} destroyed</td></tr>
<tr><th>Post-release finds</th><td>{finds}</td></tr>
<tr><th>Outcome</th><td>{outcome}</td></tr>
</table>
<h2>Released land</h2>
{svg}
<p class="note">Green: the land released by this certificate. Red hatching: the hazard of the area that remains as this page is printed. Drawn on a local plane; areas measured on the WGS 84 ellipsoid.</p>
<h2>Items</h2>
<table><tr><th>Device type</th><th>Count</th><th>Depth</th><th>Action</th></tr>
{devices}</table>
<h2>Sign-off</h2>
<p class="note">Released land carries a residual risk. Any item found on it must be reported to the mine action authority, quoting certificate {number}; it is recorded as a post-release find.</p>
<table class="sign">
<tr><th></th><th>Handed over by (operator)</th><th>Received by (land user / local authority)</th></tr>
<tr><th>Name</th><td></td><td></td></tr>
<tr><th>Position and organisation</th><td></td><td></td></tr>
<tr><th>Date</th><td></td><td></td></tr>
<tr><th>Signature</th><td></td><td></td></tr>
</table>
<p class="note">Recorded in Cairn by {by}. Printed {printed}.</p>
</body></html>
"##,
        number = esc(&r.certificate),
        area_name = esc(&area_name),
        release_id = esc(&c.release.id),
        method_label = c.release.facts.method.label(),
        method = c.release.facts.method.as_str(),
        activity_id = esc(&c.activity.id),
        activity_kind = a.kind.label(),
        org = esc(&a.organisation),
        team = esc(a.team.as_deref().unwrap_or("—")),
        started = a.started,
        ended = a.ended,
        released_at = r.released_at.format("%Y-%m-%d %H:%M UTC"),
        m2 = format_m2(r.released_m2),
        extent = extent,
        remaining = remaining,
        found = found,
        destroyed = destroyed,
        finds = c.post_release_finds,
        outcome = esc(a.outcome.as_deref().unwrap_or("—")),
        svg = svg(&c.release.geometry, c.remaining),
        devices = devices,
        by = esc(&r.by),
        printed = c.printed_at.format("%Y-%m-%d %H:%M UTC"),
    )
}
