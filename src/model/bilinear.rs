//! The pair classifier: group bilinear (paper Sec. 2.1, Eq. 5) or the plain bilinear of Eq. 4
//! that the "- Group Bilinear" ablation (Table 5) uses.
//!
//! Eq. 5 splits `z_s`, `z_o` into `k = emb / block` groups and scores
//! `sum_i z_s^i^T W_r^i z_o^i + b_r`: the same as one Linear over the flattened per-group outer
//! products (`emb * block` features), which is how the reference stores the weights. The plain
//! bilinear `z_s^T W_r z_o + b_r` (W_r of `emb x emb`) is the one-group case, `block = emb`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{backend::Backend, Tensor};

use crate::kernels::bilinear::fused_logits;

/// Which bilinear classifier the head uses. The config file's `model.bilinear` (`"group"` /
/// `"plain"`) is this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BilinearKind {
    /// Eq. 5 with `emb / block_size` groups.
    Group,
    /// Eq. 4: one full `emb x emb` matrix per class (`emb^2` features; large).
    Plain,
}

/// How the bilinear form is evaluated; both give the same logits.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum BilinearLayout {
    /// Materialise the `[N, emb * block]` outer-product features, then one matmul to classes.
    OuterProduct,
    /// Per group, `z_s^g W_g` as `[g, N, block] x [g, block, block * C]`, then a dot with
    /// `z_o^g`: never builds the outer products.
    Factored,
}

/// `bilinear`: Linear from `emb * block` features to the classes, PyTorch key `bilinear`.
#[derive(Module, Debug)]
pub struct GroupBilinear<B: Backend> {
    pub bilinear: Linear<B>,
    pub emb_size: usize,
    pub block_size: usize,
}

impl<B: Backend> GroupBilinear<B> {
    /// `block_size = emb_size` gives the plain bilinear.
    pub fn new(emb_size: usize, block_size: usize, num_classes: usize, device: &B::Device) -> Self {
        Self {
            bilinear: LinearConfig::new(emb_size * block_size, num_classes).init(device),
            emb_size,
            block_size,
        }
    }

    fn groups(&self) -> usize {
        self.emb_size / self.block_size
    }

    /// `z_head`, `z_tail [N, emb]` -> logits `[N, C]`.
    pub fn forward(
        &self,
        z_head: Tensor<B, 2>,
        z_tail: Tensor<B, 2>,
        layout: BilinearLayout,
    ) -> Tensor<B, 2> {
        match layout {
            BilinearLayout::OuterProduct => self.forward_outer(z_head, z_tail),
            BilinearLayout::Factored => self.forward_factored(z_head, z_tail),
        }
    }

    fn forward_outer(&self, z_head: Tensor<B, 2>, z_tail: Tensor<B, 2>) -> Tensor<B, 2> {
        // On burn-flex, one fused op computes this in chunks of pairs (same numbers).
        if let Some(bias) = &self.bilinear.bias {
            let params = (&self.bilinear.weight.val(), &bias.val());
            let fused = fused_logits((&z_head, &z_tail), params, self.block_size);
            if let Some(logits) = fused {
                return logits;
            }
        }
        let [n, _] = z_head.dims();
        let (g, k) = (self.groups(), self.block_size);
        let zh = z_head.reshape([n * g, k, 1]);
        let zt = z_tail.reshape([n * g, 1, k]);
        // Outer products as a batched matmul: burn-flex runs it about 4x faster than a
        // broadcast multiply. Flattened (group, head index, tail index): the reference's order.
        let features = zh.matmul(zt).reshape([n, g * k * k]); // [N, emb * block]
        self.bilinear.forward(features)
    }

    fn forward_factored(&self, z_head: Tensor<B, 2>, z_tail: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, _] = z_head.dims();
        let (g, k) = (self.groups(), self.block_size);
        let c = self.bilinear.weight.dims()[1];
        // burn stores the weight [d_in, d_out] = [(g, i, j), C] -> [g, i, j * C].
        let w = self.bilinear.weight.val().reshape([g, k, k * c]);
        // zh: [g, N, i]; zt: [g * N, 1, j]; t: [g * N, j, C].
        let zh = z_head.reshape([n, g, k]).swap_dims(0, 1);
        let zt = z_tail
            .reshape([n, g, k])
            .swap_dims(0, 1)
            .reshape([g * n, 1, k]);
        let t = zh.matmul(w).reshape([g * n, k, c]);
        // The sum over j as a batched matmul, not a broadcast multiply and a sum: one pass over
        // `t` (N x emb x C values: ~280 MB for 4 documents with the plain bilinear) instead of
        // three, forward and backward.
        let logits = zt.matmul(t).reshape([g, n, c]).sum_dim(0).reshape([n, c]); // [N, C]
        match &self.bilinear.bias {
            Some(bias) => logits + bias.val().reshape([1, c]),
            None => logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::Distribution;

    #[test]
    fn layouts_agree_and_match_the_per_group_bilinear_form() {
        let device = Default::default();
        let (n, emb, block, classes) = (5, 8, 4, 3);
        let bl = GroupBilinear::<Cpu>::new(emb, block, classes, &device);
        let zh = Tensor::<Cpu, 2>::random([n, emb], Distribution::Default, &device);
        let zt = Tensor::<Cpu, 2>::random([n, emb], Distribution::Default, &device);
        let outer = bl.forward(zh.clone(), zt.clone(), BilinearLayout::OuterProduct);
        let fact = bl.forward(zh.clone(), zt.clone(), BilinearLayout::Factored);
        assert!((outer.clone() - fact).abs().max().into_scalar() < 1e-5);
        // Eq. 5 written out for pair 0, class 1.
        let w = bl.bilinear.weight.val().to_data().to_vec::<f32>().unwrap();
        let b = bl
            .bilinear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .to_data()
            .to_vec::<f32>()
            .unwrap();
        let h = zh.to_data().to_vec::<f32>().unwrap();
        let t = zt.to_data().to_vec::<f32>().unwrap();
        let mut score = b[1];
        for g in 0..emb / block {
            for i in 0..block {
                for j in 0..block {
                    let row = (g * block + i) * block + j;
                    score += h[g * block + i] * w[row * classes + 1] * t[g * block + j];
                }
            }
        }
        let got = outer.to_data().to_vec::<f32>().unwrap()[1];
        assert!((got - score).abs() < 1e-4, "{got} vs {score}");
    }
}
