//! The ATLOP head (paper Sec. 2.1-2.3): entity pooling -> localized context -> extractors
//! `z = tanh(W [e; c])` (Eq. 3 with the context of Eq. 12) -> bilinear classifier.
//!
//! Field names follow the reference's checkpoint keys (`head_extractor`, `tail_extractor`,
//! `bilinear`), so loading is mechanical.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{backend::Backend, Int, Tensor};

use super::bilinear::{BilinearKind, BilinearLayout, GroupBilinear};
use super::localized_context::localized_context;
use super::pooling::{entity_attention, entity_embeddings, flat_rows, EntityPooling};
use crate::batch::HeadIndex;
use crate::error::AtlopError;
use crate::kernels::linear::linear;
use crate::kernels::tanh::tanh;

#[derive(Config, Debug)]
pub struct AtlopHeadConfig {
    /// The encoder's hidden size.
    pub hidden_size: usize,
    /// Size of `z_s`, `z_o` (768 in the paper, also for RoBERTa-large).
    #[config(default = 768)]
    pub emb_size: usize,
    /// Group size of the group bilinear (64 in the paper).
    #[config(default = 64)]
    pub block_size: usize,
    /// Relation classes including TH / `Na` at 0 (97 for DocRED).
    pub num_classes: usize,
    #[config(default = "EntityPooling::Logsumexp")]
    pub pooling: EntityPooling,
    /// Localized context pooling (Sec. 2.3); off is the "- Context Pooling" ablation.
    #[config(default = true)]
    pub localized_context: bool,
    #[config(default = "BilinearKind::Group")]
    pub bilinear: BilinearKind,
    /// Evaluation order of the bilinear form (same numbers). `OuterProduct` is faster for the
    /// group bilinear on burn-flex (`bench_head`: forward+backward about 2x faster); `Factored`
    /// never builds the `[N, emb * block]` features, which for the plain bilinear (block = emb
    /// = 768) would take 2.4 MB per pair.
    #[config(default = "BilinearLayout::OuterProduct")]
    pub bilinear_layout: BilinearLayout,
}

impl AtlopHeadConfig {
    /// Checks the sizes, then builds the head with PyTorch-style uniform initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<AtlopHead<B>> {
        let bad = |key: &str, message: String| {
            Err(AtlopError::Config {
                source_name: "head".into(),
                key: key.into(),
                message,
            })
        };
        if self.hidden_size == 0 || self.emb_size == 0 {
            return bad(
                "emb_size",
                "hidden_size and emb_size must be positive".into(),
            );
        }
        if self.block_size == 0 || !self.emb_size.is_multiple_of(self.block_size) {
            return bad(
                "block_size",
                format!(
                    "{} does not divide emb_size {}",
                    self.block_size, self.emb_size
                ),
            );
        }
        if self.num_classes < 2 {
            return bad("num_classes", "need TH plus at least one relation".into());
        }
        let extractor_in = if self.localized_context {
            2 * self.hidden_size
        } else {
            self.hidden_size
        };
        let block = match self.bilinear {
            BilinearKind::Group => self.block_size,
            BilinearKind::Plain => self.emb_size,
        };
        Ok(AtlopHead {
            head_extractor: LinearConfig::new(extractor_in, self.emb_size).init(device),
            tail_extractor: LinearConfig::new(extractor_in, self.emb_size).init(device),
            bilinear: GroupBilinear::new(self.emb_size, block, self.num_classes, device),
            pooling: self.pooling,
            localized_context: self.localized_context,
            bilinear_layout: self.bilinear_layout,
        })
    }
}

#[derive(Module, Debug)]
pub struct AtlopHead<B: Backend> {
    pub head_extractor: Linear<B>,
    pub tail_extractor: Linear<B>,
    pub bilinear: GroupBilinear<B>,
    #[module(skip)]
    pub pooling: EntityPooling,
    #[module(skip)]
    pub localized_context: bool,
    #[module(skip)]
    pub bilinear_layout: BilinearLayout,
}

/// What the head computed for a batch; everything but `logits` is for inspection.
#[derive(Debug, Clone)]
pub struct HeadOutput<B: Backend> {
    /// One row per real pair, document-major (see [`crate::batch`]). `[N, C]`
    pub logits: Tensor<B, 2>,
    /// `[b, E, H]`
    pub entity_embeddings: Tensor<B, 3>,
    /// Localized-context weights, the pair's explanation, one row per real pair like
    /// `logits`; `None` with context pooling off. `[N, L]`
    pub pair_weights: Option<Tensor<B, 2>>,
    /// `[N, H]`
    pub pair_context: Option<Tensor<B, 2>>,
}

/// The real pairs' entries of a `[b, P]` pair grid (`pair_head` or `pair_tail`), each plus
/// `doc * doc_stride` for its document `doc`: with `doc_stride = E`, rows of `[b * E, ..]`. `[N]`
fn real_pair_entries<B: Backend>(
    grid: &Tensor<B, 2, Int>,
    index: &HeadIndex<B>,
    doc_stride: usize,
) -> Tensor<B, 1, Int> {
    let [b, p] = grid.dims();
    flat_rows(grid.clone().reshape([b, 1, p]), doc_stride)
        .reshape([b * p])
        .select(0, index.pair_index.clone())
}

impl<B: Backend> AtlopHead<B> {
    /// `hidden [b, L, H]`, `attention [b, heads, L, L]` (last layer; padded keys 0) -> logits.
    /// `attention` is unused when context pooling is off.
    pub fn forward(
        &self,
        hidden: Tensor<B, 3>,
        attention: Tensor<B, 4>,
        index: &HeadIndex<B>,
    ) -> HeadOutput<B> {
        let entities = entity_embeddings(hidden.clone(), index, self.pooling); // [b, E, H]
        let [b, e, h] = entities.dims();
        // The real pairs' entities as rows of `[b * E, H]`: one select per side, so neither the
        // padded `[b, P, H]` grid nor its scatter in the backward pass is ever built.
        let head_rows = real_pair_entries(&index.pair_head, index, e);
        let flat = entities.clone().reshape([b * e, h]);
        let pick = |rows: Tensor<B, 1, Int>| flat.clone().select(0, rows); // [N, H]
        let heads = pick(head_rows.clone());
        let tails = pick(real_pair_entries(&index.pair_tail, index, e));
        let (head_in, tail_in, lop) = if self.localized_context {
            let att = entity_attention(attention, index); // [b, heads, E, L]
                                                          // doc * E^2 + head * E + tail = (doc * E + head) * E + tail
            let codes =
                head_rows.mul_scalar(e as i64) + real_pair_entries(&index.pair_tail, index, 0);
            let lop = localized_context(att, hidden, codes, &index.num_pairs);
            let context = lop.context.clone(); // [N, H]
            let head_in = Tensor::cat(vec![heads, context.clone()], 1); // [N, 2H]
            let tail_in = Tensor::cat(vec![tails, context], 1);
            (head_in, tail_in, Some(lop))
        } else {
            (heads, tails, None)
        };
        let z_head = tanh(linear(&self.head_extractor, head_in)); // [N, emb]
        let z_tail = tanh(linear(&self.tail_extractor, tail_in));
        let logits = self.bilinear.forward(z_head, z_tail, self.bilinear_layout);
        let (pair_weights, pair_context) = match lop {
            Some(l) => (Some(l.weights), Some(l.context)),
            None => (None, None),
        };
        HeadOutput {
            logits,
            entity_embeddings: entities,
            pair_weights,
            pair_context,
        }
    }
}
