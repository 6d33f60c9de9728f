//! Global thresholding (the paper's Table 6, "Global thresholding"): one probability threshold
//! for every class, chosen on the dev set from {0.1, ..., 0.9} to maximise micro F1, then
//! applied unchanged to test. This is how a model trained with binary cross-entropy is usually
//! decided, and the baseline adaptive thresholding is compared with.

use super::probabilities::{decide_with, ClassColumns};
use super::scores::{Decisions, ScoreMatrix};
use super::MicroF1;
use crate::error::{AtlopError, Result};

/// The grid the paper searches: 0.1, 0.2, ..., 0.9.
pub fn default_grid() -> Vec<f32> {
    (1..=9).map(|i| i as f32 / 10.0).collect()
}

/// Class c >= 1 is predicted when `sigmoid(logit_c) > threshold` (and, with `top_k` > 0, its
/// probability is among the row's `top_k` largest over columns 1..).
pub fn decide(scores: &ScoreMatrix, threshold: f32, top_k: usize) -> Result<Decisions> {
    decide_with(scores, top_k, |_| threshold)
}

/// The grid value with the best dev micro F1 (the first one on ties), and that score.
pub fn tune(
    dev: &ScoreMatrix,
    gold: &Decisions,
    grid: &[f32],
    top_k: usize,
) -> Result<(f32, MicroF1)> {
    let columns = ClassColumns::build(dev, gold, top_k)?;
    best_on_grid(&columns, grid)
}

/// [`tune`] on columns already built (the per-class search starts from this).
pub(crate) fn best_on_grid(columns: &ClassColumns, grid: &[f32]) -> Result<(f32, MicroF1)> {
    let mut best: Option<(f32, MicroF1)> = None;
    for &t in grid {
        let (tp, predicted) = columns.total_counts(t);
        let score = MicroF1::from_counts(tp, predicted, columns.gold_total);
        if best.as_ref().is_none_or(|(_, b)| score.f1 > b.f1) {
            best = Some((t, score));
        }
    }
    best.ok_or_else(|| AtlopError::Invalid("the threshold grid is empty".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::micro_f1;

    /// Logit whose sigmoid is `p`.
    fn logit(p: f32) -> f32 {
        (p / (1.0 - p)).ln()
    }

    #[test]
    fn finds_the_hand_computed_best_threshold() {
        // Class 1 probabilities 0.95 (gold), 0.65 (gold), 0.45 (not gold), 0.25 (gold).
        // t <= 0.2: P 3/4 R 1 -> 0.857; t in 0.3..0.4: P 2/3 R 2/3 -> 0.667;
        // t in 0.5..0.6: P 1 R 2/3 -> 0.8; so 0.1 wins (first of the ties 0.1, 0.2).
        let rows: Vec<Vec<f32>> = [0.95, 0.65, 0.45, 0.25]
            .iter()
            .map(|&p| vec![0.0, logit(p)])
            .collect();
        let scores = ScoreMatrix::from_rows(&rows).unwrap();
        let gold = Decisions {
            rows: vec![vec![1], vec![1], vec![], vec![1]],
        };
        let (t, score) = tune(&scores, &gold, &default_grid(), 0).unwrap();
        assert!((t - 0.1).abs() < 1e-6);
        assert!((score.f1 - 6.0 / 7.0).abs() < 1e-9);
        let direct = micro_f1(&decide(&scores, t, 0).unwrap(), &gold).unwrap();
        assert_eq!(direct, score);
    }

    #[test]
    fn top_k_limits_each_row() {
        let scores = ScoreMatrix::from_rows(&[vec![0.0, 3.0, 2.0, 1.0]]).unwrap();
        assert_eq!(decide(&scores, 0.5, 0).unwrap().rows, vec![vec![1, 2, 3]]);
        assert_eq!(decide(&scores, 0.5, 2).unwrap().rows, vec![vec![1, 2]]);
    }

    #[test]
    fn empty_grid_is_an_error() {
        let scores = ScoreMatrix::from_rows(&[vec![0.0, 1.0]]).unwrap();
        let gold = Decisions {
            rows: vec![vec![1]],
        };
        assert!(tune(&scores, &gold, &[], 0).is_err());
    }
}
