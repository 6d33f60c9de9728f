//! The model on burn's cubecl path: the backend a GPU build runs on (burn-cuda with `--features
//! cuda`; else burn-wgpu with `--features wgpu`, which runs on any Vulkan device, Mesa's
//! software driver lavapipe included). None of `src/kernels/` serves it: it takes burn's
//! composite ops, fusion and JIT kernels, the code a first CUDA run would execute.
//!
//! What it checks, against the reference fixtures and against the CPU backend:
//! - the BERT and RoBERTa encoder fixtures (short padded batch, two-window long input) and the
//!   head fixture (both bilinear layouts, both losses, the AT loss's gradient), at the fixtures'
//!   tolerance (max abs diff 1e-4);
//! - bf16 products where the device has bf16 (a printed skip where not: lavapipe has none);
//! - training: a smoke run's epoch 1 trained on the CPU, then resumed from that checkpoint for
//!   epoch 2 on the CPU and on the GPU backend (model, AdamW state and scheduler cross
//!   backends): epoch 2's losses and dev F1 agree within [`LOSS_TOL`];
//! - prediction: the CPU-trained model's predictions on 4 dev documents, on both backends: the
//!   same facts, scores within [`SCORE_TOL`].
//!
//! Run: `cargo test --release --features wgpu --test it cubecl_path` (CI does, on lavapipe; the
//! training test is on demand there: add `-- --include-ignored`).
//! Skips with a printed reason when the fixtures, MiniLM or the data are absent, or when no
//! device is found.

use crate::encoder_parity::{check_long, check_short};
use crate::encoder_support::{fixtures, minilm, require};
use crate::head_fixture::Fixture;
use crate::head_parity::{check_at_loss_gradient, check_head};
use crate::smoke_config;
use smoke_config::copy_dir;

use std::collections::BTreeMap;
use std::path::Path;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::encoder::{BertModel, Precision};
use atlop::inference::Score;
use atlop::train::run::{train, Dashboard, TrainTarget};
use atlop::Predictor;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

#[cfg(feature = "cuda")]
type Gpu = atlop::backend::Cuda;
#[cfg(all(feature = "wgpu", not(feature = "cuda")))]
type Gpu = atlop::backend::Wgpu;
type GpuAutodiff = burn::backend::Autodiff<Gpu>;

/// Per-iteration training loss, GPU resume vs CPU, relative: one epoch on weights that agree to
/// ~1e-6 (f32 summation order) drifts by far less.
const LOSS_TOL: f64 = 1e-3;
/// Prediction scores (margins or probabilities), absolute.
const SCORE_TOL: f32 = 1e-3;

/// The device, or `None` (with the reason printed) when the backend finds none: burn-wgpu
/// panics when wgpu has no adapter, so the first tensor is made under `catch_unwind`.
fn device() -> Option<burn::tensor::Device<Gpu>> {
    let device = burn::tensor::Device::<Gpu>::default();
    let probe = std::panic::catch_unwind(|| {
        Tensor::<Gpu, 1>::from_floats([1.0, 2.0], &device)
            .sum()
            .into_scalar()
    });
    match probe {
        Ok(sum) => {
            assert_eq!(sum, 3.0, "1 + 2 on {device:?}");
            Some(device)
        }
        Err(_) => {
            eprintln!(
                "skipping: no device for {} (for burn-wgpu without a GPU, install Mesa's \
                 software Vulkan driver: Debian `mesa-vulkan-drivers`)",
                atlop::backend::describe::<Gpu>()
            );
            None
        }
    }
}

#[test]
fn bert_matches_the_reference_on_the_cubecl_path() {
    let Some(device) = device() else { return };
    let (Some(dir), Some(fx)) = (require(minilm()), require(fixtures())) else {
        return;
    };
    let (bert, _) = BertModel::<Gpu>::load(&dir, &device).unwrap();
    check_short(&bert, &fx.join("bert_short.safetensors"), true);
    check_long(&bert, &fx.join("bert_long.safetensors"));
}

/// The tiny RoBERTa ships with the fixtures: this runs wherever they are, MiniLM or not.
#[test]
fn roberta_matches_the_reference_on_the_cubecl_path() {
    let Some(device) = device() else { return };
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let (roberta, _) = BertModel::<Gpu>::load(&fx.join("tiny-roberta"), &device).unwrap();
    check_short(&roberta, &fx.join("roberta_short.safetensors"), false);
    check_long(&roberta, &fx.join("roberta_long.safetensors"));
}

#[test]
fn head_and_losses_match_the_reference_on_the_cubecl_path() {
    let Some(device) = device() else { return };
    let Some(fx) = Fixture::load() else { return };
    check_head::<Gpu>(&fx, &device);
    check_at_loss_gradient::<GpuAutodiff>(&fx, &device);
}

/// bf16 products (the setting for tensor cores) where the device has bf16: the encoder's last
/// hidden state stays within bf16's precision of the f32 one.
#[test]
fn bf16_products_where_the_device_has_them() {
    let Some(device) = device() else { return };
    if !Gpu::supports_dtype(&device, DType::BF16) {
        eprintln!(
            "skipping: {} on {device:?} has no bf16 (lavapipe has none; CUDA does)",
            atlop::backend::describe::<Gpu>()
        );
        return;
    }
    let Some(dir) = require(minilm()) else { return };
    let (f32_model, _) = BertModel::<Gpu>::load(&dir, &device).unwrap();
    let bf16_model = f32_model.clone().with_precision(Precision::Bf16);
    let ids = Tensor::<Gpu, 2, burn::tensor::Int>::from_ints(
        [[101, 7592, 2088, 2003, 1037, 3231, 1012, 102]],
        &device,
    );
    let full = f32_model.encode(ids.clone(), &[8]).hidden;
    let half = bf16_model.encode(ids, &[8]).hidden;
    let scale: f32 = full.clone().abs().max().into_scalar();
    let diff: f32 = (full - half.clone()).abs().max().into_scalar();
    eprintln!("bf16 vs f32 hidden: max abs diff {diff:e} (max |h| {scale})");
    assert_eq!(half.dtype(), DType::F32, "products come back as f32");
    assert!(
        diff.is_finite() && diff <= 0.05 * scale,
        "{diff} vs {scale}"
    );
}

/// `(iteration, loss)` of the train records of `epoch` in `metrics.jsonl`, and the dev F1 of it.
fn epoch_metrics(run: &Path, epoch: u64) -> (Vec<f64>, f64) {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let mut losses = Vec::new();
    let mut dev = None;
    for line in text.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["epoch"].as_u64() != Some(epoch) {
            continue;
        }
        match r["split"].as_str() {
            Some("train") => losses.push(r["metrics"]["Loss"].as_f64().unwrap()),
            Some("valid") => dev = r["metrics"]["Dev F1"].as_f64(),
            _ => {}
        }
    }
    (losses, dev.expect("a dev record for the epoch"))
}

/// The facts predicted for each document, with their scores.
fn predictions<B: Backend>(run: &Path, device: &B::Device) -> BTreeMap<String, f32> {
    let predictor = Predictor::<B>::open(run, device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.json");
    std::fs::write(
        &input,
        serde_json::to_string(&smoke_config::dev_documents(8..12)).unwrap(),
    )
    .unwrap();
    let docs = atlop::data::read_docred(&input, predictor.vocab())
        .unwrap()
        .documents;
    let mut out = BTreeMap::new();
    for doc in predictor.predict(&docs).unwrap() {
        for p in doc.predictions {
            let score = match p.score {
                Score::Margin { margin } => margin,
                Score::Probability { probability, .. } => probability,
            };
            out.insert(
                format!("{} {}->{} {}", doc.title, p.head, p.tail, p.relation),
                score,
            );
        }
    }
    out
}

/// On demand: on lavapipe (2-core AMD EPYC, the campaign beside it) the resumed epoch's first
/// iteration took 7.5 min (shader compilation and autotuning of every new shape) and the second
/// 2.2 min, so the test runs ~20 min there; on a GPU it takes seconds. Run it with
/// `cargo test --release --features wgpu --test it cubecl_path -- --ignored`.
#[test]
#[ignore = "on demand: ~20 min on lavapipe (see the doc comment)"]
fn training_resumes_and_predicts_on_the_cubecl_path_as_on_the_cpu() {
    let Some(device) = device() else { return };
    // A global threshold fitted on dev: two epochs on 8 documents put no logit above TH, and
    // predictions are needed to compare.
    if smoke_config::smoke_config(&[]).is_none() {
        return;
    }
    let _serial = crate::serial::training();
    // Epoch 1 on the CPU; then the run, extended to 2 epochs, resumed from that checkpoint
    // twice: on the CPU and on the GPU backend (model, AdamW state and scheduler cross over).
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let one_epoch =
        smoke_config::smoke_config(&["decision.strategy.kind=global", "training.epochs=1"])
            .unwrap();
    train::<CpuAutodiff>(
        TrainTarget::New {
            config: Box::new(one_epoch),
            out: Some(first.clone()),
        },
        Dashboard::Plain,
        Default::default(),
    )
    .unwrap();
    let toml = std::fs::read_to_string(first.join("config.toml")).unwrap();
    assert!(toml.contains("\nepochs = 1\n"), "{toml}");
    std::fs::write(
        first.join("config.toml"),
        toml.replace("\nepochs = 1\n", "\nepochs = 2\n"),
    )
    .unwrap();
    let (cpu_run, gpu_run) = (dir.path().join("cpu"), dir.path().join("gpu"));
    copy_dir(&first, &cpu_run);
    copy_dir(&first, &gpu_run);
    let started = std::time::Instant::now();
    train::<CpuAutodiff>(
        TrainTarget::Resume(cpu_run.clone()),
        Dashboard::Plain,
        Default::default(),
    )
    .unwrap();
    let cpu_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let summary = train::<GpuAutodiff>(
        TrainTarget::Resume(gpu_run.clone()),
        Dashboard::Plain,
        device.clone(),
    )
    .unwrap();
    let gpu_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "smoke run, epoch 2 resumed: {cpu_seconds:.1} s on the CPU, {gpu_seconds:.1} s on {}",
        atlop::backend::describe::<GpuAutodiff>()
    );
    assert_eq!(summary.resumed_from, 1);
    let (cpu_losses, cpu_dev) = epoch_metrics(&cpu_run, 2);
    let (gpu_losses, gpu_dev) = epoch_metrics(&gpu_run, 2);
    assert_eq!(cpu_losses.len(), gpu_losses.len(), "iterations of epoch 2");
    assert!(!cpu_losses.is_empty());
    for (i, (c, g)) in cpu_losses.iter().zip(&gpu_losses).enumerate() {
        let rel = (c - g).abs() / c.abs().max(1e-12);
        eprintln!(
            "epoch 2 iteration {}: loss cpu {c:.6} gpu {g:.6} (rel {rel:.1e})",
            i + 1
        );
        assert!(rel <= LOSS_TOL, "iteration {}: {c} vs {g}", i + 1);
    }
    assert!(
        (cpu_dev - gpu_dev).abs() <= 1e-9,
        "dev F1 {cpu_dev} vs {gpu_dev}"
    );

    // The CPU-trained model predicts the same facts on both backends.
    let on_cpu = predictions::<Cpu>(&cpu_run, &Default::default());
    let on_gpu = predictions::<Gpu>(&cpu_run, &device);
    assert!(
        !on_cpu.is_empty(),
        "nothing predicted: the comparison would be vacuous"
    );
    assert_eq!(
        on_cpu.keys().collect::<Vec<_>>(),
        on_gpu.keys().collect::<Vec<_>>(),
        "predicted facts"
    );
    let worst = on_cpu
        .iter()
        .map(|(k, s)| (s - on_gpu[k]).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "{} facts predicted; scores max abs diff {worst:e}",
        on_cpu.len()
    );
    assert!(worst <= SCORE_TOL, "{worst}");
}
