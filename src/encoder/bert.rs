//! `BertModel` (also RoBERTa's `RobertaModel`, which differs only in position numbering and
//! special tokens, see [`ModelType`]): embeddings, then the layer stack, returning the last hidden
//! states and the last layer's attention probabilities ATLOP needs (Zhou et al. 2021, Sec. 2.1
//! and 2.3). No pooler: ATLOP never uses it, and its checkpoint tensors are reported as unused.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::encoder::config::{EncoderConfig, ModelType};
use crate::encoder::embeddings::BertEmbeddings;
use crate::encoder::layer::BertEncoder;
use crate::encoder::precision::Precision;
use crate::encoder::special_tokens::SpecialTokens;
use crate::encoder::token_rows::TokenRows;

/// What the encoder gives the relation-extraction head.
#[derive(Debug, Clone)]
pub struct EncoderOutput<B: Backend> {
    /// Last hidden states, [batch, len, hidden]; rows of padded positions are 0.
    pub hidden: Tensor<B, 3>,
    /// Last layer's attention probabilities, [batch, heads, len, len]; columns of padded keys
    /// are 0, rows of padded queries unspecified.
    pub attention: Tensor<B, 4>,
}

/// Score added to padded keys before the softmax: their probability underflows to exactly 0.
const MASKED_SCORE: f32 = -1e30;

/// `BertModel` without pooler. Field paths equal the checkpoint keys (`embeddings.*`,
/// `encoder.layer.N.*`).
#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    pub embeddings: BertEmbeddings<B>,
    pub encoder: BertEncoder<B>,
    config: EncoderConfig,
    special: SpecialTokens,
}

impl<B: Backend> BertModel<B> {
    /// A randomly initialised encoder of the given shape (benchmarks, tests). Weights follow
    /// burn's default initialisers, not BERT's N(0, 0.02).
    pub fn init_random(config: &EncoderConfig, special: SpecialTokens, device: &B::Device) -> Self {
        Self {
            embeddings: BertEmbeddings::init(config, device),
            encoder: BertEncoder::init(config, device),
            config: config.clone(),
            special,
        }
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    pub fn special_tokens(&self) -> SpecialTokens {
        self.special
    }

    /// The same encoder with its matrix products in `precision` (see [`Precision`]).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        for layer in &mut self.encoder.layer {
            layer.attention.self_attention.precision = precision;
            layer.attention.output.precision = precision;
            layer.intermediate.precision = precision;
            layer.output.precision = precision;
        }
        self
    }

    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    pub fn num_heads(&self) -> usize {
        self.config.num_attention_heads
    }

    pub fn model_type(&self) -> ModelType {
        self.config.model_type
    }

    /// One pass over inputs no longer than [`EncoderConfig::max_len`]; use
    /// [`BertModel::encode`] for documents of any length.
    /// `input_ids`, `attention_mask` (1 = real token, 0 = padding): [batch, len].
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> EncoderOutput<B> {
        let [batch, len] = input_ids.dims();
        let device = input_ids.device();
        let key_bias = key_bias(attention_mask.clone());
        let rows = TokenRows::from_mask(&attention_mask);
        let embedded = self.embeddings.forward(input_ids, attention_mask);
        let (hidden, attention) = self.encoder.forward(embedded, key_bias, &rows);
        let heads = self.config.num_attention_heads;
        let attention =
            attention.unwrap_or_else(|| Tensor::zeros([batch, heads, len, len], &device));
        EncoderOutput { hidden, attention }
    }
}

/// Attention mask [batch, len] (1 = real token) -> score bias [batch, 1, 1, len]: 0 for real keys,
/// a large negative number for padded ones.
pub fn key_bias<B: Backend>(attention_mask: Tensor<B, 2, Int>) -> Tensor<B, 4> {
    let [batch, len] = attention_mask.dims();
    Tensor::<B, 2>::zeros([batch, len], &attention_mask.device())
        .mask_fill(attention_mask.equal_elem(0), MASKED_SCORE)
        .reshape([batch, 1, 1, len])
}
