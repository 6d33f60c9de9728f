//! The whole ATLOP model (paper Sec. 2): a pre-trained encoder, then the head, built from its
//! own [`AtlopModelConfig`] (a run's config builds one: `RunConfig::model_config`). One
//! `forward` serves training (burn-train's step, in [`crate::train::step`]) and inference (the
//! `evaluate` and `predict` commands), so the two can never compute different things. This
//! module knows nothing of burn-train or of the run configuration.

use std::path::Path;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::head::{AtlopHead, AtlopHeadConfig, HeadOutput};
use super::loss::LossKind;
use crate::batch::AtlopBatch;
use crate::encoder::{BertModel, EncoderConfig, Precision, SpecialTokens};
use crate::error::{AtlopError, Result};

/// Everything the model's construction needs beyond the encoder folder.
#[derive(Debug, Clone)]
pub struct AtlopModelConfig {
    /// The head's switches and sizes; `hidden_size` is replaced by the encoder's.
    pub head: AtlopHeadConfig,
    pub loss: LossKind,
    /// Encoder dropout (hidden and attention); `None` keeps the checkpoint's `config.json`.
    pub dropout: Option<f64>,
    /// Dtype of the encoder's matrix products.
    pub precision: Precision,
    /// Seeds the head's initialisation.
    pub seed: u64,
    /// The longest input the features hold (start and end tokens included).
    pub max_len: usize,
}

/// Encoder + head. Field names are the reference's module names (`model`, here `encoder`, and
/// the head's extractors and bilinear).
#[derive(Module, Debug)]
pub struct AtlopModel<B: Backend> {
    pub encoder: BertModel<B>,
    pub head: AtlopHead<B>,
    #[module(skip)]
    pub loss: LossKind,
}

impl<B: Backend> AtlopModel<B> {
    /// Builds the model for a run: the encoder's architecture from `encoder_dir/config.json`
    /// (dropout replaced by the run's when it sets one), the head from the run config,
    /// initialised with the run's seed. With `load_weights`, the encoder's pre-trained weights
    /// are read from the folder (training); without, they come from a checkpoint later
    /// (evaluation of a run folder).
    pub fn init(
        config: &AtlopModelConfig,
        encoder_dir: &Path,
        load_weights: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let mut encoder_config = EncoderConfig::load(&encoder_dir.join("config.json"))?;
        if let Some(p) = config.dropout {
            encoder_config.hidden_dropout_prob = p;
            encoder_config.attention_probs_dropout_prob = p;
        }
        // Two windows of the encoder's positions cover at most twice its length (Sec. 3.1: 1024
        // tokens for BERT's 512); a longer input would lose its middle and allocate quadratic
        // attention over the whole document.
        let limit = 2 * encoder_config.max_len();
        if config.max_len > limit {
            return Err(AtlopError::Config {
                source_name: encoder_dir.join("config.json").display().to_string(),
                key: "data.max_len".into(),
                message: format!(
                    "{} tokens exceed the {limit} that two windows of this encoder's {} \
                     positions cover",
                    config.max_len,
                    encoder_config.max_len()
                ),
            });
        }
        let special = SpecialTokens::from_dir(encoder_dir, &encoder_config)?;
        B::seed(device, config.seed);
        let mut encoder = BertModel::init_random(&encoder_config, special, device)
            .with_precision(config.precision);
        if load_weights {
            // What was loaded and which checkpoint tensors (pooler, MLM head) were left unused.
            let report = crate::encoder::weights::load_weights(&mut encoder, encoder_dir)?;
            eprintln!("encoder weights: {report}");
        }
        let head = AtlopHeadConfig {
            hidden_size: encoder.hidden_size(),
            ..config.head.clone()
        }
        .init(device)?;
        Ok(Self {
            encoder,
            head,
            loss: config.loss,
        })
    }

    /// Encoder then head: logits `[N, C]` for the batch's real pairs, document-major.
    pub fn forward(&self, batch: &AtlopBatch<B>) -> HeadOutput<B> {
        let encoded = self.encoder.encode(batch.input_ids.clone(), &batch.lengths);
        self.head
            .forward(encoded.hidden, encoded.attention, &batch.index)
    }

    /// Forward pass and the configured loss (Eq. 6-7 or BCE): (`[1]` loss, `[N, C]` logits).
    pub fn forward_loss(&self, batch: &AtlopBatch<B>) -> (Tensor<B, 1>, Tensor<B, 2>) {
        let logits = self.forward(batch).logits; // [N, C]
        let loss = self.loss.compute(logits.clone(), batch.labels.clone());
        (loss, logits)
    }
}
