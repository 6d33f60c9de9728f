//! Fused self-attention core: `dropout(softmax(Q K^T / sqrt(d) + key_bias)) V` per head, read
//! from and written to the `[batch, len, heads * head_dim]` layout of the projections.
//!
//! The composite version (see `encoder::attention`) splits heads with two copies, adds the key
//! bias by a broadcast over `[batch, heads, len, len]`, runs softmax as five passes and dropout as
//! one more, then merges heads with a copy; autodiff doubles all of it. Here each (document,
//! head) is one task: two strided products and one softmax/dropout pass forward; four products
//! and one pass backward. It does not return the probabilities, so it serves every layer except
//! the last, whose probabilities ATLOP pools ([`super::attention_probs`] serves that one). The
//! per-head pieces are in [`super::heads`].

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use rayon::prelude::*;

use super::heads::{
    apply_keep, head_context, head_context_backward, head_probs, prepare, scores_backward,
    softmax_backward_rows, AttentionDropout, AttentionShape, Docs, Prepared, Qkv, RowLayout,
};
use super::{downcast, f32_values, flex_tensor, par_filled, SharedMut};
use crate::backend::{Cpu, CpuAutodiff};

/// What the backward pass needs: the inputs, the probabilities before dropout and the mask.
#[derive(Debug, Clone)]
struct Saved {
    shape: AttentionShape,
    docs: Arc<Docs>,
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    probs: Arc<Vec<f32>>,
    keep: Option<Arc<Vec<f32>>>,
}

/// Forward on slices. `key_bias` `[batch, len]` is added to every query's scores; `docs` holds
/// each document's real length and first row ([`Docs`]); `keep` `[batch, heads, len, len]`
/// holds `0` or `1 / (1 - p)` (dropout of the probabilities).
/// Returns the context (laid out as q: `shape.rows`) and, with `keep_probs` (a backward pass
/// will need them), the probabilities before dropout. Without it each worker reuses one
/// `len x len` scratch block: inference then neither allocates nor zero-fills the
/// `[batch, heads, len, len]` buffer (50 MB a layer for 4 documents of 512 tokens).
fn forward_values(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    (key_bias, docs): (&[f32], &Docs),
    keep: Option<&[f32]>,
    keep_probs: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let AttentionShape { len, heads, .. } = shape;
    let mut context = vec![0f32; shape.row_values()];
    let out = SharedMut(context.as_mut_ptr());
    let task_body = |task: usize, p: &mut [f32]| {
        let t = shape.task(task, docs);
        head_probs(shape, (q, k), key_bias, t, p);
        let keep = keep.map(|keep| &keep[task * len * len..(task + 1) * len * len]);
        // SAFETY: head h of document b owns its columns of the context: no other task writes
        // them.
        unsafe { head_context(shape, &apply_keep(p, keep), v, t, out) };
    };
    if !keep_probs {
        // Each task writes and reads only its own `n x n` block of the scratch (`head_probs`,
        // `head_context`), so what an earlier task left there is never read.
        (0..shape.batch * heads)
            .into_par_iter()
            .for_each_init(|| vec![0f32; len * len], |p, task| task_body(task, p));
        return (context, None);
    }
    let probs = par_filled(shape.batch * heads * len * len, len * len, task_body);
    (context, Some(probs))
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
    let size = shape.row_values();
    let (mut dq, mut dk, mut dv) = (vec![0f32; size], vec![0f32; size], vec![0f32; size]);
    let outs = [
        SharedMut(dq.as_mut_ptr()),
        SharedMut(dk.as_mut_ptr()),
        SharedMut(dv.as_mut_ptr()),
    ];
    (0..shape.batch * heads).into_par_iter().for_each(|task| {
        let t = shape.task(task, &saved.docs);
        let square = task * len * len..(task + 1) * len * len;
        let p = &saved.probs[square.clone()];
        let mask = saved.keep.as_ref().map(|keep| &keep[square]);
        let mut ds = vec![0f32; len * len];
        // SAFETY: each task writes only head h of document b in dq/dk/dv (disjoint column
        // blocks) and its own `ds`.
        unsafe {
            let inputs = (&*apply_keep(p, mask), &*v, grad);
            head_context_backward(shape, inputs, t, &mut ds, outs[2]);
        }
        softmax_backward_rows(&mut ds, p, mask, len, t.n);
        // SAFETY: as above.
        unsafe { scores_backward(shape, (&q, &k), &ds, t, (outs[0], outs[1])) };
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
        let dims = saved.shape.rows;
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

/// The context, laid out as the projections ([`RowLayout`]: `[batch, len, heads * head_dim]` or
/// packed `[1, real, heads * head_dim]`), from the projections and the key bias
/// `[batch, 1, 1, len]`, when `B` is burn-flex (with or without autodiff) and the inputs are f32.
/// Otherwise the projections come back for the composite path.
pub fn fused_context<B: Backend>(
    qkv: Qkv<B>,
    key_bias: &Tensor<B, 4>,
    (heads, layout): (usize, RowLayout),
    dropout: Option<AttentionDropout>,
) -> Result<Tensor<B, 3>, Qkv<B>> {
    if !super::fused_backend::<B>(super::Kernel::Attention) {
        return Err(qkv);
    }
    match try_fused(&qkv, key_bias, (heads, layout), dropout) {
        Some(context) => Ok(context),
        None => Err(qkv),
    }
}

fn try_fused<B: Backend>(
    (q, k, v): &Qkv<B>,
    key_bias: &Tensor<B, 4>,
    (heads, layout): (usize, RowLayout),
    dropout: Option<AttentionDropout>,
) -> Option<Tensor<B, 3>> {
    let Prepared {
        shape,
        bias,
        docs,
        keep,
    } = prepare((q, k, v), key_bias, (heads, layout), dropout)?;
    let autodiff_inputs = (
        downcast::<_, Tensor<CpuAutodiff, 3>>(q.clone()),
        downcast::<_, Tensor<CpuAutodiff, 3>>(k.clone()),
        downcast::<_, Tensor<CpuAutodiff, 3>>(v.clone()),
    );
    if let (Ok(q), Ok(k), Ok(v)) = autodiff_inputs {
        return downcast(tracked(shape, [q, k, v], (&bias, docs), keep)?).ok();
    }
    let plain_inputs = (
        downcast::<_, Tensor<Cpu, 3>>(q.clone()),
        downcast::<_, Tensor<Cpu, 3>>(k.clone()),
        downcast::<_, Tensor<Cpu, 3>>(v.clone()),
    );
    if let (Ok(q), Ok(k), Ok(v)) = plain_inputs {
        let prims = [q, k, v].map(|t| t.into_primitive().tensor());
        let (context, _) = forward_on(shape, &prims, (&bias, &docs), keep.as_deref(), false)?;
        return downcast(Tensor::<Cpu, 3>::from_primitive(TensorPrimitive::Float(
            context,
        )))
        .ok();
    }
    None
}

/// Forward on flex tensors: the context tensor and, with `keep_probs`, the probabilities
/// before dropout.
fn forward_on(
    shape: AttentionShape,
    [q, k, v]: &[FlexTensor; 3],
    bias: (&[f32], &Docs),
    keep: Option<&Vec<f32>>,
    keep_probs: bool,
) -> Option<(FlexTensor, Option<Vec<f32>>)> {
    let (q, k, v) = (f32_values(q)?, f32_values(k)?, f32_values(v)?);
    let (context, probs) = forward_values(
        shape,
        (&q, &k, &v),
        bias,
        keep.map(Vec::as_slice),
        keep_probs,
    );
    let dims = shape.rows;
    Some((flex_tensor(context, &dims), probs))
}

/// The autodiff op: forward now, [`FusedAttentionBackward`] when the graph is walked back.
fn tracked(
    shape: AttentionShape,
    inputs: [Tensor<CpuAutodiff, 3>; 3],
    (bias, docs): (&[f32], Arc<Docs>),
    keep: Option<Arc<Vec<f32>>>,
) -> Option<Tensor<CpuAutodiff, 3>> {
    let [q, k, v] = inputs.map(|t| t.into_primitive().tensor());
    let prims = [q.primitive, k.primitive, v.primitive];
    let nodes = [q.node, k.node, v.node];
    // Not `super::record`: the forward pass itself depends on whether a backward will run (only
    // then does it keep the `[batch, heads, len, len]` probabilities).
    let out = match FusedAttentionBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (context, probs) = forward_on(shape, &prims, (bias, &docs), keep.as_deref(), true)?;
            let [q, k, v] = prims;
            let saved = Saved {
                shape,
                docs,
                q,
                k,
                v,
                probs: Arc::new(probs?),
                keep,
            };
            prep.finish(saved, context)
        }
        OpsKind::UnTracked(prep) => {
            let (context, _) = forward_on(shape, &prims, (bias, &docs), keep.as_deref(), false)?;
            prep.finish(context)
        }
    };
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::heads::testing::{inputs, reference, HEADS, SEED};
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_forward_matches_the_composite_ops_without_autodiff() {
        let ((q, k, v), bias) = inputs::<Cpu>();
        let expected = reference((q.clone(), k.clone(), v.clone()), bias.clone(), None);
        let fused = fused_context((q, k, v), &bias, (HEADS, RowLayout::Padded), None)
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
            (HEADS, RowLayout::Padded),
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
    fn other_backends_get_their_inputs_back() {
        type B = burn::backend::NdArray;
        let ((q, k, v), bias) = inputs::<B>();
        assert!(fused_context((q, k, v), &bias, (HEADS, RowLayout::Padded), None).is_err());
    }
}
