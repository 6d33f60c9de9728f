//! The numbers a training run shows and logs, as burn-train metrics: loss, the two learning
//! rates (the Learner only knows the schedule factor), throughput, and the dev scores of the
//! WHOLE dev set (the last in [`super::dev_score`]).

use std::sync::Arc;
use std::time::Instant;

use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

use super::step::StepItem;

/// Names as shown in the dashboard and written to `metrics.jsonl` (burn also uses them as file
/// names: no `/`).
pub const LOSS: &str = "Loss";
pub const DEV_F1: &str = "Dev F1";
pub const DEV_IGN_F1: &str = "Dev Ign F1";

pub(super) fn numeric(higher_is_better: bool, unit: Option<&str>) -> MetricAttributes {
    NumericAttributes {
        unit: unit.map(str::to_string),
        higher_is_better,
    }
    .into()
}

/// Mean loss, weighted by documents.
#[derive(Clone, Default)]
pub struct LossValue {
    state: NumericMetricState,
    /// Stopped (with the epoch and iteration) when a loss is NaN or infinite.
    guard: Option<burn::train::Interrupter>,
}

impl LossValue {
    /// A loss metric that stops training through `interrupter` on a non-finite loss: a run
    /// whose loss diverged must fail, not finish with a NaN model.
    pub fn stopping_on_non_finite(interrupter: burn::train::Interrupter) -> Self {
        Self {
            state: NumericMetricState::default(),
            guard: Some(interrupter),
        }
    }
}

impl Metric for LossValue {
    type Input = StepItem;

    fn name(&self) -> MetricName {
        Arc::new(LOSS.into())
    }

    fn update(&mut self, item: &StepItem, metadata: &MetricMetadata) -> SerializedEntry {
        if let (Some(guard), false) = (&self.guard, item.loss.is_finite()) {
            guard.stop(Some(&format!(
                "the loss is {} at epoch {} iteration {}",
                item.loss,
                metadata.global_progress.items_processed,
                metadata.progress.items_processed
            )));
        }
        let opts = FormatOptions::new(self.name()).precision(4);
        self.state.update(item.loss, item.doc_indices.len(), opts)
    }

    fn clear(&mut self) {
        self.state.reset();
    }

    fn attributes(&self) -> MetricAttributes {
        numeric(false, None)
    }
}

impl Numeric for LossValue {
    fn value(&self) -> NumericEntry {
        self.state.current_value()
    }
    fn running_value(&self) -> NumericEntry {
        self.state.running_value()
    }
}

/// One group's learning rate: the schedule factor the Learner passes times the group's base.
#[derive(Clone)]
pub struct GroupRate {
    name: &'static str,
    base: f64,
    state: NumericMetricState,
}

impl GroupRate {
    pub fn encoder(base: f64) -> Self {
        Self {
            name: "LR encoder",
            base,
            state: NumericMetricState::new(),
        }
    }
    pub fn head(base: f64) -> Self {
        Self {
            name: "LR head",
            base,
            state: NumericMetricState::new(),
        }
    }
}

impl Metric for GroupRate {
    type Input = ();

    fn name(&self) -> MetricName {
        Arc::new(self.name.into())
    }

    fn update(&mut self, _: &(), metadata: &MetricMetadata) -> SerializedEntry {
        let rate = metadata.lr.unwrap_or(0.0) * self.base;
        let opts = FormatOptions::new(self.name()).precision(2);
        self.state.update(rate, 1, opts)
    }

    fn clear(&mut self) {
        self.state.reset();
    }

    fn attributes(&self) -> MetricAttributes {
        numeric(false, None)
    }
}

impl Numeric for GroupRate {
    fn value(&self) -> NumericEntry {
        self.state.current_value()
    }
    fn running_value(&self) -> NumericEntry {
        self.state.running_value()
    }
}

/// Documents or tokens per second, measured between consecutive updates.
#[derive(Clone)]
pub struct Throughput {
    tokens: bool,
    last: Option<Instant>,
    state: NumericMetricState,
}

impl Throughput {
    pub fn documents() -> Self {
        Self {
            tokens: false,
            last: None,
            state: NumericMetricState::new(),
        }
    }
    pub fn tokens() -> Self {
        Self {
            tokens: true,
            ..Self::documents()
        }
    }
}

impl Metric for Throughput {
    type Input = StepItem;

    fn name(&self) -> MetricName {
        Arc::new(
            if self.tokens {
                "Tokens per s"
            } else {
                "Docs per s"
            }
            .into(),
        )
    }

    fn update(&mut self, item: &StepItem, _: &MetricMetadata) -> SerializedEntry {
        let now = Instant::now();
        let seconds = self
            .last
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.last = Some(now);
        let amount = if self.tokens {
            item.tokens
        } else {
            item.doc_indices.len()
        } as f64;
        if seconds <= 0.0 {
            // The first batch of an epoch has no previous one to measure from: no value yet
            // (a count-0 entry, which logs and the dashboard skip), rather than a false 0.
            let entry = NumericEntry::Aggregated {
                aggregated_value: 0.0,
                count: 0,
            };
            return SerializedEntry::new(format!("{}: -", self.name()), entry.serialize());
        }
        let opts = FormatOptions::new(self.name()).precision(1);
        self.state.update(amount / seconds, 1, opts)
    }

    fn clear(&mut self) {
        self.state.reset();
        self.last = None;
    }

    fn attributes(&self) -> MetricAttributes {
        numeric(true, None)
    }
}

impl Numeric for Throughput {
    fn value(&self) -> NumericEntry {
        self.state.current_value()
    }
    fn running_value(&self) -> NumericEntry {
        self.state.running_value()
    }
}

pub use super::dev_score::{DevProgress, DevReports, DevScore};
