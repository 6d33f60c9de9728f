//! The adaptive-thresholding loss (`model::loss::at_loss`, Eq. 6-7) and its gradient in one
//! parallel pass over the logits `[N, C]`.
//!
//! As burn ops the loss is about fifteen passes over `[N, C]` (masks, two log-softmaxes over
//! logits pushed down by 1e30 outside each softmax's support, products, sums), and as many again
//! backward, on one thread; the excluded classes also send glibc's `expf` down its slow underflow
//! path. Here each row is read once: the two supports come from the labels, each log-sum-exp
//! runs over its support only, and the gradient is written in the same pass (it is a few
//! hundred KB), so the backward is one multiplication by the incoming gradient.
//!
//! Per pair with positive set `P` (labels of columns 1.. set) and TH = column 0:
//! `L1 = |P| lse(x over P + TH) - sum over P of x`, `L2 = lse(x over N + TH) - x_TH`, with `N`
//! the other columns, and the loss is the mean of `L1 + L2` over pairs. Its gradient is
//! `|P| softmax_{P+TH}(x)_j - [j in P]` plus `softmax_{N+TH}(x)_j - [j = TH]` on each support.
//! Labels other than 0 and 1 fall back to burn's ops, whose masks then weigh classes.

use rayon::prelude::*;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};

use super::{downcast, f32_values, flex_tensor, math, record, Kernel};
use crate::backend::{Cpu, CpuAutodiff};

/// Pairs per parallel task.
const ROWS: usize = 64;

/// The mean loss over pairs on burn-flex in f32 with 0/1 labels (tracked when `B` is autodiff);
/// the inputs back otherwise, for burn's ops.
#[allow(clippy::type_complexity)]
pub fn at_loss<B: Backend>(
    logits: Tensor<B, 2>,
    labels: Tensor<B, 2>,
) -> Result<Tensor<B, 1>, (Tensor<B, 2>, Tensor<B, 2>)> {
    if !super::fused_backend::<B>(Kernel::AtLoss) {
        return Err((logits, labels));
    }
    let inputs =
        match downcast::<_, (Tensor<CpuAutodiff, 2>, Tensor<CpuAutodiff, 2>)>((logits, labels)) {
            Ok((logits, labels)) => {
                let label_values = labels.clone().inner().into_primitive().tensor();
                return match tracked(logits.clone(), &label_values) {
                    Some(loss) => Ok(back(loss)),
                    None => Err(back((logits, labels))),
                };
            }
            Err(inputs) => inputs,
        };
    let (logits, labels) = downcast::<_, (Tensor<Cpu, 2>, Tensor<Cpu, 2>)>(inputs)?;
    let (x, y) = (
        logits.clone().into_primitive().tensor(),
        labels.clone().into_primitive().tensor(),
    );
    match forward_on(&x, &y, false) {
        Some((loss, _)) => Ok(back(Tensor::<Cpu, 1>::from_primitive(
            TensorPrimitive::Float(loss),
        ))),
        None => Err(back((logits, labels))),
    }
}

/// Moves a value back to the type `B` was found to be.
fn back<A: 'static, T: 'static>(value: A) -> T {
    downcast(value).unwrap_or_else(|_| unreachable!("B was downcast to this backend"))
}

/// The mean loss `[1]` and, when `with_grad`, `d (sum of the pairs' losses) / d logits`.
/// `None` for another dtype or labels other than 0 and 1.
fn forward_on(
    logits: &FlexTensor,
    labels: &FlexTensor,
    with_grad: bool,
) -> Option<(FlexTensor, Option<FlexTensor>)> {
    let shape = logits.shape();
    let [n, c] = [shape[0], shape[1]];
    let (x, y) = (f32_values(logits)?, f32_values(labels)?);
    if y.len() != x.len() || c == 0 {
        return None;
    }
    // Column 0 (TH) is not read: the loss clears it from the positives.
    let binary = y
        .chunks_exact(c)
        .all(|row| row[1..].iter().all(|&v| v == 0.0 || v == 1.0));
    if !binary {
        return None;
    }
    let mut losses = vec![0f32; n];
    let mut grad = if with_grad {
        vec![0f32; n * c]
    } else {
        Vec::new()
    };
    // One task's pairs: their losses and, when asked for, their gradient rows.
    let task = |x: &[f32], y: &[f32], losses: &mut [f32], mut grad: Option<&mut [f32]>| {
        for (i, loss) in losses.iter_mut().enumerate() {
            let at = i * c..(i + 1) * c;
            let grad = grad.as_deref_mut().map(|g| &mut g[at.clone()]);
            *loss = row_loss(&x[at.clone()], &y[at], grad);
        }
    };
    let rows =
        (x.par_chunks(ROWS * c).zip(y.par_chunks(ROWS * c))).zip(losses.par_chunks_mut(ROWS));
    if with_grad {
        rows.zip(grad.par_chunks_mut(ROWS * c))
            .for_each(|(((x, y), losses), grad)| task(x, y, losses, Some(grad)));
    } else {
        rows.for_each(|((x, y), losses)| task(x, y, losses, None));
    }
    let mean = if n == 0 {
        f32::NAN
    } else {
        (losses.iter().map(|&l| l as f64).sum::<f64>() / n as f64) as f32
    };
    let grad = with_grad.then(|| flex_tensor(grad, &[n, c]));
    Some((flex_tensor(vec![mean], &[1]), grad))
}

/// `L1 + L2` of one pair, and (into `grad`) its gradient.
fn row_loss(x: &[f32], y: &[f32], grad: Option<&mut [f32]>) -> f32 {
    let positive = |j: usize| j > 0 && y[j] != 0.0;
    // Each softmax's maximum over its support (TH is in both).
    let (mut max_p, mut max_n, mut count) = (x[0], x[0], 0usize);
    for (j, &v) in x.iter().enumerate().skip(1) {
        if positive(j) {
            max_p = max_p.max(v);
            count += 1;
        } else {
            max_n = max_n.max(v);
        }
    }
    let (mut sum_p, mut sum_n, mut positives) = (0f32, 0f32, 0f32);
    for (j, &v) in x.iter().enumerate() {
        if positive(j) {
            sum_p += math::exp(v - max_p);
            positives += v;
        } else {
            sum_n += math::exp(v - max_n);
        }
    }
    sum_p += math::exp(x[0] - max_p);
    let (lse_p, lse_n) = (max_p + sum_p.ln(), max_n + sum_n.ln());
    let count_f = count as f32;
    // L1 is 0 for a pair without relations (the reference multiplies its terms by zero labels).
    let l1 = if count == 0 {
        0.0
    } else {
        count_f * lse_p - positives
    };
    let l2 = lse_n - x[0];
    if let Some(grad) = grad {
        for (j, (g, &v)) in grad.iter_mut().zip(x).enumerate() {
            *g = if positive(j) {
                count_f * math::exp(v - max_p) / sum_p - 1.0
            } else {
                math::exp(v - max_n) / sum_n
            };
        }
        let th_in_p = if count == 0 {
            0.0
        } else {
            count_f * math::exp(x[0] - max_p) / sum_p
        };
        grad[0] += th_in_p - 1.0;
    }
    l1 + l2
}

#[derive(Debug)]
struct AtLossBackward;

impl Backward<Cpu, 1> for AtLossBackward {
    /// `d (sum of the pairs' losses) / d logits`; the loss is its mean, so the backward scales
    /// by `upstream / N`.
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let upstream = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        let (Some(sums), Some(upstream)) = (f32_values(&ops.state), f32_values(&upstream)) else {
            unreachable!("AT loss: the logits were checked to be f32 in the forward pass")
        };
        let shape = ops.state.shape();
        let factor = upstream[0] / shape[0] as f32;
        let grad: Vec<f32> = sums.par_iter().map(|&g| g * factor).collect();
        grads.register::<Cpu>(node.id, flex_tensor(grad, shape.as_slice()));
    }
}

fn tracked(logits: Tensor<CpuAutodiff, 2>, labels: &FlexTensor) -> Option<Tensor<CpuAutodiff, 1>> {
    let logits = logits.into_primitive().tensor();
    let (loss, grad) = forward_on(&logits.primitive, labels, true)?;
    let grad = grad.expect("forward_on returns the gradient when asked for it");
    let out = record(AtLossBackward, [logits], loss, |_| grad);
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::loss::at_loss_ops;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    /// `n` pairs over `c` classes: every third without relations (TH set), the others with one
    /// to three positives; logits spread wide, so some softmax terms underflow.
    fn pairs<B: Backend>(n: usize, c: usize, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let logits = Tensor::<B, 2>::random([n, c], Distribution::Normal(0.0, 20.0), device);
        let mut labels = vec![0f32; n * c];
        for i in 0..n {
            if i % 3 == 0 {
                labels[i * c] = 1.0;
            } else {
                for k in 0..(i % 3 + i % 2) {
                    labels[i * c + 1 + (i * 7 + k * 5) % (c - 1)] = 1.0;
                }
            }
        }
        let labels = Tensor::from_data(TensorData::new(labels, [n, c]), device);
        (logits, labels)
    }

    #[test]
    fn fused_loss_and_gradient_match_burns_ops() {
        type B = CpuAutodiff;
        let device = Default::default();
        let (logits, labels) = pairs::<B>(150, 97, &device);
        let logits = logits.require_grad();
        let run = |loss: Tensor<B, 1>| {
            // An upstream gradient other than 1, as the accumulated loss scaling gives.
            let grads = loss.clone().mul_scalar(0.5).backward();
            let grad = logits.grad(&grads).expect("tracked");
            (loss.into_data(), grad.into_data())
        };
        let (want, want_grad) = run(at_loss_ops(logits.clone(), labels.clone()));
        let fused = at_loss(logits.clone(), labels.clone()).expect("burn-flex f32, 0/1 labels");
        let (got, got_grad) = run(fused);
        got.assert_approx_eq::<f32>(&want, Tolerance::relative(1e-5));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(1e-7));
        let plain = at_loss(logits.inner(), labels.inner()).expect("untracked");
        plain
            .into_data()
            .assert_approx_eq::<f32>(&want, Tolerance::relative(1e-5));
    }

    #[test]
    fn other_labels_fall_back_to_burns_ops() {
        let device = Default::default();
        let (logits, labels) = pairs::<Cpu>(4, 5, &device);
        let halves = labels.mul_scalar(0.5);
        assert!(at_loss(logits, halves).is_err());
    }
}
