//! Whether a render's output folder can be written, checked by the client before it submits and by a worker
//! before it starts melt: melt itself would render the whole project and only then fail to open the file.

use std::path::Path;

/// The output's folder exists and we may create files in it.
pub fn check_output_folder(output: &Path) -> Result<(), String> {
    let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let probe = folder.join(format!(".distencode-write-test-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("output folder {} cannot be written: {e}", folder.display())),
    }
}
