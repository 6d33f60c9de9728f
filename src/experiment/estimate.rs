//! `atlop experiment --dry-run`: the plan's remaining time, from the measured time of finished
//! models or, for a dataset with none, from a throw-away calibration run.

use std::path::Path;

use burn::tensor::backend::AutodiffBackend;

use super::definition::{Definitions, Table};
use super::runner::{steps_of, JobState};
use super::session::ExperimentOptions;
use crate::config::DocSlice;
use crate::error::{AtlopError, Result};
use crate::train::run::{train, Dashboard, TrainTarget};

/// A finished model whose measured time can stand for another's.
struct Finished<'a> {
    base: &'a str,
    variant: &'a str,
    label: String,
    /// [`super::record::ModelRecord::reference_rank`]: (timed epoch by epoch, finished at).
    rank: (bool, u64),
    seconds: f64,
    typical: f64,
}

impl Finished<'_> {
    /// The record whose time best predicts a model of `variant` on `base`: the same variant's
    /// (another seed) when its epochs are timed, else the dataset's best-ranked record (timed,
    /// then newest: `ModelRecord::reference_rank`). Timed records give a steady-state epoch
    /// (`ModelRecord::typical_seconds`: epochs slowed by builds or paused for benchmarks do not
    /// count); the newest reflects the current binary and machine (an untimed record of an
    /// early session overestimated a model by 3x).
    fn reference<'r, 'a>(
        finished: &'r [Finished<'a>],
        base: &str,
        variant: &str,
    ) -> Option<&'r Finished<'a>> {
        let best = |keep: &dyn Fn(&Finished) -> bool| {
            finished
                .iter()
                .filter(|f| f.base == base && keep(f))
                .max_by_key(|f| f.rank)
        };
        best(&|f| f.rank.0 && f.variant == variant).or_else(|| best(&|_| true))
    }

    fn describe(&self) -> String {
        format!(
            "measured: {} took {:.0} min, {:.0} min at its fastest epoch",
            self.label,
            self.seconds / 60.0,
            self.typical / 60.0
        )
    }
}

/// The plan's estimated remaining time. The time of one model comes from a finished model's
/// record ([`Finished::reference`]: the same variant's, else the dataset's newest, timed epoch by
/// epoch when it can be; dev passes included); for a dataset without any record, a
/// calibration model trains a few steps (said so in the output) and the steady-state step time
/// after warm-up is extrapolated, plus the dev passes at the measured rate. Returns Markdown, or
/// an error when nothing of the plan can run here.
pub fn estimate<B: AutodiffBackend>(
    defs: &Definitions,
    tables: &[&Table],
    options: &ExperimentOptions,
    device: &B::Device,
) -> Result<String> {
    let jobs = options.plan(defs, tables);
    let mut lines = Vec::new();
    let mut total = 0.0;
    let mut measured: Vec<(String, f64, String)> = Vec::new();
    let mut unavailable = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let states = super::session::job_states(&jobs)?;
    let finished: Vec<Finished> = jobs
        .iter()
        .zip(&states)
        .filter_map(|(job, state)| match state {
            JobState::Recorded(r) => Some(Finished {
                base: &job.base,
                variant: &job.variant,
                label: job.label(),
                rank: r.reference_rank(),
                seconds: r.provenance.training_seconds,
                typical: r.typical_seconds(),
            }),
            _ => None,
        })
        .collect();
    for (job, state) in jobs.iter().zip(&states) {
        let config = match &job.config {
            Ok(c) => c,
            Err(why) => {
                lines.push(format!("- {}: not available here ({why})", job.label()));
                unavailable.push(job.label());
                continue;
            }
        };
        let fraction_left = match state {
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
        let reference = Finished::reference(&finished, &job.base, &job.variant);
        let known = reference.map(|f| (f.typical, f.describe())).or_else(|| {
            let (_, s, how) = measured.iter().find(|(b, _, _)| *b == job.base)?;
            Some((*s, how.clone()))
        });
        let (model_seconds, how) = match known {
            Some(known) => known,
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
