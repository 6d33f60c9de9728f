//! The one in-memory document type that every reader produces and everything downstream uses.
//!
//! DocRED JSON and CDR/GDA `.data` files both become a [`Dataset`] of [`Document`]s; relation
//! ids are indices into the dataset's [`RelationVocab`](super::relations::RelationVocab)
//! (0 is `Na`, the threshold class).

use std::path::PathBuf;

/// A mention: a span of words inside one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The mention's surface text (DocRED `name`); Ign F1 compares these.
    pub name: String,
    /// Index of the sentence holding the mention.
    pub sent_id: usize,
    /// Word span `[start, end)` inside that sentence.
    pub start: usize,
    pub end: usize,
    /// Entity type (DocRED `type`: PER, LOC, ...; CDR/GDA: Chemical, Disease, Gene).
    pub entity_type: String,
}

/// An entity: every mention that refers to it (DocRED `vertexSet` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub mentions: Vec<Mention>,
}

/// One labelled fact: relation `relation` holds from entity `head` to entity `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub head: usize,
    pub tail: usize,
    /// Relation id (>= 1) in the dataset's vocabulary.
    pub relation: usize,
    /// Evidence sentence ids (DocRED only; empty elsewhere).
    pub evidence: Vec<usize>,
}

/// A document with its entities and, when the split is labelled, its facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// DocRED title, or the PMID of a CDR/GDA document.
    pub title: String,
    /// Sentences as lists of words.
    pub sents: Vec<Vec<String>>,
    pub entities: Vec<Entity>,
    /// `None` for an unlabelled split (DocRED `test.json`); `Some(vec![])` for a labelled
    /// document without facts.
    pub facts: Option<Vec<Fact>>,
    /// The ordered (head, tail) pairs to classify. `None` means every ordered pair with
    /// head != tail (DocRED); CDR/GDA list their candidate pairs only.
    pub candidate_pairs: Option<Vec<(usize, usize)>>,
}

impl Document {
    /// The pairs the model classifies, in the reference's order: the candidate pairs as listed,
    /// else every ordered pair (h != t), head-major.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        match &self.candidate_pairs {
            Some(pairs) => pairs.clone(),
            None => {
                let n = self.entities.len();
                (0..n)
                    .flat_map(|h| (0..n).filter(move |&t| t != h).map(move |t| (h, t)))
                    .collect()
            }
        }
    }

    pub fn num_words(&self) -> usize {
        self.sents.iter().map(Vec::len).sum()
    }
}

/// Which file format (and so which metric) a dataset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// DocRED / Re-DocRED JSON: 97 classes, F1 and Ign F1.
    Docred,
    /// CDR or GDA in the EoG `.data` format: NA + one relation, F1 of the positive class.
    Bio,
}

/// A whole split read from one file.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub path: PathBuf,
    pub kind: DatasetKind,
    pub documents: Vec<Document>,
}

impl Dataset {
    pub fn is_labelled(&self) -> bool {
        self.documents.iter().any(|d| d.facts.is_some())
    }

    pub fn num_facts(&self) -> usize {
        self.documents
            .iter()
            .map(|d| d.facts.as_ref().map_or(0, Vec::len))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_ordered_pairs_are_head_major() {
        let doc = Document {
            title: "t".into(),
            sents: vec![],
            entities: vec![Entity { mentions: vec![] }; 3],
            facts: None,
            candidate_pairs: None,
        };
        assert_eq!(
            doc.pairs(),
            vec![(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
        );
    }
}
