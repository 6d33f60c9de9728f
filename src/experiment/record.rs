//! The durable record of one finished model:
//! `results/models/<profile>/<dataset>/<variant>[-<encoder>]-seed<k>.json`, a few KB, committed.
//!
//! A record holds everything any table row, any thresholding strategy of Table 6, Figure 4 and
//! the training curves need, computed once when the model finishes: for each decision rule
//! (adaptive, which on a BCE model is its TH-logit decision; global and per-class thresholds
//! tuned on dev; whatever other rule a table asks of the variant) the tuned thresholds and the
//! dev and test F1 / Ign F1 / precision / recall / intra / inter scores, dev F1 by entity
//! count, the loss and dev F1 of every epoch and the best epoch; and how it was made (a hash of the resolved config, git commit, data sha256s,
//! encoder, backend, CPU, threads, time, date). Tables are built from records alone, so a fresh
//! clone regenerates every committed table in seconds, without run folders or logits.
//!
//! Scores are percentages (fields end in `_pct`), as in the tables.
//!
//! A record is valid for a config only while [`config_hash`] of that config matches the
//! record's: a changed recipe makes it stale, and a stale record is reported, never used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomically;
use crate::config::RunConfig;
use crate::decision::{Decisions, Strategy, Thresholds};
use crate::error::{AtlopError, Result};
use crate::evaluation::whole_set::SetReport;
use crate::run_folder::{now_unix, timestamp, DataFile, RunFolder, RunManifest};
use crate::train::epoch_times;
use crate::trained_run::TrainedRun;

use super::figures::epoch_curves;
use super::saved_scores;

/// Bumped when the record's layout changes incompatibly.
pub const RECORD_FORMAT: u32 = 1;

/// One finished model; see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub format: u32,
    pub profile: String,
    /// `docred`, `cdr` or `gda`.
    pub dataset: String,
    pub variant: String,
    /// The row's encoder when it is not the profile's (Table 3's RoBERTa row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_override: Option<String>,
    pub seed: u64,
    /// [`config_hash`] of the resolved training config.
    pub config_hash: String,
    /// The epoch whose model every score below comes from (selected on dev by the config's
    /// decision rule).
    pub best_epoch: usize,
    pub epochs: Vec<EpochPoint>,
    pub decisions: Vec<DecisionScores>,
    pub provenance: RecordProvenance,
}

/// The mean training loss and the whole-dev-set F1 (the run's decision rule) of one epoch, and
/// its wall time with its dev pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: Option<f64>,
    pub dev_f1_pct: Option<f64>,
    /// `None` for the epochs a run trained before `metrics.jsonl` stamped process starts
    /// ([`crate::train::epoch_times`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// The best model under one decision rule, tuned on dev and applied unchanged to test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionScores {
    pub strategy: Strategy,
    pub thresholds: Thresholds,
    pub dev: SplitScores,
    /// `None` when the test file is unlabelled (DocRED's test: scored on CodaLab).
    pub test: Option<SplitScores>,
    /// DocRED: dev F1 by the number of entities per document (Figure 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_by_entities: Vec<BucketScore>,
}

/// Scores of one split, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitScores {
    pub f1_pct: f64,
    pub precision_pct: f64,
    pub recall_pct: f64,
    /// DocRED only.
    pub ign_f1_pct: Option<f64>,
    /// DocRED: facts whose head and tail share a sentence, and the others.
    pub intra_f1_pct: Option<f64>,
    pub inter_f1_pct: Option<f64>,
}

/// Dev F1 of the documents with `min_entities..=max_entities` entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketScore {
    pub min_entities: usize,
    pub max_entities: Option<usize>,
    pub documents: usize,
    pub f1_pct: f64,
}

/// How the model was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordProvenance {
    pub git_commit: Option<String>,
    pub encoder_source: String,
    pub data: Vec<DataFile>,
    pub backend: String,
    /// CPU model and vector extensions of the machine that trained it.
    pub cpu: String,
    pub threads: usize,
    /// Wall time of training, dev passes included, summed over resumed sessions when known.
    pub training_seconds: f64,
    /// Optimiser steps of the whole schedule.
    pub steps: usize,
    pub epochs: usize,
    pub finished_unix: u64,
    /// `YYYYmmdd-HHMMSS` UTC.
    pub finished_utc: String,
}

impl SplitScores {
    fn from_report(report: &SetReport) -> Self {
        let pct = |v: f64| v * 100.0;
        let (precision, recall) = match (&report.docred, &report.bio) {
            (Some(d), _) => (d.precision, d.recall),
            (None, Some(b)) => (b.precision, b.recall),
            (None, None) => (0.0, 0.0),
        };
        SplitScores {
            f1_pct: pct(report.f1),
            precision_pct: pct(precision),
            recall_pct: pct(recall),
            ign_f1_pct: report.ign_f1.map(pct),
            intra_f1_pct: report.docred.as_ref().map(|d| pct(d.intra.f1)),
            inter_f1_pct: report.docred.as_ref().map(|d| pct(d.inter.f1)),
        }
    }

    /// A metric of a table column: `f1`, `ign_f1`, `precision`, `recall`, `intra_f1`,
    /// `inter_f1`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "f1" => Some(self.f1_pct),
            "ign_f1" => self.ign_f1_pct,
            "precision" => Some(self.precision_pct),
            "recall" => Some(self.recall_pct),
            "intra_f1" => self.intra_f1_pct,
            "inter_f1" => self.inter_f1_pct,
            _ => None,
        }
    }
}

impl ModelRecord {
    /// What the model takes with the cores to itself, for estimates: its fastest timed epoch
    /// times its number of epochs, when at least half of them are timed; else the measured
    /// `training_seconds`. Every epoch of a model does the same work, and whatever else runs on
    /// the machine (a build, tests, a benchmark that pauses the campaign) only ever slows an
    /// epoch down: with most epochs of a model disturbed, even their median was twice the
    /// undisturbed epoch. The tables report the measured time.
    pub fn typical_seconds(&self) -> f64 {
        if !self.has_timed_epochs() {
            return self.provenance.training_seconds;
        }
        let fastest = self
            .epochs
            .iter()
            .filter_map(|e| e.seconds)
            .fold(f64::INFINITY, f64::min);
        fastest * self.epochs.len() as f64
    }

    /// How well its time predicts another model's, for [`Self::typical_seconds`]'s users (the
    /// `--dry-run` estimate, the runner's ETA): a record timed epoch by epoch beats one that is
    /// not (whose time may include pauses), then a newer one an older (a faster binary).
    pub fn reference_rank(&self) -> (bool, u64) {
        (self.has_timed_epochs(), self.provenance.finished_unix)
    }

    /// Whether at least half of its epochs carry their own wall time (`epochs[].seconds`,
    /// written since session 10), enough for [`Self::typical_seconds`] to use them.
    pub fn has_timed_epochs(&self) -> bool {
        let timed = self.epochs.iter().filter(|e| e.seconds.is_some()).count();
        timed > 0 && timed * 2 >= self.epochs.len()
    }

    /// The scores under `strategy`, when the record has them.
    pub fn decision(&self, strategy: &Strategy) -> Option<&DecisionScores> {
        self.decisions.iter().find(|d| &d.strategy == strategy)
    }

    /// A column's value: `dev_f1`, `test_ign_f1`, ... under `strategy`.
    pub fn metric(&self, strategy: &Strategy, column: &str) -> Option<f64> {
        let d = self.decision(strategy)?;
        let (split, metric) = column.split_once('_')?;
        match split {
            "dev" => d.dev.metric(metric),
            "test" => d.test.as_ref()?.metric(metric),
            _ => None,
        }
    }

    /// Reads a record; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
        let record: ModelRecord =
            serde_json::from_str(&text).map_err(|source| AtlopError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        if record.format != RECORD_FORMAT {
            return Err(AtlopError::Run {
                path: path.to_path_buf(),
                message: format!(
                    "record format {} is not this program's {RECORD_FORMAT}",
                    record.format
                ),
            });
        }
        Ok(Some(record))
    }

    /// Writes the record atomically (pretty JSON, one field a line, so diffs stay readable).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(self).map_err(|source| AtlopError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        text.push(b'\n');
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AtlopError::io(dir, e))?;
        }
        write_atomically(path, |w| std::io::Write::write_all(w, &text))
    }
}

/// SHA-256 of the resolved config as the run folder saves it (`config.toml`): two runs with
/// the same hash trained the same recipe on the same files.
pub fn config_hash(config: &RunConfig) -> Result<String> {
    Ok(format!(
        "{:x}",
        Sha256::digest(config.to_toml()?.as_bytes())
    ))
}

/// What identifies the model a record is built for.
#[derive(Debug, Clone)]
pub struct RecordKey<'a> {
    pub profile: &'a str,
    pub dataset: &'a str,
    pub variant: &'a str,
    pub encoder_override: Option<&'a str>,
    pub seed: u64,
}

/// What the run's training cost by the runner's account (the sessions that finished it): the
/// record's time when not every epoch is timed from `metrics.jsonl`.
#[derive(Debug, Clone, Copy)]
pub struct TrainingCost {
    pub seconds: f64,
    pub steps: usize,
}

/// Builds the record of the finished run in `run_dir` (its saved dev/test logits, dev set, test
/// set, `metrics.jsonl`, `run.json`, `best/selected.json`), scoring every rule in `strategies`.
pub fn build_record(
    key: &RecordKey,
    run_dir: &Path,
    strategies: &[Strategy],
    cost: TrainingCost,
) -> Result<ModelRecord> {
    let run = TrainedRun::open(run_dir)?;
    let (dev, test) = run.eval_sets()?;
    let (folder, config) = (&run.folder, &run.config);
    let dev_scores = saved_scores::load(run_dir, "dev")?.ok_or_else(|| AtlopError::Run {
        path: run_dir.to_path_buf(),
        message: "no saved dev scores (scores/dev.f32): retrain with --force".into(),
    })?;
    let test_scores = match &test {
        Some(_) => saved_scores::load(run_dir, "test")?,
        None => None,
    };
    let gold = Decisions::from_features(&dev.features);
    let mut decisions = Vec::new();
    for strategy in strategies {
        let tuned = strategy.tune(&dev_scores, &gold, &config.decision.search)?;
        let dev_report = dev.score(&dev_scores, &tuned)?;
        let test_report = match (&test, &test_scores) {
            (Some(set), Some(scores)) => Some(set.score(scores, &tuned)?),
            _ => None,
        };
        let dev_by_entities = dev_report
            .docred
            .as_ref()
            .map(|r| {
                r.by_entity_count
                    .iter()
                    .map(|b| BucketScore {
                        min_entities: b.min_entities,
                        max_entities: b.max_entities,
                        documents: b.documents,
                        f1_pct: b.scores.f1 * 100.0,
                    })
                    .collect()
            })
            .unwrap_or_default();
        decisions.push(DecisionScores {
            strategy: *strategy,
            thresholds: tuned.thresholds.clone(),
            dev: SplitScores::from_report(&dev_report),
            test: test_report.as_ref().map(SplitScores::from_report),
            dev_by_entities,
        });
    }
    let curves = epoch_curves(run_dir)?;
    let metrics = run_dir.join("metrics.jsonl");
    let seconds = epoch_times::epoch_seconds(
        &std::fs::read_to_string(&metrics).map_err(|e| AtlopError::io(&metrics, e))?,
    );
    // Every epoch timed: their sum, exact across restarts. Else (a run begun before the start
    // stamps) the finished sessions' time, a lower bound.
    let training_seconds =
        epoch_times::total_seconds(&seconds, config.training.epochs).unwrap_or(cost.seconds);
    let epochs = (1..=config.training.epochs)
        .map(|epoch| {
            let at = |points: &[(f64, f64)]| {
                points
                    .iter()
                    .find(|(e, _)| *e as usize == epoch)
                    .map(|(_, v)| *v)
            };
            EpochPoint {
                epoch,
                train_loss: at(&curves.loss),
                dev_f1_pct: at(&curves.dev_f1),
                seconds: seconds.get(&epoch).copied(),
            }
        })
        .collect();
    let best_epoch = crate::train::best::read_selected(folder)?
        .map(|s| s.epoch)
        .ok_or_else(|| AtlopError::Run {
            path: run_dir.to_path_buf(),
            message: "no best/selected.json: the run did not finish".into(),
        })?;
    let manifest = read_manifest(folder)?;
    let finished_unix = now_unix();
    Ok(ModelRecord {
        format: RECORD_FORMAT,
        profile: key.profile.to_string(),
        dataset: key.dataset.to_string(),
        variant: key.variant.to_string(),
        encoder_override: key.encoder_override.map(str::to_string),
        seed: key.seed,
        config_hash: config_hash(config)?,
        best_epoch,
        epochs,
        decisions,
        provenance: RecordProvenance {
            git_commit: manifest.git_commit,
            encoder_source: manifest.encoder_source,
            data: manifest.data,
            backend: manifest.backend,
            cpu: crate::machine::cpu_description(),
            threads: rayon::current_num_threads(),
            training_seconds,
            steps: cost.steps,
            epochs: config.training.epochs,
            finished_unix,
            finished_utc: timestamp(finished_unix),
        },
    })
}

fn read_manifest(folder: &RunFolder) -> Result<RunManifest> {
    let path = folder.manifest();
    let text = std::fs::read_to_string(&path).map_err(|e| AtlopError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|source| AtlopError::Json { path, source })
}

/// `<records>/<profile>/<dataset>/<name>-seed<seed>.json`.
pub fn record_path(records_dir: &Path, key: &RecordKey) -> PathBuf {
    let name = match key.encoder_override {
        Some(e) => format!("{}-{e}", key.variant),
        None => key.variant.to_string(),
    };
    records_dir
        .join(key.profile)
        .join(key.dataset)
        .join(format!("{name}-seed{}.json", key.seed))
}

#[cfg(test)]
mod tests;
