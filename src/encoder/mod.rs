//! Pre-trained encoders written in burn: BERT (and SciBERT) and RoBERTa, loading Hugging Face
//! checkpoints unchanged, with the two-window procedure for documents over 512 positions.
//!
//! - [`config`]: `config.json` as [`EncoderConfig`] / [`ModelType`];
//! - [`embeddings`], [`attention`], [`layer`], [`bert`]: the network, one struct per
//!   `transformers` class, fields named after the checkpoint keys;
//! - [`precision`]: [`Precision`], mixed precision (bf16 products, f32 master weights);
//! - [`long_seq`]: [`BertModel::encode`], the two windows for long documents;
//! - [`weights`]: [`BertModel::load`], checked weight import with a [`LoadReport`];
//! - [`source`]: where a checkpoint comes from ([`ModelSource`]: local folder or hub id);
//! - [`token_rows`]: [`token_rows::TokenRows`], the dense layers on the real (unpadded) rows;
//! - [`special_tokens`]: start / separator / pad ids ([`SpecialTokens`]).

pub mod attention;
pub mod bert;
pub mod config;
pub mod dropout;
pub mod embeddings;
pub mod layer;
pub mod long_seq;
pub mod precision;
pub mod source;
pub mod special_tokens;
pub mod token_rows;
pub mod tokenizer_files;
pub mod weights;

pub use bert::{BertModel, EncoderOutput};
pub use config::{EncoderConfig, ModelType};
pub use precision::Precision;
pub use source::ModelSource;
pub use special_tokens::SpecialTokens;
pub use weights::LoadReport;
