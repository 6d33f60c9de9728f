//! The official DocRED scorer on hand-computed cases and on the real Re-DocRED dev file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use atlop::data::{Dataset, DatasetKind, Document, Entity, Fact, Mention};
use atlop::evaluation::docred::{evaluate, is_intra};
use atlop::evaluation::{DocredEvalConfig, Prediction, TrainFacts};

const DEV: &str = "../shared/data/redocred/dev_revised.json";
const TEST: &str = "../shared/data/redocred/test_revised.json";
const REL2ID: &str = "../shared/data/docred/rel2id.json";

/// An entity from (mention name, sentence id) pairs.
fn entity(mentions: &[(&str, usize)]) -> Entity {
    Entity {
        mentions: mentions
            .iter()
            .map(|&(name, sent_id)| Mention {
                name: name.into(),
                sent_id,
                start: 0,
                end: 1,
                entity_type: "MISC".into(),
            })
            .collect(),
    }
}

fn doc(title: &str, entities: Vec<Entity>, facts: &[(usize, usize, usize)]) -> Document {
    Document {
        title: title.into(),
        sents: vec![],
        entities,
        facts: Some(
            facts
                .iter()
                .map(|&(head, tail, relation)| Fact {
                    head,
                    tail,
                    relation,
                    evidence: vec![],
                })
                .collect(),
        ),
        candidate_pairs: None,
    }
}

fn dataset(name: &str, documents: Vec<Document>) -> Dataset {
    Dataset {
        path: PathBuf::from(name),
        kind: DatasetKind::Docred,
        documents,
    }
}

fn prediction(doc_index: usize, title: &str, h: usize, t: usize, r: usize) -> Prediction {
    Prediction {
        doc_index,
        title: title.into(),
        head: h,
        tail: t,
        relation: r,
    }
}

/// Three documents, four gold facts; see `hand_computed_scores` for the arithmetic.
fn small_dev() -> Dataset {
    let a = doc(
        "A",
        vec![
            entity(&[("Alice", 0)]),
            entity(&[("Bob", 0), ("Robert", 1)]),
            entity(&[("Paris", 2)]),
        ],
        &[(0, 1, 1), (0, 2, 2), (1, 2, 2)],
    );
    let b = doc(
        "B",
        vec![entity(&[("Carl", 0)]), entity(&[("Berlin", 1)])],
        &[(0, 1, 3)],
    );
    let c = doc("C", vec![entity(&[("X", 0)]), entity(&[("Y", 0)])], &[]);
    dataset("small_dev.json", vec![a, b, c])
}

/// ("Robert", "Paris", 2) is seen in training; ("Carl", "Berlin") only with relation 1.
fn small_train() -> TrainFacts {
    let t = doc(
        "T",
        vec![
            entity(&[("Robert", 0)]),
            entity(&[("Paris", 0)]),
            entity(&[("Carl", 1)]),
            entity(&[("Berlin", 1)]),
        ],
        &[(0, 1, 2), (2, 3, 1)],
    );
    TrainFacts::from_dataset(&dataset("small_train.json", vec![t]))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn hand_computed_scores() {
    let dev = small_dev();
    let predictions = vec![
        prediction(0, "A", 0, 1, 1), // correct, intra, not in train
        prediction(0, "A", 1, 2, 2), // correct, inter, seen in train (Robert, Paris)
        prediction(0, "A", 1, 2, 2), // duplicate: counted once
        prediction(0, "A", 2, 0, 1), // wrong, inter
        prediction(1, "B", 0, 1, 3), // correct, inter, train has (Carl, Berlin) with r1 only
        prediction(2, "C", 0, 1, 1), // wrong, intra
    ];
    let config = DocredEvalConfig {
        entity_buckets: vec![1, 3],
    };
    let r = evaluate(&predictions, &dev, &small_train(), &config).unwrap();
    assert_eq!(
        (r.predicted, r.correct, r.gold, r.correct_in_train),
        (5, 3, 4, 1)
    );
    // P 3/5, R 3/4, F1 2/3.
    assert!(close(r.precision, 0.6) && close(r.recall, 0.75) && close(r.f1, 2.0 / 3.0));
    // Ign: (3 - 1) / (5 - 1 + 1e-5), recall unchanged.
    let ign_p = 2.0 / (4.0 + 1e-5);
    assert!(close(r.ign_precision, ign_p));
    assert!(close(r.ign_f1, 2.0 * ign_p * 0.75 / (ign_p + 0.75)));
    // Intra: gold A(0,1); predicted A(0,1), C(0,1). Inter: gold A(0,2), A(1,2), B(0,1).
    assert_eq!(
        (r.intra.true_positives, r.intra.predicted, r.intra.gold),
        (1, 2, 1)
    );
    assert_eq!(
        (r.inter.true_positives, r.inter.predicted, r.inter.gold),
        (2, 3, 3)
    );
    // Buckets 1-2 (B, C) and 3+ (A).
    let buckets: Vec<_> = r
        .by_entity_count
        .iter()
        .map(|b| {
            (
                b.min_entities,
                b.max_entities,
                b.documents,
                b.scores.true_positives,
                b.scores.predicted,
                b.scores.gold,
            )
        })
        .collect();
    assert_eq!(
        buckets,
        vec![(1, Some(2), 2, 1, 2, 1), (3, None, 1, 2, 3, 3)]
    );
    let relations: Vec<_> = r
        .per_relation
        .iter()
        .map(|s| {
            (
                s.relation,
                s.scores.true_positives,
                s.scores.predicted,
                s.scores.gold,
            )
        })
        .collect();
    assert_eq!(relations, vec![(1, 1, 3, 1), (2, 1, 1, 2), (3, 1, 1, 1)]);
    // The report is serde data, its scores in percent with the unit in the field names.
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"ign_f1_pct\""), "{json}");
    let back: atlop::evaluation::DocredReport = serde_json::from_str(&json).unwrap();
    assert!((back.ign_f1 - r.ign_f1).abs() < 1e-12 && (back.f1 - r.f1).abs() < 1e-12);
}

#[test]
fn gold_as_prediction_scores_one() {
    let dev = small_dev();
    let predictions = gold_predictions(&dev);
    let r = evaluate(
        &predictions,
        &dev,
        &TrainFacts::default(),
        &Default::default(),
    )
    .unwrap();
    assert!(
        (r.f1 - 1.0).abs() < 1e-4 && (r.ign_f1 - 1.0).abs() < 1e-4,
        "{r:?}"
    );
    // With the training facts, one correct fact is ignored; precision drops, recall stays 1.
    let r = evaluate(&predictions, &dev, &small_train(), &Default::default()).unwrap();
    assert_eq!(r.correct_in_train, 1);
    assert!(close(r.recall, 1.0) && close(r.f1, 1.0));
    assert!(close(r.ign_precision, 3.0 / (3.0 + 1e-5)));
}

#[test]
fn empty_predictions_score_zero() {
    let r = evaluate(&[], &small_dev(), &small_train(), &Default::default()).unwrap();
    assert_eq!((r.precision, r.recall, r.f1), (0.0, 0.0, 0.0));
    assert_eq!((r.ign_precision, r.ign_f1), (0.0, 0.0));
    assert_eq!(r.intra.f1, 0.0);
    assert!(r.by_entity_count.iter().all(|b| b.scores.f1 == 0.0));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let dev = small_dev();
    let train = TrainFacts::default();
    let config = DocredEvalConfig::default();
    for bad in [
        prediction(9, "A", 0, 1, 1), // no such document
        prediction(0, "B", 0, 1, 1), // wrong title
        prediction(0, "A", 0, 7, 1), // no such entity
        prediction(0, "A", 0, 1, 0), // NA
    ] {
        assert!(evaluate(&[bad], &dev, &train, &config).is_err());
    }
    let unsorted = DocredEvalConfig {
        entity_buckets: vec![5, 1],
    };
    assert!(evaluate(&[], &dev, &train, &unsorted).is_err());
    let mut unlabelled = small_dev();
    unlabelled.documents.iter_mut().for_each(|d| d.facts = None);
    assert!(evaluate(&[], &unlabelled, &train, &config).is_err());
}

fn gold_predictions(dataset: &Dataset) -> Vec<Prediction> {
    dataset
        .documents
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            d.facts
                .iter()
                .flatten()
                .map(move |f| prediction(i, &d.title, f.head, f.tail, f.relation))
        })
        .collect()
}

/// A test-only reading of a DocRED JSON file (the library's reader lives in `data::docred`):
/// only the fields the scorer uses.
fn read_docred(path: &Path, rel2id: &HashMap<String, usize>) -> Dataset {
    let text = std::fs::read_to_string(path).unwrap();
    let raw: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let documents = raw
        .iter()
        .map(|d| {
            let entities = d["vertexSet"]
                .as_array()
                .unwrap()
                .iter()
                .map(|mentions| Entity {
                    mentions: mentions
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| Mention {
                            name: m["name"].as_str().unwrap().into(),
                            sent_id: m["sent_id"].as_u64().unwrap() as usize,
                            start: m["pos"][0].as_u64().unwrap() as usize,
                            end: m["pos"][1].as_u64().unwrap() as usize,
                            entity_type: m["type"].as_str().unwrap().into(),
                        })
                        .collect(),
                })
                .collect();
            let facts = d["labels"].as_array().map(|labels| {
                labels
                    .iter()
                    .map(|l| Fact {
                        head: l["h"].as_u64().unwrap() as usize,
                        tail: l["t"].as_u64().unwrap() as usize,
                        relation: rel2id[l["r"].as_str().unwrap()],
                        evidence: vec![],
                    })
                    .collect()
            });
            Document {
                title: d["title"].as_str().unwrap().into(),
                sents: vec![],
                entities,
                facts,
                candidate_pairs: None,
            }
        })
        .collect();
    Dataset {
        path: path.to_path_buf(),
        kind: DatasetKind::Docred,
        documents,
    }
}

#[test]
fn real_dev_gold_as_prediction_scores_one() {
    if !Path::new(DEV).exists() || !Path::new(REL2ID).exists() {
        eprintln!("skipping: {DEV} or {REL2ID} not found");
        return;
    }
    let rel2id: HashMap<String, usize> =
        serde_json::from_str(&std::fs::read_to_string(REL2ID).unwrap()).unwrap();
    let dev = read_docred(Path::new(DEV), &rel2id);
    let predictions = gold_predictions(&dev);
    let r = evaluate(
        &predictions,
        &dev,
        &TrainFacts::default(),
        &Default::default(),
    )
    .unwrap();
    assert!(
        (r.f1 - 1.0).abs() < 1e-4 && (r.ign_f1 - 1.0).abs() < 1e-4,
        "{r:?}"
    );
    assert_eq!(r.gold, dev.num_facts());
    assert!((r.intra.f1 - 1.0).abs() < 1e-9 && (r.inter.f1 - 1.0).abs() < 1e-9);
    assert_eq!(
        r.by_entity_count.iter().map(|b| b.documents).sum::<usize>(),
        dev.documents.len()
    );
    let intra_share = r.intra.gold as f64 / r.gold as f64;
    eprintln!(
        "dev: {} facts, {:.1}% intra-sentence",
        r.gold,
        100.0 * intra_share
    );

    // Ign F1 with another labelled file as the training facts: recall stays 1, and the
    // correct facts seen there leave precision's numerator and denominator alike.
    if Path::new(TEST).exists() {
        let train = TrainFacts::from_dataset(&read_docred(Path::new(TEST), &rel2id));
        let r = evaluate(&predictions, &dev, &train, &Default::default()).unwrap();
        assert!(r.correct_in_train > 0);
        let expected = (r.correct - r.correct_in_train) as f64
            / ((r.predicted - r.correct_in_train) as f64 + 1e-5);
        assert!((r.ign_precision - expected).abs() < 1e-12);
        assert!((r.ign_f1 - 1.0).abs() < 1e-4 && (r.recall - 1.0).abs() < 1e-12);
        eprintln!(
            "dev facts also in test_revised: {} of {}",
            r.correct_in_train, r.correct
        );
    }
    // Every fact is its own training fact: Ign precision has nothing left.
    let itself = TrainFacts::from_dataset(&dev);
    let r = evaluate(&predictions, &dev, &itself, &Default::default()).unwrap();
    assert_eq!(r.correct_in_train, r.correct);
    assert_eq!(r.ign_f1, 0.0);
    // Intra-sentence classification agrees with the rule on a sample fact.
    let d = &dev.documents[0];
    if let Some(f) = d.facts.iter().flatten().next() {
        let shared = d.entities[f.head].mentions.iter().any(|h| {
            d.entities[f.tail]
                .mentions
                .iter()
                .any(|t| t.sent_id == h.sent_id)
        });
        assert_eq!(is_intra(d, f.head, f.tail), shared);
    }
}
