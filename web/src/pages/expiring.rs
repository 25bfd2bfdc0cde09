//! The certificates that expire within 30 days, as the workers page lists them above its table: a certificate
//! that expires stops its node at the next handshake, so whoever keeps the CA renews it first.

use crate::state::AppState;

/// One expiring certificate, as the page shows it.
pub struct ExpiringRow {
    pub role: &'static str,
    pub name: String,
    /// `expires in 3 days`, `expires today`, `expired`.
    pub left: String,
    /// The day it expires, `2027-01-25`.
    pub date: String,
}

/// The certificates known to the coordinator that expire within 30 days (or have), soonest first.
pub fn rows(state: &AppState) -> Vec<ExpiringRow> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    state
        .actors
        .certificates
        .expiring(now)
        .into_iter()
        .map(|c| ExpiringRow {
            role: c.role.as_str(),
            left: match c.days_left {
                ..=0 if c.not_after <= now => "expired".to_string(),
                ..=1 => "expires within a day".to_string(),
                days => format!("expires in {days} days"),
            },
            date: time::OffsetDateTime::from_unix_timestamp(c.not_after)
                .map(|t| t.date().to_string())
                .unwrap_or_default(),
            name: c.name,
        })
        .collect()
}
