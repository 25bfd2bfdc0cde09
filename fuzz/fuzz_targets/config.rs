//! A node's settings file (`--config`): any text laid under the defaults as `distencode node` does, then the checks
//! of the values. It must give settings or a one-line error naming the key, never a panic.
#![no_main]

use clap::{Args, FromArgMatches};
use distencode::config_file::{layer, Origins};
use distencode::node_settings::NodeSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let command = NodeSettings::augment_args(clap::Command::new("node"));
    let matches = command.try_get_matches_from(["node"]).expect("no flags parse");
    let defaults = NodeSettings::from_arg_matches(&matches).expect("the defaults");
    match layer("fuzz.toml", text, defaults, Origins::default()) {
        Ok(resolved) => {
            let _ = resolved.settings.check(&resolved.origins);
        }
        Err(error) => {
            let line = error.to_string();
            assert!(!line.contains('\n'), "a settings error is one line: {line:?}");
        }
    }
});
