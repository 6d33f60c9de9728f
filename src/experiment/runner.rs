//! Trains every model an experiment needs, each once. A (dataset, variant, encoder, seed) is one
//! model: its run folder `<runs>/<profile>/<dataset>/<variant>-seed<seed>/` (outside the work tree
//! by default, so a kept machine keeps its progress) and its durable record
//! `<records>/<profile>/<dataset>/<variant>-seed<seed>.json` (committed; see [`super::record`]).
//!
//! A model whose record matches its config's hash is finished: it is never retrained (unless
//! `force`) and needs no run folder. A finished run folder without a record gets its record
//! built from the folder. An interrupted run resumes from its last epoch checkpoint.
//!
//! The queue fills rows soonest: seed 1 of every model of the first table (Table 5 in a whole
//! campaign), then the next tables' models, then the second seed of everything, and so on.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use super::definition::{Definitions, Table, TableDataset};
pub use super::job::{Finished, JobState, ModelJob};
use super::profile::{column_ref, Profile};
use super::record::{build_record, config_hash, record_path, TrainingCost};
use super::saved_scores::{self, write_atomic};
use crate::config::RunConfig;
use crate::decision::Strategy;
use crate::error::{AtlopError, Result};
use crate::pipeline::{load_documents, split_scores};
use crate::train::latest_checkpoint;
use crate::train::run::{train, Dashboard, TrainTarget};
use crate::trained_run::TrainedRun;

/// The campaign's table order: Table 5 fills first, then 6 (same models), 3, 4.
const TABLE_PRIORITY: [&str; 4] = ["ablation", "thresholding", "main", "bio"];

/// The models behind `tables` for `seeds` seeds (base seed, +1, ...), in queue order.
pub fn plan_jobs(
    defs: &Definitions,
    tables: &[&Table],
    profile: Profile,
    seeds: usize,
    runs_dir: &Path,
    records_dir: &Path,
) -> Vec<ModelJob> {
    let mut ordered: Vec<&Table> = tables.to_vec();
    ordered.sort_by_key(|t| {
        TABLE_PRIORITY
            .iter()
            .position(|n| *n == t.name)
            .unwrap_or(TABLE_PRIORITY.len())
    });
    let mut keys: Vec<(String, String, Option<String>)> = Vec::new();
    for table in &ordered {
        for row in &table.rows {
            for column in &table.columns {
                let base = column_ref(table.dataset, column).base;
                let key = (base, row.variant.clone(), row.encoder.clone());
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    let mut jobs = Vec::new();
    for k in 0..seeds.max(1) as u64 {
        for (base, variant, encoder) in &keys {
            let config = resolve(defs, profile, base, variant, encoder.as_deref());
            let seed = config.as_ref().map_or(66, |c| c.training.seed) + k;
            let mut name = variant.clone();
            if let Some(e) = encoder {
                name = format!("{name}-{e}");
            }
            let config = config.map(|mut c| {
                c.training.seed = seed;
                c.name = format!("{}-{name}-seed{seed}", c.name);
                c
            });
            let mut job = ModelJob {
                profile,
                dir: runs_dir
                    .join(profile.name())
                    .join(base)
                    .join(format!("{name}-seed{seed}")),
                record: PathBuf::new(),
                base: base.clone(),
                variant: variant.clone(),
                encoder: encoder.clone(),
                seed,
                strategies: strategies_for(defs, base, variant),
                config,
            };
            job.record = record_path(records_dir, &job.key());
            jobs.push(job);
        }
    }
    jobs
}

/// Every decision rule any table asks of `variant` on `base`, plus Table 6's four with the
/// dataset's label limit (4 per pair on DocRED, 1 on CDR/GDA).
fn strategies_for(defs: &Definitions, base: &str, variant: &str) -> Vec<Strategy> {
    let (top_k, threshold_top_k) = if base == "docred" { (4, 0) } else { (1, 1) };
    let mut out = vec![
        Strategy::Adaptive { top_k },
        Strategy::Global {
            top_k: threshold_top_k,
        },
        Strategy::PerClass {
            top_k: threshold_top_k,
        },
    ];
    for table in defs.tables.iter() {
        let on_base = match table.dataset {
            TableDataset::Docred => base == "docred",
            TableDataset::Bio => table
                .columns
                .iter()
                .any(|c| column_ref(table.dataset, c).base == base),
        };
        if !on_base {
            continue;
        }
        for row in table.rows.iter().filter(|r| r.variant == variant) {
            if !out.contains(&row.decision) {
                out.push(row.decision);
            }
        }
    }
    out
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
/// k of M runs and the ETA from the measured time per training step; after each model finishes
/// its record is written and `after_each` runs (the caller rewrites the tables).
pub fn train_jobs<B: AutodiffBackend>(
    jobs: &[ModelJob],
    force: bool,
    device: &B::Device,
    after_each: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let runnable: Vec<&ModelJob> = jobs.iter().filter(|j| j.config.is_ok()).collect();
    let total = runnable.len();
    let mut step_seconds: Option<f64> = None;
    // The rank of the record the ETA is taken from (`ModelRecord::reference_rank`).
    let mut step_source: Option<(bool, u64)> = None;
    for (k, job) in runnable.iter().enumerate() {
        let Ok(config) = &job.config else { continue };
        let state = job.state()?;
        if !force {
            match &state {
                JobState::Recorded(record) => {
                    println!(
                        "[experiment] model {}/{total} {}: already trained, record {}",
                        k + 1,
                        job.label(),
                        job.record.display()
                    );
                    let source = record.reference_rank();
                    if record.provenance.steps > 0 && step_source.is_none_or(|s| source > s) {
                        step_source = Some(source);
                        step_seconds =
                            Some(record.typical_seconds() / record.provenance.steps as f64);
                    }
                    continue;
                }
                JobState::Unrecorded => {
                    println!(
                        "[experiment] model {}/{total} {}: already trained, writing its record",
                        k + 1,
                        job.label()
                    );
                    write_record(job, finished_cost(job, config)?)?;
                    after_each()?;
                    continue;
                }
                JobState::Stale { recorded, now } => println!(
                    "[experiment] model {}/{total} {}: its record {} was made with config \
                     {recorded:.12}, the config is now {now:.12}: stale, retraining",
                    k + 1,
                    job.label(),
                    job.record.display()
                ),
                _ => {}
            }
        }
        let remaining = total - k;
        let eta = match step_seconds {
            Some(s) => format!(
                "~{:.1} h",
                s * steps_of(config)? as f64 * remaining as f64 / 3600.0
            ),
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
        write_record(job, finished_cost(job, config)?)?;
        println!(
            "[experiment] model {} finished (best epoch {}): record {}",
            job.label(),
            finished.best_epoch,
            job.record.display()
        );
        after_each()?;
    }
    Ok(())
}

/// The training time of a finished run folder by the sessions that finished it: the seconds of
/// each, from `sessions.jsonl`, or the last session's from `finished.json` for folders without
/// one. A lower bound when a process was interrupted; [`build_record`] uses it only for run
/// folders whose epochs are not all timed.
fn finished_cost(job: &ModelJob, config: &RunConfig) -> Result<TrainingCost> {
    let marker = job.marker();
    let text = std::fs::read_to_string(&marker).map_err(|e| AtlopError::io(&marker, e))?;
    let finished: Finished = serde_json::from_str(&text).map_err(|e| AtlopError::Json {
        path: marker,
        source: e,
    })?;
    let sessions = read_sessions(&job.dir)?;
    let seconds = if sessions.is_empty() {
        finished.seconds
    } else {
        sessions.iter().sum()
    };
    Ok(TrainingCost {
        seconds,
        steps: steps_of(config)?,
    })
}

fn sessions_path(dir: &Path) -> PathBuf {
    dir.join("sessions.jsonl")
}

/// Seconds of every training session of a run folder (one line each, appended at its end).
fn read_sessions(dir: &Path) -> Result<Vec<f64>> {
    let path = sessions_path(dir);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| AtlopError::io(&path, e))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seconds"].as_f64())
        .collect())
}

fn write_record(job: &ModelJob, cost: TrainingCost) -> Result<()> {
    let record = build_record(&job.key(), &job.dir, &job.strategies, cost)?;
    record.write(&job.record)
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
    let hash = config_hash(config)?;
    let resumable = job.run_matches(&hash)? && latest_checkpoint(&job.dir)?.is_some();
    // A folder without a complete checkpoint (killed in its first epoch) holds nothing worth
    // keeping, and its partial metrics would be logged twice; one of another config is stale.
    if job.dir.exists() && (force || !resumable) {
        if !force {
            println!(
                "[experiment] {} has no checkpoint of this config: starting it over",
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
    let session =
        serde_json::json!({ "seconds": summary.seconds, "from_epoch": summary.resumed_from });
    append_line(&sessions_path(&job.dir), &session.to_string())?;
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

fn append_line(path: &Path, line: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| AtlopError::io(path, e))?;
    writeln!(file, "{line}").map_err(|e| AtlopError::io(path, e))
}

/// The best model's logits on dev and (when configured) test, saved in the run folder.
fn save_scores<B: burn::tensor::backend::Backend>(
    run_dir: &Path,
    device: &B::Device,
) -> Result<()> {
    let run = TrainedRun::open(run_dir)?;
    let model = run.best_model::<B>(device)?;
    let d = &run.config.data;
    let splits = [
        ("dev", Some((&d.dev, d.dev_docs))),
        ("test", d.test.as_ref().map(|t| (t, d.test_docs))),
    ];
    for (name, source) in splits {
        let Some((path, slice)) = source else {
            continue;
        };
        let split = run.split(path, slice)?;
        let scores = split_scores(&model, &split, &run.config, &run.tokenizer, device)?;
        saved_scores::save(run_dir, name, &scores)?;
    }
    Ok(())
}
