//! Featurizing against the reference: the `atlop_doc` fixture id for id, and invariants on every
//! Re-DocRED dev document and every CDR/GDA document (`*` at each mention, pair counts, lengths).

use std::path::Path;

use atlop::data::docred::parse_docred;
use atlop::data::{load_dataset, Dataset, DatasetKind, Document, Entity, Fact, Mention};
use atlop::features::{featurize, featurize_dataset, DocTokenizer, Feature, FeatureConfig};
use safetensors::SafeTensors;

use crate::shared_inputs;
use shared_inputs::present;

const MODEL: &str = "models/all-MiniLM-L6-v2";

fn tokenizer() -> Option<DocTokenizer> {
    present(MODEL).map(|dir| DocTokenizer::from_dir(&dir).unwrap())
}

#[test]
fn atlop_doc_fixture_featurizes_exactly() {
    let (Some(tok), Some(json), Some(tensors), Some(rel2id)) = (
        tokenizer(),
        present("../shared/fixtures/atlop_doc.json"),
        present("../shared/fixtures/atlop_doc.safetensors"),
        present("../shared/data/docred"),
    ) else {
        return;
    };
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let (_, vocab) = load_dataset(&rel2id.join("test.json"), None).unwrap();
    let text = format!("[{}]", fixture["document"]);
    let ds = parse_docred(&text, Path::new("atlop_doc.json"), &vocab).unwrap();
    let f = featurize(&ds.documents[0], 0, ds.kind, &tok, &FeatureConfig::new()).unwrap();

    let expect = |key: &str| -> serde_json::Value { fixture[key].clone() };
    assert_eq!(serde_json::json!(f.input_ids), expect("input_ids"));
    assert_eq!(serde_json::json!(f.entity_pos), expect("entity_pos"));
    let hts: Vec<[usize; 2]> = f.hts.iter().map(|&(h, t)| [h, t]).collect();
    assert_eq!(serde_json::json!(hts), expect("hts"));

    let bytes = std::fs::read(tensors).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let labels = st.tensor("labels").unwrap();
    assert_eq!(labels.shape(), [f.hts.len(), vocab.num_classes()]);
    let values: Vec<f32> = labels
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let ours: Vec<f32> = f.multi_hot(vocab.num_classes()).concat();
    assert_eq!(ours, values);
    assert!(f.labels.iter().any(|l| !l.is_empty()));
}

/// Invariants every feature of a labelled dataset must hold.
fn check(ds: &Dataset, feats: &[Feature], tok: &DocTokenizer, max_len: usize) {
    assert_eq!(feats.len(), ds.documents.len());
    for (doc, f) in ds.documents.iter().zip(feats) {
        assert!(f.len() <= max_len && f.input_ids[0] == tok.cls_id());
        assert_eq!(*f.input_ids.last().unwrap(), tok.sep_id());
        assert!(f
            .input_ids
            .iter()
            .all(|&id| (id as usize) < tok.vocab_size()));
        assert_eq!(f.entity_pos.len(), doc.entities.len());
        for (e, pos) in doc.entities.iter().zip(&f.entity_pos) {
            assert_eq!(pos.len(), e.mentions.len());
            for &p in pos {
                if p + 1 < f.len() - 1 {
                    assert_eq!(f.input_ids[p + 1], tok.marker_id(), "{}", doc.title);
                }
            }
        }
        assert_eq!(f.hts, doc.pairs());
        assert_eq!(f.labels.len(), f.hts.len());
        let positives = f.labels.iter().filter(|l| !l.is_empty()).count();
        let mut fact_pairs: Vec<_> = doc
            .facts
            .iter()
            .flatten()
            .map(|x| (x.head, x.tail))
            .collect();
        fact_pairs.sort_unstable();
        fact_pairs.dedup();
        assert_eq!(positives, fact_pairs.len());
    }
}

#[test]
fn every_redocred_dev_document() {
    let (Some(tok), Some(path)) = (
        tokenizer(),
        present("../shared/data/redocred/dev_revised.json"),
    ) else {
        return;
    };
    let (ds, _) = load_dataset(&path, None).unwrap();
    let cfg = FeatureConfig::new();
    let feats = featurize_dataset(&ds, &tok, &cfg).unwrap();
    check(&ds, &feats, &tok, cfg.max_len);
    for (doc, f) in ds.documents.iter().zip(&feats) {
        let n = doc.entities.len();
        assert_eq!(f.hts.len(), n * (n - 1));
    }
}

#[test]
fn cdr_and_gda_invariants() {
    let Some(tok) = tokenizer() else { return };
    for (file, positives) in [
        ("cdr/train_filter.data", 1038),
        ("cdr/dev_filter.data", 1012),
        ("cdr/test_filter.data", 1066),
        ("gda/test.data", 1502),
    ] {
        let Some(path) = present(&format!("../shared/data/{file}")) else {
            return;
        };
        let (ds, _) = load_dataset(&path, None).unwrap();
        let cfg = FeatureConfig::new();
        let feats = featurize_dataset(&ds, &tok, &cfg).unwrap();
        check(&ds, &feats, &tok, cfg.max_len);
        let pos: usize = feats
            .iter()
            .map(|f| f.labels.iter().filter(|l| !l.is_empty()).count())
            .sum();
        assert_eq!(pos, positives, "{file}");
        for (doc, f) in ds.documents.iter().zip(&feats) {
            // Candidate pairs only, among the included entities.
            assert_eq!(Some(&f.hts), doc.candidate_pairs.as_ref());
        }
    }
}

fn mention(sent_id: usize, start: usize, end: usize, ty: &str) -> Mention {
    Mention {
        name: String::new(),
        sent_id,
        start,
        end,
        entity_type: ty.into(),
    }
}

/// Two entities whose mentions both start at word 0 with different ends / types.
fn overlapping() -> Document {
    Document {
        title: "o".into(),
        sents: vec![
            vec!["aspirin".into(), "induced".into()],
            vec!["headache".into()],
        ],
        entities: vec![
            Entity {
                mentions: vec![mention(0, 0, 1, "Chemical")],
            },
            Entity {
                mentions: vec![mention(0, 0, 2, "Disease"), mention(1, 0, 1, "Disease")],
            },
        ],
        facts: Some(vec![Fact {
            head: 0,
            tail: 1,
            relation: 1,
            evidence: vec![],
        }]),
        candidate_pairs: Some(vec![(0, 1)]),
    }
}

#[test]
fn marker_rules_differ_by_format() {
    let Some(tok) = tokenizer() else { return };
    let doc = overlapping();
    let cfg = FeatureConfig::new();
    let star = tok.marker_id();
    let leading = |f: &Feature| {
        f.input_ids[1..]
            .iter()
            .take_while(|&&id| id == star)
            .count()
    };
    let bio = featurize(&doc, 0, DatasetKind::Bio, &tok, &cfg).unwrap();
    let docred = featurize(&doc, 0, DatasetKind::Docred, &tok, &cfg).unwrap();
    assert_eq!((leading(&bio), leading(&docred)), (2, 1));
    assert_eq!(bio.entity_pos, vec![vec![0], vec![0, bio.entity_pos[1][1]]]);
    assert_eq!(bio.labels, vec![vec![1]]);

    let plain = featurize(
        &doc,
        0,
        DatasetKind::Bio,
        &tok,
        &cfg.clone().with_entity_markers(false),
    )
    .unwrap();
    assert!(!plain.input_ids.contains(&star));
    let first = tok.word_pieces("headache").unwrap()[0];
    assert_eq!(plain.input_ids[plain.entity_pos[1][1] + 1], first);

    let short = featurize(&doc, 0, DatasetKind::Bio, &tok, &cfg.with_max_len(4)).unwrap();
    assert_eq!(short.input_ids.len(), 4);
}

#[test]
fn fact_outside_the_candidate_pairs_is_an_error() {
    let Some(tok) = tokenizer() else { return };
    let mut doc = overlapping();
    doc.facts = Some(vec![Fact {
        head: 1,
        tail: 0,
        relation: 1,
        evidence: vec![],
    }]);
    let msg = featurize(&doc, 3, DatasetKind::Bio, &tok, &FeatureConfig::new())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("document #3") && msg.contains("facts[0]"),
        "{msg}"
    );
}
