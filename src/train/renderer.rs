//! What a training run shows. On a terminal, burn-train's TUI; without one (logs, CI, `nohup`),
//! [`PlainRenderer`]: one readable line every `every` iterations and one per epoch, where
//! burn's own fallback prints a debug dump with no metric values. Either way
//! [`super::metrics_log::JsonlRenderer`] wraps it and appends every value to `metrics.jsonl` in
//! the run folder.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::LearnerSummary;

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

#[cfg(test)]
mod tests;
