//! jq 1.8.2's broken-down times on glibc: `strptime` that accepts out-of-range days the way
//! glibc's does (`2024-02-30` parses, with the weekday and day of the year glibc computes),
//! `mktime` normalising every field like C's `timegm` (`[2024,1,30,…]` is 2024-03-01), and the
//! `%Z` of a UTC time, which glibc spells `GMT`.

use super::funs::err;
use jaq_core::Error;
use jaq_json::Val;

/// Days from 1970-01-01 to the first day of month `m` (0-based, any value) of year `y`.
fn days_to_month(y: i64, m: i64) -> i64 {
    let y = y + m.div_euclid(12);
    let m = m.rem_euclid(12) + 1;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Cumulative days before each month (non-leap).
const MONTH_DAYS: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// The fields of a broken-down time as C ints (`[year, month, mday, hours, minutes, seconds,
/// …]`, missing ones 0), truncated like jq's `jv2tm`; `None` when one is not a number.
fn fields(v: &Val) -> Option<[i64; 6]> {
    let Val::Arr(a) = v else { return None };
    // Missing fields are 0, so a missing year is 1900.
    let mut out = [1900, 0, 0, 0, 0, 0];
    for (i, x) in a.iter().take(8).enumerate() {
        let Val::Num(_) = x else { return None };
        let d = jaq_std::ValT::as_f64(x)?;
        if d.is_nan() {
            return None;
        }
        let d = if i == 0 { d - 1900.0 } else { d };
        let n = d.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64;
        if i < 6 {
            out[i] = if i == 0 { n + 1900 } else { n };
        }
    }
    Some(out)
}

/// `timegm` of the fields: every one may be out of range and carries into the next.
fn timegm(f: [i64; 6]) -> i64 {
    let [y, mon, mday, h, min, s] = f;
    let days = days_to_month(y, mon) + mday - 1;
    days * 86_400 + h * 3_600 + min * 60 + s
}

/// jq's `mktime` (`strict`: C's `-1` is jq's "invalid gmtime representation") or the
/// normalisation `strftime` applies to a broken-down time (`strict` false).
pub(super) fn mktime(v: &Val, strict: bool) -> Result<Val, Error<Val>> {
    if !matches!(v, Val::Arr(_)) {
        return Err(err("mktime requires array inputs".into()));
    }
    let Some(f) = fields(v) else {
        return Err(err("mktime requires parsed datetime inputs".into()));
    };
    let t = timegm(f);
    if strict && t == -1 {
        return Err(err("invalid gmtime representation".into()));
    }
    Ok(Val::from(t as isize))
}

/// A strftime format with what glibc spells its own way in the C locale for a UTC time
/// written out: `%Z` is `GMT`, `%c` is `%a %b %e %H:%M:%S %Y`, `%x` is `%m/%d/%y`, `%X` is
/// `%H:%M:%S`; `%%` is kept.
pub(super) fn gmt_zone(fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Z') => out.push_str("GMT"),
            Some('c') => out.push_str("%a %b %e %H:%M:%S %Y"),
            Some('x') => out.push_str("%m/%d/%y"),
            Some('X') => out.push_str("%H:%M:%S"),
            Some(d) => {
                out.push('%');
                out.push(d);
            }
            None => out.push('%'),
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] =
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    /// glibc's `get_number`: optional spaces, then up to `max` digits, in `lo..=hi`.
    fn num(&mut self, max: usize, lo: i64, hi: i64) -> Option<i64> {
        self.skip_ws();
        let (start, mut n) = (self.i, 0i64);
        let neg = self.s.get(self.i) == Some(&b'-') && hi > 9999;
        if neg {
            self.i += 1;
        }
        while self.i - start < max + usize::from(neg)
            && let Some(d) = self.s.get(self.i).filter(|c| c.is_ascii_digit())
        {
            n = n * 10 + i64::from(d - b'0');
            self.i += 1;
        }
        if self.i == start + usize::from(neg) {
            return None;
        }
        let n = if neg { -n } else { n };
        (lo..=hi).contains(&n).then_some(n)
    }

    /// A month or weekday name, full or abbreviated to three letters, any case.
    fn name(&mut self, names: &[&str]) -> Option<usize> {
        let rest = &self.s[self.i..];
        for (k, full) in names.iter().enumerate() {
            for len in [full.len(), 3] {
                if rest.len() >= len && rest[..len].eq_ignore_ascii_case(&full.as_bytes()[..len]) {
                    self.i += len;
                    return Some(k);
                }
            }
        }
        None
    }
}

#[derive(Default)]
struct Tm {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    wday: Option<i64>,
    yday: Option<i64>,
    /// A date field was parsed: glibc then fills in the weekday and the day of the year.
    want_xday: bool,
    have_mon_mday: bool,
    pm: Option<bool>,
}

/// Parse `input` with `fmt` as glibc's strptime does; `None` when the format uses a directive
/// this parser does not know (the caller falls back), `Some(Err)` when the input does not match.
fn parse(input: &str, fmt: &str, tm: &mut Tm) -> Option<Result<usize, ()>> {
    let mut p = Scan { s: input.as_bytes(), i: 0 };
    let f = fmt.as_bytes();
    let mut k = 0;
    macro_rules! field {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return Some(Err(())),
            }
        };
    }
    while k < f.len() {
        let c = f[k];
        if c.is_ascii_whitespace() {
            p.skip_ws();
            k += 1;
            continue;
        }
        if c != b'%' {
            if p.s.get(p.i) != Some(&c) {
                return Some(Err(()));
            }
            p.i += 1;
            k += 1;
            continue;
        }
        let &d = f.get(k + 1)?;
        k += 2;
        match d {
            b'%' => {
                if p.s.get(p.i) != Some(&b'%') {
                    return Some(Err(()));
                }
                p.i += 1;
            }
            b'Y' => {
                tm.year = field!(p.num(4, -9999, 9999));
                tm.want_xday = true;
            }
            b'y' => {
                let y = field!(p.num(2, 0, 99));
                tm.year = if y < 69 { 2000 + y } else { 1900 + y };
                tm.want_xday = true;
            }
            b'm' => {
                tm.mon = field!(p.num(2, 1, 12)) - 1;
                tm.want_xday = true;
                tm.have_mon_mday = true;
            }
            b'd' | b'e' => {
                tm.mday = field!(p.num(2, 1, 31));
                tm.want_xday = true;
                tm.have_mon_mday = true;
            }
            b'H' => tm.hour = field!(p.num(2, 0, 23)),
            b'I' => tm.hour = field!(p.num(2, 1, 12)) % 12,
            b'M' => tm.min = field!(p.num(2, 0, 59)),
            b'S' => tm.sec = field!(p.num(2, 0, 61)),
            b'j' => {
                tm.yday = Some(field!(p.num(3, 1, 366)) - 1);
                tm.want_xday = true;
            }
            b'b' | b'B' | b'h' => {
                p.skip_ws();
                tm.mon = field!(p.name(&MONTHS)) as i64;
                tm.want_xday = true;
                tm.have_mon_mday = true;
            }
            b'a' | b'A' => {
                p.skip_ws();
                tm.wday = Some(field!(p.name(&WEEKDAYS)) as i64);
            }
            b'p' => {
                p.skip_ws();
                let rest = &p.s[p.i..];
                let pm = if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"pm") {
                    true
                } else if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"am") {
                    false
                } else {
                    return Some(Err(()));
                };
                p.i += 2;
                tm.pm = Some(pm);
            }
            b'T' | b'F' | b'D' | b'R' => {
                let sub = match d {
                    b'T' => "%H:%M:%S",
                    b'F' => "%Y-%m-%d",
                    b'D' => "%m/%d/%y",
                    _ => "%H:%M",
                };
                let rest = std::str::from_utf8(&p.s[p.i..]).ok()?;
                match parse(rest, sub, tm)? {
                    Ok(n) => p.i += n,
                    Err(()) => return Some(Err(())),
                }
            }
            b'n' | b't' => p.skip_ws(),
            // glibc reads a zone name without using it.
            b'Z' => {
                while p.s.get(p.i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    p.i += 1;
                }
            }
            b'z' => {
                p.skip_ws();
                if p.s.get(p.i) == Some(&b'Z') {
                    p.i += 1;
                } else {
                    if !matches!(p.s.get(p.i), Some(b'+' | b'-')) {
                        return Some(Err(()));
                    }
                    p.i += 1;
                    let start = p.i;
                    while p.i - start < 4 && p.s.get(p.i).is_some_and(|c| c.is_ascii_digit()) {
                        p.i += 1;
                        if p.i - start == 2 && p.s.get(p.i) == Some(&b':') {
                            p.i += 1;
                        }
                    }
                    if p.i - start < 2 {
                        return Some(Err(()));
                    }
                }
            }
            _ => return None,
        }
    }
    Some(Ok(p.i))
}

/// jq's `strptime/1` on glibc, or `None` to fall back to jaq's for formats this does not know.
pub(super) fn strptime(input: &Val, fmt: &Val) -> Option<Result<Val, Error<Val>>> {
    let (Val::TStr(a) | Val::BStr(a), Val::TStr(b) | Val::BStr(b)) = (input, fmt) else {
        return Some(Err(err("strptime/1 requires string inputs and arguments".into())));
    };
    let (text, fmt) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let mut tm = Tm { year: 1900, ..Tm::default() };
    let end = match parse(&text, &fmt, &mut tm)? {
        Ok(end) if text[end..].chars().next().is_none_or(char::is_whitespace) => end,
        _ => {
            return Some(Err(err(format!("date \"{text}\" does not match format \"{fmt}\""))));
        }
    };
    if tm.pm == Some(true) {
        tm.hour += 12;
    }
    if let (Some(yday), false) = (tm.yday, tm.have_mon_mday) {
        // A day of the year alone gives the month and the day (glibc).
        let leap = i64::from(is_leap(tm.year));
        let m = (0..12).rev().find(|&m| MONTH_DAYS[m] + if m > 1 { leap } else { 0 } <= yday);
        let m = m.unwrap_or(0);
        tm.mon = m as i64;
        tm.mday = yday - MONTH_DAYS[m] - if m > 1 { leap } else { 0 } + 1;
    }
    let (wday, yday) = if tm.want_xday {
        let days = days_to_month(tm.year, tm.mon) + tm.mday - 1;
        let wday = tm.wday.unwrap_or((days + 4).rem_euclid(7));
        let leap = i64::from(tm.mon > 1 && is_leap(tm.year));
        let yday =
            tm.yday.unwrap_or(MONTH_DAYS[tm.mon.rem_euclid(12) as usize] + leap + tm.mday - 1);
        (wday, yday)
    } else {
        (tm.wday.unwrap_or(8), tm.yday.unwrap_or(367))
    };
    let n = |x: i64| Val::from(x as isize);
    let mut out = vec![n(tm.year), n(tm.mon), n(tm.mday), n(tm.hour), n(tm.min), n(tm.sec)];
    out.extend([n(wday), n(yday)]);
    if end < text.len() {
        out.push(Val::from(text[end..].to_string()));
    }
    Some(Ok(Val::Arr(out.into())))
}
