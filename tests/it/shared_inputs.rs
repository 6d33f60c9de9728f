//! Inputs that tests read from outside the repository (`../shared` fixtures and data, the MiniLM
//! folder that `scripts/setup.sh` fetches). A test whose input is absent skips, saying which.

use std::path::PathBuf;

/// `path` when it exists; otherwise prints why the calling test skips and returns `None`.
pub fn present(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {path} is absent");
        None
    }
}
