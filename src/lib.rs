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
//!
//! Where each idea of the paper lives. Doc comments cite the paper one way throughout: Sec. 2.1
//! (encoder, entity markers, logsumexp pooling Eq. 2, extractors Eq. 3, bilinear Eq. 4 and group
//! bilinear Eq. 5), Sec. 2.2 (adaptive thresholding and its loss, Eq. 6-7), Sec. 2.3 (localized
//! context pooling, Eq. 10-12, from the last layer's attention), Sec. 4.1 (training settings);
//! tables and figures by their numbers.
//!
//! | concept | file |
//! |---|---|
//! | entity markers `*` around mentions | `features/featurize.rs` |
//! | two overlapping windows for inputs over 512 tokens | `encoder/long_seq.rs` |
//! | BERT / RoBERTa encoder, Hugging Face weights | `encoder/bert.rs`, `encoder/weights.rs` |
//! | logsumexp pooling of mentions | `model/pooling.rs` |
//! | localized context pooling (from the last layer's attention) | `model/localized_context.rs` |
//! | group bilinear classifier | `model/bilinear.rs` (fused on the CPU: `kernels/bilinear.rs`) |
//! | adaptive-thresholding loss, BCE | `model/loss.rs` |
//! | the switches of the ablations (Table 5) | `config.rs` (`ModelSection`), `experiments/variants.toml` |
//! | thresholding strategies (Table 6) | `decision/adaptive.rs`, `decision/global.rs`, `decision/per_class.rs` |
//! | the paper's optimiser and schedule | `train/optimizer.rs`, `train/scheduler.rs`, `train/clipping.rs` |
//! | model selection on dev, best and last checkpoints | `train/best.rs` |
//! | DocRED F1 / Ign F1, CDR/GDA F1 | `evaluation/docred.rs`, `evaluation/bio.rs` |
//! | Tables 3-6 and their records | `experiment/` |

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
pub mod plot_range;
pub mod run_folder;
pub mod train;
pub mod trained_run;

pub use error::{AtlopError, DocRef, Result};
pub use inference::Predictor;
