//! The languages of the documents people hold (the handover certificate, the transparency report,
//! the parcel extract): Ukrainian and English, with dates, numbers and the domain's words as each
//! writes them.

use chrono::{Datelike, NaiveDate};

use crate::area::{Status, Timestamp};
use crate::catalogue::Category;
use crate::release::{ActivityKind, DeviceAction, ReleaseMethod};

/// A language of Cairn's documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    Uk,
    #[default]
    En,
}

/// Genitive month names, as a Ukrainian date writes them ("7 грудня 2026 р.").
const UK_MONTHS_GEN: [&str; 12] = [
    "січня",
    "лютого",
    "березня",
    "квітня",
    "травня",
    "червня",
    "липня",
    "серпня",
    "вересня",
    "жовтня",
    "листопада",
    "грудня",
];

/// Short month names for chart axes and tables.
const UK_MONTHS_SHORT: [&str; 12] = [
    "січ", "лют", "бер", "кві", "тра", "чер", "лип", "сер", "вер", "жов", "лис", "гру",
];

impl Lang {
    /// The wire names, as a parameter gives them.
    pub const NAMES: &'static [&'static str] = &["uk", "en"];

    /// Parses `uk` or `en` (any case); the message lists the choices.
    pub fn parse(s: &str) -> Result<Lang, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "uk" | "uk-ua" => Ok(Lang::Uk),
            "en" | "en-gb" | "en-us" => Ok(Lang::En),
            other => Err(format!("{other:?} is not one of uk, en")),
        }
    }

    /// The language an `Accept-Language` header prefers among ours (by its q-values; ties keep
    /// the header's order), or `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").map(str::to_string))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "uk" => Lang::Uk,
                "en" => Lang::En,
                _ => continue,
            };
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|b| b.2)
    }

    /// `uk` or `en`: the `lang` attribute of a page.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Uk => "uk",
            Lang::En => "en",
        }
    }

    /// Picks the text of this language.
    pub fn pick<'a>(self, uk: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Uk => uk,
            Lang::En => en,
        }
    }

    /// A day: `2026-12-07` in English (ISO, as before), `7 грудня 2026 р.` in Ukrainian.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Lang::En => d.format("%Y-%m-%d").to_string(),
            Lang::Uk => format!(
                "{} {} {} р.",
                d.day(),
                UK_MONTHS_GEN[d.month0() as usize],
                d.year()
            ),
        }
    }

    /// A moment in UTC: `2026-12-07 21:45 UTC`, `7 грудня 2026 р., 21:45 UTC`.
    pub fn datetime(self, t: Timestamp) -> String {
        match self {
            Lang::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            Lang::Uk => format!("{}, {} UTC", self.date(t.date_naive()), t.format("%H:%M")),
        }
    }

    /// A month for charts and tables: `2026-03` in English, `бер 2026` in Ukrainian.
    pub fn month(self, year: i32, month: u32) -> String {
        match self {
            Lang::En => format!("{year}-{month:02}"),
            Lang::Uk => format!(
                "{} {year}",
                UK_MONTHS_SHORT[(month.clamp(1, 12) - 1) as usize]
            ),
        }
    }

    /// A decimal number with `places` decimals: a point in English, a comma in Ukrainian.
    pub fn decimal(self, v: f64, places: usize) -> String {
        let s = format!("{v:.places$}");
        match self {
            Lang::En => s,
            Lang::Uk => s.replace('.', ","),
        }
    }

    /// Square metres with thin thousands separators and hectares beside:
    /// `12 345 m² (1.2345 ha)`, `12 345 м² (1,2345 га)`.
    pub fn m2(self, m2: f64) -> String {
        let whole = thousands(m2.round().max(0.0) as u64);
        match self {
            Lang::En => format!("{whole} m² ({} ha)", self.decimal(m2 / 10_000.0, 4)),
            Lang::Uk => format!("{whole} м² ({} га)", self.decimal(m2 / 10_000.0, 4)),
        }
    }

    /// The status of an area, as a word for people.
    pub fn status(self, s: Status) -> &'static str {
        match (self, s) {
            (Lang::En, s) => crate::WireEnum::as_str(s),
            (Lang::Uk, Status::Reported) => "повідомлено, не обстежено",
            (Lang::Uk, Status::Suspected) => "підозрювана небезпечна територія",
            (Lang::Uk, Status::Confirmed) => "підтверджена небезпечна територія",
            (Lang::Uk, Status::Cancelled) => "скасовано (нетехнічне обстеження)",
            (Lang::Uk, Status::Reduced) => "зменшено (технічне обстеження)",
            (Lang::Uk, Status::Cleared) => "очищено",
            (Lang::Uk, Status::Closed) => "закрито",
        }
    }

    /// The release method, as a label for people.
    pub fn method(self, m: ReleaseMethod) -> &'static str {
        match (self, m) {
            (Lang::En, m) => m.label(),
            (Lang::Uk, ReleaseMethod::Cancel) => {
                "Скасовано за результатами нетехнічного обстеження"
            }
            (Lang::Uk, ReleaseMethod::Reduce) => "Зменшено за результатами технічного обстеження",
            (Lang::Uk, ReleaseMethod::Clear) => "Очищено (розмінування)",
        }
    }

    /// The kind of an activity, with the standard it follows.
    pub fn activity(self, k: ActivityKind) -> &'static str {
        match (self, k) {
            (Lang::En, k) => k.label(),
            (Lang::Uk, ActivityKind::NonTechnicalSurvey) => "Нетехнічне обстеження (IMAS 08.10)",
            (Lang::Uk, ActivityKind::TechnicalSurvey) => "Технічне обстеження (IMAS 08.20)",
            (Lang::Uk, ActivityKind::Clearance) => "Очищення (IMAS 09.10)",
            (Lang::Uk, ActivityKind::Marking) => "Позначення (IMAS 08.40)",
            (Lang::Uk, ActivityKind::RiskEducation) => "Інформування про ризики (IMAS 12.10)",
        }
    }

    /// What was done with a device.
    pub fn action(self, a: DeviceAction) -> &'static str {
        match (self, a) {
            (Lang::En, a) => crate::WireEnum::as_str(a),
            (Lang::Uk, DeviceAction::Found) => "виявлено",
            (Lang::Uk, DeviceAction::Destroyed) => "знищено",
        }
    }

    /// A broad category of explosive ordnance.
    pub fn category(self, c: Category) -> &'static str {
        match (self, c) {
            (Lang::En, c) => c.label(),
            (Lang::Uk, Category::ApMine) => "протипіхотна міна",
            (Lang::Uk, Category::AtMine) => "протитанкова міна",
            (Lang::Uk, Category::ClusterMunitionRemnant) => "залишки касетних боєприпасів",
            (Lang::Uk, Category::Uxo) => "боєприпаси, що не розірвалися",
            (Lang::Uk, Category::Ied) => "саморобний вибуховий пристрій",
            (Lang::Uk, Category::Other) => "інші вибухонебезпечні предмети",
        }
    }
}

/// A whole number with thin spaces between thousands.
pub fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut o = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            o.push('\u{202f}');
        }
        o.push(c);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accept_language_and_dates() {
        assert_eq!(Lang::parse("UK"), Ok(Lang::Uk));
        assert!(Lang::parse("de").unwrap_err().contains("uk, en"));
        assert_eq!(
            Lang::from_accept_language("de-DE,uk;q=0.8,en;q=0.5"),
            Some(Lang::Uk)
        );
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,uk;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("uk;q=0,en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("fr,de"), None);
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(Lang::Uk.date(d), "7 грудня 2026 р.");
        assert_eq!(Lang::En.date(d), "2026-12-07");
        assert_eq!(Lang::Uk.m2(12345.6), "12\u{202f}346 м² (1,2346 га)");
        assert_eq!(Lang::En.m2(12345.6), crate::certificate::format_m2(12345.6));
    }
}
