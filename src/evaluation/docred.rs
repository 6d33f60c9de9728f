//! The official DocRED scorer (the benchmark's `evaluation.py`, as ATLOP reports F1 and Ign F1
//! in its Tables 2-4), plus the breakdowns the paper discusses: intra- vs inter-sentence facts
//! and F1 by the number of entities per document (Figure 4), and per-relation scores.
//!
//! Differences from `evaluation.py`, all on inputs it does not handle: an empty prediction list
//! scores 0 instead of crashing, the gold file and the training facts are arguments instead of
//! the hard-coded `dev.json` / `train_annotated.json`, and facts are keyed by document index
//! (titles are unique in DocRED, so this is the same key as its `title`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::prediction::Prediction;
use super::train_facts::TrainFacts;
use crate::data::{Dataset, Document, RelationVocab};
use crate::decision::{harmonic_mean, MicroF1};
use crate::error::{AtlopError, DocRef, Result};

/// What the breakdowns group by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocredEvalConfig {
    /// Lower bounds (ascending) of the entity-count buckets of Figure 4: a document with n
    /// entities falls in the last bucket whose bound is <= n. The default gives 1-5, 6-10, ...,
    /// 26-30, 31+: the paper's Figure 4 bins of five, its rare largest documents in one bin.
    pub entity_buckets: Vec<usize>,
}

impl Default for DocredEvalConfig {
    fn default() -> Self {
        DocredEvalConfig {
            entity_buckets: vec![1, 6, 11, 16, 21, 26, 31],
        }
    }
}

/// Scores of the documents whose entity count lies in `[min_entities, max_entities]`
/// (`max_entities` `None` = no upper bound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityBucket {
    pub min_entities: usize,
    pub max_entities: Option<usize>,
    pub documents: usize,
    pub scores: MicroF1,
}

/// Scores of one relation class (id in the dataset's vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationScore {
    pub relation: usize,
    /// The class as the data spell it (`P17`), and its readable name (`country`, from
    /// `rel_info.json`): filled by [`DocredReport::name_relations`], empty in dev reports.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    pub scores: MicroF1,
}

/// Everything the official scorer reports, and the breakdowns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocredReport {
    #[serde(rename = "precision_pct", with = "crate::evaluation::percent")]
    pub precision: f64,
    #[serde(rename = "recall_pct", with = "crate::evaluation::percent")]
    pub recall: f64,
    #[serde(rename = "f1_pct", with = "crate::evaluation::percent")]
    pub f1: f64,
    /// Precision without the correct predictions seen in training:
    /// `(correct - seen) / (predicted - seen + 1e-5)`, as `evaluation.py` computes it.
    #[serde(rename = "ign_precision_pct", with = "crate::evaluation::percent")]
    pub ign_precision: f64,
    /// Harmonic mean of `ign_precision` and the unchanged recall.
    #[serde(rename = "ign_f1_pct", with = "crate::evaluation::percent")]
    pub ign_f1: f64,
    /// Distinct predicted facts.
    pub predicted: usize,
    pub correct: usize,
    /// Distinct gold facts.
    pub gold: usize,
    /// Correct predictions whose mention names and relation occur in the training facts.
    pub correct_in_train: usize,
    /// Facts with some mention of the head and some mention of the tail in one sentence.
    pub intra: MicroF1,
    pub inter: MicroF1,
    pub by_entity_count: Vec<EntityBucket>,
    /// Classes that occur in the gold facts or the predictions, by id.
    pub per_relation: Vec<RelationScore>,
}

/// A fact key: (document index, head, tail, relation).
type Key = (usize, usize, usize, usize);

/// Per group: (correct, predicted, gold).
#[derive(Default, Clone, Copy)]
struct Tally(usize, usize, usize);

impl Tally {
    fn scores(self) -> MicroF1 {
        MicroF1::from_counts(self.0, self.1, self.2)
    }
}

/// Scores `predictions` against the facts of the labelled `gold` dataset.
pub fn evaluate(
    predictions: &[Prediction],
    gold: &Dataset,
    train: &TrainFacts,
    config: &DocredEvalConfig,
) -> Result<DocredReport> {
    if !gold.is_labelled() {
        return Err(AtlopError::Invalid(format!(
            "{} has no labels; score its predictions on CodaLab with result.json",
            gold.path.display()
        )));
    }
    let buckets = &config.entity_buckets;
    if buckets.is_empty() || buckets.windows(2).any(|w| w[0] >= w[1]) {
        return Err(AtlopError::Config {
            source_name: "evaluation".into(),
            key: "entity_buckets".into(),
            message: format!("must be a non-empty ascending list, got {buckets:?}"),
        });
    }
    let bucket_of = |doc: &Document| buckets.iter().rposition(|&b| b <= doc.entities.len());

    let gold_facts = gold_keys(gold)?;
    let predicted = prediction_keys(predictions, gold)?;

    let (mut all, mut intra, mut inter) = (Tally::default(), Tally::default(), Tally::default());
    let mut by_bucket = vec![Tally::default(); buckets.len()];
    let mut by_relation: BTreeMap<usize, Tally> = BTreeMap::new();
    let mut correct_in_train = 0;
    // One pass over gold (counting into slot 2) and one over predictions (slots 0 and 1).
    let mut count = |key: &Key, doc: &Document, slot: usize| {
        let (_, h, t, r) = *key;
        let mut groups = vec![&mut all];
        groups.push(if is_intra(doc, h, t) {
            &mut intra
        } else {
            &mut inter
        });
        if let Some(b) = bucket_of(doc) {
            groups.push(&mut by_bucket[b]);
        }
        groups.push(by_relation.entry(r).or_default());
        for tally in groups {
            match slot {
                0 => tally.0 += 1,
                1 => tally.1 += 1,
                _ => tally.2 += 1,
            }
        }
    };
    for key in &gold_facts {
        count(key, &gold.documents[key.0], 2);
    }
    for key in &predicted {
        let doc = &gold.documents[key.0];
        count(key, doc, 1);
        if gold_facts.contains(key) {
            count(key, doc, 0);
            if train.seen(doc, key.1, key.2, key.3) {
                correct_in_train += 1;
            }
        }
    }

    let overall = all.scores();
    let ign_precision = (overall.true_positives - correct_in_train) as f64
        / ((overall.predicted - correct_in_train) as f64 + 1e-5);
    let mut docs_per_bucket = vec![0; buckets.len()];
    for doc in &gold.documents {
        if let Some(b) = bucket_of(doc) {
            docs_per_bucket[b] += 1;
        }
    }
    Ok(DocredReport {
        precision: overall.precision,
        recall: overall.recall,
        f1: overall.f1,
        ign_precision,
        ign_f1: harmonic_mean(ign_precision, overall.recall),
        predicted: overall.predicted,
        correct: overall.true_positives,
        gold: overall.gold,
        correct_in_train,
        intra: intra.scores(),
        inter: inter.scores(),
        by_entity_count: (0..buckets.len())
            .map(|b| EntityBucket {
                min_entities: buckets[b],
                max_entities: buckets.get(b + 1).map(|next| next - 1),
                documents: docs_per_bucket[b],
                scores: by_bucket[b].scores(),
            })
            .collect(),
        per_relation: by_relation
            .into_iter()
            .map(|(relation, tally)| RelationScore {
                relation,
                code: String::new(),
                name: String::new(),
                scores: tally.scores(),
            })
            .collect(),
    })
}

impl DocredReport {
    /// Names each relation of `per_relation` by its code and readable name in `vocab`.
    pub fn name_relations(&mut self, vocab: &RelationVocab) {
        for r in &mut self.per_relation {
            if let Some(code) = vocab.labels.get(r.relation) {
                r.name = vocab
                    .descriptions
                    .get(code)
                    .cloned()
                    .unwrap_or_else(|| code.clone());
                r.code = code.clone();
            }
        }
    }
}

/// Whether some mention of `head` and some mention of `tail` share a sentence.
pub fn is_intra(doc: &Document, head: usize, tail: usize) -> bool {
    let (Some(h), Some(t)) = (doc.entities.get(head), doc.entities.get(tail)) else {
        return false;
    };
    h.mentions
        .iter()
        .any(|hm| t.mentions.iter().any(|tm| hm.sent_id == tm.sent_id))
}

/// Distinct gold facts; a fact naming a missing entity is an error of the gold file.
fn gold_keys(gold: &Dataset) -> Result<BTreeSet<Key>> {
    let mut keys = BTreeSet::new();
    for (index, doc) in gold.documents.iter().enumerate() {
        for fact in doc.facts.iter().flatten() {
            if fact.head >= doc.entities.len() || fact.tail >= doc.entities.len() {
                return Err(AtlopError::document(
                    &gold.path,
                    doc_ref(index, doc),
                    "labels",
                    format!(
                        "fact ({}, {}) names an entity outside 0..{}",
                        fact.head,
                        fact.tail,
                        doc.entities.len()
                    ),
                ));
            }
            keys.insert((index, fact.head, fact.tail, fact.relation));
        }
    }
    Ok(keys)
}

/// Distinct predicted facts, each checked against the gold document it claims to be about.
fn prediction_keys(predictions: &[Prediction], gold: &Dataset) -> Result<BTreeSet<Key>> {
    let mut keys = BTreeSet::new();
    for (i, p) in predictions.iter().enumerate() {
        let doc = gold.documents.get(p.doc_index).ok_or_else(|| {
            AtlopError::Invalid(format!(
                "prediction {i}: document #{} is not in {} ({} documents)",
                p.doc_index,
                gold.path.display(),
                gold.documents.len()
            ))
        })?;
        let problem = if !p.title.is_empty() && p.title != doc.title {
            Some(format!("prediction {i} is titled {:?}", p.title))
        } else if p.head >= doc.entities.len() || p.tail >= doc.entities.len() {
            Some(format!(
                "prediction {i}: pair ({}, {}) outside 0..{} entities",
                p.head,
                p.tail,
                doc.entities.len()
            ))
        } else if p.relation == 0 {
            Some(format!("prediction {i}: relation 0 is the NA class"))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(AtlopError::Invalid(format!(
                "{}: {}: {message}",
                gold.path.display(),
                doc_ref(p.doc_index, doc)
            )));
        }
        keys.insert((p.doc_index, p.head, p.tail, p.relation));
    }
    Ok(keys)
}

fn doc_ref(index: usize, doc: &Document) -> DocRef {
    DocRef {
        index,
        title: doc.title.clone(),
    }
}
