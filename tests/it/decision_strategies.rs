//! Thresholding strategies (the paper's Table 6) on the reference fixture and on seeded random
//! score matrices.

use std::path::Path;

use atlop::decision::{
    adaptive, global, micro_f1, per_class, Decisions, ScoreMatrix, Strategy, ThresholdSearch,
};

const FIXTURE: &str = "../shared/fixtures/atlop_doc.safetensors";

/// A small deterministic generator (SplitMix64) so the random cases need no dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Scores where gold cells are shifted up, so thresholds matter but nothing is separable.
fn random_case(seed: u64, rows: usize, cols: usize) -> (ScoreMatrix, Decisions) {
    let mut rng = SplitMix(seed);
    let mut data = Vec::with_capacity(rows * cols);
    let mut gold = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut positives = Vec::new();
        for c in 0..cols {
            let is_gold = c > 0 && rng.unit() < 0.15 + 0.05 * (c % 3) as f32;
            if is_gold {
                positives.push(c);
            }
            let shift = if is_gold { 1.5 + 0.3 * c as f32 } else { 0.0 };
            data.push(6.0 * rng.unit() - 4.0 + shift);
        }
        gold.push(positives);
    }
    (
        ScoreMatrix::new(rows, cols, data).unwrap(),
        Decisions { rows: gold },
    )
}

fn read_f32(tensors: &safetensors::SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = tensors.tensor(name).unwrap();
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (view.shape().to_vec(), values)
}

#[test]
fn adaptive_reproduces_the_reference_top4_prediction() {
    if !Path::new(FIXTURE).exists() {
        eprintln!("skipping: {FIXTURE} not found");
        return;
    }
    let bytes = std::fs::read(FIXTURE).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (shape, logits) = read_f32(&tensors, "logits");
    let (expected_shape, expected) = read_f32(&tensors, "adaptive_pred_top4");
    assert_eq!(shape, expected_shape);
    let scores = ScoreMatrix::new(shape[0], shape[1], logits).unwrap();
    let decided = adaptive::decide(&scores, 4).unwrap();
    let got: Vec<f32> = decided.to_multi_hot(shape[1]).concat();
    assert_eq!(
        got, expected,
        "adaptive decisions differ from adaptive_pred_top4"
    );
    eprintln!(
        "fixture: {} pairs, {} relations predicted",
        decided.len(),
        decided.num_relations()
    );
}

#[test]
fn adaptive_never_mixes_na_and_respects_top_k() {
    for seed in 0..5 {
        let (scores, _) = random_case(seed, 200, 12);
        for top_k in [0, 1, 2, 4] {
            let decided = adaptive::decide(&scores, top_k).unwrap();
            for (row, rels) in scores.iter_rows().zip(&decided.rows) {
                assert!(rels.iter().all(|&r| r >= 1 && row[r] > row[0]));
                let positives = (1..row.len()).filter(|&r| row[r] > row[0]).count();
                if top_k > 0 {
                    assert!(rels.len() <= top_k, "{} > top_k {top_k}", rels.len());
                    assert!(rels.len() <= positives);
                } else {
                    assert_eq!(rels.len(), positives);
                }
                // The multi-hot form sets NA exactly when no relation is predicted.
                let hot = Decisions {
                    rows: vec![rels.clone()],
                }
                .to_multi_hot(row.len());
                assert_eq!(hot[0][0] == 1.0, rels.is_empty());
            }
        }
    }
}

#[test]
fn per_class_is_never_below_global_on_dev() {
    for seed in 0..8 {
        let (dev, gold) = random_case(100 + seed, 300, 8);
        for top_k in [0, 2] {
            for score_cuts in [false, true] {
                let search = ThresholdSearch {
                    score_cuts,
                    ..ThresholdSearch::default()
                };
                let (t, global_score) = global::tune(&dev, &gold, &search.grid, top_k).unwrap();
                let fit = per_class::tune(&dev, &gold, &search, top_k).unwrap();
                assert_eq!(fit.global.0, t);
                assert!(
                    fit.dev.f1 >= global_score.f1,
                    "seed {seed} top_k {top_k}: per-class {} < global {}",
                    fit.dev.f1,
                    global_score.f1
                );
                // The reported dev score is what the thresholds really give.
                let applied = micro_f1(
                    &per_class::decide(&dev, &fit.thresholds, top_k).unwrap(),
                    &gold,
                )
                .unwrap();
                assert_eq!(applied, fit.dev);
                assert!(fit.sweeps <= search.max_sweeps);
            }
        }
    }
}

#[test]
fn global_tuning_picks_the_best_grid_value() {
    let (dev, gold) = random_case(7, 400, 6);
    let grid = global::default_grid();
    let (t, best) = global::tune(&dev, &gold, &grid, 0).unwrap();
    for &g in &grid {
        let score = micro_f1(&global::decide(&dev, g, 0).unwrap(), &gold).unwrap();
        assert!(score.f1 <= best.f1, "grid {g} beats the chosen {t}");
    }
}

#[test]
fn dev_tuned_strategies_decide_test() {
    let (dev, dev_gold) = random_case(11, 300, 8);
    let (test, test_gold) = random_case(12, 300, 8);
    let search = ThresholdSearch::default();
    for strategy in [
        Strategy::Adaptive { top_k: 4 },
        Strategy::Adaptive { top_k: 0 },
        Strategy::Global { top_k: 0 },
        Strategy::PerClass { top_k: 0 },
    ] {
        let tuned = strategy.tune(&dev, &dev_gold, &search).unwrap();
        let dev_again = micro_f1(&tuned.decide(&dev).unwrap(), &dev_gold).unwrap();
        assert_eq!(Some(dev_again), tuned.dev, "{strategy:?}");
        let on_test = micro_f1(&tuned.decide(&test).unwrap(), &test_gold).unwrap();
        assert!(on_test.f1 > 0.0, "{strategy:?} scores nothing on test");
    }
}
