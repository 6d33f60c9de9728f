//! The subword tokenizer of a pretrained encoder, used word by word as the reference ATLOP
//! preprocessing does (Section 2.1: `*` markers around mentions, `[CLS]` ... `[SEP]`).
//!
//! Loaded from a model folder by [`crate::encoder::tokenizer_files`]: `tokenizer.json` when
//! present, else `vocab.txt` (BERT WordPiece) or `vocab.json` + `merges.txt` (byte-level BPE,
//! RoBERTa). The special tokens follow the folder's `config.json` `model_type`, stated once
//! here instead of being guessed from vocabulary sizes.

use std::path::Path;

use tokenizers::Tokenizer;

pub use crate::encoder::config::ModelType;
use crate::encoder::tokenizer_files::{load_tokenizer, read_model_type, tok_error};
use crate::error::{AtlopError, Result};

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
