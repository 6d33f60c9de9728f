//! The smoke run's configuration for tests that train it (`configs/smoke.toml`: 8 Re-DocRED
//! documents, MiniLM), with its relative paths made absolute. `None`, with the reason printed,
//! when the MiniLM folder or the Re-DocRED file is absent.

use std::path::{Path, PathBuf};

use atlop::config::RunConfig;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `configs/smoke.toml` with `overrides` (`key=value`, as `--set`) applied.
pub fn smoke_config(overrides: &[&str]) -> Option<RunConfig> {
    let root = root();
    for needed in [
        "models/all-MiniLM-L6-v2/model.safetensors",
        "data/redocred/dev_revised.json",
    ] {
        if !root.join(needed).is_file() {
            eprintln!("skipping: {needed} is absent");
            return None;
        }
    }
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let mut config = RunConfig::load(&root.join("configs/smoke.toml"), &overrides)
        .expect("configs/smoke.toml loads");
    // Relative paths of the config are relative to the repository root.
    config.encoder.source = root.join(&config.encoder.source).display().to_string();
    config.data.train = root.join(&config.data.train);
    config.data.dev = root.join(&config.data.dev);
    config.data.vocab = config.data.vocab.map(|v| root.join(v));
    Some(config)
}

/// Copies a run folder (a test edits the copy).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The Re-DocRED file the smoke config trains and evaluates on.
pub fn dev_file() -> PathBuf {
    root().join("data/redocred/dev_revised.json")
}

/// Documents `range` of [`dev_file`], as JSON (a test writes them to an input file).
pub fn dev_documents(range: std::ops::Range<usize>) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dev_file()).unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    all[range].to_vec()
}
