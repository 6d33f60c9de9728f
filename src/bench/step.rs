//! One full training step, timed exactly like the reference's `bench` (`ref_atlop.py --bench`):
//! the first N documents of a DocRED-format file as ONE batch, encoder (dropout on), ATLOP head
//! with `emb = hidden` and block 64, AT loss (Sec. 2.2), backward, global-norm clipping at 1.0 and
//! the two-group AdamW of Sec. 4.1 (encoder 5e-5, head 1e-4, eps 1e-6). The median step time,
//! token count and peak memory are comparable line for line with the reference's output.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::{list_param_ids, Module, ParamId};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use crate::batch::AtlopBatch;
use crate::bench::encoder::{peak_rss_mib, reset_peak_rss};
use crate::data::load_dataset;
use crate::encoder::{BertModel, EncoderConfig, Precision, SpecialTokens};
use crate::error::{AtlopError, Result};
use crate::features::{featurize, DocTokenizer, FeatureConfig};
use crate::model::{AtlopHead, AtlopHeadConfig, LossKind};
use crate::train::{OptimizerConfig, ParamGroups};

/// What to run; the defaults are the reference's bench.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBenchConfig {
    /// Hugging Face checkpoint folder (config.json, weights, tokenizer).
    pub model_dir: PathBuf,
    /// A DocRED / Re-DocRED `.json` file; its first `docs` documents form the batch.
    pub data: PathBuf,
    pub docs: usize,
    /// rayon's global pool size (burn-flex and its `gemm` calls run on it); `None` keeps
    /// rayon's default (all cores, or `RAYON_NUM_THREADS`).
    pub threads: Option<usize>,
    pub steps: usize,
    pub warmup: usize,
    /// Group size of the bilinear (the reference's 64).
    pub block_size: usize,
    /// Where the encoder's products run (bf16 is for GPUs).
    pub precision: Precision,
}

impl StepBenchConfig {
    pub fn new(model_dir: PathBuf, data: PathBuf) -> Self {
        StepBenchConfig {
            model_dir,
            data,
            docs: 4,
            threads: None,
            steps: 5,
            warmup: 2,
            block_size: 64,
            precision: Precision::F32,
        }
    }
}

/// Median step time and what the batch held.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBenchReport {
    pub step_s: f64,
    pub times_s: Vec<f64>,
    /// Median CPU time (user + system, all threads) per step: steadier than wall time on a
    /// shared machine; `None` where `/proc/self/stat` is unavailable.
    pub cpu_s: Option<f64>,
    /// Median CPU time of the phases: encoder forward, head forward + loss, backward, optimiser
    /// (clipping + AdamW).
    pub phases_cpu_s: [Option<f64>; 4],
    /// Median wall time of the same phases: with `phases_cpu_s`, how well each uses the threads.
    pub phases_wall_s: [Option<f64>; 4],
    pub tokens: usize,
    pub docs: usize,
    pub pairs: usize,
    pub threads: usize,
    /// Peak resident memory (`VmHWM`), MiB.
    pub peak_rss_mib: Option<f64>,
    pub precision: Precision,
    /// Random weights of the checkpoint's shape (its folder had no `model.safetensors`).
    pub random_weights: bool,
}

impl std::fmt::Display for StepBenchReport {
    /// Two lines; the last is `step_s=<median> tokens=<n> docs=<d>` as the reference prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let times: Vec<String> = self.times_s.iter().map(|t| format!("{t:.3}")).collect();
        let peak = self
            .peak_rss_mib
            .map_or("n/a".to_string(), |m| format!("{m:.0}"));
        let cpu = self.cpu_s.map_or("n/a".to_string(), |c| format!("{c:.3}"));
        let phase = |i: usize| {
            let show = |v: Option<f64>| v.map_or("n/a".to_string(), |c| format!("{c:.3}"));
            format!(
                "{}/{}",
                show(self.phases_wall_s[i]),
                show(self.phases_cpu_s[i])
            )
        };
        writeln!(
            f,
            "wall_s/cpu_s by phase: encoder {} head+loss {} backward {} optimizer {}",
            phase(0),
            phase(1),
            phase(2),
            phase(3)
        )?;
        writeln!(
            f,
            "steps_s=[{}] cpu_s={cpu} pairs={} threads={} peak_rss_mb={peak} precision={:?}{}",
            times.join(", "),
            self.pairs,
            self.threads,
            self.precision,
            if self.random_weights {
                " weights=random"
            } else {
                ""
            }
        )?;
        write!(
            f,
            "step_s={:.4} tokens={} docs={}",
            self.step_s, self.tokens, self.docs
        )
    }
}

/// Encoder + head: what one training step updates. The encoder forms the first AdamW group.
#[derive(Module, Debug)]
pub struct StepModel<B: Backend> {
    pub encoder: BertModel<B>,
    pub head: AtlopHead<B>,
}

impl<B: AutodiffBackend> ParamGroups for StepModel<B> {
    fn encoder_param_ids(&self) -> Vec<ParamId> {
        list_param_ids(&self.encoder)
    }
}

impl<B: Backend> StepModel<B> {
    /// Encoder -> head -> AT loss for one batch. `[1]`
    pub fn loss(&self, batch: &AtlopBatch<B>) -> Tensor<B, 1> {
        let out = self.encoder.encode(batch.input_ids.clone(), &batch.lengths);
        let head = self.head.forward(out.hidden, out.attention, &batch.index);
        LossKind::AdaptiveThresholding.compute(head.logits, batch.labels.clone())
    }
}

/// Sets rayon's global pool size; an error if a pool of another size already runs.
pub fn set_threads(threads: usize) -> Result<()> {
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    if built.is_err() && rayon::current_num_threads() != threads {
        return Err(AtlopError::Invalid(format!(
            "bench step: `--threads {threads}`: rayon's pool already runs {} threads",
            rayon::current_num_threads()
        )));
    }
    Ok(())
}

/// The benchmark on this build's backend ([`crate::backend::SelectedAutodiff`]), device 0.
pub fn bench_step(cfg: &StepBenchConfig) -> Result<StepBenchReport> {
    let device = crate::backend::default_device()?;
    bench_step_on::<crate::backend::SelectedAutodiff>(cfg, &device)
}

/// The benchmark on any autodiff backend.
pub fn bench_step_on<B: AutodiffBackend>(
    cfg: &StepBenchConfig,
    device: &B::Device,
) -> Result<StepBenchReport> {
    if cfg.docs == 0 || cfg.steps == 0 {
        return Err(AtlopError::Invalid(format!(
            "bench step: docs ({}) and steps ({}) must be positive",
            cfg.docs, cfg.steps
        )));
    }
    if let Some(threads) = cfg.threads {
        set_threads(threads)?;
    }
    let (dataset, vocab) = load_dataset(&cfg.data, None)?;
    let tok = DocTokenizer::from_dir(&cfg.model_dir)?;
    let features = dataset
        .documents
        .iter()
        .take(cfg.docs)
        .enumerate()
        .map(|(i, doc)| featurize(doc, i, dataset.kind, &tok, &FeatureConfig::new()))
        .collect::<Result<Vec<_>>>()?;
    let num_classes = vocab.num_classes();
    let batch = AtlopBatch::<B>::from_features(&features, num_classes, tok.pad_id(), device)?;

    // Without `model.safetensors` (a folder carried without its weights, as to a lent GPU
    // machine), random weights of the folder's shape: the step costs the same.
    let random_weights = !cfg.model_dir.join("model.safetensors").is_file();
    let encoder = if random_weights {
        let config = EncoderConfig::load(&cfg.model_dir.join("config.json"))?;
        let special = SpecialTokens::from_dir(&cfg.model_dir, &config)?;
        eprintln!(
            "bench step: {} has no model.safetensors: random weights of its shape",
            cfg.model_dir.display()
        );
        BertModel::<B>::init_random(&config, special, device)
    } else {
        BertModel::<B>::load(&cfg.model_dir, device)?.0
    }
    .with_precision(cfg.precision);
    let hidden = encoder.hidden_size();
    let head = AtlopHeadConfig::new(hidden, num_classes)
        .with_emb_size(hidden)
        .with_block_size(cfg.block_size)
        .init::<B>(device)?;
    let mut model = StepModel { encoder, head };
    let mut optim = OptimizerConfig::new().init::<StepModel<B>, B>()?;

    reset_peak_rss();
    let mut times = Vec::with_capacity(cfg.steps);
    let mut cpu = Vec::with_capacity(cfg.steps);
    let mut phases: [Vec<f64>; 4] = Default::default();
    let mut phases_wall: [Vec<f64>; 4] = Default::default();
    for step in 0..cfg.warmup + cfg.steps {
        let start = Instant::now();
        // burn-flex runs eagerly, so the CPU time between the marks is each phase's own work.
        let mut marks = vec![process_cpu_s()];
        let mut walls = vec![start];
        let out = model
            .encoder
            .encode(batch.input_ids.clone(), &batch.lengths);
        marks.push(process_cpu_s());
        walls.push(Instant::now());
        let head = model.head.forward(out.hidden, out.attention, &batch.index);
        let loss = LossKind::AdaptiveThresholding.compute(head.logits, batch.labels.clone());
        marks.push(process_cpu_s());
        walls.push(Instant::now());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        marks.push(process_cpu_s());
        walls.push(Instant::now());
        model = optim.step(1.0, model, grads);
        // Reading one updated value makes the timing include all of this step's work.
        let _ = model
            .head
            .bilinear
            .bilinear
            .weight
            .val()
            .sum()
            .into_scalar();
        marks.push(process_cpu_s());
        walls.push(Instant::now());
        if step < cfg.warmup {
            continue;
        }
        times.push(start.elapsed().as_secs_f64());
        for (phase, w) in phases_wall.iter_mut().zip(walls.windows(2)) {
            phase.push((w[1] - w[0]).as_secs_f64());
        }
        let marks: Option<Vec<f64>> = marks.into_iter().collect();
        if let Some(m) = marks {
            cpu.push(m[4] - m[0]);
            for (phase, w) in phases.iter_mut().zip(m.windows(2)) {
                phase.push(w[1] - w[0]);
            }
        }
    }
    Ok(StepBenchReport {
        step_s: median(times.clone()).unwrap_or(f64::NAN),
        cpu_s: median(cpu),
        phases_cpu_s: phases.map(median),
        phases_wall_s: phases_wall.map(median),
        times_s: times,
        tokens: features.iter().map(|f| f.len()).sum(),
        docs: features.len(),
        pairs: features.iter().map(|f| f.hts.len()).sum(),
        threads: rayon::current_num_threads(),
        peak_rss_mib: peak_rss_mib(),
        precision: cfg.precision,
        random_weights,
    })
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// User + system CPU time of the whole process so far, seconds (Linux `/proc/self/stat`,
/// fields 14-15, in clock ticks of 1/100 s).
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after it follow the closing ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
