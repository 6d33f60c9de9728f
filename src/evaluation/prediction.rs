//! Predicted facts: the decisions of a whole evaluation set tied back to their documents and
//! entity pairs, the form every scorer and exporter reads.

use serde::{Deserialize, Serialize};

use crate::decision::Decisions;
use crate::error::{AtlopError, Result};
use crate::features::Feature;

/// One predicted fact: relation `relation` (an id >= 1 of the dataset's vocabulary) from
/// entity `head` to entity `tail` of document `doc_index`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Prediction {
    /// Index of the document in its [`Dataset`](crate::data::Dataset).
    pub doc_index: usize,
    /// The document's title, for export (CodaLab matches on it); empty when unknown.
    pub title: String,
    pub head: usize,
    pub tail: usize,
    pub relation: usize,
}

/// Ties decision rows to facts. Rows are the concatenation of every feature's `hts`, in order,
/// exactly as the evaluation set's [`ScoreMatrix`](crate::decision::ScoreMatrix) was stacked.
pub fn decisions_to_predictions(
    features: &[Feature],
    decisions: &Decisions,
) -> Result<Vec<Prediction>> {
    let rows: usize = features.iter().map(|f| f.hts.len()).sum();
    if rows != decisions.len() {
        return Err(AtlopError::Invalid(format!(
            "{} decision rows for {} features with {rows} entity pairs",
            decisions.len(),
            features.len()
        )));
    }
    let pairs = features
        .iter()
        .flat_map(|f| f.hts.iter().map(move |&(h, t)| (f, h, t)));
    let predictions = pairs
        .zip(&decisions.rows)
        .flat_map(|((feature, head, tail), relations)| {
            relations.iter().map(move |&relation| Prediction {
                doc_index: feature.doc_index,
                title: feature.title.clone(),
                head,
                tail,
                relation,
            })
        })
        .collect();
    Ok(predictions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(doc_index: usize, hts: Vec<(usize, usize)>) -> Feature {
        Feature {
            doc_index,
            title: format!("doc{doc_index}"),
            input_ids: vec![],
            entity_pos: vec![],
            labels: vec![vec![]; hts.len()],
            hts,
        }
    }

    #[test]
    fn rows_follow_the_features_pairs() {
        let features = vec![feature(0, vec![(0, 1), (1, 0)]), feature(3, vec![(2, 0)])];
        let decisions = Decisions {
            rows: vec![vec![], vec![4, 5], vec![1]],
        };
        let got = decisions_to_predictions(&features, &decisions).unwrap();
        let keys: Vec<_> = got
            .iter()
            .map(|p| (p.doc_index, p.title.as_str(), p.head, p.tail, p.relation))
            .collect();
        assert_eq!(
            keys,
            vec![
                (0, "doc0", 1, 0, 4),
                (0, "doc0", 1, 0, 5),
                (3, "doc3", 2, 0, 1)
            ]
        );
        let short = Decisions {
            rows: vec![vec![]; 2],
        };
        assert!(decisions_to_predictions(&features, &short).is_err());
    }
}
