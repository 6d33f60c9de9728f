//! The first step of localized context pooling (Eq. 10): for each real entity pair `n` of
//! document `d` with head entity `s` and tail `o`, `q[n, l] = mean over heads k of
//! A[d, k, s, l] * A[d, k, o, l]`, from the entity attention `A [b, heads, E, L]`.
//!
//! With burn's ops the model computes this for all `E^2` entity pairs as one batched matmul over
//! tokens, whose `[b, L, E, E]` result has to be transposed to one row per pair before the real
//! pairs are selected: strided copies forward and backward (and the matmul's own copies of its
//! permuted input), element by element on one thread, about 2.5% of a training step (`perf`).
//! Here each real pair's row is computed directly, in parallel over pairs; the backward runs in
//! parallel over (document, head) blocks of `dA`, each visiting its document's pairs in order,
//! so no two tasks write the same value and the sums do not depend on scheduling. The products
//! are `N x heads x L` multiply-adds: a few million, negligible next to the encoder.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::{
    f32_values, flex_tensor, host_indices, on_flex, par_filled, record, Kernel, TrackedTensor,
};
use crate::backend::Cpu;

/// Pairs per parallel task in the forward pass.
const PAIRS: usize = 16;

/// The shape of the entity attention and the pairs, as the kernels read them.
#[derive(Debug, Clone)]
struct Pairs {
    /// `[b, heads, E, L]`
    dims: [usize; 4],
    /// Each real pair as (document, head entity, tail entity), document-major.
    entities: Arc<Vec<[usize; 3]>>,
}

impl Pairs {
    /// The row `A[d, k, e, :]`.
    fn row<'a>(&self, a: &'a [f32], d: usize, k: usize, e: usize) -> &'a [f32] {
        let [_, heads, entities, len] = self.dims;
        &a[((d * heads + k) * entities + e) * len..][..len]
    }
}

/// `q [N, L]` for the pairs `codes [N]` (`doc * E^2 + head * E + tail`), divided by the head
/// count: on burn-flex in f32; `None` elsewhere, and the caller runs burn's ops.
pub fn pair_products<B: Backend>(
    entity_attention: &Tensor<B, 4>,
    codes: &Tensor<B, 1, Int>,
) -> Option<Tensor<B, 2>> {
    if !super::fused_backend::<B>(Kernel::PairAttention) {
        return None;
    }
    let [b, heads, e, l] = entity_attention.dims();
    let entities: Vec<[usize; 3]> = host_indices(codes, b * e * e)?
        .into_iter()
        .map(|code| [code / (e * e), (code / e) % e, code % e])
        .collect();
    let pairs = Pairs {
        dims: [b, heads, e, l],
        entities: Arc::new(entities),
    };
    on_flex(
        entity_attention,
        |a| tracked(a, pairs.clone()),
        |a| forward_on(a, &pairs),
    )
}

fn forward_on(a: &FlexTensor, pairs: &Pairs) -> Option<FlexTensor> {
    let a = f32_values(a)?;
    let [_, heads, _, len] = pairs.dims;
    let n = pairs.entities.len();
    let q = par_filled(n * len, PAIRS * len, |task, rows| {
        for (i, row) in rows.chunks_exact_mut(len).enumerate() {
            let [d, s, o] = pairs.entities[task * PAIRS + i];
            for k in 0..heads {
                let (hs, ho) = (pairs.row(&a, d, k, s), pairs.row(&a, d, k, o));
                row.iter_mut()
                    .zip(hs.iter().zip(ho))
                    .for_each(|(q, (x, y))| *q += x * y);
            }
            let count = heads as f32;
            row.iter_mut().for_each(|q| *q /= count);
        }
    });
    Some(flex_tensor(q, &[n, len]))
}

/// `dA` from `dq`: each (document, head) block adds, for each of its document's pairs,
/// `g * A[o]` to row `s` and `g * A[s]` to row `o`, with `g = dq[n] / heads`.
fn backward_values(a: &[f32], dq: &[f32], pairs: &Pairs) -> Vec<f32> {
    let [_, heads, entities, len] = pairs.dims;
    let block = entities * len;
    par_filled(a.len(), block, |task, da| {
        let (d, k) = (task / heads, task % heads);
        let count = heads as f32;
        for (n, &[pd, s, o]) in pairs.entities.iter().enumerate() {
            if pd != d {
                continue;
            }
            let g = &dq[n * len..][..len];
            let (hs, ho) = (pairs.row(a, d, k, s), pairs.row(a, d, k, o));
            for (entity, other) in [(s, ho), (o, hs)] {
                let row = &mut da[entity * len..][..len];
                row.iter_mut()
                    .zip(g.iter().zip(other))
                    .for_each(|(r, (g, y))| *r += g / count * y);
            }
        }
    })
}

#[derive(Debug, Clone)]
struct Saved {
    a: FlexTensor,
    pairs: Pairs,
}

#[derive(Debug)]
struct PairProductsBackward;

impl Backward<Cpu, 1> for PairProductsBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let (Some(a), Some(dq)) = (f32_values(&s.a), f32_values(&grad)) else {
            unreachable!("pair products: inputs were checked to be f32 in the forward pass")
        };
        let da = backward_values(&a, &dq, &s.pairs);
        let [parent] = ops.parents;
        if let Some(node) = parent {
            grads.register::<Cpu>(node.id, flex_tensor(da, &s.pairs.dims));
        }
    }
}

fn tracked(a: TrackedTensor, pairs: Pairs) -> Option<TrackedTensor> {
    let q = forward_on(&a.primitive, &pairs)?;
    Some(record(PairProductsBackward, [a], q, |[a]| Saved {
        a,
        pairs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::tensor::{Distribution, Tolerance};

    /// burn's composite: all entity pairs by a batched matmul, then the real pairs' rows.
    fn composite<B: Backend>(a: Tensor<B, 4>, codes: Tensor<B, 1, Int>) -> Tensor<B, 2> {
        let [b, heads, e, l] = a.dims();
        let per_token = a.permute([0, 3, 2, 1]);
        per_token
            .clone()
            .matmul(per_token.swap_dims(2, 3))
            .reshape([b, l, e * e])
            .swap_dims(1, 2)
            .reshape([b * e * e, l])
            .select(0, codes)
            .div_scalar(heads as f32)
    }

    #[test]
    fn pair_products_and_their_gradient_match_the_composite_ops() {
        type B = CpuAutodiff;
        let device = Default::default();
        let (b, heads, e, l) = (2, 3, 4, 37);
        let a = Tensor::<B, 4>::random([b, heads, e, l], Distribution::Uniform(0.0, 1.0), &device)
            .require_grad();
        // Document-major pairs, a repeated entity on both sides, more than one task's worth.
        let mut codes = Vec::new();
        for d in 0..b {
            for s in 0..e {
                for o in 0..e {
                    if s != o && (d == 0 || (s + o) % 2 == 1) {
                        codes.push((d * e * e + s * e + o) as i64);
                    }
                }
            }
        }
        let n = codes.len();
        let codes = Tensor::<B, 1, Int>::from_ints(codes.as_slice(), &device);
        let w = Tensor::<B, 2>::random([n, l], Distribution::Normal(0.0, 1.0), &device);
        let run = |q: Tensor<B, 2>| {
            let grads = (q.clone() * w.clone()).sum().backward();
            (q.into_data(), a.grad(&grads).expect("tracked").into_data())
        };
        let (want, want_grad) = run(composite(a.clone(), codes.clone()));
        let fused = pair_products(&a, &codes).expect("burn-flex in f32");
        let (got, got_grad) = run(fused);
        got.assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-6));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(1e-5));
        let plain = pair_products(&a.clone().inner(), &codes.inner()).expect("untracked");
        plain
            .into_data()
            .assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-6));
    }
}
