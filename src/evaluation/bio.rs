//! The CDR / GDA metric (the paper's Table 4): precision, recall and F1 of the one positive
//! relation over the candidate pairs. Every row is a candidate pair, so NA rows count only
//! through false negatives.
//!
//! The reference's `train_bio.py` adds 1e-5 to each denominator; here an empty denominator
//! gives 0 instead, which differs from it by less than 1e-4 on any real set.

use serde::{Deserialize, Serialize};

use crate::decision::{harmonic_mean, Decisions};
use crate::error::{AtlopError, Result};

/// Scores of the positive class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BioReport {
    #[serde(rename = "precision_pct", with = "crate::evaluation::percent")]
    pub precision: f64,
    #[serde(rename = "recall_pct", with = "crate::evaluation::percent")]
    pub recall: f64,
    #[serde(rename = "f1_pct", with = "crate::evaluation::percent")]
    pub f1: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Candidate pairs scored.
    pub pairs: usize,
}

/// Scores class `positive` (1 for CDR's `CID` and GDA's `GDA`) of `predicted` against `gold`,
/// one row per candidate pair (gold: [`Decisions::from_features`]).
pub fn evaluate(predicted: &Decisions, gold: &Decisions, positive: usize) -> Result<BioReport> {
    if predicted.len() != gold.len() {
        return Err(AtlopError::Invalid(format!(
            "{} predicted candidate pairs against {} gold pairs",
            predicted.len(),
            gold.len()
        )));
    }
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (p, g) in predicted.rows.iter().zip(&gold.rows) {
        match (p.contains(&positive), g.contains(&positive)) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    Ok(BioReport {
        precision,
        recall,
        f1: harmonic_mean(precision, recall),
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        pairs: gold.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_the_positive_class_only() {
        // 6 candidate pairs: tp at 0 and 1, fp at 2, fn at 3, true negatives at 4 and 5.
        let predicted = Decisions {
            rows: vec![vec![1], vec![1], vec![1], vec![], vec![], vec![]],
        };
        let gold = Decisions {
            rows: vec![vec![1], vec![1], vec![], vec![1], vec![], vec![]],
        };
        let r = evaluate(&predicted, &gold, 1).unwrap();
        assert_eq!(
            (r.true_positives, r.false_positives, r.false_negatives),
            (2, 1, 1)
        );
        assert!((r.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!(evaluate(&predicted, &Decisions::default(), 1).is_err());
    }
}
