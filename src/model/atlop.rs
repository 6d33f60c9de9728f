//! The whole ATLOP model (paper Sec. 2): a pre-trained encoder, then the head. One `forward`
//! serves training (burn-train's [`TrainStep`]) and inference ([`InferenceStep`], and the
//! `evaluate` command), so the two can never compute different things.

use std::path::Path;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ElementConversion;
use burn::train::metric::{Adaptor, ItemLazy};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use super::head::{AtlopHead, HeadOutput};
use super::loss::LossKind;
use crate::batch::AtlopBatch;
use crate::config::RunConfig;
use crate::encoder::{BertModel, EncoderConfig, SpecialTokens};
use crate::error::{AtlopError, Result};

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
        config: &RunConfig,
        encoder_dir: &Path,
        num_classes: usize,
        load_weights: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let mut encoder_config = EncoderConfig::load(&encoder_dir.join("config.json"))?;
        if let Some(p) = config.training.dropout {
            encoder_config.hidden_dropout_prob = p;
            encoder_config.attention_probs_dropout_prob = p;
        }
        // Two windows of the encoder's positions cover at most twice its length (Sec. 3.1: 1024
        // tokens for BERT's 512); a longer input would lose its middle and allocate quadratic
        // attention over the whole document.
        let limit = 2 * encoder_config.max_len();
        if config.data.max_len > limit {
            return Err(AtlopError::Config {
                source_name: encoder_dir.join("config.json").display().to_string(),
                key: "data.max_len".into(),
                message: format!(
                    "{} tokens exceed the {limit} that two windows of this encoder's {} \
                     positions cover",
                    config.data.max_len,
                    encoder_config.max_len()
                ),
            });
        }
        let special = SpecialTokens::from_dir(encoder_dir, &encoder_config)?;
        B::seed(device, config.training.seed);
        let mut encoder = BertModel::init_random(&encoder_config, special, device)
            .with_precision(config.training.precision);
        if load_weights {
            // What was loaded and which checkpoint tensors (pooler, MLM head) were left unused.
            let report = crate::encoder::weights::load_weights(&mut encoder, encoder_dir)?;
            eprintln!("encoder weights: {report}");
        }
        let head = config
            .head_config(encoder.hidden_size(), num_classes)
            .init(device)?;
        Ok(Self {
            encoder,
            head,
            loss: config.loss(),
        })
    }

    /// Encoder then head: logits `[N, C]` for the batch's real pairs, document-major.
    pub fn forward(&self, batch: &AtlopBatch<B>) -> HeadOutput<B> {
        let encoded = self.encoder.encode(batch.input_ids.clone(), &batch.lengths);
        self.head
            .forward(encoded.hidden, encoded.attention, &batch.index)
    }

    /// Forward pass and the configured loss (Eq. 6-7 or BCE).
    fn forward_step(&self, batch: AtlopBatch<B>, keep_logits: bool) -> AtlopOutput<B> {
        let logits = self.forward(&batch).logits; // [N, C]
        let loss = self.loss.compute(logits.clone(), batch.labels.clone());
        AtlopOutput {
            loss,
            logits: keep_logits.then_some(logits),
            doc_indices: batch.doc_indices,
            num_pairs: batch.index.num_pairs,
            tokens: batch.lengths.iter().sum(),
        }
    }
}

/// What one step hands to burn-train's metrics: the loss, and on validation the logits.
#[derive(Debug)]
pub struct AtlopOutput<B: Backend> {
    /// `[1]`
    pub loss: burn::tensor::Tensor<B, 1>,
    /// `[N, C]`; only kept for validation, where the whole dev set is scored at once.
    pub logits: Option<burn::tensor::Tensor<B, 2>>,
    pub doc_indices: Vec<usize>,
    pub num_pairs: Vec<usize>,
    /// Real tokens in the batch (for tokens/s).
    pub tokens: usize,
}

/// [`AtlopOutput`] read back from the device, shared by every metric (the logits behind an
/// `Arc`, so each metric's copy is cheap).
#[derive(Debug, Clone)]
pub struct StepItem {
    pub loss: f64,
    /// Row-major `[N, C]` logits, `C` = `num_classes`.
    pub logits: Option<Arc<Vec<f32>>>,
    pub num_classes: usize,
    pub doc_indices: Vec<usize>,
    pub num_pairs: Vec<usize>,
    pub tokens: usize,
}

impl<B: Backend> ItemLazy for AtlopOutput<B> {
    type ItemSync = StepItem;

    fn sync(self) -> StepItem {
        let (logits, num_classes) = match self.logits {
            Some(l) => {
                let [_, c] = l.dims();
                (l.into_data().to_vec::<f32>().ok().map(Arc::new), c)
            }
            None => (None, 0),
        };
        StepItem {
            loss: self.loss.into_scalar().elem::<f64>(),
            logits,
            num_classes,
            doc_indices: self.doc_indices,
            num_pairs: self.num_pairs,
            tokens: self.tokens,
        }
    }
}

impl Adaptor<StepItem> for StepItem {
    fn adapt(&self) -> StepItem {
        self.clone()
    }
}

impl<B: AutodiffBackend> TrainStep for AtlopModel<B> {
    type Input = AtlopBatch<B>;
    type Output = AtlopOutput<B>;

    fn step(&self, batch: AtlopBatch<B>) -> TrainOutput<AtlopOutput<B>> {
        let output = self.forward_step(batch, false);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl<B: Backend> InferenceStep for AtlopModel<B> {
    type Input = AtlopBatch<B>;
    type Output = AtlopOutput<B>;

    fn step(&self, batch: AtlopBatch<B>) -> AtlopOutput<B> {
        self.forward_step(batch, true)
    }
}
