//! Scores of a whole evaluation set from its logits: the strategy decides every pair (fitting
//! its thresholds on this set first when it is dev), then the official metric of the dataset
//! scores the decisions: DocRED F1 and Ign F1, or the positive-class F1 of CDR/GDA. Training
//! (dev at every epoch) and `atlop evaluate` both call this, so a logged dev F1 and a
//! re-evaluation of the saved model are the same computation.

use serde::{Deserialize, Serialize};

use super::{bio, decisions_to_predictions, docred, BioReport, DocredReport, TrainFacts};
use crate::data::{Dataset, DatasetKind};
use crate::decision::{Decisions, ScoreMatrix, Strategy, ThresholdSearch, Tuned};
use crate::error::{AtlopError, Result};
use crate::features::Feature;

/// A labelled evaluation set and what its metric needs.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub dataset: Dataset,
    /// One per document of `dataset`, in order; their `hts` order the score rows.
    pub features: Vec<Feature>,
    /// Facts of the training file, for Ign F1 (DocRED only).
    pub train_facts: TrainFacts,
}

/// The headline numbers and the full report of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetReport {
    /// DocRED F1, or the positive-class F1 of CDR/GDA.
    #[serde(rename = "f1_pct", with = "crate::evaluation::percent")]
    pub f1: f64,
    /// DocRED only.
    #[serde(rename = "ign_f1_pct", with = "crate::evaluation::percent::option")]
    pub ign_f1: Option<f64>,
    pub decision: Tuned,
    pub docred: Option<DocredReport>,
    pub bio: Option<BioReport>,
}

impl EvalSet {
    /// Score rows in this set: one per entity pair of every feature.
    pub fn num_rows(&self) -> usize {
        self.features.iter().map(|f| f.hts.len()).sum()
    }

    /// Fits `strategy` on this set's gold relations, then scores with it (dev).
    pub fn tune_and_score(
        &self,
        scores: &ScoreMatrix,
        strategy: &Strategy,
        search: &ThresholdSearch,
    ) -> Result<SetReport> {
        let gold = Decisions::from_features(&self.features);
        let tuned = strategy.tune(scores, &gold, search)?;
        self.score(scores, &tuned)
    }

    /// Scores with a fitted strategy (test, or dev again from a run folder).
    pub fn score(&self, scores: &ScoreMatrix, decision: &Tuned) -> Result<SetReport> {
        if scores.rows != self.num_rows() {
            return Err(AtlopError::Invalid(format!(
                "{}: {} score rows for {} entity pairs",
                self.dataset.path.display(),
                scores.rows,
                self.num_rows()
            )));
        }
        let decided = decision.decide(scores)?;
        match self.dataset.kind {
            DatasetKind::Docred => {
                let predictions = decisions_to_predictions(&self.features, &decided)?;
                let report = docred::evaluate(
                    &predictions,
                    &self.dataset,
                    &self.train_facts,
                    &docred::DocredEvalConfig::default(),
                )?;
                Ok(SetReport {
                    f1: report.f1,
                    ign_f1: Some(report.ign_f1),
                    decision: decision.clone(),
                    docred: Some(report),
                    bio: None,
                })
            }
            DatasetKind::Bio => {
                let gold = Decisions::from_features(&self.features);
                // Class 1 is the one relation of CDR (CID) and GDA.
                let report = bio::evaluate(&decided, &gold, 1)?;
                Ok(SetReport {
                    f1: report.f1,
                    ign_f1: None,
                    decision: decision.clone(),
                    docred: None,
                    bio: Some(report),
                })
            }
        }
    }
}
