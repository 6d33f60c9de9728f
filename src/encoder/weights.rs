//! Loads a Hugging Face BERT / RoBERTa checkpoint (`model.safetensors` or `pytorch_model.bin`)
//! into [`BertModel`], and fails loudly: every tensor the model has must be in the file with its
//! shape, and a file tensor the model does not use is allowed only from [`IGNORABLE`].
//!
//! Key mapping, file -> module (the module's field paths otherwise equal the file's keys):
//! - `bert.` / `roberta.` prefixes (checkpoints saved with a task head) are dropped;
//! - `attention.self.` -> `attention.self_attention.` (`self` is a Rust keyword);
//! - `LayerNorm.weight` / `.bias` -> `layer_norm.gamma` / `.beta` (burn's names; old
//!   TensorFlow-converted files already say `gamma` / `beta`). Renamed here rather than by the
//!   adapter's alternative names, which left the file's `layer_norm.bias` keys listed as unused;
//! - Linear weights are transposed (PyTorch `[out, in]`, burn `[in, out]`) by burn-store's
//!   `PyTorchToBurnAdapter`; f16 / bf16 tensors are widened to f32.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use burn::tensor::backend::Backend;
use burn::tensor::DType;
use burn_store::{
    ApplyError, ModuleAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore, TensorSnapshot,
};

use crate::encoder::bert::BertModel;
use crate::encoder::config::EncoderConfig;
use crate::encoder::special_tokens::SpecialTokens;
use crate::error::{AtlopError, Result};

/// Checkpoint tensors ATLOP does not use (after prefix removal): the pooler, the pre-training
/// heads (BERT MLM / NSP `cls.*`, RoBERTa `lm_head.*`) and the `position_ids` buffer.
pub const IGNORABLE: [&str; 4] = ["pooler.", "cls.", "lm_head.", "position_ids"];

/// File key patterns -> module paths, applied in order.
const KEY_REMAPPING: [(&str, &str); 4] = [
    (r"^(bert|roberta)\.", ""),
    (r"\.attention\.self\.", ".attention.self_attention."),
    (r"LayerNorm\.(weight|gamma)$", "layer_norm.gamma"),
    (r"LayerNorm\.(bias|beta)$", "layer_norm.beta"),
];

/// What a successful load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The weight file read.
    pub path: PathBuf,
    /// Number of tensors loaded into the model.
    pub applied: usize,
    /// File tensors left unused (all from [`IGNORABLE`]), sorted.
    pub ignored: Vec<String>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} tensors loaded",
            self.path.display(),
            self.applied
        )?;
        if !self.ignored.is_empty() {
            write!(f, "; unused: {}", self.ignored.join(", "))?;
        }
        Ok(())
    }
}

impl<B: Backend> BertModel<B> {
    /// Loads `config.json`, the special tokens (from the tokenizer files) and the weights of a
    /// local checkpoint folder.
    pub fn load(dir: &Path, device: &B::Device) -> Result<(Self, LoadReport)> {
        let config = EncoderConfig::load(&dir.join("config.json"))?;
        let special = SpecialTokens::from_dir(dir, &config)?;
        let mut model = Self::init_random(&config, special, device);
        let report = load_weights(&mut model, dir)?;
        Ok((model, report))
    }
}

/// Reads `model.safetensors` (preferred) or `pytorch_model.bin` from `dir` into `model`.
pub fn load_weights<B: Backend>(model: &mut BertModel<B>, dir: &Path) -> Result<LoadReport> {
    let safetensors = dir.join("model.safetensors");
    let pytorch = dir.join("pytorch_model.bin");
    let (path, snapshots) = if safetensors.is_file() {
        let mut store = KEY_REMAPPING.iter().fold(
            SafetensorsStore::from_file(&safetensors),
            |store, (from, to)| store.with_key_remapping(from, *to),
        );
        let snapshots = store
            .get_all_snapshots()
            .map_err(|e| file_error(&safetensors, e))?;
        (safetensors, snapshots.values().cloned().collect::<Vec<_>>())
    } else if pytorch.is_file() {
        let mut store = KEY_REMAPPING
            .iter()
            .fold(PytorchStore::from_file(&pytorch), |store, (from, to)| {
                store.with_key_remapping(from, *to)
            });
        let snapshots = store
            .get_all_snapshots()
            .map_err(|e| file_error(&pytorch, e))?;
        (pytorch, snapshots.values().cloned().collect::<Vec<_>>())
    } else {
        return Err(AtlopError::Weights {
            path: dir.to_path_buf(),
            key: "*".into(),
            message: "neither model.safetensors nor pytorch_model.bin is in this folder".into(),
        });
    };

    // Shapes the model expects, in PyTorch layout, for the messages.
    let expected: HashMap<String, Vec<usize>> = model
        .collect(None, None, false)
        .iter()
        .map(|s| {
            let key = s.full_path();
            let shape = torch_layout(&key, s.shape.to_vec());
            (key, shape)
        })
        .collect();
    let adapter = PyTorchToBurnAdapter.chain(WidenToF32);
    let result = model.apply(snapshots, None, Some(Box::new(adapter)), false);

    if let Some(error) = result.errors.first() {
        return Err(apply_error(&path, error));
    }
    if let Some((key, _)) = result.missing.first() {
        let shape = expected
            .get(key)
            .map(|s| format!(" (shape {s:?})"))
            .unwrap_or_default();
        return Err(AtlopError::Weights {
            path,
            key: checkpoint_key(key),
            message: format!(
                "missing from the checkpoint{shape}; {} tensor(s) missing in all",
                result.missing.len()
            ),
        });
    }
    let (mut ignored, unexpected): (Vec<String>, Vec<String>) =
        result.unused.iter().cloned().partition(|key| {
            IGNORABLE
                .iter()
                .any(|p| key.starts_with(p) || key.ends_with(p))
        });
    if let Some(key) = unexpected.first() {
        return Err(AtlopError::Weights {
            path,
            key: key.clone(),
            message: format!(
                "the model has no such tensor ({} unexpected tensor(s) in all): is config.json's \
                 model_type / num_hidden_layers right for this checkpoint?",
                unexpected.len()
            ),
        });
    }
    ignored.sort();
    if let Some((key, value)) = crate::params::first_non_finite(&*model) {
        return Err(AtlopError::Weights {
            path,
            key,
            message: format!("holds {value}: the checkpoint is corrupt"),
        });
    }
    Ok(LoadReport {
        path,
        applied: result.applied.len(),
        ignored,
    })
}

fn file_error(path: &Path, error: impl fmt::Display) -> AtlopError {
    AtlopError::Weights {
        path: path.to_path_buf(),
        key: "*".into(),
        message: format!("cannot read the file: {error}"),
    }
}

fn apply_error(path: &Path, error: &ApplyError) -> AtlopError {
    let (key, message) = match error {
        ApplyError::ShapeMismatch {
            path: key,
            expected,
            found,
        } => (
            key,
            format!(
                "shape mismatch: checkpoint has {:?}, model expects {:?}",
                torch_layout(key, found.to_vec()),
                torch_layout(key, expected.to_vec())
            ),
        ),
        ApplyError::DTypeMismatch {
            path: key,
            expected,
            found,
        } => (
            key,
            format!("dtype mismatch: checkpoint has {found:?}, model expects {expected:?}"),
        ),
        ApplyError::AdapterError { path: key, message }
        | ApplyError::LoadError { path: key, message } => (key, message.clone()),
    };
    AtlopError::Weights {
        path: path.to_path_buf(),
        key: checkpoint_key(key),
        message,
    }
}

/// A module path written as the checkpoint's key (without task-head prefix).
fn checkpoint_key(module_path: &str) -> String {
    module_path
        .replace(".self_attention.", ".self.")
        .replace("layer_norm.gamma", "LayerNorm.weight")
        .replace("layer_norm.beta", "LayerNorm.bias")
}

/// Linear weights are `[out, in]` in PyTorch files, `[in, out]` in burn; every rank-2 weight
/// outside the embeddings is a Linear here.
fn torch_layout(key: &str, mut shape: Vec<usize>) -> Vec<usize> {
    if shape.len() == 2 && !key.starts_with("embeddings.") {
        shape.reverse();
    }
    shape
}

/// Half-precision checkpoints are stored in f16 / bf16; the encoder computes in f32.
#[derive(Debug, Clone, Copy)]
struct WidenToF32;

impl ModuleAdapter for WidenToF32 {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        if !matches!(snapshot.dtype, DType::F16 | DType::BF16) {
            return snapshot.clone();
        }
        let data = snapshot.clone_data_fn();
        TensorSnapshot::from_closure(
            Rc::new(move || Ok(data()?.convert_dtype(DType::F32))),
            DType::F32,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}
