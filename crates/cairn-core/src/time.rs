//! Times given by people: RFC 3339 instants, or a date alone read the cautious way for its use.
//!
//! A date alone names a whole day, so which instant it stands for depends on what the time is
//! for. Every place Cairn reads a time from a person goes through `parse_instant` with the
//! reading its use needs:
//!
//! - `Cautious::Earliest` for "at" and "as of" times (`--at`, `--as-of`, `?at=`) and for the
//!   earliest possible emplacement (`emplaced_from`): the first moment of the day, so that a state
//!   "as of 2026-12-01" shows nothing recorded later that day, and an emplacement range is as wide
//!   as the date allows.
//! - `Cautious::Latest` for the latest possible emplacement (`emplaced_to`): the last microsecond of
//!   the day. The residual-hazard model ages devices from the latest possible emplacement, so the
//!   latest reading of the day makes them younger and the estimate higher: the conservative one.
//! - `Cautious::Exact` where a date alone is not precise enough and is refused.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::Timestamp;

/// How to read a date given without a time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cautious {
    /// Only a full RFC 3339 time is accepted.
    Exact,
    /// A date means its first moment, 00:00:00Z.
    Earliest,
    /// A date means its last moment, 23:59:59.999999Z.
    Latest,
}

/// Parses an RFC 3339 time, or (unless `Exact`) a date `YYYY-MM-DD` read as `how` says. The
/// error is a phrase naming the text at fault, for the caller to prefix with the field's name.
pub fn parse_instant(s: &str, how: Cautious) -> Result<Timestamp, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if how != Cautious::Exact
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return Ok(match how {
            Cautious::Latest => {
                start_of_day(d) + chrono::Duration::days(1) - chrono::Duration::microseconds(1)
            }
            _ => start_of_day(d),
        });
    }
    Err(if how == Cautious::Exact {
        format!("{s:?} is not a time in RFC 3339 form such as \"2026-10-01T08:00:00Z\"")
    } else {
        format!(
            "{s:?} is not a time in RFC 3339 form such as \"2026-10-01T08:00:00Z\" (or a date \"2026-10-01\")"
        )
    })
}

fn start_of_day(d: NaiveDate) -> Timestamp {
    d.and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_date_alone_is_read_the_cautious_way_for_its_use() {
        assert_eq!(
            parse_instant("2026-12-01", Cautious::Earliest).unwrap(),
            t("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2026-12-01", Cautious::Latest).unwrap(),
            t("2026-12-01T23:59:59.999999Z")
        );
        // The latest moment is still that day, and the next microsecond is the next day.
        let latest = parse_instant("2026-12-31", Cautious::Latest).unwrap();
        assert_eq!(latest.date_naive().to_string(), "2026-12-31");
        assert_eq!(
            (latest + chrono::Duration::microseconds(1)).to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        let e = parse_instant("2026-12-01", Cautious::Exact).unwrap_err();
        assert!(
            e.contains("\"2026-12-01\"") && e.contains("RFC 3339"),
            "{e}"
        );
    }

    #[test]
    fn full_times_are_exact_whatever_the_reading() {
        for how in [Cautious::Exact, Cautious::Earliest, Cautious::Latest] {
            assert_eq!(
                parse_instant("2026-12-01T10:30:00+02:00", how).unwrap(),
                t("2026-12-01T08:30:00Z")
            );
        }
    }

    #[test]
    fn bad_times_are_refused_naming_the_text() {
        for s in [
            "",
            "2026-13-01",
            "2026-02-30",
            "yesterday",
            "2026-12-01 10:00",
        ] {
            let e = parse_instant(s, Cautious::Earliest).unwrap_err();
            assert!(e.contains(&format!("{s:?}")), "{e}");
        }
    }
}
