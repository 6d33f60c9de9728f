//! Entity embeddings and entity attention from mention positions (paper Sec. 2.1, Eq. 2).

use burn::tensor::{backend::Backend, Bool, Int, Tensor};

use crate::batch::HeadIndex;

/// How an entity's mention vectors are combined into one entity embedding. The config file's
/// `model.pooling` (`"logsumexp"` / `"mean"`) is this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityPooling {
    /// Eq. 2: `h_e = log sum_j exp(h_{m_j})`, a smooth max over mentions.
    Logsumexp,
    /// The "- Logsumexp Pooling" ablation (Table 5): the mean of the mention vectors.
    Mean,
}

/// Stand-in for -inf that keeps `exp` at 0 and gradients finite.
const MASKED: f32 = -1e30;

/// Gathers the mention vectors of every entity. `hidden [b, L, H]` -> `[b, E, M, H]`.
fn mention_vectors<B: Backend>(
    hidden: Tensor<B, 3>,
    mention_pos: &Tensor<B, 3, Int>,
) -> Tensor<B, 4> {
    let [b, e, m] = mention_pos.dims();
    let [_, l, h] = hidden.dims();
    let rows = flat_rows(mention_pos.clone().reshape([b, 1, e * m]), l); // [b, 1, E*M]
    hidden
        .reshape([b * l, h])
        .select(0, rows.reshape([b * e * m]))
        .reshape([b, e, m, h])
}

/// Row numbers in the `[b * groups * L, ...]` flattening of a `[b, groups, L, ...]` tensor: for
/// positions `[b, groups, n]` (each in `0..L`), `((document * groups) + group) * L + position`.
/// (The head uses it too, with entities for positions: rows of `[b * E, H]`.)
///
/// The pooling picks whole rows (a mention's hidden vector, a mention token's attention row), so
/// it selects rows of the flattened tensor rather than gathering element by element: same
/// values, and the backward pass adds rows back instead of scattering every element through an
/// index as large as the gradient (burn's `gather` backward, one thread).
pub(super) fn flat_rows<B: Backend>(positions: Tensor<B, 3, Int>, len: usize) -> Tensor<B, 3, Int> {
    let [b, groups, n] = positions.dims();
    let first = Tensor::<B, 1, Int>::arange(0..(b * groups) as i64, &positions.device())
        .mul_scalar(len as i64)
        .reshape([b, groups, 1])
        .expand([b, groups, n]);
    positions + first
}

/// Entity embeddings `[b, E, H]`; an entity with no surviving mention gets zeros (as the
/// reference does). Logsumexp pooling runs as one kernel on burn-flex
/// (`kernels::mention_pooling`), [`entity_embeddings_ops`] elsewhere.
pub fn entity_embeddings<B: Backend>(
    hidden: Tensor<B, 3>,
    index: &HeadIndex<B>,
    pooling: EntityPooling,
) -> Tensor<B, 3> {
    let (positions, mask) = (&index.mention_pos, &index.mention_mask);
    if pooling == EntityPooling::Logsumexp {
        let fused = crate::kernels::mention_pooling::logsumexp_pooling(&hidden, positions, mask);
        if let Some(entities) = fused {
            return entities;
        }
    }
    entity_embeddings_ops(hidden, positions, mask, pooling)
}

/// [`entity_embeddings`] in burn's ops, from the mention positions and mask `[b, E, M]`.
pub(crate) fn entity_embeddings_ops<B: Backend>(
    hidden: Tensor<B, 3>,
    mention_pos: &Tensor<B, 3, Int>,
    mention_mask: &Tensor<B, 3, Bool>,
    pooling: EntityPooling,
) -> Tensor<B, 3> {
    let x = mention_vectors(hidden, mention_pos); // [b, E, M, H]
    let [b, e, m, h] = x.dims();
    let mask: Tensor<B, 4, Bool> = mention_mask.clone().reshape([b, e, m, 1]);
    match pooling {
        EntityPooling::Logsumexp => masked_logsumexp(x, mask),
        EntityPooling::Mean => {
            let maskf = mask.float(); // [b, E, M, 1]
            let count = maskf.clone().sum_dim(2).clamp_min(1.0); // [b, E, 1, 1]
            (x * maskf).sum_dim(2).div(count).reshape([b, e, h])
        }
    }
}

/// Logsumexp over dim 2 of `[b, E, M, H]`, skipping masked slots; zeros where nothing is left.
/// Stable: the detached per-entity max is subtracted before `exp` (burn has no logsumexp).
fn masked_logsumexp<B: Backend>(x: Tensor<B, 4>, mask: Tensor<B, 4, Bool>) -> Tensor<B, 3> {
    let [b, e, m, h] = x.dims();
    let mask = mask.expand([b, e, m, h]);
    // mask_fill passes no gradient to the masked slots, so padding never leaks in.
    let x = x.mask_fill(mask.clone().bool_not(), MASKED);
    let empty = mask.any_dim(2).bool_not(); // [b, E, 1, H]
    let max = x.clone().max_dim(2).detach().mask_fill(empty.clone(), 0.0); // [b, E, 1, H]
                                                                           // Empty entities: every term is exp(-1e30) = 0; adding 1 makes their log 0.
    let sum = (x - max.clone()).exp().sum_dim(2) + empty.float(); // [b, E, 1, H]
    (max + sum.log()).reshape([b, e, h])
}

/// Entity attention `[b, heads, E, L]`: the mean of the last-layer attention rows at the
/// entity's mentions (Sec. 2.3), zeros for an entity with no surviving mention.
pub fn entity_attention<B: Backend>(attention: Tensor<B, 4>, index: &HeadIndex<B>) -> Tensor<B, 4> {
    // On burn-flex straight from the mention rows (`kernels::mention_pooling`).
    let fused = crate::kernels::mention_pooling::mention_attention(
        &attention,
        &index.mention_tokens,
        &index.mention_average,
    );
    if let Some(entity_attention) = fused {
        return entity_attention;
    }
    entity_attention_ops(attention, index)
}

/// [`entity_attention`] in burn's ops.
pub fn entity_attention_ops<B: Backend>(
    attention: Tensor<B, 4>,
    index: &HeadIndex<B>,
) -> Tensor<B, 4> {
    let [b, heads, len, l] = attention.dims();
    let [_, mtot] = index.mention_tokens.dims();
    let tokens = index
        .mention_tokens
        .clone()
        .reshape([b, 1, mtot])
        .expand([b, heads, mtot]);
    let rows = flat_rows(tokens, len); // [b, heads, Mtot]
    let mention_rows = attention
        .reshape([b * heads * len, l])
        .select(0, rows.reshape([b * heads * mtot]))
        .reshape([b, heads, mtot, l]); // [b, heads, Mtot, L]
    let [_, e, _] = index.mention_average.dims();
    // Averaging as a matmul keeps the gathered rows at one per mention, not E x M slots.
    index
        .mention_average
        .clone()
        .reshape([b, 1, e, mtot])
        .matmul(mention_rows) // [b, heads, E, L]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::batch::AtlopBatch;
    use crate::features::Feature;
    use burn::tensor::TensorData;

    fn batch(entity_pos: Vec<Vec<usize>>) -> AtlopBatch<Cpu> {
        let f = Feature {
            doc_index: 0,
            title: String::new(),
            input_ids: vec![1; 4],
            hts: vec![(0, 1)],
            labels: vec![vec![]],
            entity_pos,
        };
        AtlopBatch::from_features(&[f], 2, 0, &Default::default()).unwrap()
    }

    #[test]
    fn logsumexp_and_mean_match_hand_values_and_empty_entities_are_zero() {
        // Entity 0: tokens 1 and 3; entity 1: truncated away (offset 9).
        let b = batch(vec![vec![0, 2], vec![9]]);
        let hidden = Tensor::<Cpu, 3>::from_data(
            TensorData::new(
                vec![0.0f32, 0.0, 1.0, 200.0, 5.0, 5.0, 2.0, 100.0],
                [1, 4, 2],
            ),
            &Default::default(),
        );
        let lse = entity_embeddings(hidden.clone(), &b.index, EntityPooling::Logsumexp);
        let v = lse.to_data().to_vec::<f32>().unwrap();
        let expect0 = (1f32.exp() + 2f32.exp()).ln();
        assert!((v[0] - expect0).abs() < 1e-5, "{v:?}");
        assert!(
            (v[1] - (200.0 + (1.0 + (-100f32).exp()).ln())).abs() < 1e-3,
            "stable: {v:?}"
        );
        assert_eq!(&v[2..], &[0.0, 0.0]);
        let mean = entity_embeddings(hidden, &b.index, EntityPooling::Mean);
        assert_eq!(
            mean.to_data().to_vec::<f32>().unwrap(),
            vec![1.5, 150.0, 0.0, 0.0]
        );
    }

    #[test]
    fn entity_attention_averages_mention_rows() {
        let b = batch(vec![vec![0, 2], vec![9]]);
        let values: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let att =
            Tensor::<Cpu, 4>::from_data(TensorData::new(values, [1, 1, 4, 4]), &Default::default());
        let out = entity_attention(att, &b.index)
            .to_data()
            .to_vec::<f32>()
            .unwrap();
        // Rows 1 and 3 are [4..8] and [12..16]; their mean is [8, 9, 10, 11].
        assert_eq!(out, vec![8.0, 9.0, 10.0, 11.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn fused_entity_attention_and_its_gradient_match_burns_ops() {
        use crate::backend::CpuAutodiff;
        use burn::tensor::{Distribution, Tolerance};
        type B = CpuAutodiff;
        let device = Default::default();
        // Two documents of different lengths; a token shared by two entities, an entity whose
        // only mention is truncated away, one with three mentions.
        let feature = |len: usize, entity_pos: Vec<Vec<usize>>| Feature {
            doc_index: 0,
            title: String::new(),
            input_ids: vec![1; len],
            hts: vec![(0, 1)],
            labels: vec![vec![]],
            entity_pos,
        };
        let features = [
            feature(9, vec![vec![0, 2, 5], vec![2], vec![40]]),
            feature(6, vec![vec![1], vec![3, 4]]),
        ];
        let batch = AtlopBatch::<B>::from_features(&features, 2, 0, &device).unwrap();
        let len = batch.input_ids.dims()[1];
        let attention =
            Tensor::<B, 4>::random([2, 3, len, len], Distribution::Uniform(0.0, 1.0), &device)
                .require_grad();
        let w = Tensor::<B, 4>::random([2, 3, 3, len], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 4>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            let grad = attention.grad(&grads).expect("tracked");
            (y.into_data(), grad.into_data())
        };
        let (want, want_grad) = run(entity_attention_ops(attention.clone(), &batch.index));
        let index = &batch.index;
        let fused = crate::kernels::mention_pooling::mention_attention(
            &attention,
            &index.mention_tokens,
            &index.mention_average,
        );
        let (got, got_grad) = run(fused.expect("burn-flex in f32"));
        got.assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-6));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(1e-6));
    }
}
