//! Fused attention for the last layer, whose probabilities ATLOP pools (Zhou et al. 2021,
//! Sec. 2.3, Eq. 10) and differentiates through: two ops, so both outputs carry gradients.
//!
//! - [`ProbsBackward`]: `q`, `k` -> `dropout(softmax(q k^T / sqrt(d) + key_bias))`
//!   `[batch, heads, len, len]`, as `transformers` returns the attentions;
//! - [`ContextBackward`]: those probabilities and `v` -> the context, laid out as `v`
//!   (`[batch, len, width]`, or packed `[1, real, width]`: [`RowLayout`]).
//!
//! Same per-(document, head) tasks ([`super::heads`]) as [`super::attention`]; composed from
//! burn's ops this layer took five times as long as a fused one (124 ms vs 25 ms forward on the
//! step benchmark).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use rayon::prelude::*;

use super::heads::{
    head_context, head_context_backward, head_probs, prepare, scores_backward,
    softmax_backward_rows, times, AttentionDropout, AttentionShape, Docs, Prepared, Qkv, RowLayout,
};
use super::{downcast, f32_values, flex_tensor, par_filled, record, Kernel, SharedMut};
use crate::backend::{Cpu, CpuAutodiff};

/// Probabilities before dropout, and after it when there is dropout: `(probs, dropped)`.
fn probs_values(
    shape: AttentionShape,
    (q, k): (&[f32], &[f32]),
    (key_bias, docs): (&[f32], &Docs),
    keep: Option<&[f32]>,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let AttentionShape { len, heads, .. } = shape;
    let size = shape.batch * heads * len * len;
    // Each task's square is zeroed by the task itself ([`par_filled`]), not up front.
    let probs = par_filled(size, len * len, |task, p| {
        head_probs(shape, (q, k), key_bias, shape.task(task, docs), p)
    });
    let dropped = keep.map(|keep| {
        par_filled(size, len * len, |task, dst| {
            let square = task * len * len..(task + 1) * len * len;
            times(&probs[square.clone()], &keep[square], dst)
        })
    });
    (probs, dropped)
}

#[derive(Debug, Clone)]
struct ProbsSaved {
    shape: AttentionShape,
    docs: Arc<Docs>,
    q: FlexTensor,
    k: FlexTensor,
    probs: Arc<Vec<f32>>,
    keep: Option<Arc<Vec<f32>>>,
}

#[derive(Debug)]
struct ProbsBackward;

impl Backward<Cpu, 2> for ProbsBackward {
    type State = ProbsSaved;

    fn backward(self, ops: Ops<ProbsSaved, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let values = (f32_values(&s.q), f32_values(&s.k), f32_values(&grad));
        let (Some(q), Some(k), Some(grad)) = values else {
            unreachable!("fused attention: inputs were checked to be f32 in the forward pass")
        };
        let shape = s.shape;
        let AttentionShape { len, heads, .. } = shape;
        let size = shape.row_values();
        let (mut dq, mut dk) = (vec![0f32; size], vec![0f32; size]);
        let outs = [SharedMut(dq.as_mut_ptr()), SharedMut(dk.as_mut_ptr())];
        (0..shape.batch * heads).into_par_iter().for_each(|task| {
            let t = shape.task(task, &s.docs);
            let square = task * len * len..(task + 1) * len * len;
            let mut ds = grad[square.clone()].to_vec();
            let keep = s.keep.as_ref().map(|keep| &keep[square.clone()]);
            softmax_backward_rows(&mut ds, &s.probs[square], keep, len, t.n);
            // SAFETY: each task writes only head h of document b in dq/dk (disjoint columns).
            unsafe { scores_backward(shape, (&q, &k), &ds, t, (outs[0], outs[1])) };
        });
        let dims = shape.rows;
        for (parent, values) in ops.parents.into_iter().zip([dq, dk]) {
            if let Some(node) = parent {
                grads.register::<Cpu>(node.id, flex_tensor(values, &dims));
            }
        }
    }
}

/// Context `[batch, len, width]` = dropped probabilities . v, per head.
fn context_values(shape: AttentionShape, docs: &Docs, dropped: &[f32], v: &[f32]) -> Vec<f32> {
    let AttentionShape { len, heads, .. } = shape;
    let mut context = vec![0f32; shape.row_values()];
    let out = SharedMut(context.as_mut_ptr());
    (0..shape.batch * heads).into_par_iter().for_each(|task| {
        let weights = &dropped[task * len * len..(task + 1) * len * len];
        // SAFETY: head h of document b owns its columns of the context.
        unsafe { head_context(shape, weights, v, shape.task(task, docs), out) };
    });
    context
}

#[derive(Debug, Clone)]
struct ContextSaved {
    shape: AttentionShape,
    docs: Arc<Docs>,
    dropped: FlexTensor,
    v: FlexTensor,
}

#[derive(Debug)]
struct ContextBackward;

impl Backward<Cpu, 2> for ContextBackward {
    type State = ContextSaved;

    fn backward(self, ops: Ops<ContextSaved, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let values = (f32_values(&s.dropped), f32_values(&s.v), f32_values(&grad));
        let (Some(p), Some(v), Some(grad)) = values else {
            unreachable!("fused attention: inputs were checked to be f32 in the forward pass")
        };
        let shape = s.shape;
        let AttentionShape { len, heads, .. } = shape;
        let mut dv = vec![0f32; shape.row_values()];
        let out_v = SharedMut(dv.as_mut_ptr());
        let dp = par_filled(shape.batch * heads * len * len, len * len, |task, dp| {
            let weights = &p[task * len * len..(task + 1) * len * len];
            // SAFETY: `dp` is this task's square; head h of document b owns its columns of dv.
            let t = shape.task(task, &s.docs);
            unsafe { head_context_backward(shape, (weights, &v, &grad), t, dp, out_v) };
        });
        let [p_node, v_node] = ops.parents;
        if let Some(node) = p_node {
            grads.register::<Cpu>(node.id, flex_tensor(dp, &[shape.batch, heads, len, len]));
        }
        if let Some(node) = v_node {
            grads.register::<Cpu>(node.id, flex_tensor(dv, &shape.rows));
        }
    }
}

/// `(context laid out as q, probabilities after dropout [batch, heads, len, len])` when
/// `B` is burn-flex and the inputs are f32; otherwise the projections come back.
#[allow(clippy::type_complexity)]
pub fn fused_context_and_probs<B: Backend>(
    qkv: Qkv<B>,
    key_bias: &Tensor<B, 4>,
    (heads, layout): (usize, RowLayout),
    dropout: Option<AttentionDropout>,
) -> Result<(Tensor<B, 3>, Tensor<B, 4>), Qkv<B>> {
    if !super::fused_backend::<B>(Kernel::Attention) {
        return Err(qkv);
    }
    match try_fused(&qkv, key_bias, (heads, layout), dropout) {
        Some(out) => Ok(out),
        None => Err(qkv),
    }
}

fn try_fused<B: Backend>(
    (q, k, v): &Qkv<B>,
    key_bias: &Tensor<B, 4>,
    (heads, layout): (usize, RowLayout),
    dropout: Option<AttentionDropout>,
) -> Option<(Tensor<B, 3>, Tensor<B, 4>)> {
    let Prepared {
        shape,
        bias,
        docs,
        keep,
    } = prepare((q, k, v), key_bias, (heads, layout), dropout)?;
    let AttentionShape {
        batch, len, heads, ..
    } = shape;
    let ad = |t: &Tensor<B, 3>| downcast::<_, Tensor<CpuAutodiff, 3>>(t.clone()).ok();
    if let (Some(q), Some(k), Some(v)) = (ad(q), ad(k), ad(v)) {
        let (context, probs) = tracked(shape, [q, k, v], (&bias, docs), keep)?;
        return Some((downcast(context).ok()?, downcast(probs).ok()?));
    }
    let plain = |t: &Tensor<B, 3>| downcast::<_, Tensor<Cpu, 3>>(t.clone()).ok();
    let [q, k, v] = [plain(q)?, plain(k)?, plain(v)?].map(|t| t.into_primitive().tensor());
    let (qv, kv, vv) = (f32_values(&q)?, f32_values(&k)?, f32_values(&v)?);
    let (probs, dropped) = probs_values(
        shape,
        (&qv, &kv),
        (&bias, &docs),
        keep.as_deref().map(Vec::as_slice),
    );
    let dropped = dropped.unwrap_or(probs);
    let context = context_values(shape, &docs, &dropped, &vv);
    let context = flex_tensor(context, &shape.rows);
    let probs = flex_tensor(dropped, &[batch, heads, len, len]);
    let wrap3 = Tensor::<Cpu, 3>::from_primitive(TensorPrimitive::Float(context));
    let wrap4 = Tensor::<Cpu, 4>::from_primitive(TensorPrimitive::Float(probs));
    Some((downcast(wrap3).ok()?, downcast(wrap4).ok()?))
}

fn tracked(
    shape: AttentionShape,
    inputs: [Tensor<CpuAutodiff, 3>; 3],
    (bias, docs): (&[f32], Arc<Docs>),
    keep: Option<Arc<Vec<f32>>>,
) -> Option<(Tensor<CpuAutodiff, 3>, Tensor<CpuAutodiff, 4>)> {
    let [q, k, v] = inputs.map(|t| t.into_primitive().tensor());
    let (qv, kv) = (f32_values(&q.primitive)?, f32_values(&k.primitive)?);
    let (probs, dropped) = probs_values(
        shape,
        (&qv, &kv),
        (bias, &docs),
        keep.as_deref().map(Vec::as_slice),
    );
    drop((qv, kv));
    // Without dropout the output is the probabilities themselves; the backward keeps its copy.
    let dropped = dropped.unwrap_or_else(|| probs.clone());
    let AttentionShape {
        batch, len, heads, ..
    } = shape;
    let dropped = flex_tensor(dropped, &[batch, heads, len, len]);
    let probs_out = record(ProbsBackward, [q, k], dropped, |[q, k]| ProbsSaved {
        shape,
        docs: docs.clone(),
        q,
        k,
        probs: Arc::new(probs),
        keep,
    });
    let vv = f32_values(&v.primitive)?;
    let d_values = f32_values(&probs_out.primitive)?;
    let context = flex_tensor(context_values(shape, &docs, &d_values, &vv), &shape.rows);
    drop((vv, d_values));
    // The context's first input is the probabilities' output: its values are `dropped`.
    let inputs = [probs_out.clone(), v];
    let context_out = record(ContextBackward, inputs, context, |[dropped, v]| {
        ContextSaved {
            shape,
            docs,
            dropped,
            v,
        }
    });
    Some((
        Tensor::from_primitive(TensorPrimitive::Float(context_out)),
        Tensor::from_primitive(TensorPrimitive::Float(probs_out)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::heads::testing::{inputs, reference_with_probs, HEADS, SEED};
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type B = CpuAutodiff;
    /// Context, probabilities and the q/k/v gradients of the loss
    /// `sum(context * w_context) + sum(probs * w_probs)`: both outputs feed it, as in ATLOP
    /// (context -> next layers, probabilities -> LOP).
    type Checked = (TensorData, TensorData, [TensorData; 3]);

    fn outputs_and_grads(
        (context, probs): (Tensor<B, 3>, Tensor<B, 4>),
        (w_context, w_probs): (&Tensor<B, 3>, &Tensor<B, 4>),
        (q, k, v): &Qkv<B>,
    ) -> Checked {
        let loss =
            (context.clone() * w_context.clone()).sum() + (probs.clone() * w_probs.clone()).sum();
        let grads = loss.backward();
        let grad = |t: &Tensor<B, 3>| t.grad(&grads).expect("input is tracked").into_data();
        (
            context.into_data(),
            probs.into_data(),
            [grad(q), grad(k), grad(v)],
        )
    }

    #[test]
    fn fused_probabilities_and_context_match_the_composite_ops_with_gradients() {
        let ((q, k, v), bias) = inputs::<B>();
        let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
        let device = q.device();
        let w_context = Tensor::<B, 3>::random(q.dims(), Distribution::Normal(0.0, 1.0), &device);
        let w_probs =
            Tensor::<B, 4>::random([2, HEADS, 5, 5], Distribution::Normal(0.0, 1.0), &device);
        let qkv = (q.clone(), k.clone(), v.clone());
        let grads_of = |outputs| outputs_and_grads(outputs, (&w_context, &w_probs), &qkv);
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
            (HEADS, RowLayout::Padded),
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
            (HEADS, RowLayout::Padded),
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
    fn packed_rows_give_the_real_rows_of_the_padded_grid_with_gradients() {
        // Document 0 is 5 positions long, document 1 has 3 real ones (its last 2 keys masked).
        let ((q, k, v), bias) = inputs::<B>();
        let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
        let device = q.device();
        let real = Tensor::<B, 1, burn::tensor::Int>::from_data([0, 1, 2, 3, 4, 5, 6, 7], &device);
        let pack = |x: Tensor<B, 3>| x.reshape([10, 12]).select(0, real.clone()).unsqueeze::<3>();
        let w_context = Tensor::<B, 3>::random([1, 8, 12], Distribution::Normal(0.0, 1.0), &device);
        let w_probs =
            Tensor::<B, 4>::random([2, HEADS, 5, 5], Distribution::Normal(0.0, 1.0), &device);
        let dropout = || {
            Some(AttentionDropout {
                seed: SEED,
                prob: 0.3,
            })
        };
        let qkv = (q.clone(), k.clone(), v.clone());
        let grads_of =
            |context, probs| outputs_and_grads((context, probs), (&w_context, &w_probs), &qkv);
        let (padded, padded_probs) = fused_context_and_probs(
            (q.clone(), k.clone(), v.clone()),
            &bias,
            (HEADS, RowLayout::Padded),
            dropout(),
        )
        .unwrap_or_else(|_| panic!("the padded grid takes the fused path"));
        let want = grads_of(pack(padded), padded_probs);
        let (packed, packed_probs) = fused_context_and_probs(
            (pack(q.clone()), pack(k.clone()), pack(v.clone())),
            &bias,
            (HEADS, RowLayout::Packed),
            dropout(),
        )
        .unwrap_or_else(|_| panic!("packed prefixes take the fused path"));
        assert_eq!(packed.dims(), [1, 8, 12]);
        let got = grads_of(packed, packed_probs);
        got.0
            .assert_approx_eq::<f32>(&want.0, Tolerance::absolute(1e-6));
        got.1
            .assert_approx_eq::<f32>(&want.1, Tolerance::absolute(1e-6));
        for (g, w) in got.2.iter().zip(&want.2) {
            g.assert_approx_eq::<f32>(w, Tolerance::absolute(1e-5));
        }
        // Packed rows that are not exactly the documents' real positions (7, not 8) are declined.
        let short = |x: Tensor<B, 3>| pack(x).narrow(1, 0, 7);
        let declined = fused_context_and_probs(
            (short(q.clone()), short(k), short(v)),
            &bias,
            (HEADS, RowLayout::Packed),
            dropout(),
        );
        assert!(
            declined.is_err(),
            "7 packed rows for 8 real positions must be declined"
        );
    }
}
