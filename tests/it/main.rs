//! The integration tests, as one test binary: each module was a crate of its own, and 31
//! crates each linking burn made the test build the slowest part of CI. Helpers shared by
//! several modules (`encoder_support`, `head_fixture`, `shared_inputs`, `smoke_config`,
//! `serial`) live beside them.
//!
//! Tests of different modules now run in one process, in parallel threads: tests that train
//! in-process take [`serial::TRAINING`], since training reseeds the backend's one RNG.

mod bench_step;
mod cli_data;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod cubecl_path;
mod data_bio;
mod data_readers;
mod data_stats;
mod decision_strategies;
mod encoder_batch;
mod encoder_bench;
mod encoder_loading;
mod encoder_parity;
mod encoder_support;
mod evaluation_bio;
mod evaluation_docred;
mod experiment_smoke;
mod experiment_variants;
mod features_bio_reference;
mod features_featurize;
mod features_tokenizer;
mod gpu_check;
mod head_batching;
mod head_bench;
mod head_fixture;
mod head_loss_properties;
mod head_parity;
mod head_switches;
mod model_end_to_end;
mod predict_smoke;
mod serial;
mod shared_inputs;
mod simd_levels;
mod smoke_config;
mod train_checkpoint;
mod train_dashboard;
mod train_interrupt;
mod train_learner;
mod train_refusals;
mod train_smoke;
