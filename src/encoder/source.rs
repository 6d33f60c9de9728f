//! Where a pre-trained encoder comes from: a local Hugging Face folder (`config.json`, weights,
//! tokenizer files), or a hub id such as `bert-base-cased` fetched once into a local cache.
//! Written in configs as one string: an existing folder or a path-looking string is local,
//! anything else a hub id.

use std::fmt;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};
use serde::{Deserialize, Serialize};

use crate::error::{AtlopError, Result};

/// The tokenizer files of a Hugging Face folder (BERT and RoBERTa use different ones): fetched
/// for a hub id besides `config.json` and the weights, and copied into run folders; absent ones
/// are skipped.
pub const TOKENIZER_FILES: [&str; 6] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
];

/// A checkpoint folder or a hub model id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ModelSource {
    Local(PathBuf),
    Hub(String),
}

impl From<String> for ModelSource {
    fn from(value: String) -> Self {
        let path = Path::new(&value);
        let looks_local = path.is_dir()
            || value.starts_with(['.', '/', '~'])
            || value.contains('\\')
            || value.matches('/').count() > 1;
        if looks_local {
            ModelSource::Local(PathBuf::from(value))
        } else {
            ModelSource::Hub(value)
        }
    }
}

impl From<ModelSource> for String {
    fn from(value: ModelSource) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Local(path) => write!(f, "{}", path.display()),
            ModelSource::Hub(id) => write!(f, "{id}"),
        }
    }
}

/// Where hub downloads go and where they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubCache {
    /// Cache folder (`$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub dir: PathBuf,
    /// Hub address; `None` for the default (or `$HF_ENDPOINT`).
    pub endpoint: Option<String>,
}

impl HubCache {
    /// The cache and endpoint the Hugging Face tools use, from the environment.
    pub fn from_env() -> Self {
        HubCache {
            dir: Cache::from_env().path().clone(),
            endpoint: std::env::var("HF_ENDPOINT").ok(),
        }
    }
}

impl ModelSource {
    /// The local folder holding the checkpoint, downloading a hub id into `cache` first when it
    /// is not there yet.
    pub fn resolve(&self, cache: &HubCache) -> Result<PathBuf> {
        match self {
            ModelSource::Local(path) => {
                if path.join("config.json").is_file() {
                    Ok(path.clone())
                } else {
                    Err(AtlopError::Run {
                        path: path.clone(),
                        message: "not a checkpoint folder: config.json is missing".into(),
                    })
                }
            }
            ModelSource::Hub(id) => download(id, cache),
        }
    }
}

fn download(id: &str, cache: &HubCache) -> Result<PathBuf> {
    let fail = |message: String| AtlopError::Config {
        source_name: "encoder source".into(),
        key: id.to_string(),
        message,
    };
    let mut builder = ApiBuilder::from_cache(Cache::new(cache.dir.clone())).with_progress(false);
    if let Some(endpoint) = &cache.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let api = builder
        .build()
        .map_err(|e| fail(format!("cannot set up the hub client: {e}")))?;
    let repo = api.repo(Repo::new(id.to_string(), RepoType::Model));
    let offline = |file: &str, e: hf_hub::api::sync::ApiError| {
        fail(format!(
            "cannot download {file} from the Hugging Face hub ({e}); without network access, \
             download the model folder elsewhere and give its local path instead (cache: {})",
            cache.dir.display()
        ))
    };
    let config = repo
        .get("config.json")
        .map_err(|e| offline("config.json", e))?;
    if repo.get("model.safetensors").is_err() {
        repo.get("pytorch_model.bin")
            .map_err(|e| offline("model.safetensors or pytorch_model.bin", e))?;
    }
    for file in TOKENIZER_FILES {
        // Optional: a model has only some of these.
        let _ = repo.get(file);
    }
    config
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| fail(format!("odd cache path {}", config.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_name_local_folders_or_hub_ids() {
        assert_eq!(
            ModelSource::from("bert-base-cased".to_string()),
            ModelSource::Hub("bert-base-cased".into())
        );
        assert_eq!(
            ModelSource::from("allenai/scibert_scivocab_cased".to_string()),
            ModelSource::Hub("allenai/scibert_scivocab_cased".into())
        );
        assert_eq!(
            ModelSource::from("./models/x".to_string()),
            ModelSource::Local("./models/x".into())
        );
    }
}
