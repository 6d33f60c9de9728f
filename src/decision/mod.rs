//! Decisions on a whole evaluation set's scores: the thresholding strategies compared in the
//! paper's Table 6 (adaptive, global, per-class) and the TH-logit rule of the
//! "- Adaptive-Thresholding Loss" ablation.
//!
//! A strategy is chosen by [`Strategy`] (part of the run config), fitted on dev by
//! [`Strategy::tune`], and the resulting [`Tuned`] (thresholds included) decides test, so
//! thresholds tuned on dev are applied to test unchanged.

pub mod adaptive;
pub mod global;
pub mod per_class;
mod probabilities;
mod scores;

use serde::{Deserialize, Serialize};

pub use per_class::{PerClassFit, ThresholdSearch};
pub use scores::{Decisions, ScoreMatrix};

use crate::error::{AtlopError, Result};

/// How relations are decided from logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// Logit above the pair's TH logit, at most `top_k` per pair (0 = no limit). The paper's
    /// method: top_k 4 on DocRED, 1 on CDR/GDA. The same rule decides a BCE-trained model by
    /// its TH logit (Table 5's "- Adaptive-Thresholding Loss"): the two rows differ in the
    /// model's loss, not in the rule, so the table row names it (`decision_label`). Records
    /// written before the rule had one name spell it `threshold_logit` too.
    #[serde(alias = "threshold_logit")]
    Adaptive { top_k: usize },
    /// One probability threshold for all classes, tuned on dev over the search grid.
    Global {
        #[serde(default)]
        top_k: usize,
    },
    /// One probability threshold per class, tuned on dev by cyclic optimisation.
    PerClass {
        #[serde(default)]
        top_k: usize,
    },
}

/// Thresholds a strategy fitted on dev.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Thresholds {
    /// Adaptive decisions (TH logit as the threshold) need none.
    None,
    /// A probability threshold for every class.
    Global(f32),
    /// `[cols]` probability thresholds; index 0 (TH) is unused.
    PerClass(Vec<f32>),
}

/// A strategy with its fitted thresholds: what decides test after tuning on dev. Saved beside
/// a run so that evaluation reuses the dev thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuned {
    pub strategy: Strategy,
    pub thresholds: Thresholds,
    /// Micro F1 on the set the thresholds were tuned on (`None` when not tuned on labels).
    pub dev: Option<MicroF1>,
}

impl Strategy {
    /// How tables, logs and the dashboard name the rule: `adaptive (top 4)`, `global threshold`,
    /// `per-class thresholds`.
    pub fn label(&self) -> String {
        let top = |k: usize| {
            if k == 0 {
                String::new()
            } else {
                format!(" (top {k})")
            }
        };
        match *self {
            Strategy::Adaptive { top_k } => format!("adaptive{}", top(top_k)),
            Strategy::Global { top_k } => format!("global threshold{}", top(top_k)),
            Strategy::PerClass { top_k } => format!("per-class thresholds{}", top(top_k)),
        }
    }

    /// Fits the strategy on dev scores and their gold relations.
    pub fn tune(
        &self,
        dev: &ScoreMatrix,
        gold: &Decisions,
        search: &ThresholdSearch,
    ) -> Result<Tuned> {
        let (thresholds, score) = match *self {
            Strategy::Adaptive { top_k } => {
                let decided = adaptive::decide(dev, top_k)?;
                (Thresholds::None, micro_f1(&decided, gold)?)
            }
            Strategy::Global { top_k } => {
                let (t, score) = global::tune(dev, gold, &search.grid, top_k)?;
                (Thresholds::Global(t), score)
            }
            Strategy::PerClass { top_k } => {
                let fit = per_class::tune(dev, gold, search, top_k)?;
                (Thresholds::PerClass(fit.thresholds), fit.dev)
            }
        };
        Ok(Tuned {
            strategy: *self,
            thresholds,
            dev: Some(score),
        })
    }

    /// The strategy ready to decide without tuning; only the threshold-free ones can.
    pub fn untuned(&self) -> Result<Tuned> {
        match self {
            Strategy::Adaptive { .. } => Ok(Tuned {
                strategy: *self,
                thresholds: Thresholds::None,
                dev: None,
            }),
            Strategy::Global { .. } | Strategy::PerClass { .. } => Err(AtlopError::Invalid(
                format!("strategy {self:?} needs thresholds tuned on a labelled dev set"),
            )),
        }
    }
}

impl Tuned {
    /// Decides every row of `scores` with the fitted thresholds.
    pub fn decide(&self, scores: &ScoreMatrix) -> Result<Decisions> {
        match (&self.strategy, &self.thresholds) {
            (Strategy::Adaptive { top_k }, _) => adaptive::decide(scores, *top_k),
            (Strategy::Global { top_k }, Thresholds::Global(t)) => {
                global::decide(scores, *t, *top_k)
            }
            (Strategy::PerClass { top_k }, Thresholds::PerClass(ts)) => {
                per_class::decide(scores, ts, *top_k)
            }
            (strategy, thresholds) => Err(AtlopError::Invalid(format!(
                "strategy {strategy:?} cannot use thresholds {thresholds:?}"
            ))),
        }
    }
}

/// Micro-averaged precision, recall and F1 over (row, class >= 1) cells. All three are 0 when
/// their denominator is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MicroF1 {
    pub true_positives: usize,
    pub predicted: usize,
    pub gold: usize,
    #[serde(rename = "precision_pct", with = "crate::evaluation::percent")]
    pub precision: f64,
    #[serde(rename = "recall_pct", with = "crate::evaluation::percent")]
    pub recall: f64,
    #[serde(rename = "f1_pct", with = "crate::evaluation::percent")]
    pub f1: f64,
}

impl MicroF1 {
    pub fn from_counts(true_positives: usize, predicted: usize, gold: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(true_positives, predicted);
        let recall = ratio(true_positives, gold);
        MicroF1 {
            true_positives,
            predicted,
            gold,
            precision,
            recall,
            f1: harmonic_mean(precision, recall),
        }
    }
}

/// 2pr / (p + r), 0 when both are 0.
pub fn harmonic_mean(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// Micro F1 of `predicted` against `gold` (multi-hot gold: [`Decisions::from_multi_hot`] or
/// [`Decisions::from_matrix`]). Both must have one row per pair of the same set.
pub fn micro_f1(predicted: &Decisions, gold: &Decisions) -> Result<MicroF1> {
    if predicted.len() != gold.len() {
        return Err(AtlopError::Invalid(format!(
            "{} predicted rows against {} gold rows",
            predicted.len(),
            gold.len()
        )));
    }
    let true_positives = predicted
        .rows
        .iter()
        .zip(&gold.rows)
        .map(|(p, g)| p.iter().filter(|r| g.contains(r)).count())
        .sum();
    Ok(MicroF1::from_counts(
        true_positives,
        predicted.num_relations(),
        gold.num_relations(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_spell_the_adaptive_rule_threshold_logit_still_read() {
        let old: Strategy =
            serde_json::from_str(r#"{"kind":"threshold_logit","top_k":4}"#).unwrap();
        assert_eq!(old, Strategy::Adaptive { top_k: 4 });
        let written = serde_json::to_string(&old).unwrap();
        assert_eq!(written, r#"{"kind":"adaptive","top_k":4}"#);
    }

    #[test]
    fn micro_f1_counts_cells() {
        let pred = Decisions {
            rows: vec![vec![1, 2], vec![], vec![3]],
        };
        let gold = Decisions {
            rows: vec![vec![1], vec![2], vec![3]],
        };
        let s = micro_f1(&pred, &gold).unwrap();
        assert_eq!((s.true_positives, s.predicted, s.gold), (2, 3, 3));
        assert!((s.f1 - 2.0 / 3.0).abs() < 1e-12);
        let none = micro_f1(
            &Decisions { rows: vec![vec![]] },
            &Decisions { rows: vec![vec![]] },
        );
        assert_eq!(none.unwrap().f1, 0.0);
        assert!(micro_f1(&pred, &Decisions::default()).is_err());
    }

    #[test]
    fn strategies_have_readable_labels() {
        assert_eq!(Strategy::Adaptive { top_k: 4 }.label(), "adaptive (top 4)");
        assert_eq!(Strategy::Global { top_k: 0 }.label(), "global threshold");
        assert_eq!(
            Strategy::PerClass { top_k: 1 }.label(),
            "per-class thresholds (top 1)"
        );
    }

    #[test]
    fn strategy_round_trips_through_serde() {
        let s: Strategy = serde_json::from_str(r#"{"kind":"global"}"#).unwrap();
        assert_eq!(s, Strategy::Global { top_k: 0 });
        let s: Strategy = serde_json::from_str(r#"{"kind":"adaptive","top_k":4}"#).unwrap();
        assert_eq!(s, Strategy::Adaptive { top_k: 4 });
        assert!(serde_json::from_str::<Strategy>(r#"{"kind":"adaptive"}"#).is_err());
        let tuned = Tuned {
            strategy: Strategy::PerClass { top_k: 0 },
            thresholds: Thresholds::PerClass(vec![0.5, 0.25]),
            dev: None,
        };
        let text = serde_json::to_string(&tuned).unwrap();
        assert_eq!(serde_json::from_str::<Tuned>(&text).unwrap(), tuned);
    }

    #[test]
    fn tuned_thresholds_apply_to_other_scores() {
        let dev = ScoreMatrix::from_rows(&[vec![0.0, 2.0], vec![0.0, -2.0]]).unwrap();
        let gold = Decisions {
            rows: vec![vec![1], vec![]],
        };
        let tuned = Strategy::Global { top_k: 0 }
            .tune(&dev, &gold, &ThresholdSearch::default())
            .unwrap();
        assert_eq!(tuned.dev.unwrap().f1, 1.0);
        let test = ScoreMatrix::from_rows(&[vec![0.0, 3.0], vec![0.0, -3.0]]).unwrap();
        assert_eq!(tuned.decide(&test).unwrap().rows, vec![vec![1], vec![]]);
        assert!(Strategy::PerClass { top_k: 0 }.untuned().is_err());
        let adaptive = Strategy::Adaptive { top_k: 1 }.untuned().unwrap();
        assert_eq!(adaptive.decide(&test).unwrap().rows, vec![vec![1], vec![]]);
    }
}
