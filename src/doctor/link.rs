//! A worker's link to its coordinator, as `doctor` sees it: whether the coordinator takes this worker's certificate
//! (not revoked, the right cluster), and how far this machine's clock is from the coordinator's. Job times, ETAs,
//! reservations that end at a time and certificate validity all compare clocks across machines.

use super::Check;
use distencode_wire::connection::{self, ClockReading, ConnectionError};
use distencode_wire::{tls, Role};
use std::path::Path;

/// Past this offset the clock check warns: times in `job status` and the web disagree visibly.
const CLOCK_WARN_MS: u64 = 1_000;
/// Past this it fails: reservations end and certificates start or expire at the wrong moment.
const CLOCK_FAIL_MS: u64 = 60_000;

/// The `coordinator` and `clock` checks: one dial of the coordinator as this worker, a Hello and its Welcome.
pub async fn checks(coordinator: Option<&str>, certs: Option<&Path>, name: Option<&str>) -> Vec<Check> {
    let (Some(addr), Some(certs), Some(name)) = (coordinator, certs, name) else {
        let why = "no --coordinator HOST:PORT (with --certs and --name), so neither the link nor the clock was checked";
        return vec![Check::warn("coordinator", why)];
    };
    let config = match tls::client_config_as(certs, name, Role::Worker, None) {
        Ok(config) => config,
        Err(e) => return vec![Check::fail("coordinator", format!("{e}"))],
    };
    match connection::read_clock(addr, config, Role::Worker).await {
        Ok(reading) => vec![
            Check::ok("coordinator", format!("{addr} takes the certificate of worker {name}")),
            clock(addr, &reading),
        ],
        Err(e) => vec![refused(addr, &e)],
    }
}

/// The coordinator's refusal, with what to do about it.
fn refused(addr: &str, error: &ConnectionError) -> Check {
    let text = error.to_string();
    let fix = if text.contains("revoked") {
        "this certificate was revoked: issue a new one on the machine that keeps the CA (distencode certs issue \
         --role worker)"
    } else if matches!(error, ConnectionError::Unreachable { .. }) {
        "is the coordinator running, and is its port open from here?"
    } else {
        "see docs/security.md for what each refusal means"
    };
    Check::fail("coordinator", format!("{addr}: {text}; {fix}"))
}

/// The clock check from one reading.
pub fn clock(addr: &str, reading: &ClockReading) -> Check {
    let (offset, round_trip) = reading.offset_ms();
    let side = if offset >= 0 { "behind" } else { "ahead of" };
    let said = format!(
        "this clock is {} ms {side} the coordinator's ({addr}; round trip {round_trip} ms)",
        offset.unsigned_abs()
    );
    let fix = "keep every machine's clock in step: apt-get install systemd-timesyncd (or chrony)";
    match offset.unsigned_abs() {
        off if off > CLOCK_FAIL_MS => Check::fail("clock", format!("{said}; {fix}")),
        off if off > CLOCK_WARN_MS => Check::warn("clock", format!("{said}; {fix}")),
        _ => Check::ok("clock", said),
    }
}
