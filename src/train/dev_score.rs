//! The whole-dev-set scores of each epoch as burn-train metrics ([`DevScore`]), the reports
//! they write (`dev/epoch-<e>.json`, which select the best model) and the signal that an
//! epoch's dev pass was scored ([`DevProgress`]).
//!
//! burn averages a metric's per-batch entries over the epoch (count-weighted). A whole-set F1
//! is no mean of per-batch values, so [`DevScore`] collects every validation batch's logits and
//! reports count 0 until the last document arrives; then it scores the whole set once and
//! reports that value with count 1, which makes burn's epoch mean exactly the whole-set score.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericEntry, SerializedEntry,
};

use super::metrics::{numeric, DEV_F1, DEV_IGN_F1};
use super::step::StepItem;
use crate::config::DecisionSection;
use crate::decision::ScoreMatrix;
use crate::evaluation::whole_set::{EvalSet, SetReport};

/// Where the dev metric writes each epoch's full report: `<dir>/epoch-<e>.json`.
#[derive(Debug, Clone)]
pub struct DevReports {
    pub dir: PathBuf,
}

impl DevReports {
    pub fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("epoch-{epoch}.json"))
    }
}

/// The last epoch whose dev pass was scored (its report written, or its scoring failed).
///
/// burn runs metrics on its event-processor thread, so the dev report of an epoch may land after
/// the training thread asks its checkpointing strategy what to keep: the strategy waits here
/// for that epoch first (burn's own metric strategy does not, and could pick the wrong epoch).
#[derive(Debug, Default)]
pub struct DevProgress {
    scored: Mutex<usize>,
    changed: Condvar,
}

impl DevProgress {
    fn scored(&self, epoch: usize) {
        let mut last = self.scored.lock().unwrap_or_else(|p| p.into_inner());
        *last = (*last).max(epoch);
        self.changed.notify_all();
    }

    /// Waits until `epoch` was scored; gives up (false) when `give_up()` turns true or after
    /// `timeout`. `give_up` is polled every 100 ms (an interrupted dev pass never scores).
    pub fn wait_for(&self, epoch: usize, timeout: Duration, give_up: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut last = self.scored.lock().unwrap_or_else(|p| p.into_inner());
        while *last < epoch {
            if give_up() || Instant::now() >= deadline {
                return false;
            }
            last = self
                .changed
                .wait_timeout(last, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

/// Whole-dev-set F1 (or Ign F1); see the module documentation.
#[derive(Clone)]
pub struct DevScore {
    ign: bool,
    set: Arc<EvalSet>,
    decision: Arc<DecisionSection>,
    /// Writes the epoch's report (only one of the two dev metrics does) and signals it.
    reports: Option<(DevReports, Arc<DevProgress>)>,
    /// Logit rows per document index, filled over one validation epoch.
    rows: BTreeMap<usize, Vec<f32>>,
    num_classes: usize,
    last: NumericEntry,
}

impl DevScore {
    /// Dev F1; writes each epoch's report to `reports` and tells `progress`.
    pub fn f1(
        set: Arc<EvalSet>,
        decision: Arc<DecisionSection>,
        reports: DevReports,
        progress: Arc<DevProgress>,
    ) -> Self {
        Self {
            ign: false,
            set,
            decision,
            reports: Some((reports, progress)),
            rows: BTreeMap::new(),
            num_classes: 0,
            last: NumericEntry::Value(0.0),
        }
    }

    /// Dev Ign F1 (DocRED).
    pub fn ign_f1(set: Arc<EvalSet>, decision: Arc<DecisionSection>) -> Self {
        Self {
            ign: true,
            set,
            decision,
            reports: None,
            rows: BTreeMap::new(),
            num_classes: 0,
            last: NumericEntry::Value(0.0),
        }
    }

    fn collect(&mut self, item: &StepItem) {
        let Some(logits) = &item.logits else { return };
        let c = item.num_classes.max(1);
        self.num_classes = c;
        let mut offset = 0;
        for (&doc, &pairs) in item.doc_indices.iter().zip(&item.num_pairs) {
            let end = (offset + pairs) * c;
            self.rows
                .insert(doc, logits.get(offset * c..end).unwrap_or(&[]).to_vec());
            offset += pairs;
        }
    }

    /// Scores the collected set; `None` (with a log line) when scoring fails.
    fn score(&self) -> Option<SetReport> {
        let data: Vec<f32> = self.rows.values().flatten().copied().collect();
        let c = self.num_classes.max(1);
        let scores = ScoreMatrix::new(data.len() / c, c, data).ok()?;
        match self
            .set
            .tune_and_score(&scores, &self.decision.strategy, &self.decision.search)
        {
            Ok(report) => Some(report),
            Err(e) => {
                eprintln!("dev evaluation failed: {e}");
                None
            }
        }
    }
}

impl Metric for DevScore {
    type Input = StepItem;

    fn name(&self) -> MetricName {
        Arc::new(if self.ign { DEV_IGN_F1 } else { DEV_F1 }.into())
    }

    fn update(&mut self, item: &StepItem, metadata: &MetricMetadata) -> SerializedEntry {
        self.collect(item);
        if self.rows.len() < self.set.features.len() {
            let entry = NumericEntry::Aggregated {
                aggregated_value: 0.0,
                count: 0,
            };
            return SerializedEntry::new(format!("{} pending", self.name()), entry.serialize());
        }
        let report = self.score();
        let epoch = metadata.global_progress.items_processed;
        if let (Some(report), Some((reports, _))) = (&report, &self.reports) {
            // Atomic: the best-model selection reads these reports, also after a crash.
            let written = serde_json::to_vec_pretty(report)
                .map_err(std::io::Error::other)
                .and_then(|text| {
                    std::fs::create_dir_all(&reports.dir)?;
                    super::checkpoint::write_atomically(&reports.path(epoch), |w| {
                        std::io::Write::write_all(w, &text)
                    })
                    .map_err(std::io::Error::other)
                });
            if let Err(e) = written {
                eprintln!("cannot write the dev report of epoch {epoch}: {e}");
            }
        }
        if let Some((_, progress)) = &self.reports {
            progress.scored(epoch);
        }
        let value = report
            .map(|r| {
                if self.ign {
                    r.ign_f1.unwrap_or(0.0)
                } else {
                    r.f1
                }
            })
            .unwrap_or(0.0)
            * 100.0;
        self.rows.clear();
        self.last = NumericEntry::Aggregated {
            aggregated_value: value,
            count: 1,
        };
        SerializedEntry::new(
            format!("{}: {value:.2}", self.name()),
            self.last.serialize(),
        )
    }

    fn clear(&mut self) {
        self.rows.clear();
    }

    fn attributes(&self) -> MetricAttributes {
        numeric(true, Some("%"))
    }
}

impl Numeric for DevScore {
    fn value(&self) -> NumericEntry {
        self.last.clone()
    }
    fn running_value(&self) -> NumericEntry {
        self.last.clone()
    }
}
