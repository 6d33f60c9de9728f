//! The run configuration: every hyper-parameter of a training run in one TOML file (the reference
//! spreads them over argparse defaults, shell scripts and constructors). A run folder stores the
//! resolved file, so a run is self-describing and `evaluate` needs nothing else.
//!
//! Overrides `--set key.sub=value` edit the TOML value tree before it is deserialised; each is
//! checked: an unknown key or a value of the wrong type is an error that names the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Value;

use crate::decision::{Strategy, ThresholdSearch};
use crate::encoder::Precision;
use crate::error::{AtlopError, Result};
use crate::model::{BilinearKind, BilinearLayout, EntityPooling, LossKind};

/// One training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name: the run folder is `runs/<name>-<timestamp>/` unless `--out` is given.
    pub name: String,
    pub encoder: EncoderSection,
    pub data: DataSection,
    pub model: ModelSection,
    pub optimizer: OptimizerSection,
    pub training: TrainingSection,
    pub decision: DecisionSection,
}

/// Where the pre-trained encoder comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderSection {
    /// A local Hugging Face folder or a hub id (`bert-base-cased`).
    pub source: String,
}

/// Documents `[start, end)` of a file, for small runs on part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocSlice {
    pub start: usize,
    pub end: usize,
}

impl std::str::FromStr for DocSlice {
    type Err = String;

    /// `START..END` (the command line's `--docs`); `START` below `END`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let bad = || format!("expected START..END with START below END, got {text:?}");
        let (a, b) = text.split_once("..").ok_or_else(bad)?;
        let start = a.trim().parse().map_err(|_| bad())?;
        let end = b.trim().parse().map_err(|_| bad())?;
        if start >= end {
            return Err(bad());
        }
        Ok(DocSlice { start, end })
    }
}

/// Dataset files and featurisation (paper Sec. 2.1: entity markers, 1024 tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub train: PathBuf,
    pub dev: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    /// Folder of `rel2id.json` (default: searched next to each file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab: Option<PathBuf>,
    /// Input length including the start and end tokens.
    pub max_len: usize,
    pub entity_markers: bool,
    /// Use only these documents of the train / dev file (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_docs: Option<DocSlice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_docs: Option<DocSlice>,
    /// Use only these documents of the test file (e.g. the Re-DocRED protocol's second half).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_docs: Option<DocSlice>,
}

/// Training loss (Sec. 2.2 or the BCE ablation of Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossChoice {
    AdaptiveThresholding,
    Bce,
}

/// The head's switches (the ablations of Table 5) and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Entity pooling (Eq. 2 or the mean ablation).
    pub pooling: EntityPooling,
    pub localized_context: bool,
    /// Bilinear classifier (Eq. 5 group, or Eq. 4 plain).
    pub bilinear: BilinearKind,
    /// Evaluate the bilinear with materialised outer products (`false`) or factored (`true`).
    #[serde(default)]
    pub factored_bilinear: bool,
    pub emb_size: usize,
    pub block_size: usize,
    pub loss: LossChoice,
    /// BCE only: also train the TH column, so the TH-logit decision applies.
    #[serde(default)]
    pub bce_na_column: bool,
}

/// AdamW with two groups and the warm-up/linear-decay schedule (Sec. 4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    pub encoder_lr: f64,
    pub head_lr: f64,
    pub eps: f32,
    pub weight_decay: f32,
    pub warmup_ratio: f64,
    /// Global gradient-norm limit; 0 disables clipping.
    pub max_grad_norm: f64,
}

/// The training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSection {
    pub epochs: usize,
    pub batch_size: usize,
    pub grad_accumulation: usize,
    /// Seeds the head's initialisation, the data order and dropout.
    pub seed: u64,
    /// Encoder dropout (hidden and attention); absent = the checkpoint's `config.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    pub eval_batch_size: usize,
    /// A plain log line every this many iterations (when stdout is not a terminal).
    pub log_every: usize,
    /// Dtype of the encoder's matrix products: `f32` (default) or `bf16` (mixed precision,
    /// f32 master weights; for GPUs, see [`crate::encoder::Precision`]).
    #[serde(default)]
    pub precision: Precision,
}

/// How dev and test pairs are decided (Table 6) and how thresholds are searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSection {
    pub strategy: Strategy,
    #[serde(default)]
    pub search: ThresholdSearch,
}

impl RunConfig {
    /// Reads a TOML file and applies `key=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string(), overrides)
    }

    /// Parses TOML text (`source_name` names it in errors) and applies the overrides one by one,
    /// checking after each that the configuration is still valid.
    pub fn from_toml(text: &str, source_name: &str, overrides: &[String]) -> Result<Self> {
        let mut tree: Value = toml::from_str(text).map_err(|e| config_error(source_name, "", e))?;
        let mut config = deserialize(&tree, source_name, "")?;
        for item in overrides {
            let (key, value) = parse_override(item)?;
            set_path(&mut tree, &key, value)?;
            config = deserialize(&tree, "--set", &key)?;
        }
        config.validate(source_name)?;
        Ok(config)
    }

    /// The configuration as TOML, as saved in the run folder.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| config_error("run", "", e))
    }

    /// The head's burn configuration for an encoder of `hidden_size` and `num_classes` classes.
    pub fn head_config(
        &self,
        hidden_size: usize,
        num_classes: usize,
    ) -> crate::model::AtlopHeadConfig {
        let m = &self.model;
        crate::model::AtlopHeadConfig::new(hidden_size, num_classes)
            .with_emb_size(m.emb_size)
            .with_block_size(m.block_size)
            .with_pooling(m.pooling)
            .with_localized_context(m.localized_context)
            .with_bilinear(m.bilinear)
            .with_bilinear_layout(if m.factored_bilinear {
                BilinearLayout::Factored
            } else {
                BilinearLayout::OuterProduct
            })
    }

    /// The model's own configuration for `num_classes` classes (the head's hidden size comes
    /// from the encoder when it is built).
    pub fn model_config(&self, num_classes: usize) -> crate::model::atlop::AtlopModelConfig {
        crate::model::atlop::AtlopModelConfig {
            head: self.head_config(0, num_classes),
            loss: self.loss(),
            dropout: self.training.dropout,
            precision: self.training.precision,
            seed: self.training.seed,
            max_len: self.data.max_len,
        }
    }

    /// How documents become features (Sec. 2.1: length limit, entity markers).
    pub fn feature_config(&self) -> crate::features::FeatureConfig {
        crate::features::FeatureConfig::new()
            .with_max_len(self.data.max_len)
            .with_entity_markers(self.data.entity_markers)
    }

    /// The loss the model trains with.
    pub fn loss(&self) -> LossKind {
        match self.model.loss {
            LossChoice::AdaptiveThresholding => LossKind::AdaptiveThresholding,
            LossChoice::Bce => LossKind::Bce {
                include_na_column: self.model.bce_na_column,
            },
        }
    }
}

fn config_error(source_name: &str, key: &str, e: impl std::fmt::Display) -> AtlopError {
    AtlopError::Config {
        source_name: source_name.into(),
        key: key.into(),
        message: e.to_string(),
    }
}

/// Deserialises the tree, then rejects keys the configuration does not know (serde's
/// `deny_unknown_fields` cannot see into the tagged decision enum, and this names the full key).
fn deserialize(tree: &Value, source_name: &str, key: &str) -> Result<RunConfig> {
    let config: RunConfig = tree
        .clone()
        .try_into()
        .map_err(|e| config_error(source_name, key, e))?;
    let known = Value::try_from(&config).map_err(|e| config_error(source_name, key, e))?;
    if let Some(unknown) = first_unknown(tree, &known, "") {
        return Err(config_error(source_name, &unknown, "unknown key"));
    }
    Ok(config)
}

/// The first key path of `given` that `known` lacks.
fn first_unknown(given: &Value, known: &Value, prefix: &str) -> Option<String> {
    let (Value::Table(given), Value::Table(known)) = (given, known) else {
        return None;
    };
    given.iter().find_map(|(k, v)| {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match known.get(k) {
            None => Some(path),
            Some(kv) => first_unknown(v, kv, &path),
        }
    })
}

/// `key.sub=value` -> (key path, TOML value). A value that is not valid TOML is a string.
fn parse_override(item: &str) -> Result<(String, Value)> {
    let Some((key, raw)) = item.split_once('=') else {
        return Err(config_error("--set", item, "expected key=value"));
    };
    let key = key.trim().to_string();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(config_error("--set", &key, "empty key segment"));
    }
    let raw = raw.trim();
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((key, value))
}

/// Sets `key` (dot-separated) in the tree, creating intermediate tables.
fn set_path(tree: &mut Value, key: &str, value: Value) -> Result<()> {
    let mut node = tree;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Table(table) = node else {
            return Err(config_error(
                "--set",
                key,
                format!("`{}` is not a table", parts[..i].join(".")),
            ));
        };
        if i + 1 == parts.len() {
            table.insert((*part).to_string(), value);
            return Ok(());
        }
        node = table
            .entry((*part).to_string())
            .or_insert_with(|| Value::Table(toml::Table::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
mod validate;
