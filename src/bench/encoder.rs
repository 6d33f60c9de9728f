//! Encoder benchmark: the workload ATLOP puts on the encoder in one training step (Zhou et al.
//! 2021, Sec. 3.1: batches of 4 documents, here 512 tokens each, one window), timed as forward
//! alone and forward + backward, with the process's peak memory.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::encoder::{BertModel, EncoderConfig, ModelType, Precision, SpecialTokens};
use crate::error::{AtlopError, Result};

/// What to run. The defaults are the benchmark of record: MiniLM, 4 x 512 tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderBenchConfig {
    /// Checkpoint folder; `None` (or a missing folder) runs a randomly initialised encoder of
    /// shape `random_shape`, which costs what the real weights cost.
    pub model_dir: Option<PathBuf>,
    /// The shape of the random encoder when no checkpoint is loaded.
    #[serde(default)]
    pub random_shape: RandomShape,
    /// Where the products run (bf16 is for GPUs; emulated, and slower, on the CPU).
    #[serde(default)]
    pub precision: Precision,
    pub docs: usize,
    pub tokens: usize,
    pub warmup: usize,
    pub repeats: usize,
}

/// Shapes of randomly initialised encoders, for benchmarks without a checkpoint at hand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RandomShape {
    /// all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, feed-forward 1536.
    #[default]
    Minilm,
    /// bert-base-cased, the paper's DocRED encoder: 12 layers, hidden 768, 12 heads, 3072,
    /// vocabulary 28996.
    BertBase,
}

impl RandomShape {
    pub fn name(self) -> &'static str {
        match self {
            RandomShape::Minilm => "minilm",
            RandomShape::BertBase => "bert-base",
        }
    }

    fn config(self) -> EncoderConfig {
        let minilm = minilm_shape();
        match self {
            RandomShape::Minilm => minilm,
            RandomShape::BertBase => EncoderConfig {
                vocab_size: 28996,
                hidden_size: 768,
                num_hidden_layers: 12,
                intermediate_size: 3072,
                ..minilm
            },
        }
    }
}

impl Default for EncoderBenchConfig {
    fn default() -> Self {
        EncoderBenchConfig {
            model_dir: Some(PathBuf::from("models/all-MiniLM-L6-v2")),
            random_shape: RandomShape::Minilm,
            precision: Precision::F32,
            docs: 4,
            tokens: 512,
            warmup: 1,
            repeats: 5,
        }
    }
}

/// Median times over `repeats` runs after `warmup` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderBenchReport {
    pub backend: String,
    /// The checkpoint folder, or `random <shape>`.
    #[serde(default)]
    pub weights: String,
    #[serde(default)]
    pub precision: Precision,
    pub docs: usize,
    pub tokens: usize,
    pub forward_ms: f64,
    pub forward_backward_ms: f64,
    /// Peak resident memory of the process during the benchmark (`VmHWM`), MiB; `None` where
    /// `/proc/self/status` is unavailable.
    pub peak_rss_mib: Option<f64>,
}

impl std::fmt::Display for EncoderBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peak = self
            .peak_rss_mib
            .map_or("n/a".to_string(), |m| format!("{m:.0} MiB"));
        write!(
            f,
            "{} ({}, {:?}): {} x {} tokens: forward {:.1} ms, forward+backward {:.1} ms, \
             peak RSS {peak}",
            self.backend,
            self.weights,
            self.precision,
            self.docs,
            self.tokens,
            self.forward_ms,
            self.forward_backward_ms
        )
    }
}

/// The benchmark on this build's backend ([`crate::backend::SelectedAutodiff`]: the CPU by
/// default, CUDA with `--features cuda`), on its device 0.
pub fn bench_encoder(cfg: &EncoderBenchConfig) -> Result<EncoderBenchReport> {
    let device = crate::backend::default_device()?;
    bench_encoder_on::<crate::backend::SelectedAutodiff>(cfg, &device)
}

/// The benchmark on any autodiff backend: forward runs on its inner backend (no graph), forward +
/// backward on the autodiff backend (dropout active, as in training).
pub fn bench_encoder_on<B: AutodiffBackend>(
    cfg: &EncoderBenchConfig,
    device: &B::Device,
) -> Result<EncoderBenchReport> {
    if cfg.docs == 0 || cfg.tokens == 0 || cfg.repeats == 0 {
        return Err(AtlopError::Invalid(format!(
            "encoder benchmark: docs ({}), tokens ({}) and repeats ({}) must be positive",
            cfg.docs, cfg.tokens, cfg.repeats
        )));
    }
    reset_peak_rss();
    let (model, weights): (BertModel<B>, String) = match &cfg.model_dir {
        Some(dir) if dir.join("config.json").is_file() => {
            (BertModel::load(dir, device)?.0, dir.display().to_string())
        }
        _ => (
            BertModel::init_random(&cfg.random_shape.config(), minilm_tokens(), device),
            format!("random {}", cfg.random_shape.name()),
        ),
    };
    let model = model.with_precision(cfg.precision);
    let vocab = model.config().vocab_size as f64;
    let ids = Tensor::<B::InnerBackend, 2>::random(
        [cfg.docs, cfg.tokens],
        Distribution::Uniform(1000f64.min(vocab - 1.0), vocab),
        device,
    )
    .int(); // [docs, tokens]
    let lengths = vec![cfg.tokens; cfg.docs];

    let inference = model.valid();
    let forward_ms = median_ms(cfg, || {
        let out = inference.encode(ids.clone(), &lengths);
        // Reading a value waits for the backend to finish.
        let _ = out.hidden.sum().into_scalar();
    });
    let ids_ad: Tensor<B, 2, Int> = Tensor::from_inner(ids);
    let forward_backward_ms = median_ms(cfg, || {
        let out = model.encode(ids_ad.clone(), &lengths);
        let loss = out.hidden.mean() + out.attention.mean();
        let grads = loss.backward();
        let weight = &model.encoder.layer[0].attention.self_attention.query.weight;
        if let Some(g) = weight.grad(&grads) {
            let _ = g.sum().into_scalar();
        }
    });
    Ok(EncoderBenchReport {
        backend: B::name(device),
        weights,
        precision: cfg.precision,
        docs: cfg.docs,
        tokens: cfg.tokens,
        forward_ms,
        forward_backward_ms,
        peak_rss_mib: peak_rss_mib(),
    })
}

fn median_ms(cfg: &EncoderBenchConfig, mut run: impl FnMut()) -> f64 {
    for _ in 0..cfg.warmup {
        run();
    }
    let mut times: Vec<f64> = (0..cfg.repeats)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// all-MiniLM-L6-v2's `config.json`.
fn minilm_shape() -> EncoderConfig {
    EncoderConfig {
        model_type: ModelType::Bert,
        vocab_size: 30522,
        hidden_size: 384,
        num_hidden_layers: 6,
        num_attention_heads: 12,
        intermediate_size: 1536,
        hidden_act: "gelu".into(),
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        position_embedding_type: "absolute".into(),
    }
}

fn minilm_tokens() -> SpecialTokens {
    SpecialTokens {
        cls: 101,
        sep: 102,
        pad: 0,
    }
}

/// Resets the kernel's peak-RSS counter (`VmHWM`) so the benchmark measures its own peak
/// (Linux `clear_refs`, value 5); ignored where unsupported.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_run_reports_positive_times() {
        let cfg = EncoderBenchConfig {
            model_dir: None,
            random_shape: RandomShape::Minilm,
            precision: Precision::F32,
            docs: 2,
            tokens: 16,
            warmup: 0,
            repeats: 1,
        };
        let report = bench_encoder(&cfg).unwrap();
        assert!(
            report.forward_ms > 0.0 && report.forward_backward_ms > 0.0,
            "{report}"
        );
    }
}
