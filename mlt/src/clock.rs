//! Turns MLT time values (`in`, `out`, `length`, blank lengths) into frame
//! numbers exactly the way MLT 7 does, so that the length we predict is the
//! frame count melt renders.
//!
//! MLT reads these properties with `mlt_property_get_position`, which goes
//! through `mlt_property_atoi` (src/framework/mlt_property.c):
//!
//! * a value starting with `0x` is hexadecimal (`strtoul`);
//! * a value containing `:` is a time: a clock value (`HH:MM:SS.mmm`, also
//!   `MM:SS.s`) when it also contains `.` or `,`, otherwise SMPTE
//!   (`HH:MM:SS:FF`, with `;` accepted as the frame separator);
//! * anything else is `strtol(value, NULL, 10)`: leading blanks and a sign
//!   are accepted and trailing garbage is ignored, so `"1.5"` is frame 1 and
//!   `"12abc"` is frame 12.
//!
//! Clock values: `floor(fps*H*3600) + floor(fps*M*60) + lrint(fps*S)` where
//! `lrint` rounds half to even. SMPTE: `floor(fps*H*3600) + floor(fps*M*60) +
//! ceil(fps*S) + FF` (no drop-frame correction for `;`). Both verified with
//! melt 7.12 (e.g. at 30000/1001 `00:00:20:00` is 600 and `00:01:00.011` is
//! 1798; at 25 fps `00:00:01.460` is 36 and `00:00:01.500` is 38).
//!
//! Where MLT would overflow (undefined behaviour in C) or the value has no
//! number at all, this module returns an error instead.

use std::fmt;

/// Why a time value could not be turned into a frame number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockError {
    pub value: String,
    pub reason: &'static str,
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.value, self.reason)
    }
}

impl std::error::Error for ClockError {}

/// How time strings are read: the profile's frame rate and whether the
/// project's `LC_NUMERIC` is the C locale (where `,` is not a decimal mark).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeBase {
    pub fps: f64,
    pub c_numeric: bool,
}

impl TimeBase {
    pub fn new(fps_num: u32, fps_den: u32) -> Self {
        TimeBase { fps: f64::from(fps_num) / f64::from(fps_den), c_numeric: true }
    }
}

fn err(value: &str, reason: &'static str) -> ClockError {
    ClockError { value: value.to_string(), reason }
}

/// A position as MLT reads it (an `int`); may be negative.
pub fn to_frames(value: &str, base: TimeBase) -> Result<i64, ClockError> {
    let bytes = value.as_bytes();
    if bytes.first() == Some(&b'#') {
        return Err(err(value, "is a colour, not a frame number or time"));
    }
    if bytes.starts_with(b"0x") {
        let (v, digits, overflow) = c_strtol(&value[2..], 16);
        if digits == 0 {
            return Err(err(value, "is not a frame number or time"));
        }
        if overflow || v > i64::from(u32::MAX) || v < 0 {
            return Err(err(value, "is out of range"));
        }
        // C converts the unsigned long to int.
        return Ok(i64::from(v as u32 as i32));
    }
    if base.fps > 0.0 && value.contains(':') {
        let clock = value.contains('.') || value.contains(',');
        if clock && value.contains(',') && !base.c_numeric {
            return Err(err(value, "uses a decimal comma under a non-C LC_NUMERIC, which depends on the locale"));
        }
        let frames = if clock { clock_to_frames(value, base.fps)? } else { smpte_to_frames(value, base.fps)? };
        return to_int(value, frames);
    }
    let (v, digits, overflow) = c_strtol(value, 10);
    if digits == 0 {
        return Err(err(value, "is not a frame number or time"));
    }
    if overflow || v > i64::from(i32::MAX) || v < i64::from(i32::MIN) {
        return Err(err(value, "is out of range"));
    }
    Ok(v)
}

/// `time_clock_to_frames`: `[[H:]M:]S.s`.
fn clock_to_frames(value: &str, fps: f64) -> Result<f64, ClockError> {
    let (head, sec_text) = match value.rfind(':') {
        Some(i) => (Some(&value[..i]), &value[i + 1..]),
        None => (None, value),
    };
    let seconds = c_strtod(sec_text).ok_or_else(|| err(value, "has unreadable seconds"))?;
    let (mut hours, mut minutes) = (0i64, 0i64);
    if let Some(head) = head {
        match head.rfind(':') {
            Some(i) => {
                minutes = atoi(value, &head[i + 1..])?;
                hours = atoi(value, &head[..i])?;
            }
            None => minutes = atoi(value, head)?,
        }
    }
    let total = (fps * hours as f64 * 3600.0).floor()
        + (fps * minutes as f64 * 60.0).floor()
        + (fps * seconds).round_ties_even();
    Ok(total)
}

/// `time_code_to_frames`: `[[[H:]M:]S:]F` with `;` allowed before `F`.
fn smpte_to_frames(value: &str, fps: f64) -> Result<f64, ClockError> {
    let (mut hours, mut minutes, mut seconds) = (0i64, 0i64, 0i64);
    let frames;
    let sep = value.rfind(';').or_else(|| value.rfind(':'));
    match sep {
        Some(i) => {
            frames = atoi(value, &value[i + 1..])?;
            let rest = &value[..i];
            match rest.rfind(':') {
                Some(j) => {
                    seconds = atoi(value, &rest[j + 1..])?;
                    let rest = &rest[..j];
                    match rest.rfind(':') {
                        Some(k) => {
                            minutes = atoi(value, &rest[k + 1..])?;
                            hours = atoi(value, &rest[..k])?;
                        }
                        None => minutes = atoi(value, rest)?,
                    }
                }
                None => seconds = atoi(value, rest)?,
            }
        }
        None => frames = atoi(value, value)?,
    }
    let total = (fps * hours as f64 * 3600.0).floor()
        + (fps * minutes as f64 * 60.0).floor()
        + (fps * seconds as f64).ceil()
        + frames as f64;
    Ok(total)
}

/// C's `(int) double` for a value MLT computed in floating point.
fn to_int(value: &str, frames: f64) -> Result<i64, ClockError> {
    if !frames.is_finite() || frames > f64::from(i32::MAX) || frames < f64::from(i32::MIN) {
        return Err(err(value, "is out of range"));
    }
    Ok(frames.trunc() as i64)
}

/// C's `atoi` (as glibc's `(int) strtol(s, NULL, 10)`), with overflow an error.
fn atoi(whole: &str, part: &str) -> Result<i64, ClockError> {
    let (v, _, overflow) = c_strtol(part, 10);
    if overflow || v > i64::from(i32::MAX) || v < i64::from(i32::MIN) {
        return Err(err(whole, "has a component out of range"));
    }
    Ok(v)
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// C's `strtol` prefix parse: returns (value, digits consumed, overflowed).
/// Base 0 means C's automatic base (`0x` hex, leading `0` octal, else decimal).
pub fn c_strtol(s: &str, base: u32) -> (i64, usize, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let mut radix = base;
    let hex_prefix = b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x') | Some(b'X'))
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
    if (radix == 0 || radix == 16) && hex_prefix {
        radix = 16;
        i += 2;
    } else if radix == 0 {
        radix = if b.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let mut value: i64 = 0;
    let mut digits = 0;
    let mut overflow = false;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(radix)) {
        match value.checked_mul(i64::from(radix)).and_then(|v| v.checked_add(i64::from(d))) {
            Some(v) => value = v,
            None => overflow = true,
        }
        digits += 1;
        i += 1;
    }
    (if negative { -value } else { value }, digits, overflow)
}

/// C's `strtod` prefix parse in the C locale, for decimal numbers. `None`
/// when there is no number at all, or for infinities, NaNs and hex floats.
fn c_strtod(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        mantissa_digits += j - frac_start;
        if mantissa_digits > 0 {
            i = j;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if b.get(int_start) == Some(&b'0') && matches!(b.get(int_start + 1), Some(b'x') | Some(b'X')) {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    let mut text = s[start..i].to_string();
    if text.ends_with('.') {
        text.push('0');
    }
    let text = text.replace("-.", "-0.").replace("+.", "+0.");
    let text = if text.starts_with('.') { format!("0{text}") } else { text };
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAL: TimeBase = TimeBase { fps: 25.0, c_numeric: true };

    fn ntsc() -> TimeBase {
        TimeBase::new(30000, 1001)
    }

    #[test]
    fn plain_numbers_follow_strtol() {
        assert_eq!(to_frames("42", PAL), Ok(42));
        assert_eq!(to_frames(" 12", PAL), Ok(12));
        assert_eq!(to_frames("12abc", PAL), Ok(12));
        // No colon: not a time, "1.5" is frame 1 (melt rendered 2 frames for out="1.5").
        assert_eq!(to_frames("1.5", PAL), Ok(1));
        assert_eq!(to_frames("-1", PAL), Ok(-1));
        assert_eq!(to_frames("0x10", PAL), Ok(16));
        assert!(to_frames("abc", PAL).is_err());
        assert!(to_frames("", PAL).is_err());
        assert!(to_frames("#10", PAL).is_err());
        assert!(to_frames("99999999999999999999999", PAL).is_err());
        assert!(to_frames("2147483648", PAL).is_err());
        assert_eq!(to_frames("2147483647", PAL), Ok(2_147_483_647));
    }

    #[test]
    fn clock_strings_at_25() {
        // All checked against melt 7.12 (-consumer xml shows the out point).
        assert_eq!(to_frames("00:00:18.800", PAL), Ok(470));
        assert_eq!(to_frames("00:00:01.500", PAL), Ok(38)); // lrint(37.5) = 38
        assert_eq!(to_frames("00:00:01.460", PAL), Ok(36)); // 36.4999.. -> 36
        assert_eq!(to_frames("00:00:00.060", PAL), Ok(2)); // lrint(1.5) = 2 (half to even)
        assert_eq!(to_frames("00:00:00.020", PAL), Ok(0)); // lrint(0.5) = 0
        assert_eq!(to_frames("00:01:00.011", PAL), Ok(1500));
        assert_eq!(to_frames("01:00:00.000", PAL), Ok(90000));
        assert_eq!(to_frames("1:2.0", PAL), Ok(1550)); // M:S.s
    }

    #[test]
    fn clock_strings_at_ntsc() {
        let b = ntsc();
        assert_eq!(to_frames("00:01:00.011", b), Ok(1798)); // floor(1798.2) + lrint(0.33)
        assert_eq!(to_frames("00:01:00.500", b), Ok(1813));
        assert_eq!(to_frames("00:00:01.460", b), Ok(44));
        assert_eq!(to_frames("00:00:01.5 ", b), Ok(45));
        assert_eq!(to_frames("00:00:1.5e1", b), Ok(450));
        assert_eq!(to_frames("00:00:00.0166", b), Ok(0));
        // C locale: the comma ends the number, 1 s -> 30 (melt 7.12 agrees).
        assert_eq!(to_frames("00:00:01,500", b), Ok(30));
        let comma = TimeBase { c_numeric: false, ..b };
        assert!(to_frames("00:00:01,500", comma).is_err());
        assert_eq!(to_frames("00:00:01.500", comma), Ok(45));
    }

    #[test]
    fn smpte_strings() {
        assert_eq!(to_frames("00:00:20:00", PAL), Ok(500));
        assert_eq!(to_frames("00:00:01:05", PAL), Ok(30));
        let b = ntsc();
        assert_eq!(to_frames("00:00:20:00", b), Ok(600)); // ceil(599.4)
        assert_eq!(to_frames("00:00:20;00", b), Ok(600)); // no drop-frame maths
        assert_eq!(to_frames("01:00:00:00", b), Ok(107_892));
        assert_eq!(to_frames("1:2", b), Ok(32)); // S:F
        assert_eq!(to_frames("5:10:3", b), Ok(9294)); // M:S:F
        assert_eq!(to_frames(":5", b), Ok(5));
        let film = TimeBase::new(24000, 1001);
        assert_eq!(to_frames("00:00:10:00", film), Ok(240)); // ceil(239.76)
        let p60 = TimeBase::new(60, 1);
        assert_eq!(to_frames("00:00:01:30", p60), Ok(90));
    }

    #[test]
    fn negative_and_huge_times() {
        assert_eq!(to_frames("00:-1:00.000", PAL), Ok(-1500));
        assert!(to_frames("99999999999:00:00.000", PAL).is_err());
        assert!(to_frames("30000:00:00:00", PAL).is_err()); // 2.7e9 frames > i32
        assert_eq!(to_frames("20000:00:00:00", PAL), Ok(1_800_000_000));
        assert!(to_frames("00:00:1e400.0", PAL).is_err());
        assert_eq!(to_frames("00:00:1e400", PAL), Ok(1)); // SMPTE: atoi("1e400") = 1
        assert!(to_frames("00:00:inf.0", PAL).is_err());
        assert!(to_frames("00:00:nan.", PAL).is_err());
        assert!(to_frames("00:00:1e308.0", PAL).is_err());
    }

    #[test]
    fn strtol_bases() {
        assert_eq!(c_strtol("0x19", 0), (25, 2, false));
        assert_eq!(c_strtol("031", 0), (25, 3, false));
        assert_eq!(c_strtol(" 25fps", 0), (25, 2, false));
        assert_eq!(c_strtol("", 10), (0, 0, false));
        assert!(c_strtol("9999999999999999999999", 10).2);
    }
}
