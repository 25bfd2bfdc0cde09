//! MLT's time strings (`in`, `out`, `length`: frames, `hh:mm:ss.ms`, `hh:mm:ss:ff`, `hh:mm:ss;ff`) at any frame
//! rate, in the C locale and in one with a decimal comma, as the project reader takes them; and the farm's own ages
//! (`keep_finished = "90d"`). Any string must give a number or an error, never a panic or an overflow.
#![no_main]

use distencode_mlt::clock::{c_strtol, to_frames, TimeBase};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [num_hi, num_lo, den, flags, rest @ ..] = data else {
        return;
    };
    let Ok(value) = std::str::from_utf8(rest) else {
        return;
    };
    let num = u32::from(u16::from_be_bytes([*num_hi, *num_lo])).max(1);
    let mut base = TimeBase::new(num, u32::from(*den).max(1));
    base.c_numeric = flags & 1 == 0;
    let _ = to_frames(value, base);
    let _ = c_strtol(value, [8, 10, 16][usize::from(flags >> 1) % 3]);
    let _ = distencode::cli::parse_age(value);
});
