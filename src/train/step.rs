//! burn-train's view of the model: the training and validation steps and what they hand to the
//! metrics. Kept here, beside the rest of the training glue, so the model and inference compile
//! without burn-train's step types.

use std::sync::Arc;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ElementConversion;
use burn::train::metric::{Adaptor, ItemLazy};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use crate::batch::AtlopBatch;
use crate::model::atlop::AtlopModel;

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

fn step_output<B: Backend>(
    model: &AtlopModel<B>,
    batch: AtlopBatch<B>,
    keep_logits: bool,
) -> AtlopOutput<B> {
    let (loss, logits) = model.forward_loss(&batch);
    AtlopOutput {
        loss,
        logits: keep_logits.then_some(logits),
        doc_indices: batch.doc_indices,
        num_pairs: batch.index.num_pairs,
        tokens: batch.lengths.iter().sum(),
    }
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
        let output = step_output(self, batch, false);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl<B: Backend> InferenceStep for AtlopModel<B> {
    type Input = AtlopBatch<B>;
    type Output = AtlopOutput<B>;

    fn step(&self, batch: AtlopBatch<B>) -> AtlopOutput<B> {
        step_output(self, batch, true)
    }
}
