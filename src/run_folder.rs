//! A run folder holds everything needed to resume, evaluate or reproduce a run, and nothing
//! else is read by `evaluate`:
//!
//! ```text
//! runs/<name>-<YYYYmmdd-HHMMSS>/
//!   config.toml        resolved configuration (overrides applied)
//!   run.json           encoder source, git commit, backend, devices, data files + sha256
//!   encoder/           the encoder's config.json and tokenizer files (weights live in checkpoints)
//!   relations.json     the relation classes in id order and their readable names, so
//!                      `predict` needs neither rel2id.json nor rel_info.json nor the data
//!   checkpoint/        burn's model-/optim-/scheduler-<epoch>.mpk, written atomically
//!   dev/epoch-<e>.json whole-dev-set report of each epoch (with the fitted decision)
//!   best/model.mpk     the model of the best dev F1; best/report.json its dev report
//!   metrics.jsonl      every logged value
//! ```

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::collections::HashMap;

use crate::config::RunConfig;
use crate::data::RelationVocab;
use crate::error::{AtlopError, Result};
use crate::evaluation::whole_set::SetReport;

/// A data file the run read, and its content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub role: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// `run.json`: where the run's inputs came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub encoder_source: String,
    /// The local folder the pre-trained weights were read from.
    pub encoder_dir: PathBuf,
    pub git_commit: Option<String>,
    pub backend: String,
    pub devices: Vec<String>,
    pub data: Vec<DataFile>,
    pub created_unix: u64,
}

/// `relations.json`: the relation vocabulary the model's logits are indexed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RelationsFile {
    /// Class labels in id order, NA first.
    labels: Vec<String>,
    /// Label -> readable name (DocRED's `rel_info.json`; empty for CDR/GDA).
    descriptions: HashMap<String, String>,
}

/// Paths inside a run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFolder {
    pub path: PathBuf,
}

impl RunFolder {
    /// `out`, or `runs/<name>-<UTC timestamp>`; created.
    pub fn create(out: Option<&Path>, name: &str) -> Result<Self> {
        let path = match out {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("runs").join(format!("{name}-{}", timestamp(now_unix()))),
        };
        std::fs::create_dir_all(&path).map_err(|e| AtlopError::io(&path, e))?;
        Ok(Self { path })
    }

    /// An existing run folder (resume, evaluate).
    pub fn open(path: &Path) -> Result<Self> {
        let folder = Self {
            path: path.to_path_buf(),
        };
        if !folder.config().is_file() {
            return Err(AtlopError::Run {
                path: path.to_path_buf(),
                message: "no config.toml: not a run folder".into(),
            });
        }
        Ok(folder)
    }

    pub fn config(&self) -> PathBuf {
        self.path.join("config.toml")
    }
    pub fn manifest(&self) -> PathBuf {
        self.path.join("run.json")
    }
    pub fn encoder_dir(&self) -> PathBuf {
        self.path.join("encoder")
    }
    pub fn dev_reports(&self) -> PathBuf {
        self.path.join("dev")
    }
    pub fn best_dir(&self) -> PathBuf {
        self.path.join("best")
    }
    /// The best model, without burn's extension (burn's recorders add `.mpk`).
    pub fn best_model(&self) -> PathBuf {
        self.best_dir().join("model")
    }
    pub fn best_report(&self) -> PathBuf {
        self.best_dir().join("report.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.path.join("metrics.jsonl")
    }
    pub fn relations(&self) -> PathBuf {
        self.path.join("relations.json")
    }

    /// Writes the relation vocabulary of the training data (labels in id order and names).
    pub fn write_relations(&self, vocab: &RelationVocab) -> Result<()> {
        let file = RelationsFile {
            labels: vocab.labels.clone(),
            descriptions: vocab.descriptions.clone(),
        };
        let json = serde_json::to_string_pretty(&file).map_err(|e| AtlopError::Json {
            path: self.relations(),
            source: e,
        })?;
        write(&self.relations(), &json)
    }

    /// The relation vocabulary written by [`Self::write_relations`]; `None` for run folders
    /// made before it existed (callers then read it from the training data's folder).
    pub fn read_relations(&self) -> Result<Option<RelationVocab>> {
        let path = self.relations();
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| AtlopError::io(&path, e))?;
        let file: RelationsFile =
            serde_json::from_str(&text).map_err(|source| AtlopError::Json {
                path: path.clone(),
                source,
            })?;
        if file.labels.first().map(String::as_str) != Some("Na") || file.labels.len() < 2 {
            return Err(AtlopError::Run {
                path,
                message:
                    "`labels` must start with the NA class `Na` and name one relation at least"
                        .into(),
            });
        }
        let mut vocab = RelationVocab::from_labels(file.labels);
        vocab.descriptions = file.descriptions;
        Ok(Some(vocab))
    }

    /// Writes the resolved config, `run.json` and the encoder's small files.
    pub fn write_inputs(&self, config: &RunConfig, manifest: &RunManifest) -> Result<()> {
        write(&self.config(), &config.to_toml()?)?;
        let json = serde_json::to_string_pretty(manifest).map_err(|e| AtlopError::Json {
            path: self.manifest(),
            source: e,
        })?;
        write(&self.manifest(), &json)?;
        let dest = self.encoder_dir();
        std::fs::create_dir_all(&dest).map_err(|e| AtlopError::io(&dest, e))?;
        let files = std::iter::once("config.json").chain(crate::encoder::source::TOKENIZER_FILES);
        for name in files {
            let from = manifest.encoder_dir.join(name);
            if from.is_file() {
                std::fs::copy(&from, dest.join(name)).map_err(|e| AtlopError::io(&from, e))?;
            }
        }
        Ok(())
    }

    pub fn read_config(&self) -> Result<RunConfig> {
        RunConfig::load(&self.config(), &[])
    }

    /// The best epoch's dev report (`best/report.json`): its scores and the decision with the
    /// thresholds fitted on dev, which evaluation and prediction reuse.
    pub fn read_best_report(&self) -> Result<SetReport> {
        crate::evaluation::percent::read_json(&self.best_report())
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| AtlopError::io(path, e))
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| AtlopError::io(path, e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// The commit the running code was built from: `$ATLOP_GIT_COMMIT` when set (the campaign script
/// sets it to the commit it built its copy of the binary from, with `-dirty` for uncommitted
/// changes, since the checkout's HEAD moves on while a campaign runs for hours), else `git
/// rev-parse HEAD` of the working directory, when git and a repository are there.
pub fn git_commit() -> Option<String> {
    if let Ok(commit) = std::env::var("ATLOP_GIT_COMMIT") {
        if !commit.trim().is_empty() {
            return Some(commit.trim().to_string());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYYmmdd-HHMMSS` (UTC) of a Unix time (civil-from-days, H. Hinnant).
pub fn timestamp(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A new run folder that is deleted again when dropped still armed: its set-up failed before
/// training started, and it holds only the inputs just written.
#[derive(Default)]
pub struct RemoveOnFailure(Option<PathBuf>);

impl RemoveOnFailure {
    pub fn arm(&mut self, path: &Path) {
        self.0 = Some(path.to_path_buf());
    }
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnFailure {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            // Best effort: the folder holds only the inputs this run just wrote.
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_campaigns_build_commit_wins_over_the_checkouts_head() {
        // Only this test sets the variable; others read git_commit() at most for provenance.
        std::env::set_var("ATLOP_GIT_COMMIT", "0123abcd-dirty");
        assert_eq!(git_commit().as_deref(), Some("0123abcd-dirty"));
        std::env::remove_var("ATLOP_GIT_COMMIT");
        assert_ne!(git_commit().as_deref(), Some("0123abcd-dirty"));
    }

    #[test]
    fn relations_round_trip_and_older_folders_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let folder = RunFolder::create(Some(dir.path()), "x").unwrap();
        assert_eq!(folder.read_relations().unwrap(), None);
        let mut vocab = RelationVocab::from_labels(vec!["Na".into(), "P17".into()]);
        vocab.descriptions.insert("P17".into(), "country".into());
        folder.write_relations(&vocab).unwrap();
        let back = folder.read_relations().unwrap().unwrap();
        assert_eq!(back, vocab);
        assert_eq!(back.name(1), "country");

        std::fs::write(
            folder.relations(),
            r#"{"labels": ["P17"], "descriptions": {}}"#,
        )
        .unwrap();
        let err = folder.read_relations().unwrap_err().to_string();
        assert!(
            err.contains("relations.json") && err.contains("Na"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(0), "19700101-000000");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(timestamp(1_709_210_096), "20240229-123456");
    }

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
