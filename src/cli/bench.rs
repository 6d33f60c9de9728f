//! `atlop bench ...`: benchmarks of the model's parts, with the settings printed beside the times.

use clap::Subcommand;

use std::path::PathBuf;

use atlop::bench::encoder::{bench_encoder, EncoderBenchConfig, RandomShape};
use atlop::bench::head::{bench_head, HeadBenchConfig};
use atlop::bench::inference::{bench_inference, InferenceBenchConfig};
use atlop::bench::step::{bench_step, StepBenchConfig};
use atlop::encoder::Precision;

/// `f32` or `bf16` (the encoder's products; bf16 is for GPUs).
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Forward and forward+backward of the encoder, and peak memory (default: MiniLM, 4 x 512),
    /// on this build's backend (CPU; CUDA with `--features cuda`).
    Encoder {
        /// Hugging Face folder; a missing folder runs random weights of `--random`'s shape.
        #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
        model: PathBuf,
        /// Random weights of this shape instead of `--model` (bert-base: the paper's encoder).
        #[arg(long, value_enum)]
        random: Option<RandomShape>,
        /// The products' dtype: f32, or bf16 (for GPUs; emulated and slower on the CPU).
        #[arg(long, default_value = "f32")]
        precision: Precision,
        /// Documents per batch.
        #[arg(long, default_value_t = 4)]
        docs: usize,
        /// Tokens per document.
        #[arg(long, default_value_t = 512)]
        tokens: usize,
        /// Timed repetitions (after one warm-up); the median is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// Forward + backward of the ATLOP head (AT loss included) for a DocRED-sized document.
    Head {
        /// Entities in the document (all ordered pairs are classified).
        #[arg(long, default_value_t = 19)]
        entities: usize,
        /// Encoder hidden size (768 for BERT-base).
        #[arg(long, default_value_t = 768)]
        hidden: usize,
        /// Extractor output size (the paper's 768).
        #[arg(long, default_value_t = 768)]
        emb: usize,
        /// Group-bilinear block size (the paper's 64).
        #[arg(long, default_value_t = 64)]
        block: usize,
        /// Timed iterations; the median is reported.
        #[arg(long, default_value_t = 7)]
        iterations: usize,
    },
    /// One full training step as the reference's bench times it: the first `docs` documents as
    /// one batch, encoder + head (emb = hidden, block 64), AT loss, backward, global-norm
    /// clipping, two-group AdamW. The last line is `step_s=<median> tokens=<n> docs=<d>`.
    Step {
        /// Hugging Face folder (config.json, model.safetensors, tokenizer).
        #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
        model: PathBuf,
        /// DocRED-format `.json` (the reference uses Re-DocRED dev).
        #[arg(long, default_value = "data/redocred/dev_revised.json")]
        data: PathBuf,
        /// Documents in the one batch (the reference's bench uses 4).
        #[arg(long, default_value_t = 4)]
        docs: usize,
        /// rayon's global pool size (burn-flex's threads); default: all cores.
        #[arg(long)]
        threads: Option<usize>,
        /// Timed steps; the median is reported.
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Untimed steps first (allocator and caches warm up).
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// The encoder's products' dtype: f32, or bf16 (for GPUs).
        #[arg(long, default_value = "f32")]
        precision: Precision,
    },
    /// Encoder inference (no graph) over a whole dataset: documents per second.
    Infer {
        /// Hugging Face folder (config.json, model.safetensors, tokenizer).
        #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
        model: PathBuf,
        /// DocRED-format `.json` whose documents are encoded.
        #[arg(long, default_value = "data/redocred/dev_revised.json")]
        data: PathBuf,
        /// Only the first N documents (default: all).
        #[arg(long)]
        docs: Option<usize>,
        /// Documents per forward pass.
        #[arg(long, default_value_t = 4)]
        batch: usize,
        /// Keep the file's order instead of batching documents of similar length.
        #[arg(long)]
        no_sort: bool,
        /// rayon's global pool size (burn-flex's threads); default: all cores.
        #[arg(long)]
        threads: Option<usize>,
    },
}

pub fn run(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Encoder {
            model,
            random,
            precision,
            docs,
            tokens,
            repeats,
        } => {
            let config = EncoderBenchConfig {
                model_dir: if random.is_some() { None } else { Some(model) },
                random_shape: random.unwrap_or_default(),
                precision,
                docs,
                tokens,
                repeats,
                ..EncoderBenchConfig::default()
            };
            println!("{}", bench_encoder(&config)?);
        }
        BenchCommand::Head {
            entities,
            hidden,
            emb,
            block,
            iterations,
        } => {
            let config = HeadBenchConfig::new()
                .with_entities(entities)
                .with_hidden_size(hidden)
                .with_emb_size(emb)
                .with_block_size(block)
                .with_iterations(iterations);
            let report = bench_head(config)?;
            println!("{report}");
        }
        BenchCommand::Step {
            model,
            data,
            docs,
            threads,
            steps,
            warmup,
            precision,
        } => {
            let config = StepBenchConfig {
                docs,
                threads,
                steps,
                warmup,
                precision,
                ..StepBenchConfig::new(model, data)
            };
            println!("{}", bench_step(&config)?);
        }
        BenchCommand::Infer {
            model,
            data,
            docs,
            batch,
            no_sort,
            threads,
        } => {
            let config = InferenceBenchConfig {
                model_dir: model,
                data,
                docs,
                batch_size: batch,
                sort_by_length: !no_sort,
                threads,
            };
            println!("{}", bench_inference(&config)?);
        }
    }
    Ok(())
}
