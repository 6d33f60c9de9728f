//! Multi-head self-attention as BERT and RoBERTa compute it (Vaswani et al. 2017, Eq. 1;
//! `transformers` `BertSelfAttention`, eager implementation). Written here rather than taken from
//! burn's `MultiHeadAttention`, which drops out scores before the softmax: BERT drops out the
//! probabilities after it, and ATLOP's localized context pooling (Zhou et al. 2021, Sec. 2.3)
//! reads those probabilities.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::encoder::config::EncoderConfig;
use crate::encoder::dropout::{draw_seed, dropout};
use crate::encoder::precision::Precision;
use crate::encoder::token_rows::TokenRows;
use crate::kernels::attention::fused_context;
use crate::kernels::attention_probs::fused_context_and_probs;
use crate::kernels::heads::{AttentionDropout, Qkv, RowLayout};
use crate::kernels::layer_norm::layer_norm;
use crate::kernels::{fused_backend, Kernel};

/// `BertSelfAttention`: scaled dot-product attention over all heads.
#[derive(Module, Debug)]
pub struct BertSelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub dropout: Dropout,
    num_heads: usize,
    #[module(skip)]
    pub precision: Precision,
}

impl<B: Backend> BertSelfAttention<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        let h = config.hidden_size;
        Self {
            query: LinearConfig::new(h, h).init(device),
            key: LinearConfig::new(h, h).init(device),
            value: LinearConfig::new(h, h).init(device),
            dropout: DropoutConfig::new(config.attention_probs_dropout_prob).init(),
            num_heads: config.num_attention_heads,
            precision: Precision::F32,
        }
    }

    /// `hidden`: the real rows, packed by `rows` ([`TokenRows`]); `key_bias` [batch, 1, 1, len]
    /// (0 for real keys, a large negative number for padded ones, so they get probability 0).
    /// Returns the context, packed like `hidden`, and, when `keep_probs`, the attention
    /// probabilities [batch, heads, len, len] after dropout, as `transformers` returns them.
    /// The projections run on the packed rows. On burn-flex in f32, fused kernels compute the
    /// attention per (document, head) straight from the packed rows
    /// ([`crate::kernels::attention`] without the probabilities,
    /// [`crate::kernels::attention_probs`] with them); elsewhere the rows go back to the padded
    /// grid for the composite ops, and their context is packed again.
    pub fn forward(
        &self,
        hidden: Tensor<B, 3>,
        key_bias: Tensor<B, 4>,
        rows: &TokenRows<B>,
        keep_probs: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let p = self.precision;
        let qkv = (
            p.linear(&self.query, hidden.clone()),
            p.linear(&self.key, hidden.clone()),
            p.linear(&self.value, hidden),
        );
        let qkv = if p == Precision::F32 && fused_backend::<B>(Kernel::Attention) {
            match self.fused(qkv, &key_bias, rows, keep_probs) {
                Ok(out) => return out,
                Err(qkv) => qkv,
            }
        } else {
            qkv
        };
        let (q, k, v) = qkv;
        let padded = (rows.unpack(q), rows.unpack(k), rows.unpack(v));
        let (context, probs) = self.composite(padded, key_bias);
        (rows.pack(context), keep_probs.then_some(probs))
    }

    /// The fused kernels on the rows as `rows` lays them out; the projections come back when
    /// the kernels decline (another backend, a mask whose padding is not at the end).
    #[allow(clippy::type_complexity)]
    fn fused(
        &self,
        qkv: Qkv<B>,
        key_bias: &Tensor<B, 4>,
        rows: &TokenRows<B>,
        keep_probs: bool,
    ) -> Result<(Tensor<B, 3>, Option<Tensor<B, 4>>), Qkv<B>> {
        let device = qkv.0.device();
        let dropout =
            (B::ad_enabled(&device) && self.dropout.prob > 0.0).then(|| AttentionDropout {
                seed: draw_seed::<B>(&device),
                prob: self.dropout.prob,
            });
        let layout = if rows.is_packed() {
            RowLayout::Packed
        } else {
            RowLayout::Padded
        };
        let heads = (self.num_heads, layout);
        if keep_probs {
            let (context, probs) = fused_context_and_probs(qkv, key_bias, heads, dropout)?;
            return Ok((context, Some(probs)));
        }
        Ok((fused_context(qkv, key_bias, heads, dropout)?, None))
    }

    /// Attention op by op: heads split, scores, softmax, dropout, context, heads merged.
    fn composite(&self, (q, k, v): Qkv<B>, key_bias: Tensor<B, 4>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let [batch, len, width] = q.dims();
        let head_dim = width / self.num_heads;
        // [batch, len, hidden] -> [batch, heads, len, head_dim]
        let split = |x: Tensor<B, 3>| {
            x.reshape([batch, len, self.num_heads, head_dim])
                .swap_dims(1, 2)
        };
        // Scaling the queries instead of the scores touches `len / head_dim` times fewer values.
        let p = self.precision;
        let q = split(q).div_scalar((head_dim as f64).sqrt());
        let scores = p.matmul(q, split(k).swap_dims(2, 3)); // [batch, heads, len, len]
        let probs = dropout(&self.dropout, softmax(scores + key_bias, 3));
        let context = p
            .matmul(probs.clone(), split(v)) // [batch, heads, len, head_dim]
            .swap_dims(1, 2)
            .reshape([batch, len, width]);
        (context, probs)
    }
}

/// `BertSelfOutput`: projection, dropout, residual, post-LayerNorm.
#[derive(Module, Debug)]
pub struct BertSelfOutput<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    /// `layer_norm`'s epsilon, which burn keeps private; the fused kernel needs it.
    #[module(skip)]
    pub layer_norm_eps: f64,
    pub dropout: Dropout,
    #[module(skip)]
    pub precision: Precision,
}

impl<B: Backend> BertSelfOutput<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        let h = config.hidden_size;
        Self {
            dense: LinearConfig::new(h, h).init(device),
            layer_norm: LayerNormConfig::new(h)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            layer_norm_eps: config.layer_norm_eps,
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            precision: Precision::F32,
        }
    }

    /// (context, residual), both `[rows, positions, hidden]` of the same shape -> that shape
    pub fn forward(&self, context: Tensor<B, 3>, input: Tensor<B, 3>) -> Tensor<B, 3> {
        let projected = dropout(&self.dropout, self.precision.linear(&self.dense, context));
        layer_norm(&self.layer_norm, self.layer_norm_eps, projected + input)
    }
}

/// `BertAttention`: self-attention plus its output block. The checkpoint calls the first part
/// `attention.self`, a Rust keyword, hence the field `self_attention` (remapped on load).
#[derive(Module, Debug)]
pub struct BertAttention<B: Backend> {
    pub self_attention: BertSelfAttention<B>,
    pub output: BertSelfOutput<B>,
}

impl<B: Backend> BertAttention<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        Self {
            self_attention: BertSelfAttention::init(config, device),
            output: BertSelfOutput::init(config, device),
        }
    }

    /// Packed rows ([`TokenRows`]) -> (packed rows, probabilities [batch, heads, len, len]
    /// when `keep_probs`)
    pub fn forward(
        &self,
        hidden: Tensor<B, 3>,
        key_bias: Tensor<B, 4>,
        rows: &TokenRows<B>,
        keep_probs: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let (context, probs) =
            self.self_attention
                .forward(hidden.clone(), key_bias, rows, keep_probs);
        (self.output.forward(context, hidden), probs)
    }
}
