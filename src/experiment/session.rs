//! `atlop experiment`: plan the models, train the missing ones, fill and write every table
//! (or, with `--dry-run`, time two training steps and estimate the whole plan).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;

use super::definition::{Definitions, Table};
use super::figures::write_figures;
use super::profile::Profile;
use super::report::{write_table, Provenance, TableResult};
use super::rows::fill_table;
use super::runner::{plan_jobs, steps_of, train_jobs, ModelJob};
use crate::config::DocSlice;
use crate::error::{AtlopError, Result};
use crate::run_folder::{git_commit, RunFolder, RunManifest};
use crate::train::run::{train, Dashboard, TrainTarget};

/// What `atlop experiment` was asked to do.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    pub profile: Profile,
    pub seeds: usize,
    pub force: bool,
    /// Run folders go to `<runs_dir>/<profile>/...` (default `runs/experiments`).
    pub runs_dir: PathBuf,
    /// Tables go to `<results_dir>/<table>/<profile>/` (default `results`).
    pub results_dir: PathBuf,
    /// The command line, quoted in every table's header.
    pub command: String,
}

/// Trains what is missing and writes every table; returns the folders written.
pub fn run_experiment<B: AutodiffBackend>(
    defs: &Definitions,
    tables: &[&Table],
    options: &ExperimentOptions,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let started = Instant::now();
    let jobs = plan_jobs(
        defs,
        tables,
        options.profile,
        options.seeds,
        &options.runs_dir,
    );
    for job in &jobs {
        if let Err(why) = &job.config {
            println!("[experiment] {}: not available here ({why})", job.label());
        }
    }
    train_jobs::<B>(&jobs, options.force, device)?;
    let provenance = provenance::<B>(&jobs, options, started.elapsed().as_secs_f64())?;
    let mut written = Vec::new();
    for table in tables {
        let result = TableResult {
            table: table.name.clone(),
            title: table.title.clone(),
            provenance: provenance.clone(),
            rows: fill_table(table, &jobs)?,
        };
        let dir = write_table(&options.results_dir, table, &result)?;
        println!("[experiment] {} -> {}", table.title, dir.display());
        for figure in write_figures(&dir, table, &result, &jobs)? {
            println!("[experiment]   figure {}", figure.display());
        }
        written.push(dir);
    }
    Ok(written)
}

fn provenance<B: AutodiffBackend>(
    jobs: &[ModelJob],
    options: &ExperimentOptions,
    wall_seconds: f64,
) -> Result<Provenance> {
    let mut data_files = BTreeSet::new();
    let mut encoders = BTreeSet::new();
    let mut seeds = BTreeSet::new();
    let mut training_seconds = 0.0;
    for job in jobs.iter().filter(|j| j.is_finished()) {
        seeds.insert(job.seed);
        let marker = job.marker();
        let text = std::fs::read_to_string(&marker).map_err(|e| AtlopError::io(&marker, e))?;
        let finished: super::runner::Finished =
            serde_json::from_str(&text).map_err(|e| AtlopError::Json {
                path: marker,
                source: e,
            })?;
        training_seconds += finished.seconds;
        let path = RunFolder {
            path: job.dir.clone(),
        }
        .manifest();
        let text = std::fs::read_to_string(&path).map_err(|e| AtlopError::io(&path, e))?;
        let manifest: RunManifest =
            serde_json::from_str(&text).map_err(|e| AtlopError::Json { path, source: e })?;
        encoders.insert(manifest.encoder_source);
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
        for file in manifest.data {
            data_files.insert(format!(
                "{} `{}` (sha256 {})",
                file.role,
                file.path.display(),
                file.sha256
            ));
        }
    }
    Ok(Provenance {
        command: options.command.clone(),
        git_commit: git_commit(),
        profile: options.profile.name().to_string(),
        data_files: data_files.into_iter().collect(),
        encoders: encoders.into_iter().collect(),
        seeds: seeds.into_iter().collect(),
        backend: std::any::type_name::<B>().to_string(),
        wall_seconds,
        training_seconds,
    })
}

/// The plan's estimated training time: two steps of the first model of each dataset are timed
/// (model loading and one 1-document dev pass included, so it is an upper bound) and multiplied
/// by the steps of every unfinished model. Returns a Markdown paragraph.
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
    );
    let mut lines = Vec::new();
    let mut total = 0.0;
    let mut timed: Vec<(String, f64)> = Vec::new();
    for job in &jobs {
        let config = match &job.config {
            Ok(c) => c,
            Err(why) => {
                lines.push(format!("- {}: not available here ({why})", job.label()));
                continue;
            }
        };
        if job.is_finished() && !options.force {
            lines.push(format!("- {}: finished, reused", job.label()));
            continue;
        }
        let step = match timed.iter().find(|(b, _)| *b == job.base) {
            Some((_, s)) => *s,
            None => {
                let s = time_two_steps::<B>(config, device)?;
                timed.push((job.base.clone(), s));
                s
            }
        };
        let steps = steps_of(config)?;
        total += step * steps as f64;
        lines.push(format!(
            "- {}: {steps} steps x {step:.2} s = ~{:.0} s",
            job.label(),
            step * steps as f64
        ));
    }
    Ok(format!(
        "## Estimated training time (profile `{}`)\n\n{}\n\ntotal: ~{:.1} h \
         (dev passes per epoch not included)\n",
        options.profile.name(),
        lines.join("\n"),
        total / 3600.0
    ))
}

/// Seconds per training step of `config`, from a throw-away run of two steps.
fn time_two_steps<B: AutodiffBackend>(
    config: &crate::config::RunConfig,
    device: &B::Device,
) -> Result<f64> {
    let mut probe = config.clone();
    let start = probe.data.train_docs.map_or(0, |s| s.start);
    probe.data.train_docs = Some(DocSlice {
        start,
        end: start + 2 * probe.training.batch_size,
    });
    let dev_start = probe.data.dev_docs.map_or(0, |s| s.start);
    probe.data.dev_docs = Some(DocSlice {
        start: dev_start,
        end: dev_start + 1,
    });
    probe.training.epochs = 1;
    let out = std::env::temp_dir().join(format!("atlop-dry-run-{}", std::process::id()));
    let summary = train::<B>(
        TrainTarget::New {
            config: Box::new(probe),
            out: Some(out.clone()),
        },
        Dashboard::Plain,
        device.clone(),
    );
    let _ = std::fs::remove_dir_all(&out);
    let summary = summary?;
    Ok(summary.seconds / summary.iterations_per_epoch.max(1) as f64)
}
