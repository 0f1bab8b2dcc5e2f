//! Times as Docker writes them (RFC 3339 in UTC), as nanoseconds since
//! the epoch.

/// Nanoseconds since the epoch of an RFC 3339 UTC time as Docker writes it
/// (`2026-11-30T12:25:16.123456789Z`).
pub fn unix_nanos(t: &str) -> Option<u128> {
    let t = t.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|p| p.parse::<i64>());
    let (hh, mm, ss) = (h.next()?.ok()?, h.next()?.ok()?, h.next()?.ok()?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u128::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = format!("{digits:0<9}").parse::<u128>().ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

/// `YYYY-MM-DD HH:MM UTC` of seconds since the epoch (the inverse of
/// the civil-date algorithm above).
pub fn utc_minute(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_become_a_civil_minute() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(utc_minute(1_796_041_516), "2026-11-30 12:25 UTC");
    }

    #[test]
    fn docker_times_become_nanoseconds_since_the_epoch() {
        assert_eq!(unix_nanos("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            unix_nanos("2026-11-30T12:25:16.5Z"),
            Some(1_796_041_516_500_000_000)
        );
        assert_eq!(
            unix_nanos("2000-02-29T00:00:00.000000001Z"),
            Some(951_782_400_000_000_001)
        );
        assert_eq!(unix_nanos("0001-01-01T00:00:00Z"), None);
        assert_eq!(unix_nanos("yesterday"), None);
    }
}
