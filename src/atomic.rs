//! Files that hold either their old content or the complete new one, even when the process
//! dies or the disk fills mid-write: checkpoints, dev reports, `best/`, saved scores, records,
//! tables, CodaLab's `result.json`. The one helper every writer of durable files uses.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{AtlopError, Result};

/// Suffix of a file being written; it never counts as the file itself.
pub const TEMP_SUFFIX: &str = "tmp";

/// The temporary name a file is written under before it is renamed to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(TEMP_SUFFIX);
    path.with_file_name(name)
}

/// Writes `path` so that it holds either its old content or the complete new one, even if the
/// process dies: write to [`temp_path`], fsync, rename over `path`, fsync the folder.
pub fn write_atomically<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let temp = temp_path(path);
    let result = write_then_rename(path, &temp, write);
    if result.is_err() {
        // Best effort: a failed write must not leave a stray temporary file behind.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_then_rename<F>(path: &Path, temp: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    // The folder must exist: an output path into a missing folder is the caller's error.
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let file = File::create(temp).map_err(|e| AtlopError::io(temp, e))?;
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|e| AtlopError::io(temp, e))?;
    writer.flush().map_err(|e| AtlopError::io(temp, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| AtlopError::io(temp, e.into_error()))?;
    file.sync_all().map_err(|e| AtlopError::io(temp, e))?;
    drop(file);
    std::fs::rename(temp, path).map_err(|e| AtlopError::io(path, e))?;
    // The rename itself is durable only once the folder entry is on disk.
    #[cfg(unix)]
    {
        let dir = parent.unwrap_or(Path::new("."));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| AtlopError::io(dir, e))?;
    }
    Ok(())
}

/// [`write_atomically`] for bytes already in memory.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |w| w.write_all(bytes))
}
