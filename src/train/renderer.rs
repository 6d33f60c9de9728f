//! What a training run shows. On a terminal, burn-train's TUI; without one (logs, CI, `nohup`),
//! [`PlainRenderer`]: one readable line every `every` iterations and one per epoch, where
//! burn's own fallback prints a debug dump with no metric values. Either way [`JsonlRenderer`]
//! appends every value to `metrics.jsonl` in the run folder.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::LearnerSummary;

use crate::error::{AtlopError, Result};

/// Metric names by id, and the latest numeric value of each.
#[derive(Default)]
pub(crate) struct MetricBook {
    names: HashMap<MetricId, String>,
    pub(crate) values: BTreeMap<String, f64>,
}

impl MetricBook {
    pub(crate) fn register(&mut self, definition: &MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.clone());
    }

    pub(crate) fn update(&mut self, state: &MetricState) {
        if let MetricState::Numeric(entry, value) = state {
            if let Some(name) = self.names.get(&entry.metric_id) {
                // Count-0 entries are the dev metric's "not yet" (see `metrics`).
                let pending = matches!(
                    value,
                    burn::train::metric::NumericEntry::Aggregated { count: 0, .. }
                );
                if !pending {
                    self.values.insert(name.clone(), value.current());
                }
            }
        }
    }

    pub(crate) fn line(&self) -> String {
        self.values
            .iter()
            .map(|(name, v)| format!("{name} {}", format_value(*v)))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn format_value(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-2 {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

/// `1h02m`, `3m05s`, `42s`.
pub(crate) fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

pub(crate) fn is_last(item: &TrainingProgress) -> bool {
    item.progress
        .as_ref()
        .is_some_and(|p| p.items_processed >= p.items_total)
}

/// How far the whole run is and how long the rest will take, from the rate of this session (a
/// resumed run starts late, so its rate counts only from where it started).
pub(crate) struct RunClock {
    started: std::time::Instant,
    /// Fraction of the run done at the first progress this clock saw.
    first_fraction: Option<f64>,
    fraction: f64,
}

impl RunClock {
    pub(crate) fn new() -> Self {
        Self {
            started: std::time::Instant::now(),
            first_fraction: None,
            fraction: 0.0,
        }
    }

    /// Notes the progress of a training iteration.
    pub(crate) fn observe(&mut self, item: &TrainingProgress) {
        let g = &item.global_progress;
        let (done, total) = item
            .progress
            .as_ref()
            .map_or((0, 1), |p| (p.items_processed, p.items_total.max(1)));
        self.fraction = (g.items_processed.saturating_sub(1) as f64 + done as f64 / total as f64)
            / g.items_total.max(1) as f64;
        self.first_fraction.get_or_insert(self.fraction);
    }

    /// Fraction of the whole run's training done.
    pub(crate) fn fraction(&self) -> f64 {
        self.fraction.clamp(0.0, 1.0)
    }

    pub(crate) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Seconds of training left, once this session has a rate (dev passes not included).
    pub(crate) fn seconds_left(&self) -> Option<f64> {
        let first = self.first_fraction?;
        let elapsed = self.elapsed();
        (self.fraction > first && elapsed >= 1.0)
            .then(|| elapsed * (1.0 - self.fraction) / (self.fraction - first))
    }
}

/// Plain text lines for logs: each starts with the UTC time and the time since the renderer
/// started; iteration lines end with the ETA of the run, epoch lines with the best dev F1 so far.
pub struct PlainRenderer<W: Write + Send + Sync> {
    out: W,
    every: usize,
    train: MetricBook,
    valid: MetricBook,
    /// Per epoch: sum and count of the train values, for the epoch line's means.
    epoch_sums: BTreeMap<String, (f64, usize)>,
    clock: RunClock,
    /// Best `Dev F1` so far and its epoch.
    best: Option<(f64, usize)>,
}

impl<W: Write + Send + Sync> PlainRenderer<W> {
    /// A line every `every` training iterations (at least 1).
    pub fn new(out: W, every: usize) -> Self {
        Self {
            out,
            every: every.max(1),
            train: MetricBook::default(),
            valid: MetricBook::default(),
            epoch_sums: BTreeMap::new(),
            clock: RunClock::new(),
            best: None,
        }
    }

    /// `[HH:MM:SS UTC +elapsed]`.
    fn stamp(&self) -> String {
        let clock = crate::run_folder::timestamp(crate::run_folder::now_unix());
        let time = clock.split_once('-').map_or(clock.as_str(), |(_, t)| t);
        format!(
            "[{}:{}:{} +{}]",
            &time[0..2],
            &time[2..4],
            &time[4..6],
            duration(self.clock.elapsed())
        )
    }

    /// The run's remaining time from the rate of this session, once it has one.
    fn eta(&mut self, item: &TrainingProgress) -> String {
        self.clock.observe(item);
        self.clock.seconds_left().map_or("ETA -".into(), |left| {
            format!("ETA {} (dev passes not included)", duration(left))
        })
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn print(&mut self, line: String) {
        // A log line that cannot be written must not stop training.
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

impl<W: Write + Send + Sync> MetricsRendererTraining for PlainRenderer<W> {
    fn update_train(&mut self, state: MetricState) {
        self.train.update(&state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.valid.update(&state);
    }

    fn render_train(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        for (name, v) in &self.train.values {
            let sum = self.epoch_sums.entry(name.clone()).or_default();
            sum.0 += v;
            sum.1 += 1;
        }
        let iteration = item.iteration.unwrap_or(0);
        if iteration.is_multiple_of(self.every) || is_last(&item) {
            let g = &item.global_progress;
            let p = item
                .progress
                .as_ref()
                .map_or((0, 0), |p| (p.items_processed, p.items_total));
            let (epoch, epochs) = (g.items_processed, g.items_total);
            let eta = self.eta(&item);
            let line = format!(
                "{} train epoch {epoch}/{epochs} iter {iteration} docs {}/{} | {} | {eta}",
                self.stamp(),
                p.0,
                p.1,
                self.train.line()
            );
            self.print(line);
        }
    }

    fn render_valid(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        if !is_last(&item) {
            return;
        }
        let means: Vec<String> = self
            .epoch_sums
            .iter()
            .map(|(name, (s, n))| format!("{name} {}", format_value(s / (*n).max(1) as f64)))
            .collect();
        self.epoch_sums.clear();
        let g = &item.global_progress;
        if let Some(&f1) = self.valid.values.get(super::metrics::DEV_F1) {
            if self.best.is_none_or(|(b, _)| f1 > b) {
                self.best = Some((f1, g.items_processed));
            }
        }
        let best = self.best.map_or(String::new(), |(f1, epoch)| {
            format!(" | best Dev F1 {f1:.2} (epoch {epoch} of this session)")
        });
        let line = format!(
            "{} epoch {}/{} done | train mean: {} | valid: {}{best}",
            self.stamp(),
            g.items_processed,
            g.items_total,
            means.join(" | "),
            self.valid.line()
        );
        self.print(line);
    }

    fn on_train_end(
        &mut self,
        _: Option<LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let line = format!("{} training loop ended", self.stamp());
        self.print(line);
        Ok(())
    }
}

impl<W: Write + Send + Sync> MetricsRendererEvaluation for PlainRenderer<W> {
    fn update_test(&mut self, _: EvaluationName, state: MetricState) {
        self.valid.update(&state);
    }

    fn render_test(&mut self, _: EvaluationProgress, _: Vec<ProgressType>) {}
}

impl<W: Write + Send + Sync> MetricsRenderer for PlainRenderer<W> {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.train.register(&definition);
        self.valid.register(&definition);
    }
}

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
