//! Training losses: the adaptive-thresholding loss (paper Sec. 2.2, Eq. 6-7) and the binary
//! cross-entropy baseline of the "- Adaptive-Thresholding Loss" ablation (Table 5).
//!
//! Both take logits `[N, C]` and multi-hot labels `[N, C]` whose column 0 is the threshold
//! class TH (`Na`), set for pairs without a relation.

use burn::config::Config;
use burn::tensor::activation::log_softmax;
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// Added (negated) to the logits of classes outside a softmax's support, as the reference does.
const EXCLUDED: f32 = 1e30;

/// Which loss trains the model.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Eq. 6-7: positives ranked above TH, TH above negatives.
    AdaptiveThresholding,
    /// Binary cross-entropy per class; `include_na_column` makes TH a binary target too, so a
    /// BCE-trained model can still be decided by its TH logit.
    Bce { include_na_column: bool },
}

impl LossKind {
    pub fn compute<B: Backend>(&self, logits: Tensor<B, 2>, labels: Tensor<B, 2>) -> Tensor<B, 1> {
        match *self {
            LossKind::AdaptiveThresholding => at_loss(logits, labels),
            LossKind::Bce { include_na_column } => bce_loss(logits, labels, include_na_column),
        }
    }
}

/// `[1, C]` row with a 1 in column 0 only.
fn th_row<B: Backend>(c: usize, device: &B::Device) -> Tensor<B, 2> {
    let mut row = vec![0f32; c];
    row[0] = 1.0;
    Tensor::from_data(TensorData::new(row, [1, c]), device)
}

/// Adaptive-thresholding loss, mean over pairs:
/// `L1 = -sum_{r in P} log softmax_{P + TH}(r)` (Eq. 6) pushes positives above TH, and
/// `L2 = -log softmax_{N + TH}(TH)` (Eq. 7) pushes TH above every negative.
/// A pair without relations has only L2. The labels are not modified. On burn-flex one fused
/// pass computes it (`kernels::at_loss`); [`at_loss_ops`] elsewhere.
pub fn at_loss<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 2>) -> Tensor<B, 1> {
    match crate::kernels::at_loss::at_loss(logits, labels) {
        Ok(loss) => loss,
        Err((logits, labels)) => at_loss_ops(logits, labels),
    }
}

/// [`at_loss`] in burn's tensor ops, as the reference writes it: each softmax's excluded
/// classes pushed down by 1e30.
pub fn at_loss_ops<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 2>) -> Tensor<B, 1> {
    let [_, c] = logits.dims();
    let th = th_row::<B>(c, &logits.device()); // [1, C]
    let positives = labels * (th.clone().neg() + 1.0); // [N, C], TH column cleared
    let p_mask = positives.clone() + th.clone();
    let n_mask = positives.clone().neg() + 1.0;
    let exclude = |mask: Tensor<B, 2>| (mask.neg() + 1.0).mul_scalar(EXCLUDED);
    let logit1 = logits.clone() - exclude(p_mask);
    let loss1 = (log_softmax(logit1, 1) * positives).sum_dim(1).neg(); // [N, 1]
    let logit2 = logits - exclude(n_mask);
    let loss2 = (log_softmax(logit2, 1) * th).sum_dim(1).neg(); // [N, 1]
    (loss1 + loss2).mean()
}

/// Binary cross-entropy with logits, mean over all elements. `include_na_column = false` is the
/// reference (columns 1.. only); `true` also trains column 0 as "no relation".
pub fn bce_loss<B: Backend>(
    logits: Tensor<B, 2>,
    labels: Tensor<B, 2>,
    include_na_column: bool,
) -> Tensor<B, 1> {
    let [n, c] = logits.dims();
    let (x, y) = if include_na_column {
        (logits, labels)
    } else {
        (logits.slice([0..n, 1..c]), labels.slice([0..n, 1..c]))
    };
    // max(x, 0) - x y + log(1 + exp(-|x|)): no overflow for large |x|.
    let loss = x.clone().clamp_min(0.0) - x.clone() * y + x.abs().neg().exp().log1p();
    loss.mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn t(values: Vec<f32>, c: usize) -> Tensor<Cpu, 2> {
        let n = values.len() / c;
        Tensor::from_data(TensorData::new(values, [n, c]), &Default::default())
    }

    #[test]
    fn at_loss_by_hand() {
        // Pair 0: positive class 2; pair 1: no relation.
        let logits = t(vec![0.5, 1.0, 2.0, 0.0, -1.0, 3.0], 3);
        let labels = t(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0], 3);
        let got = at_loss(logits, labels).into_scalar();
        let lse = |v: &[f32]| v.iter().map(|x| x.exp()).sum::<f32>().ln();
        let pair0 = -(2.0 - lse(&[0.5, 2.0])) - (0.5 - lse(&[0.5, 1.0]));
        let pair1 = -(0.0 - lse(&[0.0, -1.0, 3.0]));
        assert!((got - (pair0 + pair1) / 2.0).abs() < 1e-5, "{got}");
    }

    #[test]
    fn bce_by_hand_with_and_without_the_na_column() {
        let logits = t(vec![0.5, -2.0, 30.0], 3);
        let labels = t(vec![1.0, 0.0, 1.0], 3);
        let bce = |x: f32, y: f32| {
            -(y * (1.0 / (1.0 + (-x).exp())).ln() + (1.0 - y) * (1.0 / (1.0 + x.exp())).ln())
        };
        let without = bce_loss(logits.clone(), labels.clone(), false).into_scalar();
        assert!((without - (bce(-2.0, 0.0) + bce(30.0, 1.0)) / 2.0).abs() < 1e-6);
        let with = bce_loss(logits, labels, true).into_scalar();
        let expect = (bce(0.5, 1.0) + bce(-2.0, 0.0) + bce(30.0, 1.0)) / 3.0;
        assert!((with - expect).abs() < 1e-6);
    }
}
