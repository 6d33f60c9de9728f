//! Fused self-attention core: `dropout(softmax(Q K^T / sqrt(d) + key_bias)) V` per head, read
//! from and written to the `[batch, len, heads * head_dim]` layout of the projections.
//!
//! The composite version (see `encoder::attention`) splits heads with two copies, adds the key
//! bias by a broadcast over `[batch, heads, len, len]`, runs softmax as five passes and dropout as
//! one more, then merges heads with a copy; autodiff doubles all of it. Here each (document,
//! head) is one task: two strided products and one softmax/dropout pass forward; four products
//! and one pass backward. It does not return the probabilities, so it serves every layer except
//! the last, whose probabilities ATLOP pools (those layers keep the composite path).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use rayon::prelude::*;

use super::math::{self, simd_fn};
use super::{downcast, f32_values, flex_tensor, matmul, SharedMut, Threads, View};
use crate::backend::{Cpu, CpuAutodiff};

/// Sizes of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl AttentionShape {
    pub(super) fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    pub(super) fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    /// Where head `h` of document `b` starts in a `[batch, len, width]` buffer.
    pub(super) fn head_offset(&self, b: usize, h: usize) -> usize {
        b * self.len * self.width() + h * self.head_dim
    }

    /// View of head `h` of document `b` in a `[batch, len, width]` buffer: rows are tokens.
    pub(super) fn head_view(&self, base: *const f32, b: usize, h: usize) -> View {
        View::new(base.wrapping_add(self.head_offset(b, h)), self.width(), 1)
    }
}

/// What the backward pass needs: the inputs, the probabilities before dropout and the mask.
#[derive(Debug, Clone)]
struct Saved {
    shape: AttentionShape,
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    probs: Arc<Vec<f32>>,
    keep: Option<Arc<Vec<f32>>>,
}

/// Forward on slices. `key_bias` `[batch, len]` is added to every query's scores; `keep`
/// `[batch, heads, len, len]` holds `0` or `1 / (1 - p)` (dropout of the probabilities).
/// Returns the context `[batch, len, width]` and the probabilities before dropout.
fn forward_values(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    key_bias: &[f32],
    keep: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let AttentionShape { len, heads, .. } = shape;
    let mut context = vec![0f32; shape.batch * len * shape.width()];
    let mut probs = vec![0f32; shape.batch * heads * len * len];
    let out = SharedMut(context.as_mut_ptr());
    probs
        .par_chunks_mut(len * len)
        .enumerate()
        .for_each(|(task, p)| {
            let (b, h) = (task / heads, task % heads);
            head_probs(shape, (q, k), key_bias, task, p);
            let vh = shape.head_view(v.as_ptr(), b, h);
            let dropped: Option<Vec<f32>> = keep.map(|keep| {
                let mut dropped = vec![0f32; len * len];
                times(
                    p,
                    &keep[task * len * len..(task + 1) * len * len],
                    &mut dropped,
                );
                dropped
            });
            let weights = dropped.as_deref().unwrap_or(p);
            let dst = out.at(shape.head_offset(b, h));
            // SAFETY: head h of document b owns columns h*d..(h+1)*d of rows b*len..(b+1)*len
            // of the context: no other task writes them.
            unsafe {
                matmul(
                    (len, shape.head_dim, len),
                    dst,
                    shape.width(),
                    false,
                    View::new(weights.as_ptr(), len, 1),
                    vh,
                    1.0,
                    Threads::One,
                )
            };
        });
    (context, probs)
}

simd_fn! {
    /// Each row of `scores` (`len` wide) becomes `softmax(row + bias)`.
    pub(super) fn softmax_rows(scores: &mut [f32], len: usize, bias: &[f32]) {
        for row in scores.chunks_mut(len) {
            row.iter_mut().zip(bias).for_each(|(s, b)| *s += b);
            let max = math::max(row);
            row.iter_mut().for_each(|s| *s = math::exp(*s - max));
            let inv = 1.0 / math::sum(row);
            row.iter_mut().for_each(|s| *s *= inv);
        }
    }
}

simd_fn! {
    /// `out = a * b` elementwise.
    pub(super) fn times(a: &[f32], b: &[f32], out: &mut [f32]) {
        out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (a, b))| *o = a * b);
    }
}

simd_fn! {
    /// Rows of `grads` (`len` wide), the gradient of the dropped probabilities, become the
    /// gradient of the scores: through dropout (`keep`), then softmax,
    /// `dS = P * dP - P * sum_j(P * dP)`.
    pub(super) fn softmax_backward_rows(grads: &mut [f32], probs: &[f32], keep: Option<&[f32]>, len: usize) {
        for (i, row) in grads.chunks_mut(len).enumerate() {
            let p_row = &probs[i * len..(i + 1) * len];
            if let Some(keep) = keep {
                let keep = &keep[i * len..(i + 1) * len];
                row.iter_mut().zip(keep).for_each(|(g, m)| *g *= m);
            }
            row.iter_mut().zip(p_row).for_each(|(g, p)| *g *= p);
            let dot = math::sum(row);
            row.iter_mut().zip(p_row).for_each(|(g, p)| *g -= p * dot);
        }
    }
}

/// Task `task` = (document b, head h): its probabilities `softmax(q_h k_h^T / sqrt(d) + bias_b)`
/// into `p` (`len x len`).
pub(super) fn head_probs(
    shape: AttentionShape,
    (q, k): (&[f32], &[f32]),
    key_bias: &[f32],
    task: usize,
    p: &mut [f32],
) {
    let AttentionShape { len, heads, .. } = shape;
    let (b, h) = (task / heads, task % heads);
    let (qh, kh) = (
        shape.head_view(q.as_ptr(), b, h),
        shape.head_view(k.as_ptr(), b, h),
    );
    // SAFETY: the views stay inside q and k; `p` holds len x len values.
    unsafe {
        matmul(
            (len, len, shape.head_dim),
            p.as_mut_ptr(),
            len,
            false,
            qh,
            kh.t(),
            shape.scale(),
            Threads::One,
        )
    };
    softmax_rows(p, len, &key_bias[b * len..(b + 1) * len]);
}

/// Task `task`'s score gradient `ds` (`len x len`) into its columns of `dq` and `dk`:
/// `S = scale * Q K^T`, so `dQ = scale * dS . K` and `dK = scale * dS^T . Q`.
///
/// # Safety
/// `dq`, `dk` point to `[batch, len, width]` buffers in which no other thread writes task
/// `task`'s columns.
pub(super) unsafe fn scores_backward(
    shape: AttentionShape,
    (q, k): (&[f32], &[f32]),
    ds: &[f32],
    task: usize,
    (dq, dk): (SharedMut, SharedMut),
) {
    let AttentionShape { len, heads, .. } = shape;
    let (b, h) = (task / heads, task % heads);
    let (qh, kh) = (
        shape.head_view(q.as_ptr(), b, h),
        shape.head_view(k.as_ptr(), b, h),
    );
    let dsv = View::new(ds.as_ptr(), len, 1);
    let at = shape.head_offset(b, h);
    let dims = (len, shape.head_dim, len);
    // SAFETY: the views stay inside their buffers; the caller owns these columns of dq, dk.
    unsafe {
        matmul(
            dims,
            dq.at(at),
            shape.width(),
            false,
            dsv,
            kh,
            shape.scale(),
            Threads::One,
        );
        matmul(
            dims,
            dk.at(at),
            shape.width(),
            false,
            dsv.t(),
            qh,
            shape.scale(),
            Threads::One,
        );
    }
}

/// Gradients of q, k, v from the gradient of the context.
fn backward_values(saved: &Saved, grad: &[f32]) -> Option<[Vec<f32>; 3]> {
    let shape = saved.shape;
    let AttentionShape { len, heads, .. } = shape;
    let (q, k, v) = (
        f32_values(&saved.q)?,
        f32_values(&saved.k)?,
        f32_values(&saved.v)?,
    );
    let size = shape.batch * len * shape.width();
    let (mut dq, mut dk, mut dv) = (vec![0f32; size], vec![0f32; size], vec![0f32; size]);
    let outs = [
        SharedMut(dq.as_mut_ptr()),
        SharedMut(dk.as_mut_ptr()),
        SharedMut(dv.as_mut_ptr()),
    ];
    (0..shape.batch * heads).into_par_iter().for_each(|task| {
        let (b, h) = (task / heads, task % heads);
        let square = task * len * len..(task + 1) * len * len;
        let p = &saved.probs[square.clone()];
        let mask = saved.keep.as_ref().map(|keep| &keep[square]);
        let (vh, gh) = (
            shape.head_view(v.as_ptr(), b, h),
            shape.head_view(grad.as_ptr(), b, h),
        );
        let dv = outs[2].at(shape.head_offset(b, h));
        let dropped: Option<Vec<f32>> = mask.map(|m| {
            let mut dropped = vec![0f32; len * len];
            times(p, m, &mut dropped);
            dropped
        });
        let weights = dropped.as_deref().unwrap_or(p);
        let mut ds = vec![0f32; len * len];
        // SAFETY: the views stay inside their buffers; each task writes only head h of document
        // b in dq/dk/dv (disjoint column blocks) and its own `ds`.
        unsafe {
            // dV = P_dropped^T . dC
            let pt = View::new(weights.as_ptr(), len, 1).t();
            matmul(
                (len, shape.head_dim, len),
                dv,
                shape.width(),
                false,
                pt,
                gh,
                1.0,
                Threads::One,
            );
            // dP_dropped = dC . V^T
            matmul(
                (len, len, shape.head_dim),
                ds.as_mut_ptr(),
                len,
                false,
                gh,
                vh.t(),
                1.0,
                Threads::One,
            );
        }
        softmax_backward_rows(&mut ds, p, mask, len);
        // SAFETY: as above.
        unsafe { scores_backward(shape, (&q, &k), &ds, task, (outs[0], outs[1])) };
    });
    Some([dq, dk, dv])
}

#[derive(Debug)]
struct FusedAttentionBackward;

impl Backward<Cpu, 3> for FusedAttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let saved = ops.state;
        let dims = [saved.shape.batch, saved.shape.len, saved.shape.width()];
        // The forward pass checked every input is f32, so this holds.
        let Some(parts) = f32_values(&grad).and_then(|g| backward_values(&saved, &g)) else {
            unreachable!("fused attention: inputs were checked to be f32 in the forward pass")
        };
        for (parent, values) in ops.parents.into_iter().zip(parts) {
            if let Some(node) = parent {
                grads.register::<Cpu>(node.id, flex_tensor(values, &dims));
            }
        }
    }
}

/// Dropout of the probabilities in a fused call: a keep mask as `encoder::dropout` draws it.
pub struct AttentionDropout {
    pub seed: u64,
    pub prob: f64,
}

/// Query, key and value projections, each `[batch, len, heads * head_dim]`.
pub type Qkv<B> = (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>);

/// The context `[batch, len, heads * head_dim]` from the projections and the key bias
/// `[batch, 1, 1, len]`, when `B` is burn-flex (with or without autodiff) and the inputs are f32.
/// Otherwise the projections come back for the composite path.
pub fn fused_context<B: Backend>(
    qkv: Qkv<B>,
    key_bias: &Tensor<B, 4>,
    heads: usize,
    dropout: Option<AttentionDropout>,
) -> Result<Tensor<B, 3>, Qkv<B>> {
    if !super::fused_backend::<B>(super::Kernel::Attention) {
        return Err(qkv);
    }
    match try_fused(&qkv, key_bias, heads, dropout) {
        Some(context) => Ok(context),
        None => Err(qkv),
    }
}

/// What both attention kernels check and build before running: the sizes, the key bias as
/// `[batch, len]` values and the dropout keep mask.
pub(super) struct Prepared {
    pub shape: AttentionShape,
    pub bias: Vec<f32>,
    pub keep: Option<Arc<Vec<f32>>>,
}

/// `None` when the shapes do not fit the kernels (empty, heads not dividing the width, q/k/v
/// of different shapes, a bias that is not one value per key).
pub(super) fn prepare<B: Backend>(
    (q, k, v): (&Tensor<B, 3>, &Tensor<B, 3>, &Tensor<B, 3>),
    key_bias: &Tensor<B, 4>,
    heads: usize,
    dropout: Option<AttentionDropout>,
) -> Option<Prepared> {
    let [batch, len, width] = q.dims();
    let empty = batch == 0 || len == 0 || width == 0;
    if empty || heads == 0 || width % heads != 0 || k.dims() != q.dims() || v.dims() != q.dims() {
        return None;
    }
    let shape = AttentionShape {
        batch,
        len,
        heads,
        head_dim: width / heads,
    };
    let bias = key_bias.to_data().into_vec::<f32>().ok()?;
    if bias.len() != batch * len {
        return None;
    }
    let keep = dropout.map(|d| {
        let n = batch * heads * len * len;
        Arc::new(crate::encoder::dropout::keep_mask(d.seed, n, 1.0 - d.prob))
    });
    Some(Prepared { shape, bias, keep })
}

fn try_fused<B: Backend>(
    (q, k, v): &Qkv<B>,
    key_bias: &Tensor<B, 4>,
    heads: usize,
    dropout: Option<AttentionDropout>,
) -> Option<Tensor<B, 3>> {
    let Prepared { shape, bias, keep } = prepare((q, k, v), key_bias, heads, dropout)?;
    let autodiff_inputs = (
        downcast::<_, Tensor<CpuAutodiff, 3>>(q.clone()),
        downcast::<_, Tensor<CpuAutodiff, 3>>(k.clone()),
        downcast::<_, Tensor<CpuAutodiff, 3>>(v.clone()),
    );
    if let (Ok(q), Ok(k), Ok(v)) = autodiff_inputs {
        return downcast(tracked(shape, [q, k, v], &bias, keep)?).ok();
    }
    let plain_inputs = (
        downcast::<_, Tensor<Cpu, 3>>(q.clone()),
        downcast::<_, Tensor<Cpu, 3>>(k.clone()),
        downcast::<_, Tensor<Cpu, 3>>(v.clone()),
    );
    if let (Ok(q), Ok(k), Ok(v)) = plain_inputs {
        let prims = [q, k, v].map(|t| t.into_primitive().tensor());
        let (context, _) = forward_on(shape, &prims, &bias, keep.as_deref())?;
        return downcast(Tensor::<Cpu, 3>::from_primitive(TensorPrimitive::Float(
            context,
        )))
        .ok();
    }
    None
}

/// Forward on flex tensors: the context tensor and the probabilities before dropout.
fn forward_on(
    shape: AttentionShape,
    [q, k, v]: &[FlexTensor; 3],
    bias: &[f32],
    keep: Option<&Vec<f32>>,
) -> Option<(FlexTensor, Vec<f32>)> {
    let (q, k, v) = (f32_values(q)?, f32_values(k)?, f32_values(v)?);
    let (context, probs) = forward_values(shape, (&q, &k, &v), bias, keep.map(Vec::as_slice));
    let dims = [shape.batch, shape.len, shape.width()];
    Some((flex_tensor(context, &dims), probs))
}

/// The autodiff op: forward now, [`FusedAttentionBackward`] when the graph is walked back.
fn tracked(
    shape: AttentionShape,
    inputs: [Tensor<CpuAutodiff, 3>; 3],
    bias: &[f32],
    keep: Option<Arc<Vec<f32>>>,
) -> Option<Tensor<CpuAutodiff, 3>> {
    let [q, k, v] = inputs.map(|t| t.into_primitive().tensor());
    let prims = [q.primitive, k.primitive, v.primitive];
    let (context, probs) = forward_on(shape, &prims, bias, keep.as_deref())?;
    let nodes = [q.node, k.node, v.node];
    let out = match FusedAttentionBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let [q, k, v] = prims;
            let saved = Saved {
                shape,
                q,
                k,
                v,
                probs: Arc::new(probs),
                keep,
            };
            prep.finish(saved, context)
        }
        OpsKind::UnTracked(prep) => prep.finish(context),
    };
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::dropout::keep_mask;
    use burn::tensor::activation::softmax;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    const HEADS: usize = 3;
    const SEED: u64 = 42;

    /// The same attention with burn ops (as `encoder::attention` composes it).
    fn reference<B: Backend>(
        (q, k, v): Qkv<B>,
        key_bias: Tensor<B, 4>,
        drop: Option<f64>,
    ) -> Tensor<B, 3> {
        reference_with_probs((q, k, v), key_bias, drop).0
    }

    /// The context and the probabilities after dropout.
    fn reference_with_probs<B: Backend>(
        (q, k, v): Qkv<B>,
        key_bias: Tensor<B, 4>,
        drop: Option<f64>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let [batch, len, width] = q.dims();
        let d = width / HEADS;
        let split = |x: Tensor<B, 3>| x.reshape([batch, len, HEADS, d]).swap_dims(1, 2);
        let q = split(q).div_scalar((d as f64).sqrt());
        let mut probs = softmax(q.matmul(split(k).swap_dims(2, 3)) + key_bias, 3);
        if let Some(p) = drop {
            let mask = keep_mask(SEED, batch * HEADS * len * len, 1.0 - p);
            let mask = TensorData::new(mask, [batch, HEADS, len, len]);
            let device = probs.device();
            probs = probs * Tensor::from_data(mask, &device);
        }
        let context = probs
            .clone()
            .matmul(split(v))
            .swap_dims(1, 2)
            .reshape([batch, len, width]);
        (context, probs)
    }

    /// q, k, v [2, 5, 12] and a key bias that masks the last two keys of document 1.
    fn inputs<B: Backend>() -> (Qkv<B>, Tensor<B, 4>) {
        let device = Default::default();
        let make =
            || Tensor::<B, 3>::random([2, 5, 4 * HEADS], Distribution::Normal(0.0, 1.0), &device);
        let mut bias = vec![0f32; 10];
        bias[8] = -10_000.0;
        bias[9] = -10_000.0;
        let bias = Tensor::from_data(TensorData::new(bias, [2, 1, 1, 5]), &device);
        ((make(), make(), make()), bias)
    }

    #[test]
    fn fused_forward_matches_the_composite_ops_without_autodiff() {
        let ((q, k, v), bias) = inputs::<Cpu>();
        let expected = reference((q.clone(), k.clone(), v.clone()), bias.clone(), None);
        let fused = fused_context((q, k, v), &bias, HEADS, None)
            .unwrap_or_else(|_| panic!("burn-flex takes the fused path"));
        fused
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn fused_values_and_gradients_match_the_composite_ops_with_dropout() {
        type B = CpuAutodiff;
        let ((q, k, v), bias) = inputs::<B>();
        let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
        let weights = Tensor::<B, 3>::random(q.dims(), Distribution::Normal(0.0, 1.0), &q.device());
        let drop = 0.3;
        let grads_of = |context: Tensor<B, 3>| {
            let grads = (context.clone() * weights.clone()).sum().backward();
            let grad = |t: &Tensor<B, 3>| t.grad(&grads).expect("input is tracked").into_data();
            (context.into_data(), [grad(&q), grad(&k), grad(&v)])
        };
        let (expected, expected_grads) = grads_of(reference(
            (q.clone(), k.clone(), v.clone()),
            bias.clone(),
            Some(drop),
        ));
        let dropout = AttentionDropout {
            seed: SEED,
            prob: drop,
        };
        let fused = fused_context(
            (q.clone(), k.clone(), v.clone()),
            &bias,
            HEADS,
            Some(dropout),
        )
        .unwrap_or_else(|_| panic!("Autodiff<Flex> takes the fused path"));
        let (values, grads) = grads_of(fused);
        values.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-5));
        for (got, want) in grads.iter().zip(&expected_grads) {
            got.assert_approx_eq::<f32>(want, Tolerance::absolute(1e-4));
        }
        // Masked keys get no attention, so their values get no gradient.
        let dv = grads[2].to_vec::<f32>().expect("f32");
        assert!(dv[(5 + 3) * 12..].iter().all(|g| *g == 0.0));
    }

    #[test]
    fn fused_probabilities_and_context_match_the_composite_ops_with_gradients() {
        use crate::kernels::attention_probs::fused_context_and_probs;
        type B = CpuAutodiff;
        let ((q, k, v), bias) = inputs::<B>();
        let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
        let device = q.device();
        let w_context = Tensor::<B, 3>::random(q.dims(), Distribution::Normal(0.0, 1.0), &device);
        let w_probs =
            Tensor::<B, 4>::random([2, HEADS, 5, 5], Distribution::Normal(0.0, 1.0), &device);
        // Both outputs feed the loss, as in ATLOP (context -> next layers, probs -> LOP).
        let grads_of = |(context, probs): (Tensor<B, 3>, Tensor<B, 4>)| {
            let loss = (context.clone() * w_context.clone()).sum()
                + (probs.clone() * w_probs.clone()).sum();
            let grads = loss.backward();
            let grad = |t: &Tensor<B, 3>| t.grad(&grads).expect("input is tracked").into_data();
            (
                context.into_data(),
                probs.into_data(),
                [grad(&q), grad(&k), grad(&v)],
            )
        };
        let drop = 0.3;
        let want = grads_of(reference_with_probs(
            (q.clone(), k.clone(), v.clone()),
            bias.clone(),
            Some(drop),
        ));
        let dropout = AttentionDropout {
            seed: SEED,
            prob: drop,
        };
        let fused = fused_context_and_probs(
            (q.clone(), k.clone(), v.clone()),
            &bias,
            HEADS,
            Some(dropout),
        )
        .unwrap_or_else(|_| panic!("Autodiff<Flex> takes the fused path"));
        let got = grads_of(fused);
        got.0
            .assert_approx_eq::<f32>(&want.0, Tolerance::absolute(1e-5));
        got.1
            .assert_approx_eq::<f32>(&want.1, Tolerance::absolute(1e-5));
        for (g, w) in got.2.iter().zip(&want.2) {
            g.assert_approx_eq::<f32>(w, Tolerance::absolute(1e-4));
        }
        // Without autodiff (inference) and without dropout.
        let plain = |t: &Tensor<B, 3>| t.clone().inner();
        let want = reference_with_probs(
            (plain(&q), plain(&k), plain(&v)),
            bias.clone().inner(),
            None,
        );
        let got = fused_context_and_probs(
            (plain(&q), plain(&k), plain(&v)),
            &bias.inner(),
            HEADS,
            None,
        )
        .unwrap_or_else(|_| panic!("burn-flex takes the fused path"));
        got.0
            .into_data()
            .assert_approx_eq::<f32>(&want.0.into_data(), Tolerance::absolute(1e-5));
        got.1
            .into_data()
            .assert_approx_eq::<f32>(&want.1.into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn other_backends_get_their_inputs_back() {
        type B = burn::backend::NdArray;
        let ((q, k, v), bias) = inputs::<B>();
        assert!(fused_context((q, k, v), &bias, HEADS, None).is_err());
    }
}
