//! The one reader of a checkpoint's tokenizer files (Hugging Face `tokenizers`): used by the
//! featurizer's [`DocTokenizer`](crate::features::tokenizer::DocTokenizer) and by
//! [`SpecialTokens`](super::special_tokens::SpecialTokens), so the ids of the special tokens
//! come from one place.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::models::bpe::BPE;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use super::config::ModelType;
use crate::error::{AtlopError, Result};

/// The keys of `config.json` / `tokenizer_config.json` read here.
#[derive(Deserialize)]
struct ModelConfig {
    model_type: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenizerConfig {
    do_lower_case: Option<bool>,
    add_prefix_space: Option<bool>,
}

pub(crate) fn tok_error(path: &Path, message: impl Into<String>) -> AtlopError {
    AtlopError::Tokenizer {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| AtlopError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// The folder's `config.json` `model_type`, which fixes the special tokens.
pub fn read_model_type(dir: &Path) -> Result<ModelType> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(tok_error(
            dir,
            "config.json (with `model_type`) not found; it decides the special tokens",
        ));
    }
    let config: ModelConfig = read_json(&path)?;
    ModelType::try_from(config.model_type.unwrap_or_default()).map_err(|message| {
        AtlopError::Config {
            source_name: path.display().to_string(),
            key: "model_type".into(),
            message,
        }
    })
}

/// The checkpoint's tokenizer: `tokenizer.json`, else `vocab.txt` (WordPiece, lower-cased
/// unless `tokenizer_config.json` says otherwise) or `vocab.json` + `merges.txt` (byte-level BPE),
/// with the family's special tokens kept whole.
pub fn load_tokenizer(dir: &Path, model_type: ModelType) -> Result<Tokenizer> {
    let file = |name: &str| -> Option<PathBuf> { Some(dir.join(name)).filter(|p| p.is_file()) };
    let config_path = dir.join("tokenizer_config.json");
    let config: TokenizerConfig = if config_path.is_file() {
        read_json(&config_path)?
    } else {
        TokenizerConfig::default()
    };
    let path_str = |p: &Path| p.to_string_lossy().into_owned();
    let mut tokenizer = if let Some(json) = file("tokenizer.json") {
        return Tokenizer::from_file(&json).map_err(|e| tok_error(&json, e.to_string()));
    } else if let Some(vocab) = file("vocab.txt") {
        let model = WordPiece::from_file(&path_str(&vocab))
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| tok_error(&vocab, e.to_string()))?;
        let mut tok = Tokenizer::new(model);
        // HF BertTokenizer: lower-cases unless told otherwise; accents follow lower-casing.
        let lowercase = config.do_lower_case.unwrap_or(true);
        tok.with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)));
        tok.with_pre_tokenizer(Some(BertPreTokenizer));
        tok
    } else if let (Some(vocab), Some(merges)) = (file("vocab.json"), file("merges.txt")) {
        let model = BPE::from_file(&path_str(&vocab), &path_str(&merges))
            .build()
            .map_err(|e| tok_error(&vocab, e.to_string()))?;
        let mut tok = Tokenizer::new(model);
        let prefix = config.add_prefix_space.unwrap_or(false);
        tok.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(prefix)));
        tok
    } else {
        return Err(tok_error(
            dir,
            "no tokenizer found: looked for tokenizer.json, vocab.txt, vocab.json + merges.txt",
        ));
    };
    let [a, b, c] = model_type.special_tokens();
    let [d, e] = model_type.extra_special_tokens();
    let specials: Vec<AddedToken> = [a, b, c, d, e]
        .into_iter()
        .filter(|t| tokenizer.token_to_id(t).is_some())
        .map(|t| AddedToken::from(t, true))
        .collect();
    tokenizer.add_special_tokens(&specials);
    Ok(tokenizer)
}
