//! Documents to predict on, read one by one so that a bad document is reported (file, index,
//! title, field) and the others still predicted: DocRED-format JSON (labels optional) or the
//! JSON-lines plain-text format of [`crate::data::plain_text`].

use std::path::Path;

use clap::ValueEnum;
use serde_json::Value;

use crate::data::docred::parse_docred_document;
use crate::data::plain_text::read_plain_text;
use crate::data::{Document, RelationVocab};
use crate::error::{AtlopError, Result};

/// The format of a prediction input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// A DocRED JSON list of documents (`title`, `sents`, `vertexSet`, optional `labels`).
    Docred,
    /// JSON lines `{"title"?, "text", "entities": [{"type"?, "mentions": [[start, end]]}]}`.
    Jsonl,
}

impl InputFormat {
    /// `.jsonl` files are JSON lines; anything else is read as DocRED JSON.
    pub fn detect(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") => InputFormat::Jsonl,
            _ => InputFormat::Docred,
        }
    }
}

/// Every document of `path`, each parsed on its own; relation names in DocRED `labels` must be
/// known to `vocab`. Fails as a whole only when the file cannot be read or is not a JSON list.
pub fn read_input(
    path: &Path,
    format: InputFormat,
    vocab: &RelationVocab,
) -> Result<Vec<Result<Document>>> {
    match format {
        InputFormat::Jsonl => read_plain_text(path),
        InputFormat::Docred => {
            let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
            let values: Vec<Value> =
                serde_json::from_str(&text).map_err(|source| AtlopError::Json {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(values
                .into_iter()
                .enumerate()
                .map(|(index, value)| parse_docred_document(value, index, path, vocab))
                .collect())
        }
    }
}
