//! What the global and per-class strategies share: logits turned into per-class probabilities
//! (sigmoid, columns 1..; the TH column plays no part), an optional top-k limit, and for
//! tuning, each class's probabilities sorted once so that the micro F1 of any threshold is a
//! binary search away instead of a pass over the whole set.

use super::scores::{descending, kth_largest, sigmoid, Decisions, ScoreMatrix};
use crate::error::{AtlopError, Result};

/// Decides every row: class c >= 1 is predicted when `sigmoid(logit_c) > threshold(c)` and, with
/// `top_k` > 0, its probability is among the `top_k` largest of columns 1.. (ties kept). The
/// top-k set depends on the scores only, never on the thresholds, which keeps the classes
/// independent for per-class tuning.
pub(crate) fn decide_with(
    scores: &ScoreMatrix,
    top_k: usize,
    threshold: impl Fn(usize) -> f32,
) -> Result<Decisions> {
    scores.check()?;
    let rows = scores
        .iter_rows()
        .map(|row| {
            let probs: Vec<f32> = row.iter().skip(1).map(|&x| sigmoid(x)).collect(); // [cols - 1]
            let kth = kth_largest(&probs, top_k);
            probs
                .iter()
                .enumerate()
                .filter(|&(i, &p)| p > threshold(i + 1) && kth.is_none_or(|k| p >= k))
                .map(|(i, _)| i + 1)
                .collect()
        })
        .collect();
    Ok(Decisions { rows })
}

/// Per class, the probabilities of the (row, class) cells that the top-k limit lets through,
/// sorted descending, with running counts of the gold cells among them.
pub(crate) struct ClassColumns {
    /// `[cols][eligible rows]`; index 0 (TH) stays empty.
    probs: Vec<Vec<f32>>,
    /// `[cols][eligible rows + 1]`: gold cells among the first i of `probs[c]`.
    gold_prefix: Vec<Vec<u32>>,
    /// All gold (row, class >= 1) cells, including those the top-k limit hides: recall's
    /// denominator.
    pub gold_total: usize,
}

impl ClassColumns {
    pub fn build(scores: &ScoreMatrix, gold: &Decisions, top_k: usize) -> Result<Self> {
        scores.check()?;
        check_gold(scores, gold)?;
        let mut cells: Vec<Vec<(f32, bool)>> = vec![Vec::new(); scores.cols];
        for (row, gold_row) in scores.iter_rows().zip(&gold.rows) {
            let probs: Vec<f32> = row.iter().skip(1).map(|&x| sigmoid(x)).collect(); // [cols - 1]
            let kth = kth_largest(&probs, top_k);
            for (i, &p) in probs.iter().enumerate() {
                if kth.is_none_or(|k| p >= k) {
                    cells[i + 1].push((p, gold_row.contains(&(i + 1))));
                }
            }
        }
        let mut probs = Vec::with_capacity(scores.cols);
        let mut gold_prefix = Vec::with_capacity(scores.cols);
        for mut column in cells {
            column.sort_by(|a, b| descending(a.0, b.0));
            let mut prefix = Vec::with_capacity(column.len() + 1);
            let mut running = 0u32;
            prefix.push(0);
            for &(_, is_gold) in &column {
                running += u32::from(is_gold);
                prefix.push(running);
            }
            probs.push(column.into_iter().map(|(p, _)| p).collect());
            gold_prefix.push(prefix);
        }
        Ok(ClassColumns {
            probs,
            gold_prefix,
            gold_total: gold.num_relations(),
        })
    }

    pub fn num_classes(&self) -> usize {
        self.probs.len()
    }

    /// (true positives, predictions) of class `c` at `threshold`.
    pub fn counts(&self, c: usize, threshold: f32) -> (usize, usize) {
        let (Some(probs), Some(prefix)) = (self.probs.get(c), self.gold_prefix.get(c)) else {
            return (0, 0);
        };
        let predicted = probs.partition_point(|&p| p > threshold);
        (prefix[predicted] as usize, predicted)
    }

    /// (true positives, predictions) summed over all classes with one threshold.
    pub fn total_counts(&self, threshold: f32) -> (usize, usize) {
        (1..self.num_classes())
            .map(|c| self.counts(c, threshold))
            .fold((0, 0), |(tp, n), (a, b)| (tp + a, n + b))
    }

    /// Every distinct cut of class `c`'s sorted probabilities as (threshold, true positives,
    /// predictions): the threshold lies midway between two neighbouring distinct values (or on
    /// the lower one when f32 cannot represent a value strictly between them), below the
    /// smallest value, and at the largest (predict none).
    pub fn cuts(&self, c: usize) -> Vec<(f32, usize, usize)> {
        let (Some(probs), Some(prefix)) = (self.probs.get(c), self.gold_prefix.get(c)) else {
            return Vec::new();
        };
        let finite = probs.partition_point(|p| !p.is_nan());
        let mut cuts = Vec::new();
        if let Some(&top) = probs.first().filter(|p| !p.is_nan()) {
            cuts.push((top, 0, 0));
        }
        for i in 1..finite {
            let (above, below) = (probs[i - 1], probs[i]);
            if above > below {
                let mid = below + (above - below) / 2.0;
                let t = if above > mid && mid > below {
                    mid
                } else {
                    below
                };
                cuts.push((t, prefix[i] as usize, i));
            }
        }
        if finite > 0 {
            let lowest = probs[finite - 1];
            let t = lowest / 2.0;
            if lowest > t {
                cuts.push((t, prefix[finite] as usize, finite));
            }
        }
        cuts
    }
}

/// Gold rows must line up with the score rows and name classes the scores have.
pub(crate) fn check_gold(scores: &ScoreMatrix, gold: &Decisions) -> Result<()> {
    if gold.len() != scores.rows {
        return Err(AtlopError::Invalid(format!(
            "gold labels have {} rows, the scores {}",
            gold.len(),
            scores.rows
        )));
    }
    for (i, row) in gold.rows.iter().enumerate() {
        if let Some(&bad) = row.iter().find(|&&r| r == 0 || r >= scores.cols) {
            return Err(AtlopError::Invalid(format!(
                "gold row {i}: relation id {bad} is outside 1..{}",
                scores.cols
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_a_direct_decision() {
        let scores = ScoreMatrix::from_rows(&[
            vec![0.0, 2.0, -1.0],
            vec![0.0, 0.5, 0.0],
            vec![0.0, -3.0, 1.0],
        ])
        .unwrap();
        let gold = Decisions {
            rows: vec![vec![1], vec![2], vec![2]],
        };
        let columns = ClassColumns::build(&scores, &gold, 0).unwrap();
        for c in 1..3 {
            for (t, tp, n) in columns.cuts(c) {
                assert_eq!(columns.counts(c, t), (tp, n), "class {c} threshold {t}");
            }
        }
        let d = decide_with(&scores, 0, |_| 0.55).unwrap();
        assert_eq!(d.rows, vec![vec![1], vec![1], vec![2]]);
        assert_eq!(columns.total_counts(0.55), (2, 3));
        assert_eq!(columns.gold_total, 3);
    }

    #[test]
    fn gold_must_match_the_scores() {
        let scores = ScoreMatrix::from_rows(&[vec![0.0, 1.0]]).unwrap();
        let bad_class = Decisions {
            rows: vec![vec![2]],
        };
        assert!(ClassColumns::build(&scores, &bad_class, 0).is_err());
        assert!(ClassColumns::build(&scores, &Decisions::default(), 0).is_err());
    }
}
