//! Adaptive thresholding (the paper's Sec. 2.2, and the "adaptive" row of Table 6): the TH
//! class learnt by the adaptive-thresholding loss is a per-pair threshold, so relation r is
//! predicted for a pair when its logit exceeds that pair's TH logit. At most `top_k` relations
//! are kept per pair (4 on DocRED, 1 on CDR/GDA, 0 = no limit).
//!
//! The same rule decides the "- Adaptive-Thresholding Loss" ablation, a model trained with
//! binary cross-entropy and decided by its own TH logit: the two rows differ only in the loss.

use super::scores::{kth_largest, Decisions, ScoreMatrix};
use crate::error::Result;

/// Relation ids predicted for every row of `scores`, exactly as the reference's
/// `adaptive_predict`: class r >= 1 is kept when `logit_r > logit_0` and `logit_r >= kth`,
/// where `kth` is the `top_k`-th largest logit of the WHOLE row (the TH column included).
/// Ties at the k-th value are all kept, as in the reference.
pub fn decide(scores: &ScoreMatrix, top_k: usize) -> Result<Decisions> {
    scores.check()?;
    let rows = scores
        .iter_rows()
        .map(|row| decide_row(row, top_k))
        .collect();
    Ok(Decisions { rows })
}

/// One row `[cols]` -> the relation ids it predicts (empty = `Na`).
fn decide_row(row: &[f32], top_k: usize) -> Vec<usize> {
    let Some((&threshold, _)) = row.split_first() else {
        return Vec::new();
    };
    let kth = kth_largest(row, top_k);
    (1..row.len())
        .filter(|&r| row[r] > threshold && kth.is_none_or(|k| row[r] >= k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[Vec<f32>]) -> ScoreMatrix {
        ScoreMatrix::from_rows(rows).unwrap()
    }

    #[test]
    fn predicts_classes_above_the_th_logit() {
        let m = matrix(&[vec![0.0, 1.0, -1.0, 0.5], vec![2.0, 1.0, -1.0, 0.5]]);
        let d = decide(&m, 0).unwrap();
        assert_eq!(d.rows, vec![vec![1, 3], vec![]]);
    }

    #[test]
    fn top_k_counts_the_th_column_and_keeps_ties() {
        // The 2nd largest of the row is 2.0 (class 2): classes 1 and 2 are kept.
        let m = matrix(&[vec![0.0, 3.0, 2.0, 1.0]]);
        assert_eq!(decide(&m, 2).unwrap().rows, vec![vec![1, 2]]);
        // TH is itself among the top 2, so only one relation survives.
        let m = matrix(&[vec![2.5, 3.0, 2.0, 1.0]]);
        assert_eq!(decide(&m, 2).unwrap().rows, vec![vec![1]]);
        // Ties at the k-th value are all kept (`>= kth`).
        let m = matrix(&[vec![0.0, 3.0, 3.0, 3.0]]);
        assert_eq!(decide(&m, 1).unwrap().rows, vec![vec![1, 2, 3]]);
    }

    #[test]
    fn nan_logits_are_never_predicted() {
        let m = matrix(&[vec![0.0, f32::NAN, 1.0]]);
        assert_eq!(decide(&m, 1).unwrap().rows, vec![vec![2]]);
    }
}
