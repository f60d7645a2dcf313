//! Photos from the public come out with nothing but pixels (issue 18). A corpus written here:
//! pictures drawn with the image crate (and a progressive JPEG with jpeg-encoder, which the image
//! crate does not write), then metadata put in by hand wherever a phone or an editor puts it —
//! EXIF with GPS, XMP, ICC profiles with text, comments, text chunks, data after the image's end,
//! and in a progressive JPEG EXIF and a comment after the first scan. Each is sent through
//! `POST /api/reports` of a real `cairn serve`, fetched back as an information officer does
//! (`GET /api/reports/{ref}/photo`), and read by exiftool (Debian's libimage-exiftool-perl, which
//! scripts/test installs), which must find only the picture's structure; no string put in may
//! appear anywhere in the stored bytes. Photos that cannot be cleaned are refused, naming the
//! field, and leave nothing stored.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::server::{Server, cairn, http, request_bytes};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Building metadata by hand.

/// A TIFF value: its type, count and bytes (big-endian).
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        kind: 2,
        count: data.len() as u32,
        data,
    }
}

fn short(tag: u16, v: u16) -> Entry {
    Entry {
        tag,
        kind: 3,
        count: 1,
        data: v.to_be_bytes().to_vec(),
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        kind: 4,
        count: 1,
        data: v.to_be_bytes().to_vec(),
    }
}

fn rationals(tag: u16, vs: &[(u32, u32)]) -> Entry {
    let mut data = Vec::new();
    for (n, d) in vs {
        data.extend_from_slice(&n.to_be_bytes());
        data.extend_from_slice(&d.to_be_bytes());
    }
    Entry {
        tag,
        kind: 5,
        count: vs.len() as u32,
        data,
    }
}

fn ifd_len(entries: &[Entry]) -> usize {
    2 + 12 * entries.len()
        + 4
        + entries
            .iter()
            .filter(|e| e.data.len() > 4)
            .map(|e| e.data.len().next_multiple_of(2))
            .sum::<usize>()
}

/// An IFD placed at `start` (from the TIFF header), its long values right after it.
fn ifd(entries: &[Entry], start: usize) -> Vec<u8> {
    let mut out = (entries.len() as u16).to_be_bytes().to_vec();
    let mut extra = Vec::new();
    let data_at = start + 2 + 12 * entries.len() + 4;
    for e in entries {
        out.extend_from_slice(&e.tag.to_be_bytes());
        out.extend_from_slice(&e.kind.to_be_bytes());
        out.extend_from_slice(&e.count.to_be_bytes());
        if e.data.len() <= 4 {
            let mut v = e.data.clone();
            v.resize(4, 0);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&((data_at + extra.len()) as u32).to_be_bytes());
            extra.extend_from_slice(&e.data);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(extra);
    out
}

/// A TIFF block as EXIF holds it: camera, owner, the given orientation and a GPS position
/// (50.4501 N, 30.5234 E: Kyiv), with `marker` in the owner's name.
fn exif_tiff(marker: &str, orientation: u16) -> Vec<u8> {
    let mut ifd0 = vec![
        ascii(0x010F, "PhoneMaker"),
        ascii(0x0110, &format!("Model {marker}")),
        short(0x0112, orientation),
        ascii(0x013B, &format!("Owner {marker}")),
        long(0x8825, 0),
    ];
    let gps_at = 8 + ifd_len(&ifd0);
    ifd0[4] = long(0x8825, gps_at as u32);
    let gps = vec![
        Entry {
            tag: 0,
            kind: 1,
            count: 4,
            data: vec![2, 3, 0, 0],
        },
        ascii(1, "N"),
        rationals(2, &[(50, 1), (27, 1), (18036, 1000)]),
        ascii(3, "E"),
        rationals(4, &[(30, 1), (31, 1), (24240, 1000)]),
    ];
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    t.extend(ifd(&ifd0, 8));
    t.extend(ifd(&gps, gps_at));
    t
}

fn exif_app1(marker: &str, orientation: u16) -> Vec<u8> {
    let mut e = b"Exif\0\0".to_vec();
    e.extend(exif_tiff(marker, orientation));
    e
}

fn xmp_packet(marker: &str) -> Vec<u8> {
    format!(
        "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>\
<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\
<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:exif='http://ns.adobe.com/exif/1.0/'>\
<dc:creator><rdf:Seq><rdf:li>{marker}</rdf:li></rdf:Seq></dc:creator>\
<exif:GPSLatitude>50,27.0N</exif:GPSLatitude><exif:GPSLongitude>30,31.4E</exif:GPSLongitude>\
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    )
    .into_bytes()
}

fn xmp_app1(marker: &str) -> Vec<u8> {
    let mut x = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    x.extend(xmp_packet(marker));
    x
}

/// A small ICC profile (display class, RGB, one `desc` tag) whose description is `marker`.
fn icc_profile(marker: &str) -> Vec<u8> {
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&(marker.len() as u32 + 1).to_be_bytes());
    desc.extend_from_slice(marker.as_bytes());
    desc.push(0);
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
    let tag_at = 128 + 4 + 12;
    let total = tag_at + desc.len();
    let mut p = Vec::new();
    p.extend_from_slice(&(total as u32).to_be_bytes());
    p.extend_from_slice(b"none");
    p.extend_from_slice(&[2, 0x10, 0, 0]);
    p.extend_from_slice(b"mntrRGB XYZ ");
    p.extend_from_slice(&[0x07, 0xEA, 0, 12, 0, 7, 0, 12, 0, 0, 0, 0]);
    p.extend_from_slice(b"acsp");
    p.resize(68, 0);
    // The D50 illuminant.
    p.extend_from_slice(&[0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D]);
    p.resize(128, 0);
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(b"desc");
    p.extend_from_slice(&(tag_at as u32).to_be_bytes());
    p.extend_from_slice(&(desc.len() as u32).to_be_bytes());
    p.extend(desc);
    p
}

fn icc_app2(marker: &str) -> Vec<u8> {
    let mut a = b"ICC_PROFILE\0\x01\x01".to_vec();
    a.extend(icc_profile(marker));
    a
}

fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(data);
    s
}

/// A picture with something in it: a gradient with a dark square, so pixels can be compared.
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        if x < w / 3 && y < h / 3 {
            image::Rgb([20, 20, 20])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 160])
        }
    })
}

/// A baseline JPEG from the image crate.
fn baseline_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    picture(w, h)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 92,
        ))
        .unwrap();
    out
}

/// A progressive JPEG from jpeg-encoder.
fn progressive_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
    enc.set_progressive(true);
    enc.encode(
        picture(w, h).as_raw(),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    out
}

/// Where the marker after the first start-of-scan begins (the end of the first scan's data).
fn after_first_scan(j: &[u8]) -> usize {
    let sos = j.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let len = u16::from_be_bytes([j[sos + 2], j[sos + 3]]) as usize;
    let mut i = sos + 2 + len;
    while !(j[i] == 0xFF && j[i + 1] != 0 && !(0xD0..=0xD7).contains(&j[i + 1])) {
        i += 1;
    }
    i
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    c.extend_from_slice(&h.finalize().to_be_bytes());
    c
}

/// A zlib stream of one stored (uncompressed) block: valid for zTXt and iCCP, and the text
/// stays findable in the bytes.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01, 0x01];
    let n = data.len() as u16;
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&(!n).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

/// A PNG from the image crate with `chunks` put after IHDR and `late` before IEND.
fn png_with(img: &image::DynamicImage, chunks: &[Vec<u8>], late: &[Vec<u8>]) -> Vec<u8> {
    let mut plain = Vec::new();
    img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut plain))
        .unwrap();
    let after_ihdr = 8 + 12 + 13;
    let iend = plain.len() - 12;
    let mut out = plain[..after_ihdr].to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&plain[after_ihdr..iend]);
    for c in late {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&plain[iend..]);
    out
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = kind.to_vec();
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// A lossless WebP from the image crate made an extended one (VP8X) with ICC, EXIF and XMP
/// chunks, their flags set.
fn webp_with_metadata(w: u32, h: u32, marker: &str) -> Vec<u8> {
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(picture(w, h))
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut plain))
        .unwrap();
    assert_eq!(
        &plain[12..16],
        b"VP8L",
        "the image crate writes a simple lossless WebP"
    );
    let mut vp8x = vec![0x20 | 0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ICCP", &icc_profile(&format!("{marker}-icc"))));
    body.extend_from_slice(&plain[12..]);
    body.extend(riff_chunk(
        b"EXIF",
        &exif_tiff(&format!("{marker}-exif"), 1),
    ));
    body.extend(riff_chunk(b"XMP ", &xmp_packet(&format!("{marker}-xmp"))));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// One photo of the corpus: its bytes, the strings put in it, the tags exiftool must find in it
/// as sent (so the reader is shown to see what is checked), and the picture's size once upright.
struct Photo {
    name: &'static str,
    bytes: Vec<u8>,
    mime: &'static str,
    markers: Vec<String>,
    seen_before: Vec<&'static str>,
    upright: (u32, u32),
}

fn corpus() -> Vec<Photo> {
    let mut photos = Vec::new();

    // A baseline JPEG with everything before its scan, turned (orientation 6), and trailing data.
    let m = |s: &str| format!("CAIRNMARK-baseline-{s}");
    let plain = baseline_jpeg(64, 40);
    let mut j = plain[..2].to_vec();
    j.extend(segment(0xE1, &exif_app1(&m("exif"), 6)));
    j.extend(segment(0xE1, &xmp_app1(&m("xmp"))));
    j.extend(segment(0xE2, &icc_app2(&m("icc"))));
    j.extend(segment(0xFE, m("comment").as_bytes()));
    j.extend_from_slice(&plain[2..]);
    j.extend_from_slice(m("trailer").as_bytes());
    photos.push(Photo {
        name: "baseline JPEG",
        bytes: j,
        mime: "image/jpeg",
        markers: ["exif", "xmp", "icc", "comment", "trailer"].map(m).to_vec(),
        seen_before: vec![
            "EXIF:GPSLatitude",
            "EXIF:GPSLongitude",
            "EXIF:Artist",
            "EXIF:Orientation",
            "XMP:Creator",
            "ICC_Profile:ProfileClass",
            "ICC_Profile:ProfileDescription",
            "File:Comment",
        ],
        upright: (40, 64),
    });

    // A progressive JPEG: EXIF (with GPS) and a comment after the first scan, an XMP block
    // before it, and EXIF and a comment again between later scans.
    let m = |s: &str| format!("CAIRNMARK-progressive-{s}");
    let plain = progressive_jpeg(48, 32);
    let cut = after_first_scan(&plain);
    assert!(
        plain[cut] == 0xFF && plain[cut + 1] != 0xD9,
        "another scan follows the first"
    );
    let mut j = plain[..2].to_vec();
    j.extend(segment(0xE1, &xmp_app1(&m("xmp"))));
    j.extend_from_slice(&plain[2..cut]);
    j.extend(segment(0xE1, &exif_app1(&m("exif"), 1)));
    j.extend(segment(0xFE, m("comment").as_bytes()));
    let rest = &plain[cut..];
    let cut2 = rest.len() - 2;
    let later = rest[..cut2]
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .unwrap();
    j.extend_from_slice(&rest[..later]);
    j.extend(segment(0xE1, &exif_app1(&m("exif-late"), 1)));
    j.extend(segment(0xFE, m("comment-late").as_bytes()));
    j.extend_from_slice(&rest[later..]);
    photos.push(Photo {
        name: "progressive JPEG",
        bytes: j,
        mime: "image/jpeg",
        markers: ["xmp", "exif", "comment", "exif-late", "comment-late"]
            .map(m)
            .to_vec(),
        seen_before: vec!["XMP:Creator"],
        upright: (48, 32),
    });

    // A PNG with every text chunk, eXIf with GPS, an ICC profile and data after IEND.
    let m = |s: &str| format!("CAIRNMARK-png-{s}");
    let text = |kw: &str, s: String| {
        let mut d = kw.as_bytes().to_vec();
        d.push(0);
        d.extend(s.into_bytes());
        d
    };
    let mut ztxt = b"Author\0\0".to_vec();
    ztxt.extend(zlib_stored(m("ztxt").as_bytes()));
    let mut itxt = b"Description\0\0\0en\0Description\0".to_vec();
    itxt.extend_from_slice(m("itxt").as_bytes());
    let mut iccp = b"phone\0\0".to_vec();
    iccp.extend(zlib_stored(&icc_profile(&m("icc"))));
    let img =
        image::DynamicImage::ImageRgba8(image::DynamicImage::ImageRgb8(picture(30, 20)).to_rgba8());
    let mut p = png_with(
        &img,
        &[png_chunk(b"iCCP", &iccp)],
        &[
            png_chunk(b"tEXt", &text("Comment", m("text"))),
            png_chunk(b"zTXt", &ztxt),
            png_chunk(b"iTXt", &itxt),
            png_chunk(b"eXIf", &exif_tiff(&m("exif"), 1)),
            png_chunk(b"tIME", &[0x07, 0xEA, 12, 7, 13, 30, 0]),
        ],
    );
    p.extend_from_slice(m("trailer").as_bytes());
    photos.push(Photo {
        name: "PNG",
        bytes: p,
        mime: "image/png",
        markers: ["ztxt", "itxt", "icc", "text", "exif", "trailer"]
            .map(m)
            .to_vec(),
        seen_before: vec![
            "PNG:Comment",
            "PNG:Author",
            "PNG:Description-en",
            "EXIF:GPSLatitude",
            "ICC_Profile:ProfileDescription",
            "PNG:ModifyDate",
        ],
        upright: (30, 20),
    });

    // A 16-bit greyscale PNG with a text chunk: its depth survives, its text does not.
    let m16 = "CAIRNMARK-png16-text".to_string();
    let grey = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(16, 12, |x, y| {
        image::Luma([(x * 4000 + y * 100) as u16])
    }));
    photos.push(Photo {
        name: "16-bit PNG",
        bytes: png_with(
            &grey,
            &[png_chunk(b"tEXt", &text("Title", m16.clone()))],
            &[],
        ),
        mime: "image/png",
        markers: vec![m16],
        seen_before: vec!["PNG:Title"],
        upright: (16, 12),
    });

    // A WebP with ICC, EXIF and XMP chunks.
    let marker = "CAIRNMARK-webp";
    photos.push(Photo {
        name: "WebP",
        bytes: webp_with_metadata(36, 22, marker),
        mime: "image/webp",
        markers: ["icc", "exif", "xmp"]
            .map(|s| format!("{marker}-{s}"))
            .to_vec(),
        seen_before: vec![
            "EXIF:GPSLatitude",
            "XMP:Creator",
            "ICC_Profile:ProfileDescription",
        ],
        upright: (36, 22),
    });
    photos
}

// ---------------------------------------------------------------------------------------------
// The independent reader.

/// exiftool's `-j -G -a` reading of a file: its one object.
fn exiftool(path: &Path) -> serde_json::Map<String, Value> {
    let out = Command::new("exiftool")
        .args(["-j", "-G", "-a"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("exiftool could not be run ({e}); scripts/test installs libimage-exiftool-perl")
        });
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "exiftool printed no JSON ({e}): {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v[0].as_object().cloned().expect("one file read")
}

/// The tags a picture's structure alone gives, by group: anything else exiftool finds in a
/// stored photo is metadata that should have gone.
const STRUCTURE: &[(&str, &[&str])] = &[
    ("ExifTool", &["ExifToolVersion"]),
    (
        "File",
        &[
            "FileName",
            "Directory",
            "FileSize",
            "FileModifyDate",
            "FileAccessDate",
            "FileInodeChangeDate",
            "FilePermissions",
            "FileType",
            "FileTypeExtension",
            "MIMEType",
            "ImageWidth",
            "ImageHeight",
            "EncodingProcess",
            "BitsPerSample",
            "ColorComponents",
            "YCbCrSubSampling",
        ],
    ),
    (
        "JFIF",
        &[
            "JFIFVersion",
            "ResolutionUnit",
            "XResolution",
            "YResolution",
        ],
    ),
    (
        "PNG",
        &[
            "ImageWidth",
            "ImageHeight",
            "BitDepth",
            "ColorType",
            "Compression",
            "Filter",
            "Interlace",
        ],
    ),
    (
        "RIFF",
        &[
            "ImageWidth",
            "ImageHeight",
            "HorizontalScale",
            "VerticalScale",
            "AlphaIsUsed",
            "WebP_Flags",
        ],
    ),
    ("Composite", &["ImageSize", "Megapixels"]),
];

fn leftover_metadata(tags: &serde_json::Map<String, Value>) -> Vec<String> {
    tags.iter()
        .filter(|(k, _)| k.as_str() != "SourceFile")
        .filter(|(k, _)| {
            let (group, name) = k.split_once(':').unwrap_or(("", k));
            !STRUCTURE
                .iter()
                .any(|(g, names)| *g == group && names.contains(&name))
        })
        .map(|(k, v)| format!("{k} = {v}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The service.

struct Desk {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    server: Server,
    officer: String,
}

fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let out = cairn(&db).arg("init").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cairn(&db)
        .args(["token", "create", "--name", "Olena", "--role", "officer"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let officer = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    let server = Server::start(&db, None);
    Desk {
        _dir: dir,
        db,
        server,
        officer,
    }
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn submit(d: &Desk, photo: &[u8]) -> (u16, String) {
    let body = json!({
        "lon": 36.23, "lat": 49.99, "category": "mine",
        "photo": format!("data:image/jpeg;base64,{}", b64(photo)),
    });
    http(
        &d.server.addr,
        "POST",
        "/api/reports",
        None,
        &body.to_string(),
    )
}

fn stored_reports(d: &Desk) -> u64 {
    let (status, text) = http(
        &d.server.addr,
        "GET",
        "/api/reports?state=all",
        Some(&d.officer),
        "",
    );
    assert_eq!(status, 200, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["total"]
        .as_u64()
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_photo_comes_out_with_nothing_but_its_pixels() {
    let d = desk();
    let dir = tempfile::tempdir().unwrap();
    for photo in corpus() {
        let name = photo.name;
        // The reader sees what was put in (else the check below would prove nothing).
        let sent = dir.path().join(format!("sent-{}", name.replace(' ', "-")));
        std::fs::write(&sent, &photo.bytes).unwrap();
        let before = exiftool(&sent);
        for tag in &photo.seen_before {
            assert!(
                before.contains_key(*tag),
                "{name}: exiftool does not see {tag} in the photo as sent: {before:?}"
            );
        }
        for m in &photo.markers {
            assert!(
                contains(&photo.bytes, m.as_bytes()),
                "{name}: {m} was put in"
            );
        }
        if name == "progressive JPEG" {
            let how = before["File:EncodingProcess"].as_str().unwrap_or_default();
            assert!(how.starts_with("Progressive"), "{name}: {how}");
        }

        let (status, text) = submit(&d, &photo.bytes);
        assert_eq!(status, 201, "{name}: {text}");
        let reference = serde_json::from_str::<Value>(&text).unwrap()["reference"]
            .as_str()
            .unwrap()
            .to_string();
        let auth = format!("Bearer {}", d.officer);
        let (status, head, stored) = request_bytes(
            &d.server.addr,
            "GET",
            &format!("/api/reports/{reference}/photo"),
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(status, 200, "{name}: {head}");
        assert_eq!(
            common::server::header(&head, "content-type").as_deref(),
            Some(photo.mime),
            "{name}: stored as the kind sent"
        );

        // Not one string put in survives, anywhere in the bytes.
        for m in &photo.markers {
            assert!(!contains(&stored, m.as_bytes()), "{name}: {m} survived");
        }
        // exiftool finds nothing but the picture's structure: no GPS, EXIF, XMP, ICC, comment,
        // text, and no warning (trailing data, a broken structure).
        let path = dir
            .path()
            .join(format!("stored-{}", name.replace(' ', "-")));
        std::fs::write(&path, &stored).unwrap();
        let after = exiftool(&path);
        let left = leftover_metadata(&after);
        assert!(left.is_empty(), "{name}: exiftool still finds {left:#?}");
        for k in after.keys().filter(|k| *k != "ExifTool:ExifToolVersion") {
            for word in ["GPS", "EXIF", "XMP", "ICC", "Comment", "Warning", "Trailer"] {
                assert!(
                    !k.to_ascii_uppercase().contains(&word.to_ascii_uppercase()),
                    "{name}: {k}"
                );
            }
        }
        // Nothing after the picture's end.
        match photo.mime {
            "image/jpeg" => assert!(stored.ends_with(&[0xFF, 0xD9]), "{name}"),
            "image/png" => assert!(stored.ends_with(&png_chunk(b"IEND", &[])), "{name}"),
            _ => assert_eq!(
                u32::from_le_bytes(stored[4..8].try_into().unwrap()) as usize,
                stored.len() - 8,
                "{name}: the RIFF size is the file's"
            ),
        }
        // The picture itself survives, upright: same size, the dark corner where the phone
        // showed it, the pixels close to those sent (exact for PNG and lossless WebP).
        let sent_img = image::load_from_memory(&photo.bytes).unwrap();
        let got = image::load_from_memory(&stored).unwrap();
        assert_eq!((got.width(), got.height()), photo.upright, "{name}");
        let g = got.to_rgb8();
        let (w, h) = photo.upright;
        let dark = |x: u32, y: u32| g.get_pixel(x, y).0.iter().all(|&c| c < 60);
        if photo.name == "baseline JPEG" {
            // Orientation 6: the stored rows ran down the right side of the upright picture.
            assert!(dark(w - 2, 1) && !dark(1, 1), "{name}: turned clockwise");
        } else if photo.name != "16-bit PNG" {
            assert!(dark(1, 1) && !dark(w - 2, h - 2), "{name}");
        }
        if photo.mime != "image/jpeg" {
            assert_eq!(
                got.color(),
                sent_img.color(),
                "{name}: depth and channels kept"
            );
            assert_eq!(got.as_bytes(), sent_img.as_bytes(), "{name}: lossless");
        } else if photo.name == "progressive JPEG" {
            let s = sent_img.to_rgb8();
            let worst = s
                .as_raw()
                .iter()
                .zip(g.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(
                worst < 60,
                "{name}: re-encoded close to the original, worst {worst}"
            );
        }
    }
    assert_eq!(stored_reports(&d), 5);
}

/// A picture that cannot be decoded, or is too large in pixels for a small file, is refused
/// naming `photo` (422 or 413), and nothing of the report is stored.
#[test]
fn a_photo_that_cannot_be_cleaned_is_refused_and_nothing_is_stored() {
    let d = desk();
    let jpeg = baseline_jpeg(64, 40);
    let progressive = progressive_jpeg(64, 40);
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(picture(64, 40))
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut png))
        .unwrap();
    let mut webp = Vec::new();
    image::DynamicImage::ImageRgb8(picture(64, 40))
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut webp))
        .unwrap();
    let mut bad_crc = png.clone();
    let idat = bad_crc.windows(4).position(|w| w == b"IDAT").unwrap();
    bad_crc[idat + 6] ^= 0x55;
    let mut huge = Vec::new();
    image::GrayImage::new(5000, 5000)
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut huge))
        .unwrap();
    let mut wide = Vec::new();
    image::GrayImage::new(9000, 4)
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut wide))
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "JPEG cut in its tables",
            jpeg[..120].to_vec(),
            422,
            "photo: the image/jpeg file is damaged",
        ),
        (
            "JPEG with no scan",
            {
                let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
                let mut j = jpeg[..sos].to_vec();
                j.extend_from_slice(&[0xFF, 0xD9]);
                j
            },
            422,
            "photo: the image/jpeg file is damaged",
        ),
        (
            "progressive JPEG cut in its tables",
            progressive[..100].to_vec(),
            422,
            "photo: the image/jpeg file is damaged",
        ),
        (
            "PNG cut in its data",
            png[..png.len() / 2].to_vec(),
            422,
            "photo: the image/png file is damaged",
        ),
        (
            "PNG with a broken checksum",
            bad_crc,
            422,
            "photo: the image/png file is damaged",
        ),
        (
            "WebP cut in its picture",
            webp[..webp.len() / 2].to_vec(),
            422,
            "photo: the image/webp file is damaged",
        ),
        (
            "a GIF",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            422,
            "photo is not a JPEG, PNG or WebP image",
        ),
        ("25 megapixels", huge, 413, "photo is 5000 × 5000 pixels"),
        (
            "9,000 pixels wide",
            wide,
            413,
            "photo is more than 8192 pixels wide or tall",
        ),
    ];
    for (name, bytes, want, detail) in cases {
        let (status, text) = submit(&d, &bytes);
        assert_eq!(status, want, "{name}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: {text}"));
        let got = v["detail"].as_str().unwrap();
        assert!(got.starts_with(detail), "{name}: {got}");
        assert_eq!(v["status"], want, "{name}");
    }
    assert_eq!(
        stored_reports(&d),
        0,
        "nothing of a refused report is stored"
    );
    drop(d.server);
    let out = cairn(&d.db)
        .args(["reports", "list", "--state", "all", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["total"], 0, "the store holds no report");
}
