//! The steps training and evaluation share, so both read data and score it identically:
//! a configured split of a dataset file -> features, and a model's logits over a whole set.

use std::path::Path;

use burn::tensor::backend::Backend;

use crate::batch::{check_feature, evaluation_order, AtlopBatch};
use crate::config::{DocSlice, RunConfig};
use crate::data::{load_dataset, Dataset, RelationVocab};
use crate::decision::ScoreMatrix;
use crate::error::{AtlopError, Result};
use crate::features::featurize::featurize_dataset;
use crate::features::tokenizer::DocTokenizer;
use crate::features::Feature;
use crate::model::atlop::AtlopModel;

/// A dataset file (or a slice of it) and its features.
#[derive(Debug, Clone)]
pub struct Split {
    pub dataset: Dataset,
    pub vocab: RelationVocab,
    pub features: Vec<Feature>,
}

/// Reads `path` (documents `slice` only, re-indexed from 0), featurises it with the run's
/// settings and checks every feature against the class count.
pub fn load_split(
    config: &RunConfig,
    path: &Path,
    slice: Option<DocSlice>,
    tokenizer: &DocTokenizer,
) -> Result<Split> {
    let (dataset, vocab) = load_documents(config, path, slice)?;
    let features = featurize_dataset(&dataset, tokenizer, &config.feature_config())?;
    for f in &features {
        check_feature(f, vocab.num_classes())?;
    }
    Ok(Split {
        dataset,
        vocab,
        features,
    })
}

/// Reads `path` with the run's vocabulary folder; only documents `slice`, re-indexed from 0.
pub fn load_documents(
    config: &RunConfig,
    path: &Path,
    slice: Option<DocSlice>,
) -> Result<(Dataset, RelationVocab)> {
    let (mut dataset, vocab) = load_dataset(path, config.data.vocab.as_deref())?;
    if let Some(s) = slice {
        let n = dataset.documents.len();
        // Never clamped: a slice past the file would silently score fewer documents.
        if s.start >= s.end || s.end > n {
            return Err(AtlopError::Invalid(format!(
                "{}: document slice {}..{} is not within the file's {n} documents (0..{n}, \
                 start below end)",
                path.display(),
                s.start,
                s.end
            )));
        }
        dataset.documents = dataset.documents[s.start..s.end].to_vec();
    }
    Ok((dataset, vocab))
}

/// Logits of every pair of `split` from a run's `model`, batched as that run's dev pass
/// (`training.eval_batch_size` documents, the tokenizer's padding): what `evaluate` and the
/// experiment runner score.
pub fn split_scores<B: Backend>(
    model: &AtlopModel<B>,
    split: &Split,
    config: &RunConfig,
    tokenizer: &DocTokenizer,
    device: &B::Device,
) -> Result<ScoreMatrix> {
    infer_scores(
        model,
        &split.features,
        split.vocab.num_classes(),
        tokenizer.pad_id(),
        config.training.eval_batch_size,
        device,
    )
}

/// Logits of every pair of `features`, in feature then `hts` order, from batches of
/// `batch_size` documents in [`evaluation_order`] (as the dev pass of training batches them).
pub fn infer_scores<B: Backend>(
    model: &AtlopModel<B>,
    features: &[Feature],
    num_classes: usize,
    pad_id: u32,
    batch_size: usize,
    device: &B::Device,
) -> Result<ScoreMatrix> {
    let mut per_feature: Vec<Vec<f32>> = vec![Vec::new(); features.len()];
    for chunk in evaluation_order(features).chunks(batch_size.max(1)) {
        let docs: Vec<Feature> = chunk.iter().map(|&i| features[i].clone()).collect();
        let batch = AtlopBatch::<B>::from_features(&docs, num_classes, pad_id, device)?;
        let logits = model.forward(&batch).logits; // [N, C]
        let values = logits
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| AtlopError::Invalid(format!("reading logits: {e:?}")))?;
        let mut offset = 0;
        for &i in chunk {
            let n = features[i].hts.len() * num_classes;
            per_feature[i] = values.get(offset..offset + n).unwrap_or_default().to_vec();
            offset += n;
        }
    }
    let data: Vec<f32> = per_feature.concat();
    let rows = features.iter().map(|f| f.hts.len()).sum();
    ScoreMatrix::new(rows, num_classes, data)
}
