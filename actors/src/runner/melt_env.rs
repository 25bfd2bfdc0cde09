//! The environment a worker gives melt, in one place: the render and `distencode doctor`'s Qt check must see the
//! same, or the doctor would pass a worker whose renders lose every title.

use std::path::Path;
use tokio::process::Command;

/// Qt-based services need a platform even on a worker without a screen (`offscreen`), and MLT 7.12's Qt module
/// refuses to load without `DISPLAY`; melt's temporary files go to the work dir.
pub fn set(command: &mut Command, work_dir: &Path) {
    command.env("QT_QPA_PLATFORM", "offscreen");
    command.env("TMPDIR", work_dir);
    if std::env::var_os("DISPLAY").is_none() {
        command.env("DISPLAY", ":0");
    }
}
