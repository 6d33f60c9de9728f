//! The two values every strategy works between: the logits of a whole evaluation set
//! ([`ScoreMatrix`]) and the relations decided for each of its pairs ([`Decisions`]).

use crate::error::{AtlopError, Result};
use crate::features::Feature;

/// Logits of a whole evaluation set, row-major: one row per (document, pair) in the order of
/// the features' `hts`, one column per class; column 0 is the TH / `Na` class.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    pub rows: usize,
    pub cols: usize,
    /// `[rows * cols]`
    pub data: Vec<f32>,
}

impl ScoreMatrix {
    /// Checks that `data` holds `rows * cols` values and that there is at least the TH column.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        let matrix = ScoreMatrix { rows, cols, data };
        matrix.check()?;
        Ok(matrix)
    }

    /// Stacks equally long rows (e.g. the per-batch logits copied out of the model).
    pub fn from_rows(rows: &[Vec<f32>]) -> Result<Self> {
        let cols = rows.first().map_or(1, Vec::len);
        if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(AtlopError::Invalid(format!(
                "score row {i} has {} columns, row 0 has {cols}",
                row.len()
            )));
        }
        Self::new(rows.len(), cols, rows.concat())
    }

    /// The fields are public, so every consumer re-checks the shape before indexing.
    pub fn check(&self) -> Result<()> {
        if self.cols == 0 {
            return Err(AtlopError::Invalid(
                "score matrix has no columns (column 0 must be the TH class)".into(),
            ));
        }
        if self.data.len() != self.rows * self.cols {
            return Err(AtlopError::Invalid(format!(
                "score matrix holds {} values, expected rows {} x cols {}",
                self.data.len(),
                self.rows,
                self.cols
            )));
        }
        Ok(())
    }

    /// Rows as slices `[cols]`; call [`check`](Self::check) first.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.cols.max(1))
    }
}

/// Per row, the predicted (or gold) relation ids, all >= 1, ascending; an empty row is `Na`.
/// `Na` together with a relation cannot be expressed, which is the invariant every strategy
/// must keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    pub rows: Vec<Vec<usize>>,
}

impl Decisions {
    /// From multi-hot rows (`Feature::multi_hot`, the fixtures' `labels`): columns >= 1 whose
    /// value exceeds 0.5; column 0 is implied by an empty row.
    pub fn from_multi_hot(rows: &[Vec<f32>]) -> Self {
        Decisions {
            rows: rows.iter().map(|r| positives(r)).collect(),
        }
    }

    /// From a multi-hot matrix laid out like a [`ScoreMatrix`].
    pub fn from_matrix(matrix: &ScoreMatrix) -> Result<Self> {
        matrix.check()?;
        Ok(Decisions {
            rows: matrix.iter_rows().map(positives).collect(),
        })
    }

    /// The gold labels of a whole evaluation set: each feature's `labels`, concatenated in
    /// order, so row i matches row i of the set's [`ScoreMatrix`].
    pub fn from_features(features: &[Feature]) -> Self {
        let rows = features
            .iter()
            .flat_map(|f| f.labels.iter())
            .map(|labels| {
                let mut row: Vec<usize> = labels.iter().copied().filter(|&r| r >= 1).collect();
                row.sort_unstable();
                row.dedup();
                row
            })
            .collect();
        Decisions { rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of (row, relation) decisions, `Na` not counted.
    pub fn num_relations(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// Multi-hot rows `[rows][num_classes]` with column 0 set for `Na`, as the reference's
    /// `adaptive_predict` returns them. Ids >= `num_classes` are dropped.
    pub fn to_multi_hot(&self, num_classes: usize) -> Vec<Vec<f32>> {
        self.rows
            .iter()
            .map(|rels| {
                let mut row = vec![0.0; num_classes];
                for &r in rels {
                    if let Some(slot) = row.get_mut(r) {
                        *slot = 1.0;
                    }
                }
                if rels.is_empty() {
                    if let Some(slot) = row.first_mut() {
                        *slot = 1.0;
                    }
                }
                row
            })
            .collect()
    }
}

fn positives(row: &[f32]) -> Vec<usize> {
    (1..row.len()).filter(|&c| row[c] > 0.5).collect()
}

/// The k-th largest value of `values` (1-based k), or `None` when `k` is 0 or not smaller than
/// the number of values, i.e. when a top-k limit keeps everything. NaN sorts lowest.
pub(crate) fn kth_largest(values: &[f32], k: usize) -> Option<f32> {
    if k == 0 || k >= values.len() {
        return None;
    }
    let mut sorted = values.to_vec();
    let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, |a, b| descending(*a, *b));
    Some(*kth)
}

/// Descending order with NaN last.
pub(crate) fn descending(a: f32, b: f32) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => b.total_cmp(&a),
    }
}

/// The logistic function, turning a logit into the probability the global and per-class
/// thresholds are stated in.
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked() {
        assert!(ScoreMatrix::new(2, 3, vec![0.0; 5]).is_err());
        assert!(ScoreMatrix::new(0, 0, vec![]).is_err());
        assert!(ScoreMatrix::from_rows(&[vec![0.0, 1.0], vec![0.0]]).is_err());
        let m = ScoreMatrix::from_rows(&[vec![0.0, 1.0], vec![2.0, 3.0]]).unwrap();
        assert_eq!(m.iter_rows().nth(1).unwrap(), &[2.0, 3.0]);
    }

    #[test]
    fn kth_largest_keeps_everything_when_k_covers_the_row() {
        assert_eq!(kth_largest(&[1.0, 5.0, 3.0], 0), None);
        assert_eq!(kth_largest(&[1.0, 5.0, 3.0], 3), None);
        assert_eq!(kth_largest(&[1.0, 5.0, 3.0], 2), Some(3.0));
        assert_eq!(kth_largest(&[f32::NAN, 5.0, 3.0], 2), Some(3.0));
    }

    #[test]
    fn multi_hot_round_trip_sets_na_for_empty_rows() {
        let d = Decisions {
            rows: vec![vec![], vec![1, 3]],
        };
        let hot = d.to_multi_hot(4);
        assert_eq!(
            hot,
            vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 1.0]]
        );
        assert_eq!(Decisions::from_multi_hot(&hot), d);
        assert_eq!(d.num_relations(), 2);
    }
}
