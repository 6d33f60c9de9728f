//! The subword tokenizer of a pretrained encoder, used word by word as the reference ATLOP
//! preprocessing does (Section 2.1: `*` markers around mentions, `[CLS]` ... `[SEP]`).
//!
//! Loaded from a model folder with the Hugging Face `tokenizers` crate: `tokenizer.json` when
//! present, else `vocab.txt` (BERT WordPiece) or `vocab.json` + `merges.txt` (byte-level BPE,
//! RoBERTa). The special tokens follow the folder's `config.json` `model_type`, stated once
//! here instead of being guessed from vocabulary sizes.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::models::bpe::BPE;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{AtlopError, Result};

/// The encoder family, which fixes the special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    /// BERT and its relatives (SciBERT, MiniLM): `[CLS] ... [SEP]`, pad `[PAD]`.
    Bert,
    /// RoBERTa: `<s> ... </s>`, pad `<pad>`.
    Roberta,
}

impl ModelType {
    /// The `(start, end, pad)` special tokens.
    pub fn special_tokens(self) -> [&'static str; 3] {
        match self {
            ModelType::Bert => ["[CLS]", "[SEP]", "[PAD]"],
            ModelType::Roberta => ["<s>", "</s>", "<pad>"],
        }
    }

    /// The other special tokens HF treats as unsplittable.
    fn extra_special_tokens(self) -> [&'static str; 2] {
        match self {
            ModelType::Bert => ["[UNK]", "[MASK]"],
            ModelType::Roberta => ["<unk>", "<mask>"],
        }
    }
}

/// The entity marker the reference puts around every mention.
pub const MARKER: &str = "*";

/// A model folder's tokenizer with the ids featurizing needs.
pub struct DocTokenizer {
    tokenizer: Tokenizer,
    model_type: ModelType,
    cls: u32,
    sep: u32,
    pad: u32,
    marker: u32,
    /// Cached: the crate rebuilds the whole vocabulary to count it.
    vocab_size: usize,
}

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

impl DocTokenizer {
    /// Loads the tokenizer of a model folder (see the module comment for the files tried).
    pub fn from_dir(dir: &Path) -> Result<DocTokenizer> {
        let model_type = read_model_type(dir)?;
        let mut tokenizer = load_tokenizer(dir, model_type)?;
        // HF `tokenize` never truncates or pads; a tokenizer.json may carry either setting.
        tokenizer
            .with_truncation(None)
            .map_err(|e| tok_error(dir, e.to_string()))?;
        tokenizer.with_padding(None);
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                tok_error(
                    dir,
                    format!("special token {token:?} is not in the vocabulary"),
                )
            })
        };
        let [cls, sep, pad] = model_type.special_tokens();
        let (cls, sep, pad, marker) = (id(cls)?, id(sep)?, id(pad)?, id(MARKER)?);
        let tokenizer_vocab_size = tokenizer.get_vocab_size(true);
        let tok = DocTokenizer {
            tokenizer,
            model_type,
            cls,
            sep,
            pad,
            marker,
            vocab_size: tokenizer_vocab_size,
        };
        if tok.word_pieces(MARKER)? != [marker] {
            return Err(tok_error(
                dir,
                "the entity marker `*` is not a single piece",
            ));
        }
        Ok(tok)
    }

    pub fn model_type(&self) -> ModelType {
        self.model_type
    }

    /// The word pieces of one word, without special tokens (HF `tokenizer.tokenize(word)`
    /// converted to ids).
    pub fn word_pieces(&self, word: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(word, false)
            .map_err(|e| AtlopError::Invalid(format!("tokenizing {word:?}: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Id of the `*` entity marker.
    pub fn marker_id(&self) -> u32 {
        self.marker
    }

    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Vocabulary size including added tokens (every id is below it).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// `[CLS] ids [SEP]` (BERT) or `<s> ids </s>` (RoBERTa), as HF
    /// `build_inputs_with_special_tokens` does for one sequence.
    pub fn with_special_tokens(&self, ids: &[u32]) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids.len() + 2);
        out.push(self.cls);
        out.extend_from_slice(ids);
        out.push(self.sep);
        out
    }

    /// A whole text with special tokens (HF `tokenizer(text)["input_ids"]`).
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.with_special_tokens(&self.word_pieces(text)?))
    }
}

fn tok_error(path: &Path, message: impl Into<String>) -> AtlopError {
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

fn read_model_type(dir: &Path) -> Result<ModelType> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(tok_error(
            dir,
            "config.json (with `model_type`) not found; it decides the special tokens",
        ));
    }
    let config: ModelConfig = read_json(&path)?;
    match config.model_type.as_deref() {
        Some("bert") => Ok(ModelType::Bert),
        Some("roberta") => Ok(ModelType::Roberta),
        other => Err(AtlopError::Config {
            source_name: path.display().to_string(),
            key: "model_type".into(),
            message: format!("{other:?} is not supported (expected \"bert\" or \"roberta\")"),
        }),
    }
}

fn load_tokenizer(dir: &Path, model_type: ModelType) -> Result<Tokenizer> {
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
