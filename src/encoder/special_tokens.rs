//! The ids of the start, separator and padding tokens. The two windows for long documents
//! (Zhou et al. 2021, Sec. 3 / Appendix) re-insert start and end tokens, and these ids differ
//! between vocabularies (BERT uncased `[CLS]` = 101, RoBERTa `<s>` = 0), so they are read from the
//! checkpoint's own tokenizer files, never assumed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::encoder::config::EncoderConfig;
use crate::encoder::tokenizer_files::{load_tokenizer, tok_error};
use crate::error::Result;

/// `cls` starts every window, `sep` ends it (twice for RoBERTa), `pad` fills batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
}

impl SpecialTokens {
    /// Looks the family's start and end tokens up in the checkpoint's tokenizer (the reader the
    /// featurizer uses too). `pad` is the config's `pad_token_id`, the id position numbering
    /// uses; the tokenizer's pad token must have that id, or batches would be padded with one
    /// id and positions numbered from another.
    pub fn from_dir(dir: &Path, config: &EncoderConfig) -> Result<Self> {
        let tokenizer = load_tokenizer(dir, config.model_type)?;
        let [cls, sep, pad] = config.model_type.special_tokens();
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                tok_error(
                    dir,
                    format!("special token `{token}` is not in the vocabulary"),
                )
            })
        };
        let (cls, sep, vocab_pad) = (id(cls)?, id(sep)?, id(pad)?);
        if vocab_pad as usize != config.pad_token_id {
            return Err(tok_error(
                dir,
                format!(
                    "the pad token `{pad}` has id {vocab_pad} in the vocabulary but config.json \
                     says pad_token_id = {}",
                    config.pad_token_id
                ),
            ));
        }
        Ok(SpecialTokens {
            cls,
            sep,
            pad: vocab_pad,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BERT folder with a five-token vocabulary and `pad_token_id`.
    fn folder(pad_token_id: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vocab.txt"),
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\n*\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"model_type": "bert", "vocab_size": 5, "pad_token_id": {pad_token_id}}}"#),
        )
        .unwrap();
        dir
    }

    #[test]
    fn ids_come_from_the_tokenizer_and_the_pad_id_must_agree_with_config_json() {
        let dir = folder(0);
        let config = EncoderConfig::load(&dir.path().join("config.json")).unwrap();
        let ids = SpecialTokens::from_dir(dir.path(), &config).unwrap();
        assert_eq!(
            ids,
            SpecialTokens {
                cls: 2,
                sep: 3,
                pad: 0
            }
        );
        let featurizer = crate::features::tokenizer::DocTokenizer::from_dir(dir.path()).unwrap();
        assert_eq!(
            (
                featurizer.cls_id(),
                featurizer.sep_id(),
                featurizer.pad_id()
            ),
            (ids.cls, ids.sep, ids.pad)
        );

        let dir = folder(1);
        let config = EncoderConfig::load(&dir.path().join("config.json")).unwrap();
        let err = SpecialTokens::from_dir(dir.path(), &config)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pad token `[PAD]` has id 0") && err.contains("pad_token_id = 1"),
            "{err}"
        );
    }
}
