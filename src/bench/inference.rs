//! Encoder inference speed on a real dataset: every document featurized as for evaluation
//! (Sec. 2.1; inputs over 512 tokens in two windows), encoded without a graph in batches, timed
//! end to end as documents per second. Sorting by length before batching (length buckets) cuts
//! the padding a batch carries; the report gives the padded share so the effect is visible.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;

use crate::batch::AtlopBatch;
use crate::bench::step::set_threads;
use crate::data::load_dataset;
use crate::encoder::BertModel;
use crate::error::{AtlopError, Result};
use crate::features::{featurize_dataset, DocTokenizer, FeatureConfig};

#[derive(Debug, Clone, PartialEq)]
pub struct InferenceBenchConfig {
    pub model_dir: PathBuf,
    /// DocRED-format `.json` (the reference's Re-DocRED dev has 500 documents).
    pub data: PathBuf,
    /// Only the first `docs` documents; `None`: all.
    pub docs: Option<usize>,
    pub batch_size: usize,
    /// Batch documents of similar length together (order restored by the caller's indices).
    pub sort_by_length: bool,
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InferenceBenchReport {
    pub docs: usize,
    pub tokens: usize,
    /// Positions encoded including padding (two windows count 2 x 512).
    pub padded_tokens: usize,
    pub seconds: f64,
    pub threads: usize,
}

impl std::fmt::Display for InferenceBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "docs={} tokens={} padded_tokens={} seconds={:.2} docs_per_s={:.2} threads={}",
            self.docs,
            self.tokens,
            self.padded_tokens,
            self.seconds,
            self.docs as f64 / self.seconds,
            self.threads
        )
    }
}

/// The benchmark on this build's backend ([`crate::backend::Selected`]), device 0.
pub fn bench_inference(cfg: &InferenceBenchConfig) -> Result<InferenceBenchReport> {
    let device = crate::backend::default_device()?;
    bench_inference_on::<crate::backend::Selected>(cfg, &device)
}

pub fn bench_inference_on<B: Backend>(
    cfg: &InferenceBenchConfig,
    device: &B::Device,
) -> Result<InferenceBenchReport> {
    if cfg.batch_size == 0 {
        return Err(AtlopError::Invalid(
            "bench infer: batch size must be positive".into(),
        ));
    }
    if let Some(threads) = cfg.threads {
        set_threads(threads)?;
    }
    let (mut dataset, vocab) = load_dataset(&cfg.data, None)?;
    if let Some(n) = cfg.docs {
        dataset.documents.truncate(n);
    }
    let tok = DocTokenizer::from_dir(&cfg.model_dir)?;
    let mut features = featurize_dataset(&dataset, &tok, &FeatureConfig::new())?;
    if cfg.sort_by_length {
        features.sort_by_key(|f| f.len());
    }
    let (model, _report) = BertModel::<B>::load(&cfg.model_dir, device)?;
    let max_len = model.config().max_len();

    let start = Instant::now();
    let mut padded_tokens = 0;
    for chunk in features.chunks(cfg.batch_size) {
        let batch =
            AtlopBatch::<B>::from_features(chunk, vocab.num_classes(), tok.pad_id(), device)?;
        let longest = batch.lengths.iter().copied().max().unwrap_or(0);
        padded_tokens += if longest <= max_len {
            chunk.len() * longest
        } else {
            let windows: usize = batch
                .lengths
                .iter()
                .map(|&l| if l > max_len { 2 } else { 1 })
                .sum();
            windows * max_len
        };
        let out = model.encode(batch.input_ids, &batch.lengths);
        // Reading a value waits for a lazy backend to finish.
        let _ = out.hidden.sum().into_scalar();
    }
    Ok(InferenceBenchReport {
        docs: features.len(),
        tokens: features.iter().map(|f| f.len()).sum(),
        padded_tokens,
        seconds: start.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    })
}
