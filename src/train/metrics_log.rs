//! The run folder's `metrics.jsonl`: one JSON object per training iteration, per finished dev
//! pass and per training process's start, each with a wall-clock stamp. Written by
//! [`JsonlRenderer`] (wrapping the renderer the run shows), cut back to the last checkpointed
//! epoch when a run resumes ([`truncate_metrics`]); read by the training curves
//! (`experiment::figures`), the `--dry-run` estimate and the epoch times
//! ([`super::epoch_times`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::LearnerSummary;

use super::renderer::{is_last, MetricBook};
use crate::error::{AtlopError, Result};

/// Keeps the records of epochs `1..=last_epoch` of `metrics.jsonl` (a resumed run trains the
/// epoch after its checkpoint again, so the lines an interrupted session logged for it go).
pub fn truncate_metrics(path: &Path, last_epoch: usize) -> Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["epoch"].as_u64())
                .is_some_and(|e| e as usize <= last_epoch)
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    if kept.len() != text.len() {
        crate::atomic::write_bytes_atomically(path, kept.as_bytes())?;
    }
    Ok(())
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Appends one JSON object per training iteration and per finished validation to
/// `metrics.jsonl`, then hands everything to the renderer it wraps.
pub struct JsonlRenderer {
    inner: Box<dyn MetricsRenderer>,
    file: File,
    train: MetricBook,
    valid: MetricBook,
}

impl JsonlRenderer {
    /// Opens (appending: a resumed run continues the file) `path` and stamps the start of this
    /// training process: `{"split": "start", "epoch": first_epoch, "unix_seconds": started}`,
    /// where `first_epoch` is the epoch it trains first and `started` when the process began
    /// (set-up included). With it, each epoch's wall time survives restarts
    /// ([`super::epoch_times`]); the stamp is an epoch's line, so a resume drops it with the
    /// interrupted epoch's other lines.
    pub fn new(
        inner: Box<dyn MetricsRenderer>,
        path: &Path,
        first_epoch: usize,
        started: SystemTime,
    ) -> Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| AtlopError::io(path, e))?;
        let start = serde_json::json!({
            "split": super::epoch_times::START_SPLIT,
            "epoch": first_epoch,
            "unix_seconds": unix_seconds(started),
        });
        writeln!(file, "{start}").map_err(|e| AtlopError::io(path, e))?;
        Ok(Self {
            inner,
            file,
            train: MetricBook::default(),
            valid: MetricBook::default(),
        })
    }

    fn write(&mut self, split: &str, item: &TrainingProgress, values: &BTreeMap<String, f64>) {
        // Wall-clock stamp: step, dev-pass and epoch times are measured from it (`--dry-run`,
        // the records' training time).
        let unix_seconds = unix_seconds(SystemTime::now());
        let record = serde_json::json!({
            "split": split,
            "unix_seconds": unix_seconds,
            "epoch": item.global_progress.items_processed,
            "iteration": item.iteration,
            "metrics": values,
        });
        let _ = writeln!(self.file, "{record}");
    }
}

impl MetricsRendererTraining for JsonlRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.train.update(&state);
        self.inner.update_train(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.valid.update(&state);
        self.inner.update_valid(state);
    }

    fn render_train(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        let values = self.train.values.clone();
        self.write("train", &item, &values);
        self.inner.render_train(item, indicators);
    }

    fn render_valid(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        if is_last(&item) {
            let values = self.valid.values.clone();
            self.write("valid", &item, &values);
            let _ = self.file.flush();
        }
        self.inner.render_valid(item, indicators);
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let _ = self.file.flush();
        self.inner.on_train_end(summary)
    }
}

impl MetricsRendererEvaluation for JsonlRenderer {
    fn update_test(&mut self, name: EvaluationName, state: MetricState) {
        self.inner.update_test(name, state);
    }

    fn render_test(&mut self, item: EvaluationProgress, indicators: Vec<ProgressType>) {
        self.inner.render_test(item, indicators);
    }
}

impl MetricsRenderer for JsonlRenderer {
    fn manual_close(&mut self) {
        self.inner.manual_close();
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.train.register(&definition);
        self.valid.register(&definition);
        self.inner.register_metric(definition);
    }
}

#[cfg(test)]
mod tests;
