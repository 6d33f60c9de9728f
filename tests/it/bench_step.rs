//! `atlop bench step` and `bench infer` on the real MiniLM checkpoint and Re-DocRED dev (one
//! document, one step): they run end to end and report what the batch held. Skipped with a
//! printed reason when the model or the shared data is absent.

use std::path::PathBuf;

use atlop::bench::inference::{bench_inference, InferenceBenchConfig};
use atlop::bench::step::{bench_step, StepBenchConfig};

fn inputs() -> Option<(PathBuf, PathBuf)> {
    let model = PathBuf::from("models/all-MiniLM-L6-v2");
    let data = PathBuf::from("../shared/data/redocred/dev_revised.json");
    if !model.join("model.safetensors").is_file() || !data.is_file() {
        eprintln!("skipped: needs {} and {}", model.display(), data.display());
        return None;
    }
    Some((model, data))
}

#[test]
fn one_training_step_on_one_document_reports_its_batch() {
    let Some((model, data)) = inputs() else {
        return;
    };
    let cfg = StepBenchConfig {
        docs: 1,
        steps: 1,
        warmup: 0,
        ..StepBenchConfig::new(model, data)
    };
    let report = bench_step(&cfg).unwrap();
    assert_eq!(report.docs, 1);
    assert!(report.tokens > 2 && report.pairs > 0, "{report}");
    assert!(report.step_s > 0.0);
    let last = report.to_string();
    let last = last.lines().last().unwrap();
    assert!(
        last.starts_with("step_s=") && last.ends_with("docs=1"),
        "{last}"
    );
}

#[test]
fn inference_over_two_documents_counts_their_tokens() {
    let Some((model, data)) = inputs() else {
        return;
    };
    let cfg = InferenceBenchConfig {
        model_dir: model,
        data,
        docs: Some(2),
        batch_size: 2,
        sort_by_length: true,
        threads: None,
    };
    let report = bench_inference(&cfg).unwrap();
    assert_eq!(report.docs, 2);
    assert!(
        report.padded_tokens >= report.tokens && report.seconds > 0.0,
        "{report}"
    );
}
