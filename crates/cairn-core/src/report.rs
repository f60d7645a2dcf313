//! Reports of suspicious objects from the public: what may be reported, the limits that keep a
//! report small and anonymous, reference numbers a reporter can quote, photos sniffed and stripped
//! of their metadata, and the reported area an information officer opens from a report. No I/O.

use std::collections::BTreeMap;

use geo_types::Point;

use crate::area::{
    AreaProperties, Classification, Evidence, EvidenceKind, HazardArea, Shape, Status, Timestamp,
    WireEnum,
};

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The largest GPS accuracy accepted, in metres (as for place checks).
pub const MAX_ACCURACY_M: f64 = 10_000.0;
/// The smallest radius of an area opened from a report, in metres.
pub const MIN_OPENED_RADIUS_M: f64 = 50.0;
/// The longest dismissal reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// What the reporter saw: a short fixed list a person can choose from on a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportCategory {
    Mine,
    ShellOrBomb,
    RocketOrMissile,
    ClusterSubmunition,
    Grenade,
    Tripwire,
    UnknownObject,
}

impl WireEnum for ReportCategory {
    const ALL: &'static [(ReportCategory, &'static str)] = &[
        (ReportCategory::Mine, "mine"),
        (ReportCategory::ShellOrBomb, "shell-or-bomb"),
        (ReportCategory::RocketOrMissile, "rocket-or-missile"),
        (ReportCategory::ClusterSubmunition, "cluster-submunition"),
        (ReportCategory::Grenade, "grenade"),
        (ReportCategory::Tripwire, "tripwire"),
        (ReportCategory::UnknownObject, "unknown-object"),
    ];
}

/// Where a report stands in triage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportState {
    /// Not yet triaged: in the queue.
    New,
    /// Linked to an existing hazardous area.
    Linked,
    /// A new `reported` area was opened from it.
    Opened,
    /// Dismissed with a reason.
    Dismissed,
}

impl WireEnum for ReportState {
    const ALL: &'static [(ReportState, &'static str)] = &[
        (ReportState::New, "new"),
        (ReportState::Linked, "linked"),
        (ReportState::Opened, "opened"),
        (ReportState::Dismissed, "dismissed"),
    ];
}

/// Checks a free-text description: at most [`MAX_DESCRIPTION_CHARS`] characters and no control
/// characters but line breaks and tabs. Returns the text trimmed.
pub fn check_text(text: &str, max_chars: usize) -> Result<String, String> {
    let t = text.trim();
    let n = t.chars().count();
    if n > max_chars {
        return Err(format!("must be at most {max_chars} characters, not {n}"));
    }
    if let Some(c) = t
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    Ok(t.to_string())
}

// ---------------------------------------------------------------------------------------------
// Reference numbers.

/// The characters of a reference: digits and capitals without 0, 1, I, L, O and U, so a
/// reference read over a bad phone line cannot be mistaken for another spelling.
pub const REFERENCE_ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Makes a reference `R-XXXX-XXXX` from seven random values (each taken modulo 30) and a check
/// character chosen so that the weighted sum of all eight (weights 1 to 8) is a multiple of 31.
/// Since 31 is prime, any one wrong character and any swap of two neighbours is caught. About one
/// draw in 31 would need a 31st character; then there is no reference and the caller draws again.
pub fn make_reference(random: [u8; 7]) -> Option<String> {
    let mut digits = [0usize; 8];
    for (d, r) in digits.iter_mut().zip(random) {
        *d = r as usize % 30;
    }
    digits[7] = check_digit(&digits[..7])?;
    let c = |i: usize| REFERENCE_ALPHABET[digits[i]] as char;
    Some(format!(
        "R-{}{}{}{}-{}{}{}{}",
        c(0),
        c(1),
        c(2),
        c(3),
        c(4),
        c(5),
        c(6),
        c(7)
    ))
}

/// The check value `d8` with `sum((i + 1) * d[i]) + 8 * d8 = 0 (mod 31)`, if it is one of the 30.
fn check_digit(d: &[usize]) -> Option<usize> {
    let s: usize = d.iter().enumerate().map(|(i, v)| (i + 1) * v).sum();
    // 4 is the inverse of 8 modulo 31.
    let c = (31 - s % 31) * 4 % 31;
    (c < 30).then_some(c)
}

/// Reads a reference as a person might type it (any case, with or without `R-`, dashes and
/// spaces) and returns it in its canonical form `R-XXXX-XXXX`, or says what is wrong with it.
pub fn parse_reference(s: &str) -> Result<String, String> {
    let upper: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    let body = upper.strip_prefix('R').unwrap_or(&upper);
    if body.len() != 8 {
        return Err(format!(
            "{s:?} is not a report reference such as R-7K3Q-9XPM"
        ));
    }
    let mut digits = [0usize; 8];
    for (i, b) in body.bytes().enumerate() {
        digits[i] = REFERENCE_ALPHABET
            .iter()
            .position(|&a| a == b)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a report reference: {:?} is not used in references",
                    b as char
                )
            })?;
    }
    if check_digit(&digits[..7]) != Some(digits[7]) {
        return Err(format!(
            "{s:?} is not a report reference: a character is wrong (the check character does not match)"
        ));
    }
    Ok(format!("R-{}-{}", &body[..4], &body[4..]))
}

// ---------------------------------------------------------------------------------------------
// Photos.

/// The kinds of photo accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoType {
    Jpeg,
    Png,
    Webp,
}

impl PhotoType {
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "image/jpeg",
            PhotoType::Png => "image/png",
            PhotoType::Webp => "image/webp",
        }
    }

    /// The kind for a stored media type.
    pub fn from_mime(s: &str) -> Option<PhotoType> {
        [PhotoType::Jpeg, PhotoType::Png, PhotoType::Webp]
            .into_iter()
            .find(|t| t.mime() == s)
    }
}

/// Tells a JPEG, PNG or WebP image from its first bytes; anything else is refused.
pub fn sniff_photo(bytes: &[u8]) -> Option<PhotoType> {
    if bytes.len() >= 4 && bytes[..3] == [0xFF, 0xD8, 0xFF] {
        Some(PhotoType::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PhotoType::Png)
    } else if bytes.len() >= 16 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(PhotoType::Webp)
    } else {
        None
    }
}

/// Removes the metadata a phone writes into a photo (EXIF with the camera's serial number and
/// the owner's name, GPS tags, XMP, comments), keeping the picture. A reporter stays anonymous
/// even when their phone would have said who they are. Returns `None` when the file's structure
/// is broken (it is then refused rather than stored with its metadata).
pub fn strip_photo_metadata(kind: PhotoType, bytes: &[u8]) -> Option<Vec<u8>> {
    // Bytes too short for their kind's signature (or of another kind) are refused here, before
    // the strippers slice the signature off.
    if sniff_photo(bytes) != Some(kind) {
        return None;
    }
    match kind {
        PhotoType::Jpeg => strip_jpeg(bytes),
        PhotoType::Png => strip_png(bytes),
        PhotoType::Webp => strip_webp(bytes),
    }
}

/// JPEG: drops APP1..APP15 (EXIF, XMP, ICC is APP2 but a missing profile only shifts colours a
/// little) and COM segments before the image data; APP0 (JFIF) stays.
fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        // Fill bytes 0xFF may precede a marker.
        while i < b.len() && b[i] == 0xFF && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 1 >= b.len() || b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        match marker {
            // Start of scan: the rest is image data, kept as it is.
            0xDA => {
                out.extend_from_slice(&b[i..]);
                return Some(out);
            }
            // End of image without a scan, or markers with no length.
            0xD9 => return None,
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
            }
            _ => {
                let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
                if len < 2 || i + 2 + len > b.len() {
                    return None;
                }
                let drop = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
                if !drop {
                    out.extend_from_slice(&b[i..i + 2 + len]);
                }
                i += 2 + len;
            }
        }
    }
}

/// PNG: drops text chunks (tEXt, zTXt, iTXt), eXIf and tIME; keeps every other chunk.
fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8]);
    let mut i = 8;
    let mut ended = false;
    while i < b.len() {
        let len = u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            ended = true;
            break;
        }
    }
    ended.then_some(out)
}

/// WebP: drops the EXIF and XMP chunks, clears their flags in VP8X and fixes the RIFF size.
fn strip_webp(b: &[u8]) -> Option<Vec<u8>> {
    let riff_len = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    let total = riff_len.checked_add(8)?.min(b.len());
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&b[..12]);
    let mut i = 12;
    while i + 8 <= total {
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        let padded = len + (len & 1);
        let end = i.checked_add(8)?.checked_add(padded)?;
        if end > total {
            return None;
        }
        let kind = &b[i..i + 4];
        if kind != b"EXIF" && kind != b"XMP " {
            let at = out.len();
            out.extend_from_slice(&b[i..end]);
            if kind == b"VP8X" && len >= 1 {
                // Flags: bit 3 EXIF, bit 2 XMP.
                out[at + 8] &= !0b0000_1100;
            }
        }
        i = end;
    }
    if i != total {
        return None;
    }
    let size = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// The reported area opened from a report.

/// What a report says, as far as opening an area from it needs.
#[derive(Clone, Debug)]
pub struct ReportFacts<'a> {
    pub reference: &'a str,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub category: ReportCategory,
    pub description: &'a str,
    pub received_at: Timestamp,
}

/// The hazardous area an information officer opens from a report: status `reported` (an
/// unverified indication, never shown to the public), a spot around the reported place as large
/// as the reporter's GPS accuracy and at least [`MIN_OPENED_RADIUS_M`], classified restricted
/// (the reporter's words are not for publication), with indirect evidence naming the report.
pub fn reported_area(id: String, r: &ReportFacts<'_>) -> HazardArea {
    let radius_m = r.accuracy_m.unwrap_or(0.0).max(MIN_OPENED_RADIUS_M);
    let what = r.category.as_str();
    let description = if r.description.is_empty() {
        format!("public report {}: {what}", r.reference)
    } else {
        format!("public report {}: {what}: {}", r.reference, r.description)
    };
    let mut extra = BTreeMap::new();
    extra.insert(
        "report".to_string(),
        serde_json::Value::from(r.reference.to_string()),
    );
    HazardArea {
        id,
        shape: Shape::Spot {
            at: Point::new(r.lon, r.lat),
            radius_m,
        },
        props: AreaProperties {
            name: Some(format!("Report {} ({what})", r.reference)),
            status: Status::Reported,
            classification: Classification::Restricted,
            evidence: Some(Evidence {
                kind: EvidenceKind::Indirect,
                description: Some(description),
                source: Some(format!("public report {}", r.reference)),
            }),
            devices: Vec::new(),
            reference_points: Vec::new(),
            marking: None,
            organisation: None,
            reported_at: Some(r.received_at),
            emplacement: None,
            extra,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_catch_typos() {
        for seed in 0u8..200 {
            let r: [u8; 7] =
                std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 17));
            let Some(s) = make_reference(r) else { continue };
            assert_eq!(s.len(), 11);
            assert!(s.starts_with("R-") && &s[6..7] == "-", "{s}");
            assert_eq!(parse_reference(&s).as_deref(), Ok(s.as_str()));
            assert_eq!(
                parse_reference(&s.to_lowercase().replace('-', "")).as_deref(),
                Ok(s.as_str())
            );
            // Any single wrong character is caught.
            let chars: Vec<char> = s.chars().collect();
            for pos in [2, 3, 4, 5, 7, 8, 9, 10] {
                for &a in REFERENCE_ALPHABET.iter() {
                    if a as char == chars[pos] {
                        continue;
                    }
                    let mut t = chars.clone();
                    t[pos] = a as char;
                    let t: String = t.into_iter().collect();
                    assert!(parse_reference(&t).is_err(), "{t} (from {s}) passed");
                }
            }
            // Any swap of two different neighbours is caught.
            let body: Vec<char> = s.chars().filter(|c| *c != '-').skip(1).collect();
            for i in 0..7 {
                if body[i] != body[i + 1] {
                    let mut t = body.clone();
                    t.swap(i, i + 1);
                    let t: String = t.into_iter().collect();
                    assert!(parse_reference(&t).is_err(), "{t} (from {s}) passed");
                }
            }
        }
        assert!(parse_reference("R-0000-0000").is_err());
        assert!(parse_reference("R-7K3Q").is_err());
        assert!(parse_reference("HA-000001").is_err());
    }

    #[test]
    fn photos_are_sniffed_and_stripped() {
        assert_eq!(sniff_photo(b"GIF89a......"), None);
        assert_eq!(sniff_photo(b"<svg></svg>"), None);
        // A JPEG with an EXIF segment and a comment before the scan.
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0, 6, b'J', b'F', b'I', b'F']);
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0, 8, b'E', b'x', b'i', b'f', 0, 0]);
        jpeg.extend_from_slice(&[0xFF, 0xFE, 0, 5, b'B', b'o', b'b']);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]);
        assert_eq!(sniff_photo(&jpeg), Some(PhotoType::Jpeg));
        let clean = strip_photo_metadata(PhotoType::Jpeg, &jpeg).unwrap();
        assert!(!clean.windows(4).any(|w| w == b"Exif"));
        assert!(!clean.windows(3).any(|w| w == b"Bob"));
        assert!(clean.windows(4).any(|w| w == b"JFIF"));
        assert!(clean.ends_with(&[1, 2, 3, 0xFF, 0xD9]));
        assert_eq!(strip_photo_metadata(PhotoType::Jpeg, &jpeg[..9]), None);
        // A PNG with a text chunk.
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"tEXt", b"Author\0Bob"));
        png.extend(chunk(b"IDAT", &[1, 2, 3]));
        png.extend(chunk(b"IEND", &[]));
        let clean = strip_photo_metadata(PhotoType::Png, &png).unwrap();
        assert!(!clean.windows(3).any(|w| w == b"Bob"));
        assert_eq!(clean.len(), png.len() - 12 - 10);
        assert_eq!(strip_photo_metadata(PhotoType::Png, &png[..30]), None);
        // A WebP with an EXIF chunk.
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(b"VP8X");
        body.extend_from_slice(&10u32.to_le_bytes());
        body.extend_from_slice(&[0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(b"EXIF");
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(b"Bob\0");
        body.extend_from_slice(b"VP8L");
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(&[9, 9]);
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
        webp.extend(body);
        assert_eq!(sniff_photo(&webp), Some(PhotoType::Webp));
        let clean = strip_photo_metadata(PhotoType::Webp, &webp).unwrap();
        assert!(!clean.windows(3).any(|w| w == b"Bob"));
        assert_eq!(clean[20], 0);
        assert_eq!(
            u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize,
            clean.len() - 8
        );
    }

    #[test]
    fn text_limits() {
        assert_eq!(check_text("  a mine  ", 10).as_deref(), Ok("a mine"));
        assert!(check_text(&"ж".repeat(11), 10).is_err());
        assert!(check_text(&"ж".repeat(10), 10).is_ok());
        assert!(check_text("a\u{0}b", 10).is_err());
        assert!(check_text("a\nb", 10).is_ok());
    }
}
