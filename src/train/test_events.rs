//! The metric and progress events burn-train sends a renderer, built by hand for the renderer
//! and dashboard tests.

use std::sync::Arc;

use burn::data::dataloader::Progress;
use burn::train::metric::{
    MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericEntry, SerializedEntry,
};
use burn::train::renderer::{MetricState, TrainingProgress};

pub fn definition(id: &str, name: &str) -> MetricDefinition {
    MetricDefinition {
        metric_id: MetricId::new(Arc::new(id.into())),
        name: name.into(),
        description: None,
        attributes: MetricAttributes::None,
    }
}

pub fn state(id: &str, value: NumericEntry) -> MetricState {
    let entry = MetricEntry::new(
        MetricId::new(Arc::new(id.into())),
        SerializedEntry::new(String::new(), value.serialize()),
    );
    MetricState::Numeric(entry, value)
}

/// Iteration `iteration` of epoch `epoch` of `epochs`, `done` of `total` items into the epoch.
pub fn progress(
    epoch: usize,
    epochs: usize,
    done: usize,
    total: usize,
    iteration: usize,
) -> TrainingProgress {
    TrainingProgress {
        progress: Some(Progress::new(done, total)),
        global_progress: Progress::new(epoch, epochs),
        iteration: Some(iteration),
    }
}

/// A dev metric's value once its pass is done (count 0 means "not yet").
pub fn aggregated(value: f64) -> NumericEntry {
    NumericEntry::Aggregated {
        aggregated_value: value,
        count: 1,
    }
}
