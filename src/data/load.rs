//! One entry point for any dataset file: picks the reader from the extension and finds the
//! relation vocabulary, so commands take a path and nothing else.

use std::path::{Path, PathBuf};

use super::bio::{detect_relation, parse_bio};
use super::docred::read_docred;
use super::{Dataset, RelationVocab};
use crate::error::{AtlopError, Result};

/// DocRED's relation ids (`{"Na": 0, "P17": 1, ...}`).
const REL2ID: &str = "rel2id.json";
/// DocRED's readable relation names, optional (`{"P17": "country", ...}`).
const REL_INFO: &str = "rel_info.json";

/// Reads a dataset and its relation vocabulary.
///
/// - `.json`: DocRED / Re-DocRED. `rel2id.json` (and `rel_info.json` beside it, if present) is
///   looked for in `vocab_dir` when given, else next to the file, in a sibling `docred/` folder
///   and in a sibling `meta/` folder (where the reference ATLOP keeps it).
/// - `.data`: CDR or GDA, told apart by the positive label of its pairs (`1:CID:2` / `1:GDA:2`).
pub fn load_dataset(path: &Path, vocab_dir: Option<&Path>) -> Result<(Dataset, RelationVocab)> {
    // A missing file is named as such, before any vocabulary is looked for beside it.
    if !path.is_file() {
        let kind = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(AtlopError::Invalid(format!(
            "{}: the dataset file {kind}",
            path.display()
        )));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let vocab = docred_vocab(path, vocab_dir)?;
            Ok((read_docred(path, &vocab)?, vocab))
        }
        Some("data") => {
            let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
            let relation = detect_relation(&text).ok_or_else(|| AtlopError::Line {
                path: path.to_path_buf(),
                line: 1,
                field: "label".into(),
                message: "no pair is labelled `1:<relation>:2` (such as `1:CID:2` for CDR or \
                          `1:GDA:2` for GDA), so the relation is unknown"
                    .into(),
            })?;
            let vocab = RelationVocab::bio(&relation);
            Ok((parse_bio(&text, path, &vocab)?, vocab))
        }
        _ => Err(AtlopError::Invalid(format!(
            "{}: unknown dataset format: expected a `.json` file (DocRED) or a `.data` file \
             (CDR/GDA)",
            path.display()
        ))),
    }
}

/// The folders searched for `rel2id.json`, in order.
fn vocab_candidates(path: &Path, vocab_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = vocab_dir {
        return vec![dir.to_path_buf()];
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut dirs = vec![parent.to_path_buf()];
    if let Some(grand) = parent.parent() {
        dirs.push(grand.join("docred"));
        dirs.push(grand.join("meta"));
    }
    dirs
}

/// The DocRED vocabulary of a dataset file, looked for as [`load_dataset`] does.
pub fn docred_vocab(path: &Path, vocab_dir: Option<&Path>) -> Result<RelationVocab> {
    let dirs = vocab_candidates(path, vocab_dir);
    let Some(dir) = dirs.iter().find(|d| d.join(REL2ID).is_file()) else {
        let looked: Vec<String> = dirs
            .iter()
            .map(|d| d.join(REL2ID).display().to_string())
            .collect();
        return Err(AtlopError::Invalid(format!(
            "{}: DocRED relation ids not found; looked for {}",
            path.display(),
            looked.join(", ")
        )));
    };
    let vocab = RelationVocab::from_rel2id(&dir.join(REL2ID))?;
    let info = dir.join(REL_INFO);
    if info.is_file() {
        vocab.with_rel_info(&info)
    } else {
        Ok(vocab)
    }
}
