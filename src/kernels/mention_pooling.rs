//! Logsumexp pooling (Eq. 2): entity `e`'s embedding is `log sum_j exp(h_{m_j})` over the hidden
//! vectors of its mentions, per hidden unit; zeros for an entity without a surviving mention.
//!
//! With burn's ops (`model::pooling`) the mention vectors are first gathered into a padded
//! `[b, E, M, H]` grid, masked, reduced by a max, shifted, exponentiated, summed and logged, and
//! the backward pass runs as many ops again and scatters the grid's gradient back into a zeroed
//! `[b, L, H]`: about fifteen passes on one thread. Here each entity's row is computed from its
//! mentions' rows directly, in parallel over entities; the backward runs in parallel over
//! documents (each zeroes and fills its own rows of `dh`, so no two tasks write the same value),
//! adding `g_e * exp(h_m - out_e)` (the softmax weight of mention `m`) to each mention's row.
//!
//! [`mention_attention`] does the same for the entity attention of localized context pooling
//! (Sec. 2.3): the mean of the last layer's attention rows at an entity's mentions, per head.
//! burn's ops select the rows into a new tensor and average them by a batched product; the
//! backward zeroes the whole `[b, heads, L, L]` gradient on one thread and adds the rows back.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use super::{
    f32_values, flex_tensor, host_indices, math, on_flex, par_filled, record, Kernel, TrackedTensor,
};
use crate::backend::Cpu;

/// Entities per parallel task in the forward pass.
const ENTITIES: usize = 8;

/// Where each entity's mentions are.
#[derive(Debug, Clone)]
struct Mentions {
    /// `[b, L, H, E]`: documents, positions, hidden units, entity slots per document.
    dims: [usize; 4],
    /// The hidden-state rows (`document * L + position`) of each entity's surviving mentions,
    /// entity-major over `b * E` entities.
    rows: Arc<Vec<Vec<usize>>>,
}

/// Entity embeddings `[b, E, H]` from `hidden [b, L, H]` and the mention positions and mask
/// `[b, E, M]`: on burn-flex in f32; `None` elsewhere, and the caller runs burn's ops.
pub fn logsumexp_pooling<B: Backend>(
    hidden: &Tensor<B, 3>,
    mention_pos: &Tensor<B, 3, Int>,
    mention_mask: &Tensor<B, 3, Bool>,
) -> Option<Tensor<B, 3>> {
    if !super::fused_backend::<B>(Kernel::MentionPooling) {
        return None;
    }
    let [b, len, h] = hidden.dims();
    let [pb, entities, slots] = mention_pos.dims();
    if pb != b {
        return None;
    }
    // Padding slots hold position 0 (`batch::HeadIndex`), so every position is checked.
    let positions = host_indices(mention_pos, len)?;
    let mask = mention_mask.to_data().into_vec::<bool>().ok()?;
    let mut rows = Vec::with_capacity(b * entities);
    for entity in 0..b * entities {
        let document = entity / entities;
        let mut own = Vec::new();
        for slot in entity * slots..(entity + 1) * slots {
            if mask[slot] {
                own.push(document * len + positions[slot]);
            }
        }
        rows.push(own);
    }
    let mentions = Mentions {
        dims: [b, len, h, entities],
        rows: Arc::new(rows),
    };
    on_flex(
        hidden,
        |x| tracked(x, mentions.clone()),
        |x| forward_on(x, &mentions),
    )
}

fn forward_on(hidden: &FlexTensor, mentions: &Mentions) -> Option<FlexTensor> {
    let x = f32_values(hidden)?;
    let [b, _, h, entities] = mentions.dims;
    let out = par_filled(b * entities * h, ENTITIES * h, |task, out| {
        for (i, out) in out.chunks_exact_mut(h).enumerate() {
            let rows = &mentions.rows[task * ENTITIES + i];
            pool_entity(&x, rows, h, out);
        }
    });
    Some(flex_tensor(out, &[b, entities, h]))
}

/// One entity's embedding into `out` (which holds zeros): the running max over its mention
/// rows, then `max + ln sum exp(x - max)`, unit by unit.
fn pool_entity(x: &[f32], rows: &[usize], h: usize, out: &mut [f32]) {
    let Some((&first, rest)) = rows.split_first() else {
        return;
    };
    let mut max = x[first * h..][..h].to_vec();
    for &r in rest {
        max.iter_mut()
            .zip(&x[r * h..][..h])
            .for_each(|(m, &v)| *m = m.max(v));
    }
    for &r in rows {
        out.iter_mut()
            .zip(&x[r * h..][..h])
            .zip(&max)
            .for_each(|((s, &v), &m)| *s += math::exp(v - m));
    }
    out.iter_mut().zip(&max).for_each(|(s, &m)| *s = m + s.ln());
}

/// `dh [b, L, H]` from the entities' gradient `g [b, E, H]`, the inputs and the outputs.
fn backward_values(x: &[f32], out: &[f32], g: &[f32], mentions: &Mentions) -> Vec<f32> {
    let [b, len, h, entities] = mentions.dims;
    par_filled(b * len * h, len * h, |document, dh| {
        for entity in document * entities..(document + 1) * entities {
            let (g, out) = (&g[entity * h..][..h], &out[entity * h..][..h]);
            for &r in &mentions.rows[entity] {
                let local = (r - document * len) * h;
                dh[local..local + h]
                    .iter_mut()
                    .zip(&x[r * h..][..h])
                    .zip(g.iter().zip(out))
                    .for_each(|((d, &v), (&g, &o))| *d += g * math::exp(v - o));
            }
        }
    })
}

#[derive(Debug, Clone)]
struct Saved {
    hidden: FlexTensor,
    output: FlexTensor,
    mentions: Mentions,
}

#[derive(Debug)]
struct LogsumexpPoolingBackward;

impl Backward<Cpu, 1> for LogsumexpPoolingBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        let s = ops.state;
        let (Some(x), Some(out), Some(g)) = (
            f32_values(&s.hidden),
            f32_values(&s.output),
            f32_values(&grad),
        ) else {
            unreachable!("mention pooling: the hidden states were checked to be f32 forward")
        };
        let dh = backward_values(&x, &out, &g, &s.mentions);
        let [b, len, h, _] = s.mentions.dims;
        grads.register::<Cpu>(node.id, flex_tensor(dh, &[b, len, h]));
    }
}

fn tracked(hidden: TrackedTensor, mentions: Mentions) -> Option<TrackedTensor> {
    let out = forward_on(&hidden.primitive, &mentions)?;
    // A handle on the output (shared values, no copy) for the backward, which reads it.
    let output = out.clone();
    Some(record(
        LogsumexpPoolingBackward,
        [hidden],
        out,
        |[hidden]| Saved {
            hidden,
            output,
            mentions,
        },
    ))
}

/// Each entity's mentions as (token position, weight) pairs, entity-major over `b * E`, and the
/// sizes `[b, heads, L, E]`.
#[derive(Debug, Clone)]
struct WeightedRows {
    dims: [usize; 4],
    entities: Arc<Vec<Vec<(usize, f32)>>>,
}

/// Entity attention `[b, heads, E, L]` from the attention `[b, heads, L, L]`, the mention tokens
/// `[b, Mtot]` and the averaging weights `[b, E, Mtot]` (see `batch::HeadIndex`): on burn-flex
/// in f32; `None` elsewhere, and the caller runs burn's ops.
pub fn mention_attention<B: Backend>(
    attention: &Tensor<B, 4>,
    mention_tokens: &Tensor<B, 2, Int>,
    mention_average: &Tensor<B, 3>,
) -> Option<Tensor<B, 4>> {
    if !super::fused_backend::<B>(Kernel::MentionPooling) {
        return None;
    }
    let [b, heads, len, cols] = attention.dims();
    let [_, entities, total] = mention_average.dims();
    if cols != len || mention_tokens.dims() != [b, total] || mention_average.dims()[0] != b {
        return None;
    }
    // Padding holds token 0 (`batch::HeadIndex`), so every token is checked.
    let tokens = host_indices(mention_tokens, len)?;
    let weights = mention_average
        .to_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .ok()?;
    let mut rows = Vec::with_capacity(b * entities);
    for entity in 0..b * entities {
        let document = entity / entities;
        let mut own = Vec::new();
        for t in 0..total {
            let weight = weights[entity * total + t];
            if weight != 0.0 {
                own.push((tokens[document * total + t], weight));
            }
        }
        rows.push(own);
    }
    let rows = WeightedRows {
        dims: [b, heads, len, entities],
        entities: Arc::new(rows),
    };
    on_flex(
        attention,
        |a| {
            let out = attention_forward(&a.primitive, &rows)?;
            Some(record(MentionAttentionBackward, [a], out, |_| rows.clone()))
        },
        |a| attention_forward(a, &rows),
    )
}

/// `out[d, k, e] = sum over e's mentions of weight * A[d, k, token]`, in parallel over
/// (document, head) blocks.
fn attention_forward(attention: &FlexTensor, rows: &WeightedRows) -> Option<FlexTensor> {
    let a = f32_values(attention)?;
    let [b, heads, len, entities] = rows.dims;
    let out = par_filled(b * heads * entities * len, entities * len, |block, out| {
        let document = block / heads;
        let a = &a[block * len * len..][..len * len];
        for (e, out) in out.chunks_exact_mut(len).enumerate() {
            for &(token, weight) in &rows.entities[document * entities + e] {
                out.iter_mut()
                    .zip(&a[token * len..][..len])
                    .for_each(|(o, &v)| *o += weight * v);
            }
        }
    });
    Some(flex_tensor(out, &[b, heads, entities, len]))
}

#[derive(Debug)]
struct MentionAttentionBackward;

impl Backward<Cpu, 1> for MentionAttentionBackward {
    type State = WeightedRows;

    fn backward(self, ops: Ops<WeightedRows, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        let rows = ops.state;
        let Some(g) = f32_values(&grad) else {
            unreachable!("mention attention: the attention was checked to be f32 forward")
        };
        let [b, heads, len, entities] = rows.dims;
        // Each (document, head) block of dA zeroed and filled by its own task.
        let da = par_filled(b * heads * len * len, len * len, |block, da| {
            let document = block / heads;
            let g = &g[block * entities * len..][..entities * len];
            for (e, g) in g.chunks_exact(len).enumerate() {
                for &(token, weight) in &rows.entities[document * entities + e] {
                    da[token * len..][..len]
                        .iter_mut()
                        .zip(g)
                        .for_each(|(d, &g)| *d += weight * g);
                }
            }
        });
        grads.register::<Cpu>(node.id, flex_tensor(da, &[b, heads, len, len]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use crate::model::pooling::{entity_embeddings_ops, EntityPooling};
    use burn::tensor::{Distribution, TensorData, Tolerance};

    #[test]
    fn pooling_and_its_gradient_match_burns_ops() {
        type B = CpuAutodiff;
        let device = Default::default();
        let (b, l, h) = (2, 11, 37);
        let hidden = Tensor::<B, 3>::random([b, l, h], Distribution::Normal(0.0, 3.0), &device)
            .require_grad();
        // [2, 3, 3]: one to three mentions, an entity without any (document 1, entity 2), a
        // token that is a mention of two entities (3), and the same token twice in one (5).
        let pos = [1, 3, 7, 3, 0, 0, 5, 5, 9, 2, 4, 6, 10, 0, 0, 0, 0, 0];
        let mask = [
            true, true, true, true, false, false, true, true, true, true, true, true, true, false,
            false, false, false, false,
        ];
        let pos = Tensor::<B, 3, Int>::from_data(TensorData::new(pos.to_vec(), [b, 3, 3]), &device);
        let mask =
            Tensor::<B, 3, Bool>::from_data(TensorData::new(mask.to_vec(), [b, 3, 3]), &device);
        let w = Tensor::<B, 3>::random([b, 3, h], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 3>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            (
                y.into_data(),
                hidden.grad(&grads).expect("tracked").into_data(),
            )
        };
        // burn's ops: the padded `[b, E, M, H]` grid, masked logsumexp over mentions.
        let ops = entity_embeddings_ops(hidden.clone(), &pos, &mask, EntityPooling::Logsumexp);
        let (want, want_grad) = run(ops);
        let fused = logsumexp_pooling(&hidden, &pos, &mask).expect("burn-flex in f32");
        let (got, got_grad) = run(fused);
        got.assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-5));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(1e-5));
        let plain = logsumexp_pooling(&hidden.clone().inner(), &pos.clone().inner(), &mask.inner())
            .expect("untracked");
        plain
            .into_data()
            .assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-5));
        // A position past the end falls back to burn's ops.
        let far = Tensor::<B, 3, Int>::full([b, 3, 3], l as i64, &device);
        let all = Tensor::<B, 3, Bool>::full([b, 3, 3], true, &device);
        assert!(logsumexp_pooling(&hidden, &far, &all).is_none());
    }
}
