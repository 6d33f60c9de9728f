//! Per-class thresholding (the paper's Table 6, "Per-class thresholding"): one probability
//! threshold per relation class, tuned on dev by the cyclic optimisation of Fan & Lin ("A
//! study on threshold selection for multi-label classification", 2007; SCut).
//!
//! Start every class at the best global threshold, then sweep the classes: for each, keep the
//! others fixed and choose the threshold that maximises the micro F1 of the WHOLE set. A change
//! is accepted only when it strictly raises that F1, so the result is never below the global
//! threshold's dev F1, and the search stops after a sweep that changes nothing (or after
//! `max_sweeps`).

use serde::{Deserialize, Serialize};

use super::global::{self, best_on_grid};
use super::probabilities::{decide_with, ClassColumns};
use super::scores::{Decisions, ScoreMatrix};
use super::MicroF1;
use crate::error::{AtlopError, Result};

/// How thresholds are searched (global and per-class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThresholdSearch {
    /// Candidate probability thresholds; the global search uses only these (the paper's
    /// 0.1, ..., 0.9).
    pub grid: Vec<f32>,
    /// Per-class search also tries every cut between two distinct dev probabilities of the
    /// class, which finds the exact optimum of each coordinate step.
    pub score_cuts: bool,
    /// Upper bound on the sweeps over all classes.
    pub max_sweeps: usize,
}

impl Default for ThresholdSearch {
    fn default() -> Self {
        ThresholdSearch {
            grid: global::default_grid(),
            score_cuts: true,
            max_sweeps: 10,
        }
    }
}

/// The fitted thresholds and what the search did.
#[derive(Debug, Clone, PartialEq)]
pub struct PerClassFit {
    /// `[cols]`: probability threshold per class; index 0 (TH) is unused and holds the global
    /// start value.
    pub thresholds: Vec<f32>,
    /// The global threshold the search started from, and its dev score.
    pub global: (f32, MicroF1),
    /// Dev micro F1 with the fitted thresholds.
    pub dev: MicroF1,
    /// Sweeps run (the last one changed nothing unless `max_sweeps` was reached).
    pub sweeps: usize,
}

/// Class c >= 1 is predicted when `sigmoid(logit_c) > thresholds[c]` (and, with `top_k` > 0,
/// it is among the row's `top_k` most probable classes).
pub fn decide(scores: &ScoreMatrix, thresholds: &[f32], top_k: usize) -> Result<Decisions> {
    scores.check()?;
    if thresholds.len() != scores.cols {
        return Err(AtlopError::Invalid(format!(
            "{} per-class thresholds for {} classes",
            thresholds.len(),
            scores.cols
        )));
    }
    decide_with(scores, top_k, |c| thresholds[c])
}

/// Fan & Lin's cyclic optimisation on the dev set; see the module documentation.
pub fn tune(
    dev: &ScoreMatrix,
    gold: &Decisions,
    search: &ThresholdSearch,
    top_k: usize,
) -> Result<PerClassFit> {
    let columns = ClassColumns::build(dev, gold, top_k)?;
    let global = best_on_grid(&columns, &search.grid)?;
    let classes = columns.num_classes();
    let mut thresholds = vec![global.0; classes];
    // Per class (tp, predicted) at its current threshold, and their totals.
    let mut counts: Vec<(usize, usize)> = (0..classes)
        .map(|c| {
            if c == 0 {
                (0, 0)
            } else {
                columns.counts(c, thresholds[c])
            }
        })
        .collect();
    let (mut tp, mut predicted) = counts.iter().fold((0, 0), |(a, b), &(x, y)| (a + x, b + y));
    let mut sweeps = 0;
    while sweeps < search.max_sweeps {
        sweeps += 1;
        let mut changed = false;
        for c in 1..classes {
            let (tp_others, pred_others) = (tp - counts[c].0, predicted - counts[c].1);
            let f1_of = |(t, n): (usize, usize)| {
                MicroF1::from_counts(tp_others + t, pred_others + n, columns.gold_total).f1
            };
            let mut best = (thresholds[c], counts[c], f1_of(counts[c]));
            let grid = search.grid.iter().map(|&t| {
                let (ctp, cn) = columns.counts(c, t);
                (t, ctp, cn)
            });
            let cuts = if search.score_cuts {
                columns.cuts(c)
            } else {
                Vec::new()
            };
            for (t, ctp, cn) in grid.chain(cuts) {
                let f1 = f1_of((ctp, cn));
                if f1 > best.2 {
                    best = (t, (ctp, cn), f1);
                }
            }
            // `best` moves only on a strictly higher F1, which needs different counts.
            if best.1 != counts[c] {
                thresholds[c] = best.0;
                tp = tp_others + best.1 .0;
                predicted = pred_others + best.1 .1;
                counts[c] = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Ok(PerClassFit {
        thresholds,
        global,
        dev: MicroF1::from_counts(tp, predicted, columns.gold_total),
        sweeps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::micro_f1;

    fn logit(p: f32) -> f32 {
        (p / (1.0 - p)).ln()
    }

    /// Class 1 is separable at 0.8 (gold 0.85, 0.95; not gold 0.75), class 2 at 0.3 (gold 0.35,
    /// 0.45; not gold 0.25): no single threshold gets both right (the best global one is 0.3,
    /// P 4/5, R 1), per-class thresholds do.
    fn two_classes() -> (ScoreMatrix, Decisions) {
        let rows = [(0.85, 0.25), (0.95, 0.35), (0.75, 0.45)]
            .iter()
            .map(|&(a, b)| vec![0.0, logit(a), logit(b)])
            .collect::<Vec<_>>();
        let gold = Decisions {
            rows: vec![vec![1], vec![1, 2], vec![2]],
        };
        (ScoreMatrix::from_rows(&rows).unwrap(), gold)
    }

    #[test]
    fn separates_classes_a_global_threshold_cannot() {
        let (scores, gold) = two_classes();
        let fit = tune(&scores, &gold, &ThresholdSearch::default(), 0).unwrap();
        assert!((fit.dev.f1 - 1.0).abs() < 1e-12, "{fit:?}");
        assert!((fit.global.0 - 0.3).abs() < 1e-6);
        assert!((fit.global.1.f1 - 8.0 / 9.0).abs() < 1e-9);
        assert!(fit.thresholds[1] >= 0.75 && fit.thresholds[1] < 0.85);
        assert!(fit.thresholds[2] >= 0.25 && fit.thresholds[2] < 0.35);
        let applied = micro_f1(&decide(&scores, &fit.thresholds, 0).unwrap(), &gold).unwrap();
        assert_eq!(applied, fit.dev);
    }

    #[test]
    fn grid_only_search_finds_the_grid_optimum() {
        let (scores, gold) = two_classes();
        let search = ThresholdSearch {
            score_cuts: false,
            ..ThresholdSearch::default()
        };
        let fit = tune(&scores, &gold, &search, 0).unwrap();
        assert!((fit.dev.f1 - 1.0).abs() < 1e-12);
        assert!((fit.thresholds[1] - 0.8).abs() < 1e-6);
        assert!((fit.thresholds[2] - 0.3).abs() < 1e-6);
    }

    #[test]
    fn wrong_threshold_count_is_an_error() {
        let (scores, _) = two_classes();
        assert!(decide(&scores, &[0.5, 0.5], 0).is_err());
    }
}
