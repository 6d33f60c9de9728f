//! Which checkpoints a run keeps, and its best model in `best/`.
//!
//! A run keeps two epochs' checkpoints: the last (to resume from) and the best (the model the
//! run is reported by). The best epoch is chosen by the dev F1 of the run's own decision rule
//! (`decision.strategy`: adaptive for AT-loss models, the dev-tuned global threshold for BCE
//! models, as the reference selects), read from the whole-dev-set report that
//! [`super::metrics::DevScore`] writes for every epoch (`dev/epoch-<e>.json`), so the number that
//! selects a model is the number the log, the dashboard and the figures show. The earliest epoch
//! wins ties.
//!
//! burn's `MetricCheckpointingStrategy` is not used: it re-reads aggregated metric values from its
//! logger, starts with no memory on a resume (so checkpoints from before a resume are never
//! pruned) and can keep an epoch other than the one the reports name. [`KeepBestAndLast`] is a
//! burn `CheckpointingStrategy` that remembers across resumes by reading the reports.
//!
//! `best/` is published as soon as the best epoch's model file is on disk (the checkpoint
//! recorder calls [`BestModel::model_saved`] right after writing `model-<e>.mpk`): the model and
//! its report go into `best.new/`, which then replaces `best/` by renames, so `best/` always
//! holds one complete, consistent pair, even after `kill -9` or a full disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;
use burn::train::Interrupter;
use serde::{Deserialize, Serialize};

use super::checkpoint::{checkpoint_path, CHECKPOINT_COMPONENTS, CHECKPOINT_DIR};
use super::metrics::{DevProgress, DevReports};
use crate::atomic::write_atomically;
use crate::error::{AtlopError, Result};
use crate::evaluation::whole_set::SetReport;
use crate::run_folder::RunFolder;

/// `best/selected.json`: which epoch `best/` holds and the dev F1 it was selected by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    pub epoch: usize,
    /// Dev F1 of the run's decision rule at that epoch (a fraction; percent on disk).
    #[serde(rename = "dev_f1_pct", with = "crate::evaluation::percent")]
    pub dev_f1: f64,
}

/// The best epoch so far, shared by the checkpointing strategy (which decides it) and the
/// checkpoint recorder (which publishes `best/` once that epoch's model file exists).
#[derive(Debug)]
pub struct BestModel {
    folder: RunFolder,
    best: Mutex<Option<Selected>>,
}

impl BestModel {
    /// The tracker of `folder`, starting from the best epoch among the dev reports of epochs
    /// `1..=last_epoch` (a resumed run remembers its best; reports of later epochs, whose
    /// checkpoints were never completed, are ignored).
    pub fn open(folder: &RunFolder, last_epoch: usize) -> Result<Arc<Self>> {
        recover_best_dir(folder)?;
        let reports = DevReports {
            dir: folder.dev_reports(),
        };
        let mut best: Option<Selected> = None;
        for epoch in 1..=last_epoch {
            if let Some(f1) = reports.selection_f1(epoch)? {
                if best.is_none_or(|b| f1 > b.dev_f1) {
                    best = Some(Selected { epoch, dev_f1: f1 });
                }
            }
        }
        Ok(Arc::new(Self {
            folder: folder.clone(),
            best: Mutex::new(best),
        }))
    }

    /// The best epoch so far.
    pub fn best(&self) -> Option<Selected> {
        *self.best.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_best(&self, selected: Selected) {
        *self.best.lock().unwrap_or_else(|p| p.into_inner()) = Some(selected);
    }

    /// Called by the checkpoint recorder after `file` (a complete checkpoint file) was written:
    /// when it is the model of the best epoch, `best/` is published from it.
    pub fn model_saved(&self, file: &Path) -> Result<()> {
        let Some(best) = self.best() else {
            return Ok(());
        };
        if file == checkpoint_path(&self.folder.path, "model", best.epoch) {
            self.publish(best)?;
        }
        Ok(())
    }

    /// Makes sure `best/` holds the best epoch (after a resume from a run whose `best/` was never
    /// written, or an older run folder); an error when its checkpoint is gone.
    pub fn ensure_published(&self) -> Result<Selected> {
        let best = self.best().ok_or_else(|| AtlopError::Run {
            path: self.folder.path.clone(),
            message: "no epoch finished its dev evaluation, so there is no best model".into(),
        })?;
        if read_selected(&self.folder)?.map(|s| s.epoch) == Some(best.epoch)
            && self.folder.best_model().with_extension("mpk").is_file()
        {
            return Ok(best);
        }
        self.publish(best)?;
        Ok(best)
    }

    /// Writes `best.new/` (model linked or copied from the epoch's checkpoint, its dev report,
    /// `selected.json`), then swaps it in for `best/`.
    fn publish(&self, best: Selected) -> Result<()> {
        let folder = &self.folder;
        let model = checkpoint_path(&folder.path, "model", best.epoch);
        if !model.is_file() {
            return Err(AtlopError::Run {
                path: folder.path.clone(),
                message: format!(
                    "the checkpoint of the best epoch {} ({}) is missing",
                    best.epoch,
                    model.display()
                ),
            });
        }
        let report = DevReports {
            dir: folder.dev_reports(),
        }
        .path(best.epoch);
        let new = staging_dir(folder);
        if new.exists() {
            std::fs::remove_dir_all(&new).map_err(|e| AtlopError::io(&new, e))?;
        }
        std::fs::create_dir_all(&new).map_err(|e| AtlopError::io(&new, e))?;
        let dest = new.join("model.mpk");
        // A hard link costs nothing and stays valid when the checkpoint is pruned; copy where
        // the file system has none.
        if std::fs::hard_link(&model, &dest).is_err() {
            std::fs::copy(&model, &dest).map_err(|e| AtlopError::io(&dest, e))?;
            sync_file(&dest)?;
        }
        let report_text = std::fs::read(&report).map_err(|e| AtlopError::io(&report, e))?;
        write_atomically(&new.join("report.json"), |w| {
            std::io::Write::write_all(w, &report_text)
        })?;
        let selected = serde_json::to_vec_pretty(&best).map_err(|e| AtlopError::Json {
            path: new.join("selected.json"),
            source: e,
        })?;
        write_atomically(&new.join("selected.json"), |w| {
            std::io::Write::write_all(w, &selected)
        })?;
        let best_dir = folder.best_dir();
        let old = retired_dir(folder);
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| AtlopError::io(&old, e))?;
        }
        if best_dir.exists() {
            std::fs::rename(&best_dir, &old).map_err(|e| AtlopError::io(&best_dir, e))?;
        }
        std::fs::rename(&new, &best_dir).map_err(|e| AtlopError::io(&best_dir, e))?;
        sync_dir(&folder.path)?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| AtlopError::io(&old, e))?;
        }
        Ok(())
    }
}

impl DevReports {
    /// The dev F1 that selects epoch `epoch` (its report's F1, computed with the run's decision
    /// rule), or `None` when that epoch has no report (its dev pass was interrupted).
    pub fn selection_f1(&self, epoch: usize) -> Result<Option<f64>> {
        let path = self.path(epoch);
        if !path.is_file() {
            return Ok(None);
        }
        let report: SetReport = crate::evaluation::percent::read_json(&path)?;
        Ok(Some(report.f1))
    }
}

/// `best/selected.json`, or `None` for folders that have none.
pub fn read_selected(folder: &RunFolder) -> Result<Option<Selected>> {
    let path = folder.best_dir().join("selected.json");
    if !path.is_file() {
        return Ok(None);
    }
    crate::evaluation::percent::read_json(&path).map(Some)
}

fn staging_dir(folder: &RunFolder) -> PathBuf {
    folder.path.join("best.new")
}

fn retired_dir(folder: &RunFolder) -> PathBuf {
    folder.path.join("best.old")
}

/// Finishes or undoes a swap of `best/` that a crash interrupted: without `best/`, a complete
/// `best.new/` (it was renamed last) or else `best.old/` takes its place; leftovers go.
pub fn recover_best_dir(folder: &RunFolder) -> Result<()> {
    let best = folder.best_dir();
    let new = staging_dir(folder);
    let old = retired_dir(folder);
    let complete = |dir: &Path| {
        ["model.mpk", "report.json", "selected.json"]
            .iter()
            .all(|f| dir.join(f).is_file())
    };
    if !best.exists() {
        if new.is_dir() && complete(&new) {
            std::fs::rename(&new, &best).map_err(|e| AtlopError::io(&best, e))?;
        } else if old.is_dir() {
            std::fs::rename(&old, &best).map_err(|e| AtlopError::io(&best, e))?;
        }
    }
    for dir in [new, old] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| AtlopError::io(&dir, e))?;
        }
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| AtlopError::io(path, e))
}

fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    sync_file(path)?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// burn's checkpointing strategy for a run: save every epoch, keep only the last and the best.
pub struct KeepBestAndLast {
    best: Arc<BestModel>,
    reports: DevReports,
    /// The last epoch whose checkpoint was kept.
    last: Option<usize>,
    /// Signals each epoch's scored dev pass (it runs on burn's metric thread); `None` in tests
    /// that write the reports first.
    progress: Option<(Arc<DevProgress>, Interrupter)>,
}

/// How long the strategy waits for an epoch's dev report after the dev pass: scoring a whole dev
/// set (per-class threshold search included) takes seconds; an hour means it failed.
const DEV_REPORT_TIMEOUT: Duration = Duration::from_secs(3600);

impl KeepBestAndLast {
    /// Starts after `last_epoch` (0 for a fresh run) and deletes checkpoint files of every
    /// other epoch that is neither that one nor the best (runs interrupted and resumed before
    /// this strategy existed left them).
    pub fn new(best: Arc<BestModel>, last_epoch: usize) -> Result<Self> {
        let folder = best.folder.clone();
        let keep: Vec<usize> = [Some(last_epoch), best.best().map(|b| b.epoch)]
            .into_iter()
            .flatten()
            .collect();
        prune_checkpoints(&folder.path, &keep)?;
        Ok(Self {
            reports: DevReports {
                dir: folder.dev_reports(),
            },
            best,
            last: (last_epoch > 0).then_some(last_epoch),
            progress: None,
        })
    }

    /// Waits for each epoch's dev report (signalled through `progress`) before deciding, unless
    /// `interrupter` stops the run.
    pub fn waiting_for(mut self, progress: Arc<DevProgress>, interrupter: Interrupter) -> Self {
        self.progress = Some((progress, interrupter));
        self
    }
}

/// Deletes every checkpoint file of an epoch not in `keep`.
fn prune_checkpoints(run_dir: &Path, keep: &[usize]) -> Result<()> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(&dir).map_err(|e| AtlopError::io(&dir, e))? {
        let path = entry.map_err(|e| AtlopError::io(&dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let epoch = CHECKPOINT_COMPONENTS.iter().find_map(|c| {
            name.strip_prefix(&format!("{c}-"))?
                .strip_suffix(".mpk")?
                .parse::<usize>()
                .ok()
        });
        if epoch.is_some_and(|e| !keep.contains(&e)) {
            std::fs::remove_file(&path).map_err(|e| AtlopError::io(&path, e))?;
        }
    }
    Ok(())
}

impl CheckpointingStrategy for KeepBestAndLast {
    fn checkpointing(&mut self, epoch: usize, _: &EventStoreClient) -> Vec<CheckpointingAction> {
        self.decide(epoch)
    }
}

impl KeepBestAndLast {
    /// The actions after `epoch`'s dev pass: save it; delete the previous last and a superseded
    /// best unless they are still the best or the last.
    pub fn decide(&mut self, epoch: usize) -> Vec<CheckpointingAction> {
        if let Some((progress, interrupter)) = &self.progress {
            if !progress.wait_for(epoch, DEV_REPORT_TIMEOUT, || interrupter.should_stop()) {
                eprintln!("epoch {epoch}: its dev pass was not scored; not a best candidate");
            }
        }
        let f1 = match self.reports.selection_f1(epoch) {
            Ok(f1) => f1,
            Err(e) => {
                eprintln!("epoch {epoch}: cannot read its dev report ({e}); not a best candidate");
                None
            }
        };
        let previous_best = self.best.best().map(|b| b.epoch);
        let improved = f1.is_some_and(|f1| self.best.best().is_none_or(|b| f1 > b.dev_f1));
        if let (true, Some(dev_f1)) = (improved, f1) {
            // Set before the save is queued: the recorder publishes `best/` from this epoch's
            // model file as soon as it is written.
            self.best.set_best(Selected { epoch, dev_f1 });
        }
        let best = self.best.best().map(|b| b.epoch);
        // The save goes first: an old checkpoint is deleted only after the new one is queued
        // (the checkpointer handles its messages in order).
        let mut actions = vec![CheckpointingAction::Save];
        let mut stale: Vec<usize> = [self.last, previous_best.filter(|_| improved)]
            .into_iter()
            .flatten()
            .filter(|&e| e != epoch && Some(e) != best)
            .collect();
        stale.dedup();
        actions.extend(stale.into_iter().map(CheckpointingAction::Delete));
        self.last = Some(epoch);
        actions
    }
}

#[cfg(test)]
mod tests;
