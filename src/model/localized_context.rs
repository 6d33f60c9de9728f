//! Localized context pooling (paper Sec. 2.3, Eq. 10-12): each entity pair gets its own context
//! vector, a mix of token states weighted by how much BOTH entities attend to each token.

use burn::tensor::{backend::Backend, Int, Tensor};

/// Added to the weight sum before normalising (Eq. 12 of the reference implementation), so a
/// pair whose entities attend nowhere in common gets a near-zero context instead of NaN.
const NORM_EPS: f32 = 1e-5;

/// Per-pair context weights and vectors.
#[derive(Debug, Clone)]
pub struct LocalizedContext<B: Backend> {
    /// `a^(s,o)` of Eq. 11, normalised over tokens: the explanation of a pair. `[b, P, L]`
    pub weights: Tensor<B, 3>,
    /// `c^(s,o) = H^T a^(s,o)` (Eq. 12). `[b, P, H]`
    pub context: Tensor<B, 3>,
}

/// Eq. 10-12: `q = mean_heads(A_s * A_o)`, `a = q / (sum q + eps)`, `c = a @ H`.
///
/// `entity_attention [b, heads, E, L]`, `hidden [b, L, H]`, `pair_head`/`pair_tail [b, P]`.
///
/// Gathering `[b, heads, P, L]` attention rows per pair costs memory quadratic in the entity
/// count (DocRED has up to 42 entities, 1722 pairs). Instead, the head-sum of products is
/// computed for ALL entity pairs at once as one batched matmul over tokens,
/// `[b*L, E, heads] x [b*L, heads, E] -> [b*L, E, E]` (P is close to E^2 anyway), and the
/// pairs are gathered from that.
pub fn localized_context<B: Backend>(
    entity_attention: Tensor<B, 4>,
    hidden: Tensor<B, 3>,
    pair_head: &Tensor<B, 2, Int>,
    pair_tail: &Tensor<B, 2, Int>,
) -> LocalizedContext<B> {
    let [b, heads, e, l] = entity_attention.dims();
    let [_, p] = pair_head.dims();
    let per_token = entity_attention.permute([0, 3, 2, 1]); // [b, L, E, heads]
    let products = per_token
        .clone()
        .matmul(per_token.swap_dims(2, 3)) // [b, L, E, E]
        .reshape([b, l, e * e]);
    let code = pair_head.clone().mul_scalar(e as i64) + pair_tail.clone(); // [b, P]
    let code = code.reshape([b, 1, p]).expand([b, l, p]);
    let q = products
        .gather(2, code) // [b, L, P]
        .div_scalar(heads as f32)
        .swap_dims(1, 2); // [b, P, L]
    let weights = q.clone().div(q.sum_dim(2).add_scalar(NORM_EPS)); // [b, P, L]
    let context = weights.clone().matmul(hidden); // [b, P, H]
    LocalizedContext { weights, context }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn matches_the_direct_per_pair_formula() {
        let device = Default::default();
        let att = Tensor::<Cpu, 4>::random([2, 3, 4, 5], Distribution::Uniform(0.0, 1.0), &device);
        let hidden = Tensor::<Cpu, 3>::random([2, 5, 6], Distribution::Default, &device);
        let heads = vec![0i64, 1, 3, 2, 0, 1];
        let tails = vec![1i64, 0, 2, 3, 3, 2];
        let ph = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(heads.clone(), [2, 3]), &device);
        let pt = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(tails.clone(), [2, 3]), &device);
        let out = localized_context(att.clone(), hidden.clone(), &ph, &pt);
        for doc in 0..2 {
            for k in 0..3 {
                let (h, t) = (heads[doc * 3 + k] as usize, tails[doc * 3 + k] as usize);
                let ah = att.clone().slice([doc..doc + 1, 0..3, h..h + 1, 0..5]);
                let at = att.clone().slice([doc..doc + 1, 0..3, t..t + 1, 0..5]);
                let q = (ah * at).mean_dim(1).reshape([1, 5]);
                let w = q.clone().div(q.sum_dim(1).add_scalar(NORM_EPS));
                let c = w.clone().matmul(
                    hidden
                        .clone()
                        .slice([doc..doc + 1, 0..5, 0..6])
                        .reshape([5, 6]),
                );
                let got_w = out
                    .weights
                    .clone()
                    .slice([doc..doc + 1, k..k + 1, 0..5])
                    .reshape([1, 5]);
                let got_c = out
                    .context
                    .clone()
                    .slice([doc..doc + 1, k..k + 1, 0..6])
                    .reshape([1, 6]);
                let dw = (got_w - w).abs().max().into_scalar();
                let dc = (got_c - c).abs().max().into_scalar();
                assert!(dw < 1e-6 && dc < 1e-5, "doc {doc} pair {k}: {dw} {dc}");
            }
        }
    }
}
