//! The relation vocabulary: class ids, their names, and their readable descriptions.
//!
//! Passed explicitly to every reader and scorer; never read from the working directory.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{AtlopError, Result};

/// Relation classes of a dataset. Id 0 is always the `Na` / threshold class.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationVocab {
    /// Id -> label as the data files spell it (DocRED P-ids such as `P17`; `Na` at 0).
    pub labels: Vec<String>,
    /// Label -> id.
    pub ids: HashMap<String, usize>,
    /// Label -> readable name (DocRED `rel_info.json`, e.g. `P17` -> `country`).
    pub descriptions: HashMap<String, String>,
}

impl RelationVocab {
    /// Builds a vocabulary from labels in id order; `labels[0]` must be the NA class.
    pub fn from_labels(labels: Vec<String>) -> Self {
        let ids = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i))
            .collect();
        RelationVocab {
            labels,
            ids,
            descriptions: HashMap::new(),
        }
    }

    /// Reads DocRED's `rel2id.json` (`{"Na": 0, "P17": 1, ...}`): ids must be 0..n with `Na` = 0.
    pub fn from_rel2id(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
        let map: HashMap<String, usize> =
            serde_json::from_str(&text).map_err(|source| AtlopError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let mut labels = vec![String::new(); map.len()];
        for (label, &id) in &map {
            let slot = labels.get_mut(id).ok_or_else(|| AtlopError::Config {
                source_name: path.display().to_string(),
                key: label.clone(),
                message: format!("id {id} is outside 0..{}", map.len()),
            })?;
            if !slot.is_empty() {
                return Err(AtlopError::Config {
                    source_name: path.display().to_string(),
                    key: label.clone(),
                    message: format!("id {id} is also used by `{slot}`"),
                });
            }
            *slot = label.clone();
        }
        if labels.first().map(String::as_str) != Some("Na") {
            return Err(AtlopError::Config {
                source_name: path.display().to_string(),
                key: "Na".into(),
                message: "the NA class must exist and have id 0".into(),
            });
        }
        Ok(Self::from_labels(labels))
    }

    /// Adds readable names from DocRED's `rel_info.json` (`{"P17": "country", ...}`).
    pub fn with_rel_info(mut self, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
        self.descriptions = serde_json::from_str(&text).map_err(|source| AtlopError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(self)
    }

    /// The two-class vocabulary of CDR (`CID`) or GDA (`GDA`): NA + the one relation.
    pub fn bio(relation: &str) -> Self {
        Self::from_labels(vec!["Na".into(), relation.into()])
    }

    /// Number of classes including NA (the width of the logits).
    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    pub fn id(&self, label: &str) -> Option<usize> {
        self.ids.get(label).copied()
    }

    /// The readable name of a class id, falling back to its label.
    pub fn name(&self, id: usize) -> &str {
        let label = self.labels.get(id).map(String::as_str).unwrap_or("?");
        self.descriptions
            .get(label)
            .map(String::as_str)
            .unwrap_or(label)
    }
}
