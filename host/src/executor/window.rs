//! When a step is live: an absolute window (`from_ms` .. `until_ms`) and, inside it,
//! hours of every day (10:00–12:00, or 22:00–02:00 across midnight) in the merchant's
//! time zone, which the host sets on the cart from the merchant's settings.

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: u16 = 24 * 60;
/// The time zone a cart is judged in when the host set none: China Standard Time, UTC+8.
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 8 * 60;

/// A half-open time window in milliseconds since the Unix epoch, optionally only some
/// hours of each day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub from_ms: Option<i64>,
    #[serde(default)]
    pub until_ms: Option<i64>,
    /// Live only these hours of each day, in the merchant's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Daily>,
}

/// Hours of a day: from `from_minute` (0 to 1439) up to, not including, `until_minute`
/// (1 to 1440), minutes after local midnight; an earlier `until_minute` runs across
/// midnight (22:00–02:00 is 1320 to 120).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, try_from = "DailyFields")]
pub struct Daily {
    #[schema(minimum = 0, maximum = 1439)]
    pub from_minute: u16,
    #[schema(minimum = 1, maximum = 1440)]
    pub until_minute: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyFields {
    from_minute: u16,
    until_minute: u16,
}

impl TryFrom<DailyFields> for Daily {
    type Error = String;

    fn try_from(d: DailyFields) -> Result<Daily, String> {
        if d.from_minute >= DAY_MINUTES || !(1..=DAY_MINUTES).contains(&d.until_minute) {
            return Err("daily hours: from_minute is 0 to 1439, until_minute 1 to 1440".into());
        }
        if d.from_minute == d.until_minute {
            return Err("daily hours: from_minute and until_minute are equal (an empty window; leave `daily` out for all day)".into());
        }
        Ok(Daily {
            from_minute: d.from_minute,
            until_minute: d.until_minute,
        })
    }
}

impl Daily {
    /// Whether local minute-of-day `minute` is inside these hours.
    fn contains(self, minute: u16) -> bool {
        let until = self.until_minute % DAY_MINUTES;
        if self.from_minute < self.until_minute {
            (self.from_minute..self.until_minute).contains(&minute)
        } else {
            minute >= self.from_minute || minute < until
        }
    }
}

impl Window {
    /// Whether time `t` (ms since the epoch) is inside, the day's hours judged at UTC
    /// offset `utc_offset_minutes`.
    pub fn contains(&self, t: i64, utc_offset_minutes: i32) -> bool {
        let absolute = self.from_ms.is_none_or(|f| t >= f) && self.until_ms.is_none_or(|u| t < u);
        absolute
            && self.daily.is_none_or(|d| {
                let local = t.saturating_add(i64::from(utc_offset_minutes) * MINUTE_MS);
                let minute = local.rem_euclid(i64::from(DAY_MINUTES) * MINUTE_MS) / MINUTE_MS;
                d.contains(u16::try_from(minute).expect("a minute of a day fits u16"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * MINUTE_MS;

    fn daily(from: u16, until: u16) -> Window {
        Window {
            from_ms: None,
            until_ms: None,
            daily: Some(Daily {
                from_minute: from,
                until_minute: until,
            }),
        }
    }

    #[test]
    fn ten_to_twelve_in_china_is_two_to_four_utc() {
        let w = daily(600, 720);
        let day = 20_000 * 24 * HOUR; // a UTC midnight
        assert!(!w.contains(day + 2 * HOUR - 1, 480));
        assert!(w.contains(day + 2 * HOUR, 480));
        assert!(w.contains(day + 4 * HOUR - 1, 480));
        assert!(!w.contains(day + 4 * HOUR, 480));
        // The same hours in UTC.
        assert!(w.contains(day + 10 * HOUR, 0) && !w.contains(day + 2 * HOUR, 0));
    }

    #[test]
    fn hours_across_midnight_and_before_the_epoch() {
        let w = daily(22 * 60, 2 * 60);
        let day = 20_000 * 24 * HOUR;
        assert!(w.contains(day + 23 * HOUR, 0) && w.contains(day + HOUR, 0));
        assert!(!w.contains(day + 12 * HOUR, 0));
        assert!(w.contains(-HOUR, 0), "23:00 on 1969-12-31");
        assert!(daily(0, 1440).contains(day + 5 * HOUR, -300));
    }

    #[test]
    fn bad_hours_are_refused_when_read() {
        for bad in [
            r#"{"from_minute":1440,"until_minute":10}"#,
            r#"{"from_minute":0,"until_minute":1441}"#,
            r#"{"from_minute":60,"until_minute":60}"#,
            r#"{"from_minute":60}"#,
        ] {
            assert!(serde_json::from_str::<Daily>(bad).is_err(), "{bad}");
        }
        let ok: Daily = serde_json::from_str(r#"{"from_minute":600,"until_minute":720}"#).unwrap();
        assert_eq!((ok.from_minute, ok.until_minute), (600, 720));
    }
}
