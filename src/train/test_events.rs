//! The metric and progress events burn-train sends a renderer, built by hand for the renderer
//! and dashboard tests.

use std::sync::Arc;

use burn::data::dataloader::Progress;
use burn::train::metric::{
    MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericEntry, SerializedEntry,
};
use burn::train::renderer::{MetricState, MetricsRenderer, TrainingProgress};

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

/// What a renderer sees of two epochs of two iterations and a dev pass each (loss 1.0 then 0.5;
/// the dev F1 pending, then 42.5).
pub fn drive<R: MetricsRenderer>(r: &mut R) {
    r.register_metric(definition("loss", "Loss"));
    r.register_metric(definition("f1", "Dev F1"));
    for epoch in 1..=2 {
        for it in 1..=2 {
            r.update_train(state("loss", NumericEntry::Value(1.0 / it as f64)));
            r.render_train(progress(epoch, 2, it * 2, 4, it), vec![]);
        }
        let pending = NumericEntry::Aggregated {
            aggregated_value: 0.0,
            count: 0,
        };
        r.update_valid(state("f1", pending));
        r.render_valid(progress(epoch, 2, 1, 2, 1), vec![]);
        r.update_valid(state("f1", aggregated(42.5)));
        r.render_valid(progress(epoch, 2, 2, 2, 2), vec![]);
    }
}
