//! The CDR/GDA `.data` reader on small hand-made lines: entity numbering, `R2L` swap,
//! `not_include` entities, sentence joining, relation detection.

use std::path::Path;

use atlop::data::bio::{detect_relation, parse_bio};
use atlop::data::RelationVocab;

fn chunk(
    label: &str,
    dir: &str,
    a: (&str, &str, &str, &str),
    b: (&str, &str, &str, &str),
) -> String {
    [
        label, dir, "CROSS", "x", "y", a.0, "n", a.1, a.2, a.3, "0", b.0, "n", b.1, b.2, b.3, "0",
    ]
    .join("\t")
}

#[test]
fn numbers_entities_and_swaps_r2l() {
    let c1 = chunk(
        "1:CID:2",
        "R2L",
        ("D1", "Disease", "0", "1"),
        ("C1", "Chemical", "2:4", "3:5"),
    );
    let c2 = chunk(
        "not_include",
        "L2R",
        ("C9", "Chemical", "1", "2"),
        ("D1", "Disease", "0", "1"),
    );
    let text = format!("7\ta b|c d e\t{c1}\t{c2}\n");
    let ds = parse_bio(&text, Path::new("m.data"), &RelationVocab::bio("CID")).unwrap();
    let doc = &ds.documents[0];
    assert_eq!(doc.candidate_pairs, Some(vec![(0, 1)]));
    assert_eq!(doc.entities.len(), 3);
    assert_eq!(doc.entities[0].mentions[0].entity_type, "Chemical");
    let m = &doc.entities[0].mentions[1];
    assert_eq!((m.sent_id, m.start, m.end), (1, 2, 3));
    assert_eq!(doc.facts.as_ref().map(Vec::len), Some(1));
}

#[test]
fn crossing_mention_joins_sentences() {
    let c1 = chunk(
        "1:NR:2",
        "L2R",
        ("C1", "Chemical", "1", "3"),
        ("D1", "Disease", "4", "5"),
    );
    let text = format!("7\ta b|c|d e\t{c1}\n");
    let ds = parse_bio(&text, Path::new("m.data"), &RelationVocab::bio("CID")).unwrap();
    let doc = &ds.documents[0];
    assert_eq!(doc.sents.len(), 2);
    let m = &doc.entities[0].mentions[0];
    assert_eq!((m.sent_id, m.start, m.end), (0, 1, 3));
    assert_eq!(doc.facts, Some(vec![]));
}

#[test]
fn detects_the_relation() {
    assert_eq!(
        detect_relation("1\tt\t1:NR:2\tL2R\t1:GDA:2"),
        Some("GDA".into())
    );
    assert_eq!(detect_relation("1\tt\t1:NR:2"), None);
}

#[test]
fn unknown_entity_types_name_the_field() {
    let c1 = chunk(
        "1:CID:2",
        "L2R",
        ("C1", "Drug", "0", "1"),
        ("D1", "Disease", "2", "3"),
    );
    let text = format!("7\ta b c\t{c1}\n");
    let err = parse_bio(&text, Path::new("m.data"), &RelationVocab::bio("CID"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pair 0 field 7") && err.contains("\"Drug\""),
        "{err}"
    );
}
