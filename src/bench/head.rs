//! Speed of the ATLOP head alone: forward + backward (AT loss included) on `CpuAutodiff` for a
//! DocRED-sized document with random encoder outputs.

use std::fmt;
use std::time::Instant;

use burn::config::Config;
use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, Tensor};

use crate::backend::CpuAutodiff;
use crate::batch::AtlopBatch;
use crate::error::AtlopError;
use crate::features::Feature;
use crate::model::{AtlopHeadConfig, BilinearLayout, LossKind};

/// Defaults: an average DocRED document (19 entities, all 342 ordered pairs, 97 classes) at the
/// paper's head sizes for BERT-base (hidden 768, emb 768, block 64).
#[derive(Config, Debug)]
pub struct HeadBenchConfig {
    #[config(default = 1)]
    pub documents: usize,
    #[config(default = 512)]
    pub length: usize,
    #[config(default = 768)]
    pub hidden_size: usize,
    #[config(default = 12)]
    pub heads: usize,
    #[config(default = 19)]
    pub entities: usize,
    #[config(default = 2)]
    pub mentions_per_entity: usize,
    #[config(default = 97)]
    pub num_classes: usize,
    #[config(default = 768)]
    pub emb_size: usize,
    #[config(default = 64)]
    pub block_size: usize,
    #[config(default = "BilinearLayout::OuterProduct")]
    pub bilinear_layout: BilinearLayout,
    #[config(default = 2)]
    pub warmup: usize,
    #[config(default = 7)]
    pub iterations: usize,
}

#[derive(Debug, Clone)]
pub struct HeadBenchReport {
    pub config: HeadBenchConfig,
    pub pairs: usize,
    /// Median of the timed iterations, forward + loss + backward, milliseconds.
    pub median_ms: f64,
    pub min_ms: f64,
    /// Median forward + loss only, milliseconds.
    pub forward_median_ms: f64,
    pub times_ms: Vec<f64>,
}

impl fmt::Display for HeadBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "head fwd+bwd median {:.1} ms (min {:.1}, forward {:.1}) | docs {} len {} hidden {} \
             entities {} pairs {} classes {} emb {} block {} layout {:?}",
            self.median_ms,
            self.min_ms,
            self.forward_median_ms,
            c.documents,
            c.length,
            c.hidden_size,
            c.entities,
            self.pairs,
            c.num_classes,
            c.emb_size,
            c.block_size,
            c.bilinear_layout
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One synthetic document: mentions spread evenly over the text, one relation on every 7th pair.
fn document(cfg: &HeadBenchConfig, index: usize) -> Feature {
    let e = cfg.entities;
    let slots = (e * cfg.mentions_per_entity).max(1);
    let stride = (cfg.length.saturating_sub(2) / slots).max(1);
    let entity_pos = (0..e)
        .map(|ent| {
            (0..cfg.mentions_per_entity)
                .map(|m| ((m * e + ent) * stride) % cfg.length.saturating_sub(1).max(1))
                .collect()
        })
        .collect();
    let hts: Vec<(usize, usize)> = (0..e)
        .flat_map(|h| (0..e).filter(move |&t| t != h).map(move |t| (h, t)))
        .collect();
    let labels = (0..hts.len())
        .map(|k| {
            if k % 7 == 0 {
                vec![1 + k % (cfg.num_classes - 1)]
            } else {
                Vec::new()
            }
        })
        .collect();
    Feature {
        doc_index: index,
        title: format!("bench-{index}"),
        input_ids: vec![100; cfg.length],
        entity_pos,
        hts,
        labels,
    }
}

/// Times forward + AT loss + backward of the head; the median of `iterations` after `warmup`.
pub fn bench_head(cfg: HeadBenchConfig) -> crate::Result<HeadBenchReport> {
    if cfg.iterations == 0
        || cfg.entities < 2
        || cfg.documents == 0
        || cfg.length < 2
        || cfg.num_classes < 2
    {
        return Err(AtlopError::Config {
            source_name: "bench head".into(),
            key: "iterations/entities/documents/length/num_classes".into(),
            message: "need at least 1 iteration, 2 entities, 1 document, 2 tokens, 2 classes"
                .into(),
        });
    }
    let device = Default::default();
    let features: Vec<Feature> = (0..cfg.documents).map(|i| document(&cfg, i)).collect();
    let batch = AtlopBatch::<CpuAutodiff>::from_features(&features, cfg.num_classes, 0, &device)?;
    let head = AtlopHeadConfig::new(cfg.hidden_size, cfg.num_classes)
        .with_emb_size(cfg.emb_size)
        .with_block_size(cfg.block_size)
        .with_bilinear_layout(cfg.bilinear_layout)
        .init::<CpuAutodiff>(&device)?;
    let (b, l) = (cfg.documents, cfg.length);
    let hidden =
        Tensor::<CpuAutodiff, 3>::random([b, l, cfg.hidden_size], Distribution::Default, &device);
    let scores =
        Tensor::<CpuAutodiff, 4>::random([b, cfg.heads, l, l], Distribution::Default, &device);
    let attention = softmax(scores, 3);

    let (mut times, mut forward) = (Vec::new(), Vec::new());
    for i in 0..cfg.warmup + cfg.iterations {
        // A fresh leaf each time: the encoder output is where the head's backward ends.
        let hidden = hidden.clone().detach().require_grad();
        let start = Instant::now();
        let out = head.forward(hidden, attention.clone(), &batch.index);
        let loss = LossKind::AdaptiveThresholding.compute(out.logits, batch.labels.clone());
        // Reading the value forces the lazy work to finish before the clock stops.
        let _ = loss.clone().into_scalar();
        let fwd = start.elapsed().as_secs_f64() * 1e3;
        let grads = loss.backward();
        drop(grads);
        let total = start.elapsed().as_secs_f64() * 1e3;
        if i >= cfg.warmup {
            times.push(total);
            forward.push(fwd);
        }
    }
    Ok(HeadBenchReport {
        pairs: features.iter().map(|f| f.hts.len()).sum(),
        median_ms: median(times.clone()),
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        forward_median_ms: median(forward),
        times_ms: times,
        config: cfg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bench_runs_and_reports() {
        let cfg = HeadBenchConfig::new()
            .with_length(24)
            .with_hidden_size(16)
            .with_heads(2)
            .with_entities(4)
            .with_num_classes(5)
            .with_emb_size(16)
            .with_block_size(4)
            .with_warmup(0)
            .with_iterations(2);
        let report = bench_head(cfg).unwrap();
        assert_eq!(report.pairs, 12);
        assert_eq!(report.times_ms.len(), 2);
        assert!(report.median_ms > 0.0 && report.forward_median_ms <= report.median_ms);
    }
}
