//! Mixed precision: where the encoder's matrix products run. burn 0.21 has no autocast, so the
//! encoder does it itself: with [`Precision::Bf16`] both operands of every large product
//! (query/key/value/output projections, attention scores and context, the feed-forward
//! layers) are cast to bfloat16 and the product back to f32. Everything else stays f32: the
//! parameters and their gradients (autodiff casts the gradient back through each cast, so the
//! optimiser updates f32 master weights), LayerNorm, softmax, the head and the loss.
//!
//! bf16 keeps f32's exponent range, so gradients need no loss scaling. f16 would need a
//! gradient scaler (skip steps on overflow, adapt the scale), which burn 0.21 lacks; it is not
//! offered. On the CPU backend bf16 products are emulated and slower than f32: the setting is
//! for GPUs (`--features cuda`), where tensor cores run bf16.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::kernels;

/// The dtype of the encoder's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32 (the reference's setting).
    #[default]
    F32,
    /// Products in bfloat16, f32 everywhere else.
    Bf16,
}

/// The config's spellings (`f32`, `bf16`), taken from the serde names so that the command line
/// and the TOML accept the same words.
impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        use serde::de::{value::Error, IntoDeserializer};
        Self::deserialize(IntoDeserializer::<Error>::into_deserializer(s))
            .map_err(|_| format!("{s:?}: give f32 or bf16"))
    }
}

impl Precision {
    /// `a @ b`, computed in this precision, returned in f32.
    pub fn matmul<B: Backend, const D: usize>(
        self,
        a: Tensor<B, D>,
        b: Tensor<B, D>,
    ) -> Tensor<B, D> {
        match self {
            Precision::F32 => a.matmul(b),
            Precision::Bf16 => a
                .cast(FloatDType::BF16)
                .matmul(b.cast(FloatDType::BF16))
                .cast(FloatDType::F32),
        }
    }

    /// `linear(x)` for `x [batch, len, d_in]`, its product in this precision (bias added in f32).
    ///
    /// In f32 the batch and length are merged first: burn's `linear` on a 3-d input multiplies
    /// each document separately and, in the backward pass, builds one weight gradient per
    /// document and sums them; on `[batch * len, d_in]` both are one product. Same numbers, up
    /// to summation order. On burn-flex the product is the fused [`kernels::linear`].
    pub fn linear<B: Backend>(self, linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Precision::F32 => {
                let [batch, len, d_in] = x.dims();
                let y = kernels::linear::linear(linear, x.reshape([batch * len, d_in]));
                let d_out = y.dims()[1];
                y.reshape([batch, len, d_out])
            }
            Precision::Bf16 => {
                let y = self.matmul(x, linear.weight.val().unsqueeze::<3>());
                match &linear.bias {
                    Some(bias) => y + bias.val().unsqueeze::<3>(),
                    None => y,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::nn::LinearConfig;
    use burn::tensor::{DType, Distribution};

    #[test]
    fn the_command_line_takes_the_config_spellings() {
        assert_eq!("f32".parse::<Precision>(), Ok(Precision::F32));
        assert_eq!("bf16".parse::<Precision>(), Ok(Precision::Bf16));
        let err = "fp16".parse::<Precision>().unwrap_err();
        assert!(err.contains("give f32 or bf16"), "{err}");
    }

    #[test]
    fn bf16_products_are_close_to_f32_and_come_back_as_f32() {
        let device = Default::default();
        let linear = LinearConfig::new(64, 32).init::<Cpu>(&device);
        let x = Tensor::<Cpu, 3>::random([2, 5, 64], Distribution::Normal(0.0, 1.0), &device);
        let exact = Precision::F32.linear(&linear, x.clone());
        let mixed = Precision::Bf16.linear(&linear, x);
        assert_eq!(mixed.dtype(), DType::F32);
        assert_eq!(mixed.dims(), exact.dims());
        let scale = exact.clone().abs().max().into_scalar();
        let err = (mixed - exact).abs().max().into_scalar();
        // bf16 has an 8-bit mantissa: relative error about 2^-8 per operand.
        assert!(err > 0.0, "bf16 changed nothing: was it applied?");
        assert!(err < 0.03 * scale, "error {err} vs scale {scale}");
    }

    #[test]
    fn a_bf16_encoder_tracks_f32_and_trains_f32_master_weights() {
        use crate::backend::CpuAutodiff;
        use crate::encoder::{BertModel, EncoderConfig, ModelType, SpecialTokens};
        use burn::tensor::Int;

        let config = EncoderConfig {
            model_type: ModelType::Bert,
            vocab_size: 50,
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            hidden_act: "gelu".into(),
            hidden_dropout_prob: 0.0,
            attention_probs_dropout_prob: 0.0,
            max_position_embeddings: 64,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: "absolute".into(),
        };
        let special = SpecialTokens {
            cls: 1,
            sep: 2,
            pad: 0,
        };
        let device = Default::default();
        let exact = BertModel::<CpuAutodiff>::init_random(&config, special, &device);
        let ids = Tensor::<CpuAutodiff, 2, Int>::from_ints([[1, 7, 9, 11, 2, 0]], &device);
        let mask = Tensor::<CpuAutodiff, 2, Int>::from_ints([[1, 1, 1, 1, 1, 0]], &device);
        let a = exact.forward(ids.clone(), mask.clone()).hidden;
        // Cloned only now: burn initialises random parameters lazily, on first use, so a clone
        // taken earlier would draw weights of its own.
        let mixed = exact.clone().with_precision(Precision::Bf16);
        let b = mixed.forward(ids, mask).hidden;
        assert_eq!(b.dtype(), DType::F32);
        let err = (a - b.clone()).abs().max().into_scalar();
        // LayerNorm keeps hidden states near unit scale.
        assert!(err > 0.0 && err < 0.05, "max abs difference {err}");

        // A random projection: the plain sum of LayerNorm outputs has zero gradient.
        let r = Tensor::<CpuAutodiff, 3>::random(b.dims(), Distribution::Normal(0.0, 1.0), &device);
        let grads = (b * r).sum().backward();
        let w = &mixed.encoder.layer[0].attention.self_attention.query.weight;
        let g = w.grad(&grads).expect("the query weight has a gradient");
        assert_eq!(g.dtype(), DType::F32);
        assert!(g.abs().sum().into_scalar() > 0.0);
        // The parameters themselves stay f32: the optimiser updates f32 master weights.
        let dtypes: Vec<DType> = mixed
            .encoder
            .layer
            .iter()
            .map(|l| l.intermediate.dense.weight.val().dtype())
            .collect();
        assert!(dtypes.iter().all(|d| *d == DType::F32), "{dtypes:?}");
    }
}
