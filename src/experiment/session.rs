//! `atlop experiment`: plan the models, show where each stands, write every table from the
//! records, and (with `train`) train the missing models one after another, rewriting the tables
//! whenever one finishes (`--dry-run` estimates the rest: [`super::estimate`]).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use super::definition::{Definitions, Table};
use super::figures::write_figures;
use super::profile::Profile;
use super::report::{write_table, Provenance, TableResult};
use super::rows::fill_table;
use super::runner::{plan_jobs, train_jobs, JobState, ModelJob};
use crate::error::Result;

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

impl ExperimentOptions {
    /// The models behind `tables` with these options' profile, seeds and folders.
    pub fn plan(&self, defs: &Definitions, tables: &[&Table]) -> Vec<ModelJob> {
        plan_jobs(
            defs,
            tables,
            self.profile,
            self.seeds,
            &self.runs_dir,
            &self.records_dir,
        )
    }
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
    let jobs = options.plan(defs, tables);
    let states = job_states(&jobs)?;
    println!("{}", status(&jobs, &states));
    let written = write_tables_from(tables, &jobs, &states, options)?;
    if !options.train {
        let left = jobs
            .iter()
            .zip(&states)
            .filter(|(j, s)| j.config.is_ok() && !matches!(s, JobState::Recorded(_)))
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

/// Where each job stands, read once from its record and run folder.
pub fn job_states(jobs: &[ModelJob]) -> Result<Vec<JobState>> {
    jobs.iter().map(ModelJob::state).collect()
}

/// One line per model: where it stands, and the measured cost of the finished ones.
pub fn status(jobs: &[ModelJob], states: &[JobState]) -> String {
    let mut out = String::from("## Models (queue order)\n\n");
    for (job, state) in jobs.iter().zip(states) {
        let detail = match state {
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
    out
}

/// Rewrites every table (and its figures) from the records as they are now; returns the folders.
fn write_tables(
    tables: &[&Table],
    jobs: &[ModelJob],
    options: &ExperimentOptions,
) -> Result<Vec<PathBuf>> {
    write_tables_from(tables, jobs, &job_states(jobs)?, options)
}

/// [`write_tables`] with the jobs' states already read.
fn write_tables_from(
    tables: &[&Table],
    jobs: &[ModelJob],
    states: &[JobState],
    options: &ExperimentOptions,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for table in tables {
        // The table's own models: its header reads the same whichever command rewrote it.
        let own: Vec<(&ModelJob, &JobState)> = jobs
            .iter()
            .zip(states)
            .filter(|(job, _)| job.is_in(table))
            .collect();
        let result = TableResult {
            table: table.name.clone(),
            title: table.title.clone(),
            provenance: provenance(&own, options),
            rows: fill_table(table, jobs, states)?,
        };
        let dir = write_table(&options.results_dir, table, &result)?;
        println!("[experiment] {} -> {}", table.title, dir.display());
        for figure in write_figures(&dir, table, &result, jobs, states)? {
            println!("[experiment]   figure {}", figure.display());
        }
        written.push(dir);
    }
    Ok(written)
}

/// How a table was made, from the records of its finished models alone (no volatile values:
/// regenerating committed tables from the same records changes nothing).
fn provenance(jobs: &[(&ModelJob, &JobState)], options: &ExperimentOptions) -> Provenance {
    let mut data_files = BTreeSet::new();
    let mut encoders = BTreeSet::new();
    let mut seeds = BTreeSet::new();
    let mut backends = BTreeSet::new();
    let mut machines = BTreeSet::new();
    let mut commits = BTreeSet::new();
    let mut training_seconds = 0.0;
    let mut finished = 0;
    for &(job, state) in jobs {
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
