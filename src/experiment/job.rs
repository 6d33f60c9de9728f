//! One model of an experiment's plan ([`ModelJob`]) and where it stands ([`JobState`]): from its
//! durable record (finished, or stale when its config hash changed) and its run folder (training
//! k of n epochs, trained but not yet recorded, not run).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::definition::Table;
use super::profile::{column_ref, Profile};
use super::record::{config_hash, ModelRecord, RecordKey};
use crate::config::RunConfig;
use crate::decision::Strategy;
use crate::error::Result;
use crate::run_folder::RunFolder;
use crate::train::latest_checkpoint;

/// One model of the plan.
#[derive(Debug, Clone)]
pub struct ModelJob {
    pub profile: Profile,
    /// `docred`, `cdr` or `gda`.
    pub base: String,
    pub variant: String,
    pub encoder: Option<String>,
    pub seed: u64,
    /// Its run folder (may not exist).
    pub dir: PathBuf,
    /// Its durable record (may not exist).
    pub record: PathBuf,
    /// The decision rules its record scores: every rule a table row asks of the variant, and
    /// Table 6's three (adaptive, which on a BCE model is its TH-logit decision; global;
    /// per-class).
    pub strategies: Vec<Strategy>,
    /// The resolved config, or why this model cannot be trained here.
    pub config: std::result::Result<RunConfig, String>,
}

impl ModelJob {
    /// Whether this model is behind one of `table`'s cells: a row's variant and encoder, on the
    /// dataset of one of its columns (Table 4's `atlop` row is not DocRED's `atlop` model).
    pub fn is_in(&self, table: &Table) -> bool {
        table
            .rows
            .iter()
            .any(|r| r.variant == self.variant && r.encoder == self.encoder)
            && table
                .columns
                .iter()
                .any(|c| column_ref(table.dataset, c).base == self.base)
    }
}

/// Where a model stands.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Its record matches its config: finished.
    Recorded(Box<ModelRecord>),
    /// A record exists for another config (the recipe changed): not used; retrained.
    Stale {
        recorded: String,
        now: String,
    },
    /// A run folder with `epochs_done` of `epochs` checkpointed.
    Training {
        epochs_done: usize,
        epochs: usize,
    },
    /// Trained to the end, its record not yet written (built on the next run).
    Unrecorded,
    NotRun,
    /// Why it cannot be trained here (missing data or encoder).
    Unavailable(String),
}

impl JobState {
    /// How a table cell without a value says where its model stands.
    pub fn describe(&self) -> String {
        match self {
            JobState::Recorded(_) => "finished".into(),
            JobState::Stale { .. } => {
                "stale record (made from another config; --train retrains it)".into()
            }
            JobState::Training {
                epochs_done,
                epochs,
            } => format!("training ({epochs_done}/{epochs} epochs)"),
            JobState::Unrecorded => "trained, record not yet written".into(),
            JobState::NotRun => "not run".into(),
            JobState::Unavailable(why) => format!("not available here: {why}"),
        }
    }
}

/// `finished.json`: the marker of a complete run folder, with what the ETA needs.
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
    /// The run folder was trained to the end (its logits saved).
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

    pub(super) fn key(&self) -> RecordKey<'_> {
        RecordKey {
            profile: self.profile.name(),
            dataset: &self.base,
            variant: &self.variant,
            encoder_override: self.encoder.as_deref(),
            seed: self.seed,
        }
    }

    /// Where the model stands, from its record and run folder.
    pub fn state(&self) -> Result<JobState> {
        let config = match &self.config {
            Ok(c) => c,
            Err(why) => return Ok(JobState::Unavailable(why.clone())),
        };
        let hash = config_hash(config)?;
        let record = ModelRecord::read(&self.record)?;
        if let Some(record) = record.as_ref().filter(|r| r.config_hash == hash) {
            return Ok(JobState::Recorded(Box::new(record.clone())));
        }
        // A stale record is only reported while no run of the current config exists.
        if !self.run_matches(&hash)? {
            return Ok(match record {
                Some(record) => JobState::Stale {
                    recorded: record.config_hash,
                    now: hash,
                },
                None => JobState::NotRun,
            });
        }
        if self.is_finished() {
            return Ok(JobState::Unrecorded);
        }
        Ok(match latest_checkpoint(&self.dir)? {
            Some(epochs_done) => JobState::Training {
                epochs_done,
                epochs: config.training.epochs,
            },
            None => JobState::NotRun,
        })
    }

    /// The run folder exists and was made from a config with hash `hash`.
    pub(super) fn run_matches(&self, hash: &str) -> Result<bool> {
        if !self.dir.join("config.toml").is_file() {
            return Ok(false);
        }
        let config = RunFolder::open(&self.dir)?.read_config()?;
        Ok(config_hash(&config)? == hash)
    }
}
