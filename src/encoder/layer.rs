//! One transformer layer and the layer stack (`transformers` `BertIntermediate`, `BertOutput`,
//! `BertLayer`, `BertEncoder`): attention, then a position-wise feed-forward block with exact
//! (erf) GELU, each followed by dropout, a residual and a post-LayerNorm.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::encoder::attention::BertAttention;
use crate::encoder::config::EncoderConfig;
use crate::encoder::dropout::dropout;
use crate::encoder::precision::Precision;
use crate::encoder::token_rows::TokenRows;
use crate::kernels::gelu::gelu;
use crate::kernels::layer_norm::layer_norm;

/// `BertIntermediate`: hidden -> intermediate, GELU.
#[derive(Module, Debug)]
pub struct BertIntermediate<B: Backend> {
    pub dense: Linear<B>,
    #[module(skip)]
    pub precision: Precision,
}

impl<B: Backend> BertIntermediate<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        Self {
            dense: LinearConfig::new(config.hidden_size, config.intermediate_size).init(device),
            precision: Precision::F32,
        }
    }

    /// `[rows, positions, hidden]` -> `[rows, positions, intermediate]`
    pub fn forward(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        gelu(self.precision.linear(&self.dense, hidden))
    }
}

/// `BertOutput`: intermediate -> hidden, dropout, residual, post-LayerNorm.
#[derive(Module, Debug)]
pub struct BertOutput<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    /// `layer_norm`'s epsilon, which burn keeps private; the fused kernel needs it.
    #[module(skip)]
    pub layer_norm_eps: f64,
    pub dropout: Dropout,
    #[module(skip)]
    pub precision: Precision,
}

impl<B: Backend> BertOutput<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        Self {
            dense: LinearConfig::new(config.intermediate_size, config.hidden_size).init(device),
            layer_norm: LayerNormConfig::new(config.hidden_size)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            layer_norm_eps: config.layer_norm_eps,
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            precision: Precision::F32,
        }
    }

    /// (`[rows, positions, intermediate]`, residual `[rows, positions, hidden]`) -> the residual's shape
    pub fn forward(&self, intermediate: Tensor<B, 3>, input: Tensor<B, 3>) -> Tensor<B, 3> {
        let projected = dropout(
            &self.dropout,
            self.precision.linear(&self.dense, intermediate),
        );
        layer_norm(&self.layer_norm, self.layer_norm_eps, projected + input)
    }
}

/// `BertLayer`.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    pub attention: BertAttention<B>,
    pub intermediate: BertIntermediate<B>,
    pub output: BertOutput<B>,
}

impl<B: Backend> BertLayer<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        Self {
            attention: BertAttention::init(config, device),
            intermediate: BertIntermediate::init(config, device),
            output: BertOutput::init(config, device),
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
        let (attended, probs) = self.attention.forward(hidden, key_bias, rows, keep_probs);
        let out = self
            .output
            .forward(self.intermediate.forward(attended.clone()), attended);
        (out, probs)
    }
}

/// `BertEncoder`: the stack of layers (`encoder.layer.N.*`).
#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    pub layer: Vec<BertLayer<B>>,
}

impl<B: Backend> BertEncoder<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        Self {
            layer: (0..config.num_hidden_layers)
                .map(|_| BertLayer::init(config, device))
                .collect(),
        }
    }

    /// Runs every layer; keeps only the last layer's attention probabilities, the ones ATLOP
    /// pools (Zhou et al. 2021, Sec. 2.3, Eq. 10); earlier layers do not return theirs (on burn-flex they
    /// never exist as tensors: the fused kernel keeps only what its backward needs).
    /// `hidden` [batch, len, hidden]; every position-wise layer runs on the real rows only
    /// (`rows`, see [`TokenRows`]).
    /// Returns ([batch, len, hidden] with zeros at padded positions, [batch, heads, len, len]);
    /// `None` for an empty stack.
    pub fn forward(
        &self,
        hidden: Tensor<B, 3>,
        key_bias: Tensor<B, 4>,
        rows: &TokenRows<B>,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let mut hidden = rows.pack(hidden);
        let mut last = None;
        for (index, layer) in self.layer.iter().enumerate() {
            let keep_probs = index + 1 == self.layer.len();
            let (next, probs) = layer.forward(hidden, key_bias.clone(), rows, keep_probs);
            hidden = next;
            last = probs;
        }
        (rows.unpack(hidden), last)
    }
}
