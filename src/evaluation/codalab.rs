//! DocRED's test split has no public labels: its scores come from the CodaLab leaderboard,
//! which reads a `result.json` listing every predicted fact as `{title, h_idx, t_idx, r}` with
//! `r` the relation's P-id.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::prediction::Prediction;
use crate::data::RelationVocab;
use crate::error::{AtlopError, Result};

/// One line of `result.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodalabEntry {
    pub title: String,
    pub h_idx: usize,
    pub t_idx: usize,
    /// The relation's label as the data files spell it (`P17`).
    pub r: String,
}

/// Predictions as CodaLab entries, de-duplicated on (title, h, t, r) in first-seen order.
/// Every prediction needs its title and a relation id of `vocab` other than NA.
pub fn to_codalab(predictions: &[Prediction], vocab: &RelationVocab) -> Result<Vec<CodalabEntry>> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for (i, p) in predictions.iter().enumerate() {
        if p.title.is_empty() {
            return Err(AtlopError::Invalid(format!(
                "prediction {i} (document #{}) has no title; CodaLab matches on titles",
                p.doc_index
            )));
        }
        let label = vocab
            .labels
            .get(p.relation)
            .filter(|_| p.relation != 0)
            .ok_or_else(|| {
                AtlopError::Invalid(format!(
                    "prediction {i} (document #{} {:?}): relation id {} is outside 1..{}",
                    p.doc_index,
                    p.title,
                    p.relation,
                    vocab.num_classes()
                ))
            })?;
        if seen.insert((p.title.as_str(), p.head, p.tail, p.relation)) {
            entries.push(CodalabEntry {
                title: p.title.clone(),
                h_idx: p.head,
                t_idx: p.tail,
                r: label.clone(),
            });
        }
    }
    Ok(entries)
}

/// Writes `entries` as JSON to `path` atomically: into a temporary file beside it, flushed to
/// disk, then renamed over `path`, so an interrupted run never leaves a half-written file.
pub fn write_result_json(path: &Path, entries: &[CodalabEntry]) -> Result<()> {
    let text = serde_json::to_vec(entries).map_err(|source| AtlopError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    crate::atomic::write_bytes_atomically(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(title: &str, head: usize, tail: usize, relation: usize) -> Prediction {
        Prediction {
            doc_index: 0,
            title: title.into(),
            head,
            tail,
            relation,
        }
    }

    #[test]
    fn writes_p_ids_once_per_fact() {
        let vocab = RelationVocab::from_labels(vec!["Na".into(), "P17".into(), "P131".into()]);
        let predictions = vec![
            prediction("A", 0, 1, 2),
            prediction("A", 0, 1, 2),
            prediction("A", 1, 0, 1),
        ];
        let entries = to_codalab(&predictions, &vocab).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].r, "P131");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        write_result_json(&path, &entries).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let back: Vec<CodalabEntry> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entries);
        assert!(text.contains(r#""h_idx":0"#) && text.contains(r#""r":"P17""#));
        // Only result.json is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn rejects_na_unknown_ids_and_missing_titles() {
        let vocab = RelationVocab::from_labels(vec!["Na".into(), "P17".into()]);
        assert!(to_codalab(&[prediction("A", 0, 1, 0)], &vocab).is_err());
        assert!(to_codalab(&[prediction("A", 0, 1, 2)], &vocab).is_err());
        assert!(to_codalab(&[prediction("", 0, 1, 1)], &vocab).is_err());
        let missing_dir = Path::new("/nonexistent-atlop-dir/result.json");
        assert!(write_result_json(missing_dir, &[]).is_err());
    }
}
