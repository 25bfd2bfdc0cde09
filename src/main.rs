//! The `distencode` command: everything it does is in the library (`src/lib.rs`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    distencode::run()
}
