//! CDR/GDA scoring through the whole decision path: logits of candidate pairs -> adaptive
//! decisions (top_k 1) -> positive-class F1 against the features' labels.

use atlop::decision::{adaptive, Decisions, ScoreMatrix};
use atlop::evaluation::bio;
use atlop::features::Feature;

fn feature(doc_index: usize, labels: Vec<Vec<usize>>) -> Feature {
    Feature {
        doc_index,
        title: format!("{}", 1000 + doc_index),
        input_ids: vec![],
        entity_pos: vec![],
        hts: (0..labels.len()).map(|i| (i, labels.len())).collect(),
        labels,
    }
}

#[test]
fn cdr_f1_on_a_constructed_case() {
    // Two documents, five candidate pairs; gold CID on pairs 0, 2 and 4.
    let features = vec![
        feature(0, vec![vec![1], vec![], vec![1]]),
        feature(1, vec![vec![], vec![1]]),
    ];
    let gold = Decisions::from_features(&features);
    // [TH, CID] logits: CID above TH on pairs 0, 1, 2 -> tp 2 (0, 2), fp 1 (1), fn 1 (4).
    let scores = ScoreMatrix::from_rows(&[
        vec![0.0, 1.0],
        vec![0.0, 0.5],
        vec![-1.0, 0.0],
        vec![0.0, -1.0],
        vec![2.0, 1.0],
    ])
    .unwrap();
    let predicted = adaptive::decide(&scores, 1).unwrap();
    let r = bio::evaluate(&predicted, &gold, 1).unwrap();
    assert_eq!(
        (
            r.true_positives,
            r.false_positives,
            r.false_negatives,
            r.pairs
        ),
        (2, 1, 1, 5)
    );
    // P = R = 2/3, F1 = 2/3.
    assert!((r.precision - 2.0 / 3.0).abs() < 1e-12);
    assert!((r.recall - 2.0 / 3.0).abs() < 1e-12);
    assert!((r.f1 - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn nothing_predicted_scores_zero() {
    let gold = Decisions {
        rows: vec![vec![1], vec![]],
    };
    let r = bio::evaluate(
        &Decisions {
            rows: vec![vec![]; 2],
        },
        &gold,
        1,
    )
    .unwrap();
    assert_eq!((r.precision, r.recall, r.f1), (0.0, 0.0, 0.0));
}
