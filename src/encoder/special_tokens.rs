//! The ids of the start, separator and padding tokens. The two windows for long documents
//! (Zhou et al. 2021, Sec. 3 / Appendix) re-insert start and end tokens, and these ids differ
//! between vocabularies (BERT uncased `[CLS]` = 101, RoBERTa `<s>` = 0), so they are read from the
//! checkpoint's own tokenizer files, never assumed.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::encoder::config::{EncoderConfig, ModelType};
use crate::error::{AtlopError, Result};

/// `cls` starts every window, `sep` ends it (twice for RoBERTa), `pad` fills batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
}

impl SpecialTokens {
    /// Looks the tokens up in `tokenizer.json`, else `vocab.txt` (BERT) or `vocab.json`
    /// (RoBERTa), in `dir`. `pad` is the config's `pad_token_id`, the id position numbering uses.
    pub fn from_dir(dir: &Path, config: &EncoderConfig) -> Result<Self> {
        let (cls, sep) = match config.model_type {
            ModelType::Bert => ("[CLS]", "[SEP]"),
            ModelType::Roberta => ("<s>", "</s>"),
        };
        let vocab = read_vocab(dir)?;
        let id = |(path, map): &(std::path::PathBuf, HashMap<String, u32>), token: &str| {
            map.get(token)
                .copied()
                .ok_or_else(|| AtlopError::Tokenizer {
                    path: path.clone(),
                    message: format!("special token `{token}` is not in the vocabulary"),
                })
        };
        Ok(SpecialTokens {
            cls: id(&vocab, cls)?,
            sep: id(&vocab, sep)?,
            pad: config.pad_token_id as u32,
        })
    }
}

/// The vocabulary of the first tokenizer file found in `dir`, with that file's path.
fn read_vocab(dir: &Path) -> Result<(std::path::PathBuf, HashMap<String, u32>)> {
    let tokenizer_json = dir.join("tokenizer.json");
    if tokenizer_json.is_file() {
        let tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_json).map_err(|e| {
            AtlopError::Tokenizer {
                path: tokenizer_json.clone(),
                message: e.to_string(),
            }
        })?;
        return Ok((tokenizer_json, tokenizer.get_vocab(true)));
    }
    let vocab_txt = dir.join("vocab.txt");
    if vocab_txt.is_file() {
        let text =
            std::fs::read_to_string(&vocab_txt).map_err(|e| AtlopError::io(&vocab_txt, e))?;
        let map = text
            .lines()
            .enumerate()
            .map(|(i, token)| (token.to_string(), i as u32))
            .collect();
        return Ok((vocab_txt, map));
    }
    let vocab_json = dir.join("vocab.json");
    if vocab_json.is_file() {
        let text =
            std::fs::read_to_string(&vocab_json).map_err(|e| AtlopError::io(&vocab_json, e))?;
        let map = serde_json::from_str(&text).map_err(|source| AtlopError::Json {
            path: vocab_json.clone(),
            source,
        })?;
        return Ok((vocab_json, map));
    }
    Err(AtlopError::Tokenizer {
        path: dir.to_path_buf(),
        message: "no tokenizer.json, vocab.txt or vocab.json to read the special tokens from"
            .into(),
    })
}
