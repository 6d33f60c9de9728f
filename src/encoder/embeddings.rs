//! The input embeddings of BERT and RoBERTa (Devlin et al. 2019, Sec. 3): word + position +
//! token type, then LayerNorm and dropout. Mirrors `transformers` `BertEmbeddings` /
//! `RobertaEmbeddings`; field names are the checkpoint keys (`embeddings.word_embeddings.weight`,
//! `embeddings.LayerNorm.weight` -> `layer_norm.gamma`, see [`crate::encoder::weights`]).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::encoder::config::{EncoderConfig, ModelType};
use crate::encoder::dropout::dropout;
use crate::kernels::embedding::embedding;
use crate::kernels::layer_norm::layer_norm;

/// `BertEmbeddings` (also RoBERTa's, which differs only in how positions are numbered).
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    pub word_embeddings: Embedding<B>,
    pub position_embeddings: Embedding<B>,
    pub token_type_embeddings: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
    /// `layer_norm`'s epsilon, which burn keeps private; the fused kernel needs it.
    #[module(skip)]
    pub layer_norm_eps: f64,
    pub dropout: Dropout,
    model_type: ModelType,
    pad_token_id: usize,
}

impl<B: Backend> BertEmbeddings<B> {
    pub fn init(config: &EncoderConfig, device: &B::Device) -> Self {
        let hidden = config.hidden_size;
        Self {
            word_embeddings: EmbeddingConfig::new(config.vocab_size, hidden).init(device),
            position_embeddings: EmbeddingConfig::new(config.max_position_embeddings, hidden)
                .init(device),
            token_type_embeddings: EmbeddingConfig::new(config.type_vocab_size, hidden)
                .init(device),
            layer_norm: LayerNormConfig::new(hidden)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            layer_norm_eps: config.layer_norm_eps,
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            model_type: config.model_type,
            pad_token_id: config.pad_token_id,
        }
    }

    /// `input_ids`, `attention_mask` (1 = real token): [batch, len] -> [batch, len, hidden].
    /// Token type ids are all 0 (ATLOP encodes one segment).
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, len] = input_ids.dims();
        let device = input_ids.device();
        let positions = match self.model_type {
            // 0..len, the same for every row.
            ModelType::Bert => Tensor::<B, 1, Int>::arange(0..len as i64, &device)
                .unsqueeze::<2>()
                .expand([batch, len]),
            // `create_position_ids_from_input_ids`: real tokens count up from pad + 1, padding
            // keeps the pad index.
            ModelType::Roberta => (attention_mask.clone().cumsum(1) * attention_mask)
                .add_scalar(self.pad_token_id as i64),
        };
        // `kernels::embedding` on burn-flex: the word table's dense gradient built in parallel.
        let words = embedding(&self.word_embeddings, input_ids); // [batch, len, hidden]
        let positions = embedding(&self.position_embeddings, positions); // [batch, len, hidden]
        let hidden = words.dims()[2];
        let token_type = self
            .token_type_embeddings
            .weight
            .val()
            .narrow(0, 0, 1)
            .reshape([1, 1, hidden]); // [1, 1, hidden]: type id 0
        let embeddings = words + positions + token_type;
        dropout(
            &self.dropout,
            layer_norm(&self.layer_norm, self.layer_norm_eps, embeddings),
        )
    }
}
