//! Points in time as milliseconds since 1970-01-01 UTC, read from and written as RFC 3339.

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads a fixed number of ASCII digits.
fn digits(text: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = text.get(at..at + n)?;
    slice.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses an RFC 3339 time (`2002-08-06T10:15:00Z`, `2002-08-06 10:15:00.123+02:00`) to
/// milliseconds since the Unix epoch. A time without an offset is taken as UTC.
pub fn parse(text: &str) -> Result<i64, String> {
    let bytes = text.as_bytes();
    let bad = || format!("`{text}` is not a time like `2002-08-06T10:15:00Z`");
    let year = digits(bytes, 0, 4).ok_or_else(bad)?;
    let month = digits(bytes, 5, 2).ok_or_else(bad)?;
    let day = digits(bytes, 8, 2).ok_or_else(bad)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return Err(bad());
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return Err(format!("`{text}` is not a date in the calendar"));
    }
    let mut millis = days_from_civil(i64::from(year), month, day) * 86_400_000;
    let mut at = 10;
    if bytes.len() > 10 {
        if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
            return Err(bad());
        }
        let hour = digits(bytes, 11, 2).ok_or_else(bad)?;
        let minute = digits(bytes, 14, 2).ok_or_else(bad)?;
        let second = digits(bytes, 17, 2).ok_or_else(bad)?;
        if bytes.get(13) != Some(&b':') || bytes.get(16) != Some(&b':') {
            return Err(bad());
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(format!("`{text}` is not a time of day"));
        }
        millis += i64::from(hour * 3_600 + minute * 60 + second) * 1000;
        at = 19;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            let mut fraction = 0u32;
            while let Some(b) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
                if at - start < 3 {
                    fraction = fraction * 10 + u32::from(b - b'0');
                }
                at += 1;
            }
            if at == start {
                return Err(bad());
            }
            for _ in (at - start)..3 {
                fraction *= 10;
            }
            millis += i64::from(fraction);
        }
        match bytes.get(at) {
            None => {}
            Some(b'Z' | b'z') => at += 1,
            Some(sign @ (b'+' | b'-')) => {
                let hours = digits(bytes, at + 1, 2).ok_or_else(bad)?;
                let minutes = digits(bytes, at + 4, 2).ok_or_else(bad)?;
                if bytes.get(at + 3) != Some(&b':') || hours > 23 || minutes > 59 {
                    return Err(bad());
                }
                let offset = i64::from(hours * 60 + minutes) * 60_000;
                millis += if *sign == b'+' { -offset } else { offset };
                at += 6;
            }
            Some(_) => return Err(bad()),
        }
    }
    if at != bytes.len() {
        return Err(bad());
    }
    Ok(millis)
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC, with milliseconds only when
/// there are any.
pub fn format(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let rest = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second, ms) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    if ms == 0 {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2002-08-06T10:15:00Z",
            "2000-02-29T23:59:59.123Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse(text).map(format), Ok(text.to_string()));
        }
    }

    #[test]
    fn offsets_and_forms() {
        assert_eq!(
            parse("2002-08-06T12:15:00+02:00"),
            parse("2002-08-06T10:15:00Z")
        );
        assert_eq!(parse("2002-08-06 10:15:00"), parse("2002-08-06T10:15:00Z"));
        assert_eq!(
            parse("2002-08-06"),
            Ok(days_from_civil(2002, 8, 6) * 86_400_000)
        );
        assert_eq!(parse("2002-08-06T10:15:00.5Z").map(|t| t % 1000), Ok(500));
        assert_eq!(parse("1970-01-01T00:00:01.0000001Z"), Ok(1000));
    }

    #[test]
    fn rejects() {
        for text in [
            "",
            "2002-13-01",
            "2001-02-29",
            "2002-08-06T25:00:00Z",
            "2002-08-06T10:15Z",
            "2002-08-06T10:15:00+0200",
            "2002-08-06T10:15:00Zjunk",
            "yesterday",
        ] {
            assert!(parse(text).is_err(), "{text} parsed");
        }
    }
}
