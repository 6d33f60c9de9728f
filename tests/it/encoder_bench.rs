//! The encoder benchmark on each CPU backend burn 0.21 offers offline, to choose the default
//! (results in `src/backend.rs`). Ignored by default: they take minutes. One backend per process,
//! so that the peak-memory reading is that backend's:
//!
//! ```text
//! cargo test --release --test it encoder_bench -- --ignored --nocapture flex
//! cargo test --release --test it encoder_bench -- --ignored --nocapture ndarray
//! OPENBLAS_CORETYPE=SapphireRapids cargo test --release --features openblas \
//!     --test it encoder_bench -- --ignored --nocapture ndarray
//! ```

use atlop::bench::encoder::{bench_encoder_on, EncoderBenchConfig};
use burn::backend::{Autodiff, Flex, NdArray};

fn config() -> EncoderBenchConfig {
    let repeats = std::env::var("ATLOP_BENCH_REPEATS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    EncoderBenchConfig {
        model_dir: Some(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"),
        ),
        repeats,
        ..EncoderBenchConfig::default()
    }
}

#[test]
#[ignore = "benchmark: minutes"]
fn flex() {
    let report = bench_encoder_on::<Autodiff<Flex>>(&config(), &Default::default()).unwrap();
    println!("{report}");
    assert!(report.forward_ms > 0.0);
}

#[test]
#[ignore = "benchmark: minutes"]
fn ndarray() {
    let label = if cfg!(feature = "openblas") {
        "ndarray + OpenBLAS"
    } else {
        "ndarray (no BLAS)"
    };
    let report = bench_encoder_on::<Autodiff<NdArray>>(&config(), &Default::default()).unwrap();
    println!("{label}: {report}");
    assert!(report.forward_ms > 0.0);
}
