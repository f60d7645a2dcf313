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

/// Bounds on the work of cleaning one photo: a small file can describe a huge picture (a JPEG
/// of one colour compresses a thousandfold), so the picture's size is checked from its header
/// before any pixel is decoded, and the decoder's memory is capped as well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhotoLimits {
    /// The widest and the tallest picture accepted, in pixels.
    pub max_side: u32,
    /// The most pixels accepted (width × height).
    pub max_pixels: u64,
    /// The most memory the decoder may hold at once, in bytes.
    pub max_alloc: u64,
}

/// 8,192 pixels a side, 16.8 megapixels (4,096²: a 12 MP phone photo passes, redrawn or not)
/// and 192 MiB for the decoder (a 16 MP PNG of 16-bit RGBA is 128 MiB of pixels).
pub const PHOTO_LIMITS: PhotoLimits = PhotoLimits {
    max_side: 8192,
    max_pixels: 4096 * 4096,
    max_alloc: 192 << 20,
};

/// The quality at which a JPEG is written again (libjpeg's scale): no visible loss in a photo
/// of an object on the ground, about a third of the size of the camera's own file.
pub const JPEG_QUALITY: u8 = 90;

/// Why a photo could not be cleaned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Not a JPEG, PNG or WebP file, by its first bytes.
    #[error("photo is not a JPEG, PNG or WebP image")]
    NotAnImage,
    /// Larger than [`PhotoLimits`] allow; the message says by how much.
    #[error("photo {0}")]
    TooLarge(String),
    /// The decoder could not read it (damaged, truncated, or a variant it does not know).
    #[error("photo: the {kind} file is damaged or incomplete ({detail})")]
    Damaged { kind: &'static str, detail: String },
}

/// A photo made clean: its kind (as sent) and its new bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanPhoto {
    pub kind: PhotoType,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The one cleaner of photos from the public. The photo is decoded and written again, so that
/// nothing but its pixels survives: no EXIF (the camera's serial number, the owner's name, GPS),
/// XMP, ICC profile, comment, text chunk, thumbnail or data after the image's end, wherever in
/// the file it sat (a walker over segments misses what a progressive JPEG keeps after its first
/// scan; a decoder reads only what makes the picture). The EXIF orientation is applied to the
/// pixels first, so the picture stands as the phone showed it. A JPEG is written again as a
/// baseline JPEG at [`JPEG_QUALITY`], a PNG as a PNG (lossless, 8 or 16 bits as it came), a WebP
/// as a lossless WebP (its pixels exactly as decoded; only the first frame of an animation). A
/// missing ICC profile shifts colours a little (most phones write sRGB anyway). Anything that
/// cannot be decoded within `limits` is refused: nothing of it is ever stored.
pub fn clean_photo(bytes: &[u8], limits: &PhotoLimits) -> Result<CleanPhoto, PhotoError> {
    use image::{
        DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, metadata::Orientation,
    };
    let kind = sniff_photo(bytes).ok_or(PhotoError::NotAnImage)?;
    let damaged = |e: ImageError| PhotoError::Damaged {
        kind: kind.mime(),
        detail: e.to_string(),
    };
    let too_large = |limits: &PhotoLimits| {
        PhotoError::TooLarge(format!(
            "needs more than {} MiB to decode; send a smaller picture",
            limits.max_alloc >> 20
        ))
    };
    let format = match kind {
        PhotoType::Jpeg => ImageFormat::Jpeg,
        PhotoType::Png => ImageFormat::Png,
        PhotoType::Webp => ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut bounds = image::Limits::default();
    bounds.max_image_width = Some(limits.max_side);
    bounds.max_image_height = Some(limits.max_side);
    bounds.max_alloc = Some(limits.max_alloc);
    reader.limits(bounds);
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        // The header gave sides above the limit: the decoder stops before any pixel.
        ImageError::Limits(_) => PhotoError::TooLarge(format!(
            "is more than {} pixels wide or tall; send a smaller picture",
            limits.max_side
        )),
        e => damaged(e),
    })?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Damaged {
            kind: kind.mime(),
            detail: "it has no pixels".into(),
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(PhotoError::TooLarge(format!(
            "is {width} × {height} pixels ({:.1} megapixels) but may be at most {} pixels a side and {:.1} megapixels; send a smaller picture",
            pixels as f64 / 1e6,
            limits.max_side,
            limits.max_pixels as f64 / 1e6
        )));
    }
    // An orientation that cannot be read leaves the picture as it is stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => too_large(limits),
        e => damaged(e),
    })?;
    img.apply_orientation(orientation);
    let mut out = Vec::new();
    let written = match kind {
        PhotoType::Jpeg => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match img {
                DynamicImage::ImageLuma8(ref g) => g.write_with_encoder(enc),
                ref other => other.to_rgb8().write_with_encoder(enc),
            }
        }
        PhotoType::Png => {
            use image::codecs::png::{CompressionType, FilterType, PngEncoder};
            // Fast compression: the cost of a large PNG stays a fraction of its decoding.
            let enc =
                PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
            img.write_with_encoder(enc)
        }
        PhotoType::Webp => {
            let enc = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            match img {
                DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_) => img.write_with_encoder(enc),
                ref other if other.color().has_alpha() => other.to_rgba8().write_with_encoder(enc),
                ref other => other.to_rgb8().write_with_encoder(enc),
            }
        }
    };
    written.map_err(damaged)?;
    let (width, height) = (img.width(), img.height());
    Ok(CleanPhoto {
        kind,
        bytes: out,
        width,
        height,
    })
}

/// [`clean_photo`] under [`PHOTO_LIMITS`] for a photo already known to be of `kind`: its clean
/// bytes, or `None` when it is not of that kind or cannot be cleaned.
pub fn strip_photo_metadata(kind: PhotoType, bytes: &[u8]) -> Option<Vec<u8>> {
    clean_photo(bytes, &PHOTO_LIMITS)
        .ok()
        .filter(|c| c.kind == kind)
        .map(|c| c.bytes)
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

    /// A JPEG of `w` × `h` with segments put straight after its start-of-image marker.
    fn jpeg(w: u32, h: u32, segments: &[(u8, &[u8])]) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 9) as u8, (y * 5) as u8, 80]));
        let mut plain = Vec::new();
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut plain, 95,
        ))
        .unwrap();
        let mut out = plain[..2].to_vec();
        for (marker, data) in segments {
            out.extend_from_slice(&[0xFF, *marker]);
            out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&plain[2..]);
        out
    }

    /// An EXIF block (big-endian TIFF) with one tag: the orientation.
    fn exif_orientation(o: u16) -> Vec<u8> {
        let mut e = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        e.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
        e.extend_from_slice(&o.to_be_bytes());
        e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(b"Owner Bob Marker");
        e
    }

    #[test]
    fn photos_are_sniffed_and_cleaned() {
        assert_eq!(sniff_photo(b"GIF89a......"), None);
        assert_eq!(sniff_photo(b"<svg></svg>"), None);
        assert_eq!(
            clean_photo(b"GIF89a\x01\x00\x01\x00", &PHOTO_LIMITS),
            Err(PhotoError::NotAnImage)
        );
        // EXIF (orientation 6: turn 90° clockwise to show) and a comment are dropped, the
        // picture turned upright.
        let j = jpeg(
            40,
            24,
            &[(0xE1, &exif_orientation(6)), (0xFE, b"Bob was here")],
        );
        assert_eq!(sniff_photo(&j), Some(PhotoType::Jpeg));
        let c = clean_photo(&j, &PHOTO_LIMITS).unwrap();
        assert_eq!((c.kind, c.width, c.height), (PhotoType::Jpeg, 24, 40));
        for needle in [&b"Exif"[..], b"Bob", b"Marker"] {
            assert!(!c.bytes.windows(needle.len()).any(|w| w == needle));
        }
        let back = image::load_from_memory(&c.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (24, 40));
        assert_eq!(
            strip_photo_metadata(PhotoType::Jpeg, &j),
            Some(c.bytes.clone())
        );
        assert_eq!(strip_photo_metadata(PhotoType::Png, &j), None);
        // Damaged: cut in the headers, or no scan at all.
        for cut in [12, 40, 200] {
            assert!(
                matches!(
                    clean_photo(&j[..cut], &PHOTO_LIMITS),
                    Err(PhotoError::Damaged { .. })
                ),
                "cut at {cut}"
            );
        }
        // A PNG of more pixels than allowed is refused from its header, before decoding.
        for (w, h) in [(9000u32, 10u32), (5000, 5000)] {
            let mut png = Vec::new();
            image::GrayImage::new(w, h)
                .write_with_encoder(image::codecs::png::PngEncoder::new(&mut png))
                .unwrap();
            match clean_photo(&png, &PHOTO_LIMITS) {
                Err(PhotoError::TooLarge(m)) => assert!(m.contains("pixels"), "{m}"),
                other => panic!("{w} × {h}: {other:?}"),
            }
        }
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
