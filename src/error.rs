//! The library's one error type. Every message names where the problem is: the file, the
//! document (index and title) and the field, or the checkpoint key, so a user can fix the input
//! without reading the code.

use std::fmt;
use std::path::PathBuf;

/// A document inside a dataset file, as error messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRef {
    /// Position of the document in its file (0-based; for `.data` files the line is `index + 1`).
    pub index: usize,
    /// The document's title (DocRED) or PMID (CDR/GDA); empty when it could not be read.
    pub title: String,
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.title.is_empty() {
            write!(f, "document #{}", self.index)
        } else {
            write!(f, "document #{} ({:?})", self.index, self.title)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AtlopError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file that is not valid JSON or does not have the expected structure at all.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A document whose content breaks a rule of its format.
    #[error("{}: {doc}: field `{field}`: {message}", path.display())]
    Document {
        path: PathBuf,
        doc: DocRef,
        field: String,
        message: String,
    },

    /// A file that is not one JSON document per item (`.data` lines, JSON lines, TOML configs).
    #[error("{}: line {line}: field `{field}`: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        field: String,
        message: String,
    },

    #[error("tokenizer {}: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },

    /// A checkpoint tensor that is missing, mis-shaped or of the wrong type.
    #[error("checkpoint {}: tensor `{key}`: {message}", path.display())]
    Weights {
        path: PathBuf,
        key: String,
        message: String,
    },

    /// A configuration value that is missing, unknown or out of range.
    #[error("config {source_name}: `{key}`: {message}")]
    Config {
        source_name: String,
        key: String,
        message: String,
    },

    /// A run folder that lacks what a command needs (config, checkpoint, tokenizer).
    #[error("run folder {}: {message}", path.display())]
    Run { path: PathBuf, message: String },

    /// Training that ended before its last epoch: stopped by the user (exit 130 at the command
    /// line) or by a failure (a checkpoint that could not be written, a non-finite loss).
    #[error("run folder {}: {message}", path.display())]
    Stopped {
        path: PathBuf,
        message: String,
        by_user: bool,
    },

    /// Inputs that are individually valid but do not fit together (shapes, class counts).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, AtlopError>;

impl AtlopError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AtlopError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn document(
        path: impl Into<PathBuf>,
        doc: DocRef,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AtlopError::Document {
            path: path.into(),
            doc,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Prints `warning: <message>` on stderr the first time this process sees the message: a
/// dataset read several times by one command (train, dev, scoring) warns once.
pub fn warn_once(message: String) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    let first = seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(message.clone());
    if first {
        eprintln!("warning: {message}");
    }
}
