//! # atlop
//!
//! Document-level relation extraction with Adaptive Thresholding and Localized cOntext Pooling
//! (Zhou et al., AAAI 2021), in pure Rust on burn.
//!
//! Data flows one way, and the modules follow it:
//! [`data`] (documents) -> [`features`] (word pieces, markers, pairs) -> [`batch`] (tensors) ->
//! [`encoder`] (BERT / RoBERTa, two windows for long inputs) -> [`model`] (pooling, localized
//! context, group bilinear, losses) -> [`decision`] (thresholding strategies) ->
//! [`evaluation`] (official metrics).

pub mod allocator;
pub mod atomic;
pub mod backend;
pub mod batch;
pub mod bench;
pub mod config;
pub mod data;
pub mod decision;
pub mod encoder;
pub mod error;
pub mod evaluate;
pub mod evaluation;
pub mod experiment;
pub mod features;
pub mod inference;
pub mod kernels;
pub mod machine;
pub mod model;
pub mod params;
pub mod pipeline;
pub mod run_folder;
pub mod train;

pub use error::{AtlopError, DocRef, Result};
pub use inference::Predictor;
