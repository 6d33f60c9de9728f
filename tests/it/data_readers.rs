//! Dataset readers on the real files in `../shared/data` (counts from the data manifest and the
//! task), and malformed inputs: each error names the file, the document and the field.

use std::path::{Path, PathBuf};

use atlop::data::{load_dataset, read_bio, read_docred, Dataset, RelationVocab};

fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new("../shared/data").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

fn positive_pairs(ds: &Dataset) -> usize {
    ds.documents
        .iter()
        .map(|d| {
            let mut pairs: Vec<_> = d.facts.iter().flatten().map(|f| (f.head, f.tail)).collect();
            pairs.sort_unstable();
            pairs.dedup();
            pairs.len()
        })
        .sum()
}

#[test]
fn redocred_dev_and_test_counts() {
    for (file, facts) in [("dev_revised.json", 17284), ("test_revised.json", 17448)] {
        let Some(path) = shared(&format!("redocred/{file}")) else {
            return;
        };
        let (ds, vocab) = load_dataset(&path, None).unwrap();
        assert_eq!(vocab.num_classes(), 97);
        assert_eq!(vocab.name(vocab.id("P17").unwrap()), "country");
        assert_eq!(ds.documents.len(), 500, "{file}");
        assert_eq!(ds.num_facts(), facts, "{file}");
    }
}

#[test]
fn docred_test_is_unlabelled() {
    let Some(path) = shared("docred/test.json") else {
        return;
    };
    let (ds, _) = load_dataset(&path, None).unwrap();
    assert_eq!(ds.documents.len(), 1000);
    assert!(ds.documents.iter().all(|d| d.facts.is_none()));
    assert!(!ds.is_labelled());
    let entities: usize = ds.documents.iter().map(|d| d.entities.len()).sum();
    assert_eq!(entities, 19539);
}

#[test]
fn cdr_and_gda_counts() {
    for (file, docs, positives, relation) in [
        ("cdr/train_filter.data", 500, 1038, "CID"),
        ("cdr/dev_filter.data", 500, 1012, "CID"),
        ("cdr/test_filter.data", 500, 1066, "CID"),
        ("gda/test.data", 1000, 1502, "GDA"),
    ] {
        let Some(path) = shared(file) else { return };
        let (ds, vocab) = load_dataset(&path, None).unwrap();
        assert_eq!(vocab.labels, vec!["Na".to_string(), relation.to_string()]);
        assert_eq!(ds.documents.len(), docs, "{file}");
        assert_eq!(positive_pairs(&ds), positives, "{file}");
        for doc in &ds.documents {
            let pairs = doc.candidate_pairs.as_ref().unwrap();
            assert!(!pairs.is_empty());
            for m in doc.entities.iter().flat_map(|e| &e.mentions) {
                assert!(m.start < m.end && m.end <= doc.sents[m.sent_id].len());
            }
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn vocab() -> RelationVocab {
    RelationVocab::from_labels(vec!["Na".into(), "P17".into()])
}

const DOC: &str = r#"[{"title": "Good", "sents": [["A", "b"]], "vertexSet": [[{"name": "A", "pos": [0, 1], "sent_id": 0, "type": "LOC"}], [{"name": "b", "pos": [1, 2], "sent_id": 0, "type": "LOC"}]], "labels": []},
{"title": "Bad", "sents": [["A", "b", "C"]],
 "vertexSet": [[{"name": "A", "pos": [0, 1], "sent_id": 0, "type": "LOC"}],
               [{"name": "C", "pos": [2, 3], "sent_id": 0, "type": "LOC"}]],
 "labels": [{"h": 0, "t": 1, "r": "P17", "evidence": []}]}]"#;

fn docred_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broken.json", text);
    read_docred(&path, &vocab()).unwrap_err().to_string()
}

fn assert_names(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(msg.contains(part), "`{part}` missing from: {msg}");
    }
}

#[test]
fn well_formed_sample_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.json", DOC);
    let ds = read_docred(&path, &vocab()).unwrap();
    assert_eq!(ds.num_facts(), 1);
}

#[test]
fn truncated_json_names_the_file_and_position() {
    let msg = docred_error(&DOC[..DOC.len() / 2]);
    assert_names(&msg, &["broken.json", "invalid JSON", "line"]);
}

#[test]
fn mention_outside_its_sentence() {
    let msg = docred_error(&DOC.replace(r#""pos": [2, 3]"#, r#""pos": [2, 4]"#));
    assert_names(
        &msg,
        &[
            "broken.json",
            "document #1",
            "\"Bad\"",
            "vertexSet[1][0].pos",
        ],
    );
}

#[test]
fn head_outside_vertex_set() {
    let msg = docred_error(&DOC.replace(r#""h": 0"#, r#""h": 7"#));
    assert_names(&msg, &["broken.json", "\"Bad\"", "labels[0].h"]);
}

#[test]
fn unknown_relation() {
    let msg = docred_error(&DOC.replace(r#""r": "P17""#, r#""r": "P999""#));
    assert_names(&msg, &["broken.json", "\"Bad\"", "labels[0].r", "P999"]);
}

#[test]
fn empty_document() {
    let msg = docred_error(&DOC.replace(r#""sents": [["A", "b", "C"]]"#, r#""sents": []"#));
    assert_names(&msg, &["broken.json", "\"Bad\"", "sents"]);
    let msg = docred_error(&DOC.replace(r#""sents": [["A", "b"]], "vertexSet": [[{"name": "A", "pos": [0, 1], "sent_id": 0, "type": "LOC"}], [{"name": "b", "pos": [1, 2], "sent_id": 0, "type": "LOC"}]]"#, r#""sents": [["A"]], "vertexSet": []"#));
    assert_names(
        &msg,
        &[
            "broken.json",
            "document #0",
            "\"Good\"",
            "vertexSet",
            "no entities",
        ],
    );
}

#[test]
fn data_line_with_wrong_field_count() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = "1:CID:2\tL2R\tCROSS\t0-1\t1-2\tC1\ta\tChemical\t0\t1\t0\tD1\tb\tDisease\t1\t2\t0";
    let text = format!("1\ta b\t{chunk}\n2\ta b\t{chunk}\textra\n");
    let path = write(dir.path(), "broken.data", &text);
    let msg = read_bio(&path, &RelationVocab::bio("CID"))
        .unwrap_err()
        .to_string();
    assert_names(&msg, &["broken.data", "line 2", "pairs", "multiple of 17"]);
}

#[test]
fn data_line_with_unknown_label() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = "1:XYZ:2\tL2R\tCROSS\t0-1\t1-2\tC1\ta\tChemical\t0\t1\t0\tD1\tb\tDisease\t1\t2\t0";
    let path = write(dir.path(), "bad.data", &format!("1\ta b\t{chunk}\n"));
    let msg = read_bio(&path, &RelationVocab::bio("CID"))
        .unwrap_err()
        .to_string();
    assert_names(&msg, &["bad.data", "line 1", "pair 0 label", "1:XYZ:2"]);
}

#[test]
fn missing_vocabulary_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.json", DOC);
    let msg = load_dataset(&path, None).unwrap_err().to_string();
    assert_names(&msg, &["rel2id.json", "looked for"]);
}
