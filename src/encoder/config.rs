//! The encoder's hyper-parameters, read unchanged from a Hugging Face checkpoint's `config.json`
//! (`BertConfig` / `RobertaConfig`). Keys missing from the file take the Hugging Face defaults.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{AtlopError, Result};

/// The architecture family. The only differences the encoder knows about are explicit here, never
/// inferred from a size: RoBERTa numbers positions from `pad_token_id + 1` and skips padding, and
/// ends a long document's first window with two separators (`</s></s>`) instead of one.
/// SciBERT and other BERT variants are `Bert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelType {
    Bert,
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
    pub fn extra_special_tokens(self) -> [&'static str; 2] {
        match self {
            ModelType::Bert => ["[UNK]", "[MASK]"],
            ModelType::Roberta => ["<unk>", "<mask>"],
        }
    }
}

impl TryFrom<String> for ModelType {
    type Error = String;

    fn try_from(value: String) -> std::result::Result<Self, Self::Error> {
        match value.as_str() {
            "bert" => Ok(ModelType::Bert),
            "roberta" => Ok(ModelType::Roberta),
            other => Err(format!(
                "model_type `{other}` is not supported: expected `bert` or `roberta`"
            )),
        }
    }
}

impl From<ModelType> for String {
    fn from(value: ModelType) -> Self {
        match value {
            ModelType::Bert => "bert".into(),
            ModelType::Roberta => "roberta".into(),
        }
    }
}

/// `config.json` of a BERT or RoBERTa checkpoint; field names are the file's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    pub model_type: ModelType,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    #[serde(default = "defaults::dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "defaults::dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "defaults::type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    #[serde(default = "defaults::position_embedding_type")]
    pub position_embedding_type: String,
}

/// Hugging Face `BertConfig` defaults (bert-base).
mod defaults {
    pub fn vocab_size() -> usize {
        30522
    }
    pub fn hidden_size() -> usize {
        768
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn hidden_act() -> String {
        "gelu".into()
    }
    pub fn dropout() -> f64 {
        0.1
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn type_vocab_size() -> usize {
        2
    }
    pub fn layer_norm_eps() -> f64 {
        1e-12
    }
    pub fn position_embedding_type() -> String {
        "absolute".into()
    }
}

impl EncoderConfig {
    /// Reads and validates `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
        let config: EncoderConfig =
            serde_json::from_str(&text).map_err(|source| AtlopError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Rejects what this encoder does not implement, naming the key.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let fail = |key: &str, message: String| {
            Err(AtlopError::Config {
                source_name: source_name.to_string(),
                key: key.to_string(),
                message,
            })
        };
        if self.hidden_act != "gelu" {
            return fail(
                "hidden_act",
                format!(
                    "`{}` is not supported: only `gelu` (exact, erf form) is implemented",
                    self.hidden_act
                ),
            );
        }
        if self.position_embedding_type != "absolute" {
            return fail(
                "position_embedding_type",
                format!(
                    "`{}` is not supported: only `absolute`",
                    self.position_embedding_type
                ),
            );
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return fail(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            );
        }
        if self.num_hidden_layers == 0 {
            return fail("num_hidden_layers", "must be at least 1".into());
        }
        if self.type_vocab_size == 0 {
            return fail("type_vocab_size", "must be at least 1".into());
        }
        if self.max_len() < 4 {
            return fail(
                "max_position_embeddings",
                format!(
                    "{} leaves fewer than 4 positions for the two windows",
                    self.max_position_embeddings
                ),
            );
        }
        Ok(())
    }

    /// Index of the first position embedding: RoBERTa reserves `0..=pad_token_id`.
    pub fn position_offset(&self) -> usize {
        match self.model_type {
            ModelType::Bert => 0,
            ModelType::Roberta => self.pad_token_id + 1,
        }
    }

    /// The longest input one encoder call takes (512 for BERT and RoBERTa); longer documents go
    /// through the two windows of [`crate::encoder::long_seq`].
    pub fn max_len(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }

    /// Head size `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_roberta_offsets_positions() {
        let c: EncoderConfig = serde_json::from_str(
            r#"{"model_type":"roberta","pad_token_id":1,"max_position_embeddings":514}"#,
        )
        .unwrap();
        assert_eq!(c.hidden_size, 768);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.position_offset(), 2);
        assert_eq!(c.max_len(), 512);
        assert!(c.validate("test").is_ok());
    }

    #[test]
    fn unknown_model_type_and_activation_are_rejected_by_name() {
        let err = serde_json::from_str::<EncoderConfig>(r#"{"model_type":"xlnet"}"#).unwrap_err();
        assert!(err.to_string().contains("xlnet"), "{err}");
        let c: EncoderConfig =
            serde_json::from_str(r#"{"model_type":"bert","hidden_act":"gelu_new"}"#).unwrap();
        let msg = c.validate("cfg.json").unwrap_err().to_string();
        assert!(
            msg.contains("hidden_act") && msg.contains("gelu_new"),
            "{msg}"
        );
    }
}
