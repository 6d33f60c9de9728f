//! Dataset statistics, the paper's Table 1 (documents, entities and mentions per document,
//! pairs, facts) plus what a user needs before training: label sparsity, the most frequent
//! relations, and the subword lengths that decide how many documents need two encoder windows.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::{Dataset, RelationVocab};
use crate::features::Feature;

/// Relations listed in the histogram.
const TOP_RELATIONS: usize = 10;
/// The encoder's window (BERT / RoBERTa position limit); longer inputs take two windows.
const WINDOW: usize = 512;

/// Subword lengths of the featurized documents (special tokens included, after truncation to
/// the configured maximum).
#[derive(Debug, Clone, PartialEq)]
pub struct LengthStats {
    pub min: usize,
    pub mean: f64,
    pub median: f64,
    /// Nearest-rank 95th percentile.
    pub p95: usize,
    pub max: usize,
    /// Documents longer than one 512-token window.
    pub over_512: usize,
    /// Mentions that start past the featurised length (`max_len`, 1024 by default): the model
    /// never sees them, and entities left with none get no prediction.
    pub mentions_past_max_len: usize,
    pub entities_past_max_len: usize,
}

/// Table 1 for one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStats {
    pub documents: usize,
    pub entities_per_doc: f64,
    pub mentions_per_doc: f64,
    /// Pairs to classify: every ordered pair (DocRED) or the candidate pairs (CDR/GDA).
    pub pairs: usize,
    /// Whether any document has labels; the label counts below are 0 otherwise.
    pub labelled: bool,
    /// Pairs with at least one relation.
    pub positive_pairs: usize,
    /// Pairs with two or more relations (why ATLOP predicts a set per pair).
    pub multi_label_pairs: usize,
    pub facts: usize,
    /// The most frequent relations, `(readable name, facts)`, most frequent first.
    pub relations: Vec<(String, usize)>,
    /// `None` without features.
    pub lengths: Option<LengthStats>,
}

impl DatasetStats {
    pub fn compute(dataset: &Dataset, vocab: &RelationVocab, features: Option<&[Feature]>) -> Self {
        let docs = &dataset.documents;
        let per_doc = |total: usize| total as f64 / docs.len().max(1) as f64;
        let entities: usize = docs.iter().map(|d| d.entities.len()).sum();
        let mentions: usize = docs
            .iter()
            .flat_map(|d| &d.entities)
            .map(|e| e.mentions.len())
            .sum();
        let pairs = docs.iter().map(|d| d.pairs().len()).sum();

        let mut positive_pairs = 0;
        let mut multi_label_pairs = 0;
        let mut per_relation: HashMap<usize, usize> = HashMap::new();
        for doc in docs {
            let mut by_pair: HashMap<(usize, usize), HashSet<usize>> = HashMap::new();
            for fact in doc.facts.iter().flatten() {
                by_pair
                    .entry((fact.head, fact.tail))
                    .or_default()
                    .insert(fact.relation);
                *per_relation.entry(fact.relation).or_default() += 1;
            }
            positive_pairs += by_pair.len();
            multi_label_pairs += by_pair.values().filter(|r| r.len() > 1).count();
        }
        let mut relations: Vec<(usize, usize)> = per_relation.into_iter().collect();
        // Most frequent first; ties by id so the table is stable.
        relations.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let relations = relations
            .into_iter()
            .take(TOP_RELATIONS)
            .map(|(id, n)| (vocab.name(id).to_string(), n))
            .collect();

        DatasetStats {
            documents: docs.len(),
            entities_per_doc: per_doc(entities),
            mentions_per_doc: per_doc(mentions),
            pairs,
            labelled: dataset.is_labelled(),
            positive_pairs,
            multi_label_pairs,
            facts: dataset.num_facts(),
            relations,
            lengths: features.and_then(length_stats),
        }
    }

    /// The statistics as a Markdown table, then the relation histogram.
    pub fn render(&self) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            ("documents", self.documents.to_string()),
            (
                "entities / document",
                format!("{:.2}", self.entities_per_doc),
            ),
            (
                "mentions / document",
                format!("{:.2}", self.mentions_per_doc),
            ),
            ("pairs", self.pairs.to_string()),
        ];
        let labelled = |n: usize| {
            if self.labelled {
                n.to_string()
            } else {
                "- (unlabelled)".to_string()
            }
        };
        rows.push(("positive pairs", labelled(self.positive_pairs)));
        rows.push(("multi-label pairs", labelled(self.multi_label_pairs)));
        rows.push(("facts", labelled(self.facts)));
        if let Some(l) = &self.lengths {
            rows.push(("subword length min", l.min.to_string()));
            rows.push(("subword length mean", format!("{:.1}", l.mean)));
            rows.push(("subword length median", format!("{:.1}", l.median)));
            rows.push(("subword length p95", l.p95.to_string()));
            rows.push(("subword length max", l.max.to_string()));
            rows.push(("documents over 512 tokens", l.over_512.to_string()));
            rows.push((
                "mentions past max_len (unseen)",
                l.mentions_past_max_len.to_string(),
            ));
            rows.push((
                "entities past max_len (no prediction)",
                l.entities_past_max_len.to_string(),
            ));
        }
        let mut out = String::from("| statistic | value |\n|---|---:|\n");
        for (name, value) in rows {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        if !self.relations.is_empty() {
            out.push_str("\n| relation | facts |\n|---|---:|\n");
            for (name, n) in &self.relations {
                let _ = writeln!(out, "| {name} | {n} |");
            }
        }
        out
    }
}

fn length_stats(features: &[Feature]) -> Option<LengthStats> {
    let mut lens: Vec<usize> = features.iter().map(Feature::len).collect();
    lens.sort_unstable();
    let n = lens.len();
    let (&min, &max) = (lens.first()?, lens.last()?);
    let median = if n % 2 == 1 {
        lens[n / 2] as f64
    } else {
        (lens[n / 2 - 1] + lens[n / 2]) as f64 / 2.0
    };
    // Nearest rank: the smallest value with at least 95% of the documents at or below it.
    let rank = (0.95 * n as f64).ceil() as usize;
    Some(LengthStats {
        min,
        mean: lens.iter().sum::<usize>() as f64 / n as f64,
        median,
        p95: lens[rank.clamp(1, n) - 1],
        max,
        over_512: lens.iter().filter(|&&l| l > WINDOW).count(),
        mentions_past_max_len: features
            .iter()
            .map(|f| crate::features::featurize::mentions_past_limit(f).0)
            .sum(),
        entities_past_max_len: features
            .iter()
            .map(|f| crate::features::featurize::mentions_past_limit(f).1)
            .sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetKind, Document, Entity, Fact, Mention};

    fn feature(len: usize) -> Feature {
        Feature {
            doc_index: 0,
            title: String::new(),
            input_ids: vec![0; len],
            entity_pos: vec![],
            hts: vec![],
            labels: vec![],
        }
    }

    #[test]
    fn lengths_follow_their_definitions() {
        let lens = [3usize, 600, 10, 20];
        let feats: Vec<Feature> = lens.iter().map(|&l| feature(l)).collect();
        let s = length_stats(&feats).unwrap();
        assert_eq!((s.min, s.max, s.p95, s.over_512), (3, 600, 600, 1));
        assert_eq!(s.median, (10.0 + 20.0) / 2.0);
        assert_eq!(s.mean, lens.iter().sum::<usize>() as f64 / 4.0);
        assert!(length_stats(&[]).is_none());
    }

    #[test]
    fn mentions_past_the_input_are_counted() {
        // 10 tokens: offsets 0..=8 lie inside (the vector is read at offset + 1).
        let mut f = feature(10);
        f.entity_pos = vec![vec![2, 9], vec![9, 12], vec![8]];
        let s = length_stats(&[f]).unwrap();
        assert_eq!((s.mentions_past_max_len, s.entities_past_max_len), (3, 1));
    }

    #[test]
    fn counts_pairs_and_labels() {
        let mention = Mention {
            name: "x".into(),
            sent_id: 0,
            start: 0,
            end: 1,
            entity_type: "T".into(),
        };
        let fact = |r| Fact {
            head: 0,
            tail: 1,
            relation: r,
            evidence: vec![],
        };
        let doc = Document {
            title: "d".into(),
            sents: vec![vec!["x".into()]],
            entities: vec![
                Entity {
                    mentions: vec![mention.clone(), mention],
                },
                Entity { mentions: vec![] },
                Entity { mentions: vec![] },
            ],
            facts: Some(vec![fact(1), fact(2), fact(2)]),
            candidate_pairs: None,
        };
        let ds = Dataset {
            path: "m".into(),
            kind: DatasetKind::Docred,
            documents: vec![doc],
        };
        let vocab = RelationVocab::from_labels(vec!["Na".into(), "P1".into(), "P2".into()]);
        let s = DatasetStats::compute(&ds, &vocab, None);
        assert_eq!((s.documents, s.pairs, s.facts), (1, 3 * 2, 3));
        assert_eq!((s.positive_pairs, s.multi_label_pairs), (1, 1));
        assert_eq!(
            s.relations,
            vec![("P2".to_string(), 2), ("P1".to_string(), 1)]
        );
        assert_eq!((s.entities_per_doc, s.mentions_per_doc), (3.0, 2.0));
        assert!(s.render().contains("| positive pairs | 1 |"));
    }
}
