//! Properties of the adaptive-thresholding loss (Eq. 6-7) over seeded random cases.

use atlop::backend::Cpu;
use atlop::model::at_loss;
use burn::tensor::{Tensor, TensorData};

const CASES: usize = 300;
const CLASSES: usize = 7;

/// xorshift64*: deterministic cases without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-scale, scale).
    fn float(&mut self, scale: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn loss(logits: &[f32], labels: &[f32]) -> f32 {
    let n = logits.len() / CLASSES;
    let device = Default::default();
    let l = Tensor::<Cpu, 2>::from_data(TensorData::new(logits.to_vec(), [n, CLASSES]), &device);
    let y = Tensor::<Cpu, 2>::from_data(TensorData::new(labels.to_vec(), [n, CLASSES]), &device);
    at_loss(l, y).into_scalar()
}

/// One row with the given positive classes (column 0 set when none).
fn label_row(positives: &[usize]) -> Vec<f32> {
    let mut row = vec![0.0; CLASSES];
    positives.iter().for_each(|&r| row[r] = 1.0);
    if positives.is_empty() {
        row[0] = 1.0;
    }
    row
}

fn random_row(rng: &mut Rng) -> (Vec<f32>, Vec<usize>) {
    let logits = (0..CLASSES).map(|_| rng.float(5.0)).collect();
    let positives = (1..CLASSES).filter(|_| rng.below(4) == 0).collect();
    (logits, positives)
}

#[test]
fn loss_is_never_negative() {
    let mut rng = Rng(0x5eed);
    for case in 0..CASES {
        let rows: Vec<_> = (0..1 + rng.below(4))
            .map(|_| random_row(&mut rng))
            .collect();
        let logits: Vec<f32> = rows.iter().flat_map(|r| r.0.clone()).collect();
        let labels: Vec<f32> = rows.iter().flat_map(|r| label_row(&r.1)).collect();
        let value = loss(&logits, &labels);
        assert!(value >= 0.0 && value.is_finite(), "case {case}: {value}");
    }
}

#[test]
fn loss_falls_when_a_positive_rises_above_th_or_a_negative_falls_below_it() {
    let mut rng = Rng(0xabcd);
    for case in 0..CASES {
        let (mut logits, _) = random_row(&mut rng);
        let positive = 1 + rng.below(CLASSES - 1);
        let labels = label_row(&[positive]);
        let th = logits[0];
        // A single positive moves from below TH to above it.
        logits[positive] = th - 1.0;
        let below = loss(&logits, &labels);
        logits[positive] = th + 1.0;
        let above = loss(&logits, &labels);
        assert!(above < below, "case {case}: positive {below} -> {above}");
        // A negative moves from above TH to below it.
        let negative = (1..CLASSES).find(|&r| r != positive).unwrap();
        logits[negative] = th + 1.0;
        let high = loss(&logits, &labels);
        logits[negative] = th - 1.0;
        let low = loss(&logits, &labels);
        assert!(low < high, "case {case}: negative {high} -> {low}");
    }
}

#[test]
fn a_pair_without_relations_has_only_the_th_term() {
    let mut rng = Rng(0x77);
    for case in 0..CASES {
        let (logits, _) = random_row(&mut rng);
        // -log softmax at TH over TH and all (negative) classes.
        let lse = logits.iter().map(|x| x.exp()).sum::<f32>().ln();
        let expected = lse - logits[0];
        let got = loss(&logits, &label_row(&[]));
        assert!(
            (got - expected).abs() < 1e-5,
            "case {case}: {got} vs {expected}"
        );
    }
}
