//! The checks of a coordinator: its data dir and the store's schema, free disk space, the address it listens on
//! and its certificate.

use super::checks;
use super::Check;
use crate::node_settings::NodeSettings;
use distencode_actors::store::stored::SCHEMA;
use std::path::Path;

/// The file beside the store that names its schema (see `actors/src/store/schema.rs`).
const SCHEMA_FILE: &str = "schema-version";

pub fn checks(settings: &NodeSettings) -> Vec<Check> {
    let mut checks = Vec::new();
    match distencode_wire::connection::check_host_port(&settings.listen) {
        Ok(()) => checks.push(Check::ok("listen", format!("listens on {}", settings.listen))),
        Err(e) => checks.push(Check::fail("listen", format!("{e}: set listen in coordinator.toml"))),
    }
    match &settings.data_dir {
        None => checks.push(Check::fail("data_dir", "no --data-dir (or data_dir in the --config file)")),
        Some(dir) if !dir.is_dir() => checks.push(Check::fail(
            "data_dir",
            format!(
                "{} does not exist: install -d -o distencode -g distencode -m 0750 {}",
                dir.display(),
                dir.display()
            ),
        )),
        Some(dir) => {
            checks.push(checks::read_write(
                "data_dir",
                dir,
                "it must belong to the service user: chown -R distencode:distencode DIR",
            ));
            checks.push(schema(dir));
            checks.push(checks::disk("disk", dir));
        }
    }
    checks.push(checks::certificate(
        settings.connect.certs.as_deref(),
        settings.connect.name.as_deref(),
        distencode_wire::Role::Coordinator,
    ));
    checks
}

/// The store's schema from its version file, read without opening the store (a running coordinator holds it).
fn schema(dir: &Path) -> Check {
    let path = dir.join(SCHEMA_FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) if bytes.len() <= 32 => String::from_utf8_lossy(&bytes).trim().to_string(),
        Ok(_) => return Check::fail("schema", format!("{} is not a schema version (too long)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::ok("schema", format!("no store yet in {}: the coordinator makes one", dir.display()))
        }
        Err(e) => return Check::fail("schema", format!("cannot read {}: {e}", path.display())),
    };
    match text.parse::<u32>() {
        Ok(version) if version == SCHEMA => Check::ok("schema", format!("store schema {version}, this version's")),
        Ok(version) if version < SCHEMA => Check::ok(
            "schema",
            format!(
                "store schema {version}: the coordinator migrates it to {SCHEMA} when it starts (back it up first)"
            ),
        ),
        Ok(version) => Check::fail(
            "schema",
            format!("store schema {version} is newer than this version's ({SCHEMA}): install the newer distencode"),
        ),
        Err(_) => Check::fail("schema", format!("{} is not a schema version: {text:?}", path.display())),
    }
}
