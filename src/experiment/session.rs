//! `atlop experiment`: plan the models, show where each stands, write every table from the
//! records, and (with `train`) train the missing models one after another, rewriting the tables
//! whenever one finishes; or, with `--dry-run`, calibrate the step time and estimate the rest.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use super::definition::{Definitions, Table};
use super::figures::write_figures;
use super::profile::Profile;
use super::report::{write_table, Provenance, TableResult};
use super::rows::fill_table;
use super::runner::{plan_jobs, steps_of, train_jobs, JobState, ModelJob};
use crate::config::DocSlice;
use crate::error::{AtlopError, Result};
use crate::train::run::{train, Dashboard, TrainTarget};

/// What `atlop experiment` was asked to do.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    pub profile: Profile,
    pub seeds: usize,
    /// Train the models that are not finished (otherwise only report and write tables).
    pub train: bool,
    pub force: bool,
    /// Run folders go to `<runs_dir>/<profile>/...`.
    pub runs_dir: PathBuf,
    /// Model records go to `<records_dir>/<profile>/...` (default `results/models`).
    pub records_dir: PathBuf,
    /// Tables go to `<results_dir>/<table>/<profile>/` (default `results`).
    pub results_dir: PathBuf,
    /// The command that regenerates the tables, quoted in every table's header.
    pub command: String,
}

/// The default folder of run folders: `$ATLOP_RUNS`, else `~/.cache/atlop/runs` (outside the
/// work tree, so a fresh checkout on the same machine resumes where the last one stopped), else
/// `runs/experiments`.
pub fn default_runs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ATLOP_RUNS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Path::new(&home).join(".cache/atlop/runs"),
        None => PathBuf::from("runs/experiments"),
    }
}

/// Shows the plan's state, writes every table, and trains what is missing when asked; returns
/// the table folders written.
pub fn run_experiment<B: AutodiffBackend>(
    defs: &Definitions,
    tables: &[&Table],
    options: &ExperimentOptions,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let jobs = plan_jobs(
        defs,
        tables,
        options.profile,
        options.seeds,
        &options.runs_dir,
        &options.records_dir,
    );
    println!("{}", status(&jobs)?);
    let written = write_tables(tables, &jobs, options)?;
    if !options.train {
        let left = jobs
            .iter()
            .filter(|j| j.config.is_ok())
            .filter(|j| !matches!(j.state(), Ok(JobState::Recorded(_))))
            .count();
        if left > 0 {
            println!(
                "[experiment] {left} model(s) left. Nothing was trained: add --train to continue \
                 the campaign (resumable; run folders in {}), --dry-run to estimate its time.",
                options.runs_dir.display()
            );
        }
        return Ok(written);
    }
    let mut rewrite = || write_tables(tables, &jobs, options).map(|_| ());
    train_jobs::<B>(&jobs, options.force, device, &mut rewrite)?;
    write_tables(tables, &jobs, options)
}

/// One line per model: where it stands, and the measured cost of the finished ones.
pub fn status(jobs: &[ModelJob]) -> Result<String> {
    let mut out = String::from("## Models (queue order)\n\n");
    for job in jobs {
        let state = job.state()?;
        let detail = match &state {
            JobState::Recorded(r) => format!(
                "finished: best epoch {}, {:.0} min on {} ({} threads), record {}",
                r.best_epoch,
                r.provenance.training_seconds / 60.0,
                r.provenance.cpu,
                r.provenance.threads,
                job.record.display()
            ),
            other => other.describe(),
        };
        let _ = writeln!(out, "- {}: {detail}", job.label());
    }
    Ok(out)
}

/// Rewrites every table (and its figures) from the records; returns the folders.
fn write_tables(
    tables: &[&Table],
    jobs: &[ModelJob],
    options: &ExperimentOptions,
) -> Result<Vec<PathBuf>> {
    let states = jobs
        .iter()
        .map(ModelJob::state)
        .collect::<Result<Vec<_>>>()?;
    let provenance = provenance(jobs, &states, options);
    let mut written = Vec::new();
    for table in tables {
        let result = TableResult {
            table: table.name.clone(),
            title: table.title.clone(),
            provenance: provenance.clone(),
            rows: fill_table(table, jobs, &states)?,
        };
        let dir = write_table(&options.results_dir, table, &result)?;
        println!("[experiment] {} -> {}", table.title, dir.display());
        for figure in write_figures(&dir, table, &result, jobs, &states)? {
            println!("[experiment]   figure {}", figure.display());
        }
        written.push(dir);
    }
    Ok(written)
}

/// How the tables were made, from the records of the finished models alone (no volatile
/// values: regenerating committed tables from the same records changes nothing).
fn provenance(jobs: &[ModelJob], states: &[JobState], options: &ExperimentOptions) -> Provenance {
    let mut data_files = BTreeSet::new();
    let mut encoders = BTreeSet::new();
    let mut seeds = BTreeSet::new();
    let mut backends = BTreeSet::new();
    let mut machines = BTreeSet::new();
    let mut commits = BTreeSet::new();
    let mut training_seconds = 0.0;
    let mut finished = 0;
    for (job, state) in jobs.iter().zip(states) {
        let JobState::Recorded(record) = state else {
            continue;
        };
        finished += 1;
        let p = &record.provenance;
        seeds.insert(job.seed);
        training_seconds += p.training_seconds;
        encoders.insert(p.encoder_source.clone());
        backends.insert(p.backend.clone());
        machines.insert(format!("{}, {} threads", p.cpu, p.threads));
        if let Some(c) = &p.git_commit {
            commits.insert(c.chars().take(12).collect::<String>());
        }
        if let Ok(c) = &job.config {
            let d = &c.data;
            let splits = [
                ("train", Some(&d.train), d.train_docs),
                ("dev", Some(&d.dev), d.dev_docs),
                ("test", d.test.as_ref(), d.test_docs),
            ];
            for (role, path, slice) in splits {
                if let (Some(path), Some(s)) = (path, slice) {
                    data_files.insert(format!(
                        "{role} `{}`: documents {}..{} only",
                        path.display(),
                        s.start,
                        s.end
                    ));
                }
            }
        }
        for file in &p.data {
            data_files.insert(format!(
                "{} `{}` (sha256 {})",
                file.role,
                file.path.display(),
                file.sha256
            ));
        }
    }
    Provenance {
        command: options.command.clone(),
        git_commits: commits.into_iter().collect(),
        profile: options.profile.name().to_string(),
        data_files: data_files.into_iter().collect(),
        encoders: encoders.into_iter().collect(),
        seeds: seeds.into_iter().collect(),
        backends: backends.into_iter().collect(),
        machines: machines.into_iter().collect(),
        models_finished: finished,
        models_planned: jobs.len(),
        training_seconds,
    }
}

/// The plan's estimated remaining time. The time of one model comes from the records of finished
/// models of the same dataset (their measured wall time, dev passes included); without one, a
/// calibration model trains a few steps (said so in the output) and the steady-state step time
/// after warm-up is extrapolated, plus the dev passes at the measured rate. Returns Markdown, or
/// an error when nothing of the plan can run here.
pub fn estimate<B: AutodiffBackend>(
    defs: &Definitions,
    tables: &[&Table],
    options: &ExperimentOptions,
    device: &B::Device,
) -> Result<String> {
    let jobs = plan_jobs(
        defs,
        tables,
        options.profile,
        options.seeds,
        &options.runs_dir,
        &options.records_dir,
    );
    let mut lines = Vec::new();
    let mut total = 0.0;
    let mut measured: Vec<(String, f64, String)> = Vec::new();
    let mut unavailable = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for job in &jobs {
        if let JobState::Recorded(r) = job.state()? {
            if !measured.iter().any(|(b, _, _)| *b == job.base) {
                measured.push((
                    job.base.clone(),
                    r.provenance.training_seconds,
                    format!(
                        "measured: {} took {:.0} min",
                        job.label(),
                        r.provenance.training_seconds / 60.0
                    ),
                ));
            }
        }
    }
    for job in &jobs {
        let config = match &job.config {
            Ok(c) => c,
            Err(why) => {
                lines.push(format!("- {}: not available here ({why})", job.label()));
                unavailable.push(job.label());
                continue;
            }
        };
        let state = job.state()?;
        let fraction_left = match &state {
            JobState::Recorded(_) if !options.force => {
                lines.push(format!("- {}: finished", job.label()));
                continue;
            }
            JobState::Training {
                epochs_done,
                epochs,
            } if !options.force => 1.0 - *epochs_done as f64 / (*epochs).max(1) as f64,
            _ => 1.0,
        };
        if let Some((_, why)) = failed.iter().find(|(b, _)| *b == job.base) {
            lines.push(format!("- {}: cannot run here ({why})", job.label()));
            unavailable.push(job.label());
            continue;
        }
        let (model_seconds, how) = match measured.iter().find(|(b, _, _)| *b == job.base) {
            Some((_, s, how)) => (*s, how.clone()),
            None => {
                println!(
                    "[experiment] estimating {}: training a calibration model (a few steps, \
                     thrown away) to measure the step and dev-pass times",
                    job.base
                );
                match calibrate::<B>(config, device) {
                    Ok(s) => {
                        let how = format!("calibrated: {s:.0} s per model");
                        measured.push((job.base.clone(), s, how.clone()));
                        (s, how)
                    }
                    // An encoder that cannot be had here (a hub id offline): not available.
                    Err(e) => {
                        lines.push(format!("- {}: cannot run here ({e})", job.label()));
                        unavailable.push(job.label());
                        failed.push((job.base.clone(), e.to_string()));
                        continue;
                    }
                }
            }
        };
        let seconds = model_seconds * fraction_left;
        total += seconds;
        lines.push(format!(
            "- {}: {} ~{:.1} h ({how})",
            job.label(),
            state.describe(),
            seconds / 3600.0
        ));
    }
    if unavailable.len() == jobs.len() {
        return Err(AtlopError::Invalid(format!(
            "profile `{}`: none of the {} planned models can run here:\n{}",
            options.profile.name(),
            jobs.len(),
            lines.join("\n")
        )));
    }
    Ok(format!(
        "## Estimated remaining time (profile `{}`, {} threads)\n\n{}\n\ntotal: ~{:.1} h\n",
        options.profile.name(),
        rayon::current_num_threads(),
        lines.join("\n"),
        total / 3600.0
    ))
}

/// Seconds one whole model of `config` takes: a throw-away run of 2 warm-up and 4 timed steps
/// (the steady-state step, without model loading) and a dev pass over 8 documents, scaled to
/// the schedule's steps and dev passes.
fn calibrate<B: AutodiffBackend>(
    config: &crate::config::RunConfig,
    device: &B::Device,
) -> Result<f64> {
    const WARM_UP: usize = 2;
    const TIMED: usize = 4;
    const DEV_DOCS: usize = 8;
    let mut probe = config.clone();
    let start = probe.data.train_docs.map_or(0, |s| s.start);
    probe.data.train_docs = Some(DocSlice {
        start,
        end: start + (WARM_UP + TIMED) * probe.training.batch_size,
    });
    let dev_start = probe.data.dev_docs.map_or(0, |s| s.start);
    probe.data.dev_docs = Some(DocSlice {
        start: dev_start,
        end: dev_start + DEV_DOCS,
    });
    probe.training.epochs = 1;
    probe.training.log_every = 1;
    let out = std::env::temp_dir().join(format!("atlop-calibration-{}", std::process::id()));
    let summary = train::<B>(
        TrainTarget::New {
            config: Box::new(probe),
            out: Some(out.clone()),
        },
        Dashboard::Plain,
        device.clone(),
    );
    let timing = summary.and_then(|_| step_times(&out.join("metrics.jsonl")));
    let _ = std::fs::remove_dir_all(&out);
    let (step, dev_pass) = timing?;
    let dev_pass_per_doc = dev_pass / DEV_DOCS as f64;
    let steps = steps_of(config)? as f64;
    let dev_docs = match config.data.dev_docs {
        Some(s) => s.end - s.start,
        None => crate::pipeline::load_documents(config, &config.data.dev, None)?
            .0
            .documents
            .len(),
    } as f64;
    Ok(step * steps + dev_pass_per_doc * dev_docs * config.training.epochs as f64)
}

/// The median step time after warm-up and the dev pass's seconds, from a calibration run's
/// `metrics.jsonl` (each line carries a wall-clock stamp).
fn step_times(metrics: &Path) -> Result<(f64, f64)> {
    let text = std::fs::read_to_string(metrics).map_err(|e| AtlopError::io(metrics, e))?;
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(t) = v["unix_seconds"].as_f64() else {
            continue;
        };
        match v["split"].as_str() {
            Some("train") => train.push(t),
            Some("valid") => valid.push(t),
            _ => {}
        }
    }
    // The first gaps include warm-up (allocation, first-touch pages): skip them.
    let mut gaps: Vec<f64> = train.windows(2).skip(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return Err(AtlopError::Invalid(format!(
            "{}: too few timed steps to calibrate",
            metrics.display()
        )));
    }
    gaps.sort_by(f64::total_cmp);
    let step = gaps[gaps.len() / 2];
    let dev = match (train.last(), valid.last()) {
        (Some(t), Some(v)) => (v - t).max(0.0),
        _ => 0.0,
    };
    Ok((step, dev))
}
