//! Crash-safe checkpoints for resuming a run (the paper trains DocRED for 30 epochs: hours on
//! a GPU, days on a CPU).
//!
//! burn's file recorders delete the old file and recreate it in place (burn-core
//! `record/file.rs`), on a background thread: a crash or `kill -9` mid-write leaves a truncated
//! file under the final name, and resuming from it fails. [`AtomicFileRecorder`] is a drop-in
//! burn `FileRecorder` for `SupervisedTraining::with_file_checkpointer` that writes
//! `<name>.mpk.tmp`, fsyncs it, renames it over `<name>.mpk` and fsyncs the folder, so a final
//! name always holds a complete file. Its format is burn's named MessagePack in full precision:
//! burn's own `NamedMpkFileRecorder<FullPrecisionSettings>` reads the files too.
//!
//! burn saves the model, optimiser and scheduler of an epoch as three files on three threads;
//! [`latest_checkpoint`] returns the last epoch for which all three are present.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::record::{
    FileRecorder, FullPrecisionSettings, NamedMpkFileRecorder, PrecisionSettings, Recorder,
    RecorderError,
};
use burn::tensor::backend::Backend;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::best::BestModel;
pub use crate::atomic::{temp_path, write_atomically};
use crate::error::{AtlopError, Result};

/// Extension of checkpoint files (burn's named MessagePack).
pub const CHECKPOINT_EXTENSION: &str = "mpk";
pub use crate::atomic::TEMP_SUFFIX;
/// The files burn's `with_file_checkpointer` writes per epoch: `<component>-<epoch>.mpk`.
pub const CHECKPOINT_COMPONENTS: [&str; 3] = ["model", "optim", "scheduler"];
/// Sub-folder of a run folder where burn's Learner puts checkpoints.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// A burn file recorder whose writes are atomic; full precision unless told otherwise.
#[derive(Debug, Clone)]
pub struct AtomicFileRecorder<S: PrecisionSettings = FullPrecisionSettings> {
    /// Told of every complete file, to publish `best/` as soon as the best model is on disk.
    best: Option<Arc<BestModel>>,
    _settings: PhantomData<S>,
}

impl<S: PrecisionSettings> AtomicFileRecorder<S> {
    /// A recorder that tells `best` of every file it completes.
    pub fn publishing_best(best: Arc<BestModel>) -> Self {
        Self {
            best: Some(best),
            _settings: PhantomData,
        }
    }
}

/// The recorder for training checkpoints: atomic and full precision (resume exactly).
pub type CheckpointRecorder = AtomicFileRecorder<FullPrecisionSettings>;

impl<S: PrecisionSettings> Default for AtomicFileRecorder<S> {
    fn default() -> Self {
        Self {
            best: None,
            _settings: PhantomData,
        }
    }
}

impl<S: PrecisionSettings, B: Backend> FileRecorder<B> for AtomicFileRecorder<S> {
    fn file_extension() -> &'static str {
        CHECKPOINT_EXTENSION
    }
}

impl<S: PrecisionSettings, B: Backend> Recorder<B> for AtomicFileRecorder<S> {
    type Settings = S;
    type RecordArgs = PathBuf;
    type RecordOutput = ();
    type LoadArgs = PathBuf;

    fn save_item<I: Serialize>(
        &self,
        item: I,
        mut file: PathBuf,
    ) -> std::result::Result<(), RecorderError> {
        // Like burn's recorders, the caller names the file without its extension.
        file.set_extension(CHECKPOINT_EXTENSION);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RecorderError::Unknown(e.to_string()))?;
        }
        write_atomically(&file, |writer| {
            rmp_serde::encode::write_named(writer, &item)
                .map_err(|err| std::io::Error::other(err.to_string()))
        })
        .and_then(|()| match &self.best {
            Some(best) => best.model_saved(&file),
            None => Ok(()),
        })
        .map_err(|err| RecorderError::Unknown(err.to_string()))
    }

    fn load_item<I: DeserializeOwned>(
        &self,
        file: &mut PathBuf,
    ) -> std::result::Result<I, RecorderError> {
        Recorder::<B>::load_item(&NamedMpkFileRecorder::<S>::default(), file)
    }
}

/// The checkpoint file of `component` ("model", "optim", "scheduler") at `epoch`.
pub fn checkpoint_path(run_dir: &Path, component: &str, epoch: usize) -> PathBuf {
    run_dir
        .join(CHECKPOINT_DIR)
        .join(format!("{component}-{epoch}.{CHECKPOINT_EXTENSION}"))
}

/// The last epoch whose model, optimiser and scheduler checkpoints are all in `run_dir`, to
/// pass to `SupervisedTraining::checkpoint`; `None` when there is none (a fresh run).
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<usize>> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut epochs = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| AtlopError::io(&dir, e))? {
        let entry = entry.map_err(|e| AtlopError::io(&dir, e))?;
        let name = entry.file_name();
        let Some(epoch) = name.to_str().and_then(parse_model_epoch) else {
            continue;
        };
        let complete = CHECKPOINT_COMPONENTS
            .iter()
            .all(|component| checkpoint_path(run_dir, component, epoch).is_file());
        if complete {
            epochs.push(epoch);
        }
    }
    Ok(epochs.into_iter().max())
}

/// Deletes temporary files left by an interrupted write; returns how many there were.
pub fn remove_stale_temp_files(run_dir: &Path) -> Result<usize> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    if !dir.is_dir() {
        return Ok(0);
    }
    let suffix = format!(".{TEMP_SUFFIX}");
    let mut removed = 0;
    for entry in std::fs::read_dir(&dir).map_err(|e| AtlopError::io(&dir, e))? {
        let path = entry.map_err(|e| AtlopError::io(&dir, e))?.path();
        let is_temp = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(&suffix));
        if is_temp {
            std::fs::remove_file(&path).map_err(|e| AtlopError::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// `model-<epoch>.mpk` -> epoch.
fn parse_model_epoch(name: &str) -> Option<usize> {
    let stem = name.strip_suffix(&format!(".{CHECKPOINT_EXTENSION}"))?;
    stem.strip_prefix("model-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model-1.mpk");
        write_atomically(&path, |w| w.write_all(b"complete")).unwrap();
        let failed = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        let err = failed.unwrap_err().to_string();
        assert!(
            err.contains("model-1.mpk.tmp") && err.contains("disk full"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"complete");
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn latest_checkpoint_needs_all_three_components() {
        let run = tempfile::tempdir().unwrap();
        assert_eq!(latest_checkpoint(run.path()).unwrap(), None);
        std::fs::create_dir_all(run.path().join(CHECKPOINT_DIR)).unwrap();
        for epoch in [1, 2, 10] {
            for component in CHECKPOINT_COMPONENTS {
                let path = checkpoint_path(run.path(), component, epoch);
                write_atomically(&path, |w| w.write_all(b"x")).unwrap();
            }
        }
        // Epoch 11 was cut short: its optimiser and scheduler never reached their names.
        let model_11 = checkpoint_path(run.path(), "model", 11);
        write_atomically(&model_11, |w| w.write_all(b"x")).unwrap();
        let optim_11 = temp_path(&checkpoint_path(run.path(), "optim", 11));
        std::fs::write(&optim_11, b"partial").unwrap();
        assert_eq!(latest_checkpoint(run.path()).unwrap(), Some(10));
        assert_eq!(remove_stale_temp_files(run.path()).unwrap(), 1);
        assert!(!optim_11.exists());
    }

    #[test]
    fn parses_only_final_model_files() {
        assert_eq!(parse_model_epoch("model-12.mpk"), Some(12));
        assert_eq!(parse_model_epoch("model-12.mpk.tmp"), None);
        assert_eq!(parse_model_epoch("optim-12.mpk"), None);
        assert_eq!(parse_model_epoch("model-x.mpk"), None);
    }
}
