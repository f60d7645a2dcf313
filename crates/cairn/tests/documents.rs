//! Documents people hold and "Is my land affected?" (issue 17), with the real binary and the
//! real `cairn serve` on loopback: the handover certificate and the transparency report in
//! Ukrainian and English as HTML and PDF, the PDFs read back by poppler's `pdftotext` (an
//! independent reader: the Ukrainian sentences must come out as text); the parcel extract of
//! `POST /api/parcel/extract`, its overlap areas checked against shapely's intersection measured
//! by pyproj's `Geod.geometry_area_perimeter` (within 0.5 %), a restricted hazard under the
//! parcel seen by the public only as its danger zone, and bad parcels refused with a problem
//! naming the field, changing nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::env::Env;
use common::python;
use common::server::{Server, header, request, request_bytes};
use serde_json::{Value, json};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// The text of a PDF as poppler reads it; fails loudly when pdftotext is missing (scripts/test
/// installs poppler-utils).
fn pdftotext(pdf: &[u8], dir: &Path, name: &str) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "{name} is not a PDF");
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!("pdftotext cannot be run ({e}): install poppler-utils (scripts/test does)")
        });
    assert!(
        out.status.success(),
        "pdftotext {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("pdftotext gives UTF-8");
    // Lines break where the PDF breaks them (a table cell, a paragraph): read it as one line.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The oracle: each hazard's land shared with the parcel, by shapely and pyproj.
const ORACLE: &str = r#"
import json, sys
from shapely.geometry import shape, Polygon
from pyproj import Geod
g = Geod(ellps="WGS84")
d = json.load(open(sys.argv[1]))
parcel = shape(d["parcel"])
def area(x):
    return abs(g.geometry_area_perimeter(x)[0]) if not x.is_empty else 0.0
out = {"parcel_m2": area(parcel)}
for k, v in d["polygons"].items():
    out[k] = area(parcel.intersection(shape(v)))
for k, (lon, lat, r) in d["spots"].items():
    # A geodesic circle of 720 points.
    lons, lats, _ = g.fwd([lon] * 720, [lat] * 720, [i / 2 for i in range(720)], [r] * 720)
    out[k] = area(parcel.intersection(Polygon(zip(lons, lats))))
print(json.dumps(out))
"#;

#[test]
fn documents_in_ukrainian_and_english_and_the_parcel_extract() {
    let e = Env::new();
    let (lon, lat) = (30.52, 50.45);
    let field_a = rect(lon - 0.004, lat - 0.002, lon + 0.001, lat + 0.002);
    let spot = (lon + 0.004, lat, 150.0);
    let secret = rect(lon - 0.001, lat - 0.0035, lon + 0.0005, lat - 0.0025);
    let cleared = rect(lon + 0.0065, lat - 0.003, lon + 0.0095, lat + 0.003);
    e.write(
        "areas.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "HA-000001", "geometry": field_a,
             "properties": {"status": "confirmed", "classification": "public", "name": "Поле біля ставу",
                "evidence": {"kind": "direct", "description": "AP mine seen"}}},
            {"type": "Feature", "id": "HA-000002", "geometry": {"type": "Point", "coordinates": [spot.0, spot.1]},
             "properties": {"status": "suspected", "classification": "public", "radius_m": spot.2}},
            {"type": "Feature", "id": "HA-000003", "geometry": secret,
             "properties": {"status": "confirmed", "classification": "restricted", "name": "secret orchard",
                "evidence": {"kind": "direct", "description": "secret source"}}},
            {"type": "Feature", "id": "HA-000004", "geometry": cleared,
             "properties": {"status": "confirmed", "classification": "public", "organisation": "Example Demining",
                "evidence": {"kind": "direct", "description": "AP mine seen"}}}
        ]}),
    );
    e.ok(&["import", &e.p("areas.geojson")]);
    // Part of HA-000004 is cleared and handed over.
    let released_land = rect(lon + 0.0065, lat - 0.003, lon + 0.008, lat + 0.003);
    e.write("released.geojson", &released_land);
    e.write(
        "devices.json",
        &json!([{"type": "ap-mine-persistent", "count": 3, "depth_cm": 10, "action": "destroyed"}]),
    );
    let act = e.ok_json(&[
        "activity",
        "add",
        "--area",
        "HA-000004",
        "--kind",
        "clearance",
        "--org",
        "Example Demining",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-05",
        "--geometry",
        &e.p("released.geojson"),
        "--devices",
        &e.p("devices.json"),
        "--json",
    ]);
    let rel = e.ok_json(&[
        "release",
        "--area",
        "HA-000004",
        "--method",
        "clear",
        "--activity",
        act["id"].as_str().unwrap(),
        "--geometry",
        &e.p("released.geojson"),
        "--by",
        "Olena",
        "--json",
    ]);
    let rel_id = rel["id"].as_str().unwrap().to_string();
    let number = rel["certificate"].as_str().unwrap().to_string();

    // The certificate from the command line: Ukrainian PDF, English HTML, both with the
    // turning points.
    e.ok(&[
        "certificate",
        &rel_id,
        "-o",
        &e.p("cert.pdf"),
        "--lang",
        "uk",
    ]);
    let text = pdftotext(
        &std::fs::read(e.path("cert.pdf")).unwrap(),
        &e.path(""),
        "cert-uk",
    );
    for want in [
        "Акт передачі звільненої землі (IMAS 08.30)",
        "Поворотні точки звільненої землі",
        "Очищено (розмінування)",
        "Прийняв (землекористувач / орган місцевого самоврядування)",
        number.as_str(),
        // The first turning point, six decimals with a Ukrainian decimal comma.
        &format!("{:.6}", lat - 0.003).replace('.', ","),
        &format!("{:.6}", lon + 0.0065).replace('.', ","),
    ] {
        assert!(
            text.contains(want),
            "the Ukrainian certificate lacks {want:?}:\n{text}"
        );
    }
    e.ok(&["certificate", &rel_id, "-o", &e.p("cert.html")]);
    let html = std::fs::read_to_string(e.path("cert.html")).unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Turning points"),
        "{html}"
    );
    assert!(html.contains(&format!("{:.6}", lat + 0.003)), "{html}");
    let bad = e.run(&["certificate", &rel_id, "-o", &e.p("x.pdf"), "--lang", "de"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--lang"));
    assert!(!e.path("x.pdf").exists());

    // The transparency report, as a Ukrainian PDF and a Ukrainian page.
    e.ok(&[
        "report",
        "transparency",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "-o",
        &e.p("t.pdf"),
        "--format",
        "pdf",
        "--lang",
        "uk",
        "--edition",
        "public",
    ]);
    let text = pdftotext(
        &std::fs::read(e.path("t.pdf")).unwrap(),
        &e.path(""),
        "t-uk",
    );
    for want in ["Звіт про прозорість", "Звільнена земля", "Жертви"]
    {
        assert!(
            text.contains(want),
            "the Ukrainian report lacks {want:?}:\n{text}"
        );
    }
    assert!(
        !text.contains("HA-000003") && !text.contains("secret"),
        "{text}"
    );
    e.ok(&[
        "report",
        "transparency",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "-o",
        &e.p("t.html"),
        "--lang",
        "uk",
    ]);
    let page = std::fs::read_to_string(e.path("t.html")).unwrap();
    assert!(page.contains("<html lang=\"uk\">") && page.contains("Звіт про прозорість"));
    assert!(page.contains("chart-released"));

    let token = e
        .ok(&["token", "create", "--name", "Olena", "--role", "officer"])
        .trim()
        .to_string();
    let auth = format!("Bearer {token}");
    let server = Server::start(&e.path("store.db"), None);
    let addr = server.addr.clone();

    // The certificate over HTTP: the language from the parameter or from Accept-Language.
    let (s, head, body) = request_bytes(
        &addr,
        "GET",
        &format!("/api/releases/{rel_id}/certificate?format=pdf&lang=uk"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(s, 200, "{head}");
    assert_eq!(
        header(&head, "content-type").as_deref(),
        Some("application/pdf")
    );
    let text = pdftotext(&body, &e.path(""), "cert-http");
    assert!(text.contains("Акт передачі звільненої землі"), "{text}");
    let (s, head, body) = request(
        &addr,
        "GET",
        &format!("/api/releases/{rel_id}/certificate"),
        &[
            ("Authorization", &auth),
            ("Accept-Language", "uk-UA,uk;q=0.9,en;q=0.5"),
        ],
        "",
    );
    assert_eq!(s, 200, "{head}");
    assert!(
        body.contains("<html lang=\"uk\">") && body.contains("Номер акта"),
        "{body}"
    );
    let (s, _, body) = request(
        &addr,
        "GET",
        &format!("/api/releases/{rel_id}/certificate?format=docx"),
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(s, 400);
    assert!(body.contains("format"), "{body}");
    // The transparency report over HTTP as a PDF for the public.
    let (s, head, body) = request_bytes(
        &addr,
        "GET",
        "/api/transparency?from=2026-01-01&to=2026-12-31&format=pdf&lang=uk",
        &[],
        b"",
    );
    assert_eq!(s, 200, "{head}");
    let text = pdftotext(&body, &e.path(""), "t-http");
    assert!(text.contains("Звіт про прозорість"), "{text}");
    assert!(!text.contains("HA-000003"), "{text}");

    // The parcel crosses HA-000001, the spot HA-000002, the restricted HA-000003 and the
    // released part of HA-000004.
    let parcel = rect(lon - 0.002, lat - 0.003, lon + 0.0075, lat + 0.001);
    let body = json!({"type": "Feature", "properties": {"name": "my field"}, "geometry": parcel})
        .to_string();
    let before = e.counts();
    let (s, head, answer) = request(&addr, "POST", "/api/parcel/extract", &[], &body);
    assert_eq!(s, 200, "{head}\n{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    let hazards = v["hazards"].as_array().unwrap();
    let by_id = |id: &str| hazards.iter().find(|h| h["id"] == id).cloned();
    let a = by_id("HA-000001").unwrap_or_else(|| panic!("HA-000001 missing: {v}"));
    let b = by_id("HA-000002").unwrap_or_else(|| panic!("HA-000002 missing: {v}"));
    assert_eq!(a["status"], "confirmed");
    assert_eq!(b["status"], "suspected");
    // The restricted area: a danger zone with no id and no detail.
    let zones: Vec<&Value> = hazards
        .iter()
        .filter(|h| h["kind"] == "danger-zone")
        .collect();
    assert_eq!(zones.len(), 1, "{v}");
    assert!(
        zones[0].get("id").is_none() && zones[0].get("name").is_none(),
        "{v}"
    );
    for secret in ["HA-000003", "secret", "orchard"] {
        assert!(
            !answer.contains(secret),
            "the public extract tells {secret}: {answer}"
        );
    }
    assert_eq!(v["danger"], true);
    assert!(
        v["caveat"]
            .as_str()
            .unwrap()
            .contains("No mark does not mean safe")
    );
    assert!(v["data_date"].is_string(), "{v}");
    let released = v["released"].as_array().unwrap();
    assert_eq!(released.len(), 1, "{v}");
    assert_eq!(released[0]["certificate"], number.as_str());
    assert_eq!(
        released[0]["certificate_href"],
        format!("/api/releases/{rel_id}/certificate")
    );

    // The oracle.
    e.write(
        "oracle.json",
        &json!({
            "parcel": parcel,
            "polygons": {"HA-000001": field_a, "released": released_land},
            "spots": {"HA-000002": [spot.0, spot.1, spot.2]},
        }),
    );
    std::fs::write(e.path("oracle.py"), ORACLE).unwrap();
    let out = Command::new(python())
        .arg(e.path("oracle.py"))
        .arg(e.path("oracle.json"))
        .output()
        .expect("run the oracle's Python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o: Value = serde_json::from_slice(&out.stdout).unwrap();
    let close = |what: &str, got: f64, want: f64| {
        println!("{what}: Cairn {got:.1} m², oracle {want:.1} m²");
        assert!(
            want > 1000.0,
            "{what}: the oracle's overlap {want} is too small to test"
        );
        assert!(
            ((got - want) / want).abs() < 0.005,
            "{what}: Cairn {got} m², oracle {want} m²"
        );
    };
    close(
        "parcel",
        v["parcel_m2"].as_f64().unwrap(),
        o["parcel_m2"].as_f64().unwrap(),
    );
    close(
        "HA-000001",
        a["overlap_m2"].as_f64().unwrap(),
        o["HA-000001"].as_f64().unwrap(),
    );
    close(
        "HA-000002",
        b["overlap_m2"].as_f64().unwrap(),
        o["HA-000002"].as_f64().unwrap(),
    );
    close(
        "released",
        released[0]["overlap_m2"].as_f64().unwrap(),
        o["released"].as_f64().unwrap(),
    );
    let pct = a["overlap_pct"].as_f64().unwrap();
    let want_pct = o["HA-000001"].as_f64().unwrap() / o["parcel_m2"].as_f64().unwrap() * 100.0;
    assert!((pct - want_pct).abs() < 0.1, "{pct} % against {want_pct} %");

    // An officer sees the restricted area itself.
    let (s, _, officer) = request(
        &addr,
        "POST",
        "/api/parcel/extract",
        &[("Authorization", &auth)],
        &body,
    );
    assert_eq!(s, 200);
    assert!(
        officer.contains("HA-000003") && !officer.contains("danger-zone"),
        "{officer}"
    );

    // The same parcel as KML gives the same extract.
    let c = parcel["coordinates"][0].as_array().unwrap();
    let coords: Vec<String> = c.iter().map(|p| format!("{},{},0", p[0], p[1])).collect();
    let kml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Моє поле</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"#,
        coords.join(" ")
    );
    let (s, _, k) = request(
        &addr,
        "POST",
        "/api/parcel/extract",
        &[("Content-Type", "application/vnd.google-earth.kml+xml")],
        &kml,
    );
    assert_eq!(s, 200, "{k}");
    let k: Value = serde_json::from_str(&k).unwrap();
    assert_eq!(k["hazards"].as_array().unwrap().len(), hazards.len(), "{k}");

    // The printable page and the PDF, in Ukrainian.
    let (s, head, page) = request(
        &addr,
        "POST",
        "/api/parcel/extract?format=html&lang=uk",
        &[],
        &body,
    );
    assert_eq!(s, 200, "{head}");
    assert!(
        page.contains("<html lang=\"uk\">") && page.contains("Відсутність позначки не означає")
    );
    assert!(
        page.contains("Небезпечна зона") && !page.contains("HA-000003"),
        "{page}"
    );
    let (s, head, pdf) = request_bytes(
        &addr,
        "POST",
        "/api/parcel/extract?format=pdf",
        &[
            ("Content-Type", "application/geo+json"),
            ("Accept-Language", "uk"),
        ],
        body.as_bytes(),
    );
    assert_eq!(s, 200, "{head}");
    let text = pdftotext(&pdf, &e.path(""), "extract-uk");
    for want in [
        "Чи є небезпека на моїй землі?",
        "Зареєстровані небезпечні території на ділянці",
        "Небезпечна зона",
        "HA-000001",
        number.as_str(),
    ] {
        assert!(
            text.contains(want),
            "the extract PDF lacks {want:?}:\n{text}"
        );
    }
    assert!(
        text.contains("Відсутність позначки не означає, що місце безпечне"),
        "{text}"
    );
    assert!(
        !text.contains("HA-000003") && !text.contains("secret"),
        "{text}"
    );

    // Bad parcels: 4xx naming the field, nothing written.
    let bowtie = json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat + 0.01], [lon + 0.01, lat], [lon, lat + 0.01], [lon, lat]]]});
    let huge = rect(lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1);
    let big_body = format!(
        "{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}",
        "[30.0,50.0],".repeat(120_000)
    );
    for (path, body, status, word) in [
        (
            "/api/parcel/extract",
            "<kml><Polygon>".to_string(),
            400,
            "body",
        ),
        (
            "/api/parcel/extract",
            "<kml><Document/></kml>".to_string(),
            400,
            "Polygon",
        ),
        (
            "/api/parcel/extract",
            bowtie.to_string(),
            400,
            "body.coordinates",
        ),
        ("/api/parcel/extract", huge.to_string(), 422, "100 km²"),
        (
            "/api/parcel/extract",
            "{\"type\": \"Point\", \"coordinates\": [30, 50]}".into(),
            400,
            "body",
        ),
        ("/api/parcel/extract", "not json".into(), 400, "body"),
        ("/api/parcel/extract", big_body, 413, "body"),
        ("/api/parcel/extract?lang=fr", body.clone(), 400, "lang"),
        (
            "/api/parcel/extract?format=docx",
            body.clone(),
            400,
            "format",
        ),
        ("/api/parcel/extract?year=2026", body.clone(), 400, "year"),
    ] {
        let (s, head, answer) = request(&addr, "POST", path, &[], &body);
        assert_eq!(
            s,
            status,
            "{path} {}: {answer}",
            &body[..body.len().min(80)]
        );
        assert_eq!(
            header(&head, "content-type").as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
        let detail = serde_json::from_str::<Value>(&answer).unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(detail.contains(word), "{path}: {detail} should name {word}");
    }
    assert_eq!(e.counts(), before, "an extract changed the store");
    server.kill();
}
