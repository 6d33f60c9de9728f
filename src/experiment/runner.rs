//! Trains every model an experiment needs, each once: a (dataset, variant, encoder, seed) is one
//! run folder `<runs>/<profile>/<dataset>/<variant>-seed<seed>/`, shared by every row that names
//! it. A finished run holds `finished.json` (written atomically last) and its dev/test logits
//! ([`super::saved_scores`]); it is skipped unless `force`. An interrupted run resumes from its
//! last checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::definition::{Definitions, Table};
use super::profile::{column_ref, Profile};
use super::saved_scores::{self, write_atomic};
use crate::config::RunConfig;
use crate::error::{AtlopError, Result};
use crate::evaluate::load_best;
use crate::features::tokenizer::DocTokenizer;
use crate::pipeline::{load_documents, load_split, split_scores};
use crate::run_folder::RunFolder;
use crate::train::latest_checkpoint;
use crate::train::run::{train, Dashboard, TrainTarget};

/// One model of the plan.
#[derive(Debug, Clone)]
pub struct ModelJob {
    /// `docred`, `cdr` or `gda`.
    pub base: String,
    pub variant: String,
    pub encoder: Option<String>,
    pub seed: u64,
    pub dir: PathBuf,
    /// The resolved config, or why this model cannot be trained here.
    pub config: std::result::Result<RunConfig, String>,
}

/// `finished.json`: the marker of a complete model, with what the ETA needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub best_epoch: usize,
    pub seconds: f64,
    /// Training steps this invocation ran (fewer than the schedule's after a resume).
    pub steps: usize,
}

impl ModelJob {
    pub fn marker(&self) -> PathBuf {
        self.dir.join("finished.json")
    }
    pub fn is_finished(&self) -> bool {
        self.marker().is_file()
    }
    pub fn label(&self) -> String {
        let encoder = self
            .encoder
            .as_ref()
            .map_or(String::new(), |e| format!("-{e}"));
        format!("{}/{}{encoder}-seed{}", self.base, self.variant, self.seed)
    }
}

/// The models behind `tables` for `seeds` seeds (base seed, +1, ...), in a stable order.
pub fn plan_jobs(
    defs: &Definitions,
    tables: &[&Table],
    profile: Profile,
    seeds: usize,
    runs_dir: &Path,
) -> Vec<ModelJob> {
    let mut keys: BTreeMap<(String, String, Option<String>), ()> = BTreeMap::new();
    for table in tables {
        for row in &table.rows {
            for column in &table.columns {
                let base = column_ref(table.dataset, column).base;
                keys.insert((base, row.variant.clone(), row.encoder.clone()), ());
            }
        }
    }
    let mut jobs = Vec::new();
    for (base, variant, encoder) in keys.into_keys() {
        let config = resolve(defs, profile, &base, &variant, encoder.as_deref());
        let base_seed = config.as_ref().map_or(66, |c| c.training.seed);
        for k in 0..seeds.max(1) as u64 {
            let seed = base_seed + k;
            let mut name = variant.clone();
            if let Some(e) = &encoder {
                name = format!("{name}-{e}");
            }
            let config = config.clone().map(|mut c| {
                c.training.seed = seed;
                c.name = format!("{}-{name}-seed{seed}", c.name);
                c
            });
            jobs.push(ModelJob {
                dir: runs_dir
                    .join(profile.name())
                    .join(&base)
                    .join(format!("{name}-seed{seed}")),
                base: base.clone(),
                variant: variant.clone(),
                encoder: encoder.clone(),
                seed,
                config,
            });
        }
    }
    jobs
}

/// The variant's config on the profile's base, or why it is not available on this machine.
fn resolve(
    defs: &Definitions,
    profile: Profile,
    base: &str,
    variant: &str,
    encoder: Option<&str>,
) -> std::result::Result<RunConfig, String> {
    let path = profile.base_config(base)?;
    let overrides = defs
        .variants
        .get(variant)
        .map(|v| v.set.clone())
        .unwrap_or_default();
    let mut config = RunConfig::load(&path, &overrides).map_err(|e| e.to_string())?;
    if let Some(e) = encoder {
        let local = Path::new("models").join(e);
        if !local.join("config.json").is_file() {
            return Err(format!("encoder {e} is not in models/"));
        }
        config.encoder.source = local.display().to_string();
    }
    let d = &config.data;
    for file in [Some(&d.train), Some(&d.dev), d.test.as_ref()]
        .into_iter()
        .flatten()
    {
        if !file.is_file() {
            return Err(format!("data file {} is missing", file.display()));
        }
    }
    Ok(config)
}

/// Trains the unfinished models of `jobs` (all of them with `force`) on `B`, printing which model
/// k of M runs and the ETA from the measured time per training step.
pub fn train_jobs<B: AutodiffBackend>(
    jobs: &[ModelJob],
    force: bool,
    device: &B::Device,
) -> Result<()> {
    let runnable: Vec<&ModelJob> = jobs.iter().filter(|j| j.config.is_ok()).collect();
    let total = runnable.len();
    let mut step_seconds: Option<f64> = None;
    for (k, job) in runnable.iter().enumerate() {
        let Ok(config) = &job.config else { continue };
        if job.is_finished() && !force {
            println!(
                "[experiment] model {}/{total} {}: already trained, reusing {}",
                k + 1,
                job.label(),
                job.dir.display()
            );
            continue;
        }
        let remaining = total - k;
        let eta = match step_seconds {
            Some(s) => format!("~{:.0} s", s * steps_of(config)? as f64 * remaining as f64),
            None => "unknown until a model has trained".to_string(),
        };
        println!(
            "[experiment] model {}/{total} {}: training into {} (ETA for the rest: {eta})",
            k + 1,
            job.label(),
            job.dir.display()
        );
        let finished = train_one::<B>(job, config, force, device)?;
        if finished.steps > 0 {
            step_seconds = Some(finished.seconds / finished.steps as f64);
        }
    }
    Ok(())
}

/// Training steps of a run's whole schedule (the train file is read to count its documents).
pub fn steps_of(config: &RunConfig) -> Result<usize> {
    let docs = match config.data.train_docs {
        Some(s) => s.end - s.start,
        None => load_documents(config, &config.data.train, None)?
            .0
            .documents
            .len(),
    };
    Ok(docs.div_ceil(config.training.batch_size) * config.training.epochs)
}

fn train_one<B: AutodiffBackend>(
    job: &ModelJob,
    config: &RunConfig,
    force: bool,
    device: &B::Device,
) -> Result<Finished> {
    let resumable = job.dir.join("config.toml").is_file() && latest_checkpoint(&job.dir)?.is_some();
    // A folder without a complete checkpoint (killed in its first epoch) holds nothing worth
    // keeping, and its partial metrics would be logged twice: start it over.
    if job.dir.exists() && (force || !resumable) {
        if !force {
            println!(
                "[experiment] {} was interrupted before its first checkpoint: starting it over",
                job.label()
            );
        }
        std::fs::remove_dir_all(&job.dir).map_err(|e| AtlopError::io(&job.dir, e))?;
    }
    let target = if resumable && !force {
        println!("[experiment] resuming {} from its checkpoint", job.label());
        TrainTarget::Resume(job.dir.clone())
    } else {
        TrainTarget::New {
            config: Box::new(config.clone()),
            out: Some(job.dir.clone()),
        }
    };
    let summary = train::<B>(target, Dashboard::Plain, device.clone())?;
    let steps = summary.iterations_per_epoch
        * (config.training.epochs.saturating_sub(summary.resumed_from));
    save_scores::<B::InnerBackend>(&job.dir, device)?;
    let finished = Finished {
        best_epoch: summary.best_epoch,
        seconds: summary.seconds,
        steps,
    };
    let json = serde_json::to_string_pretty(&finished).map_err(|e| AtlopError::Json {
        path: job.marker(),
        source: e,
    })?;
    write_atomic(&job.marker(), json.as_bytes())?;
    Ok(finished)
}

/// The best model's logits on dev and (when configured) test, saved in the run folder.
fn save_scores<B: burn::tensor::backend::Backend>(
    run_dir: &Path,
    device: &B::Device,
) -> Result<()> {
    let folder = RunFolder::open(run_dir)?;
    let config = folder.read_config()?;
    let tokenizer = DocTokenizer::from_dir(&folder.encoder_dir())?;
    let d = &config.data;
    let splits = [
        ("dev", Some((&d.dev, d.dev_docs))),
        ("test", d.test.as_ref().map(|t| (t, d.test_docs))),
    ];
    let mut model = None;
    for (name, source) in splits {
        let Some((path, slice)) = source else {
            continue;
        };
        let split = load_split(&config, path, slice, &tokenizer)?;
        if model.is_none() {
            model = Some(load_best::<B>(&folder, split.vocab.num_classes(), device)?);
        }
        let Some(m) = model.as_ref() else { continue };
        let scores = split_scores(m, &split, &config, &tokenizer, device)?;
        saved_scores::save(run_dir, name, &scores)?;
    }
    Ok(())
}
