//! `atlop train` end to end on the smoke config (8 Re-DocRED documents, MiniLM, 2 epochs):
//! headless (plain renderer), the loss falls, checkpoints and `best/` are written, `evaluate`
//! on the run folder reproduces the logged dev F1 exactly, and a run interrupted after epoch 1
//! and resumed ends with the same numbers as the uninterrupted one.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use crate::smoke_config;

use std::path::Path;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::config::{DocSlice, RunConfig};
use atlop::evaluate::{evaluate_run, EvaluateOptions};
use atlop::train::run::{train, train_on, Dashboard, TrainTarget};

/// Two epochs on 8 documents put no logit above TH, so the adaptive rule predicts nothing and
/// its F1 of 0 would prove little; a global threshold fitted on dev predicts something and also
/// exercises the thresholds saved in the run folder. Dropout on (the smoke config has it off):
/// resuming must also replay the dropout masks.
fn smoke_config() -> Option<RunConfig> {
    smoke_config::smoke_config(&["decision.strategy.kind=global", "training.dropout=0.1"])
}

/// `(epoch, metrics)` of the records of one split in `metrics.jsonl`.
fn records(run: &Path, split: &str) -> Vec<(u64, serde_json::Value)> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["split"] == split)
        .map(|r| (r["epoch"].as_u64().unwrap(), r["metrics"].clone()))
        .collect()
}

#[test]
fn smoke_run_trains_evaluates_and_resumes_exactly() {
    let Some(config) = smoke_config() else { return };
    let _serial = crate::serial::training();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let started = std::time::Instant::now();
    let summary = train::<CpuAutodiff>(
        TrainTarget::New {
            config: Box::new(config.clone()),
            out: Some(full.clone()),
        },
        Dashboard::Plain,
        Default::default(),
    )
    .unwrap();
    eprintln!(
        "smoke run: {:.1} s, {} iterations per epoch, best epoch {}, dev F1 {}",
        started.elapsed().as_secs_f64(),
        summary.iterations_per_epoch,
        summary.best_epoch,
        summary.best.f1
    );

    // The loss falls: mean train loss of epoch 2 below epoch 1's first iteration.
    let train_records = records(&full, "train");
    let loss = |i: usize| train_records[i].1["Loss"].as_f64().unwrap();
    let last = train_records.len() - 1;
    assert!(loss(last) < loss(0), "loss {} -> {}", loss(0), loss(last));
    for file in [
        "config.toml",
        "run.json",
        "encoder/tokenizer.json",
        "best/model.mpk",
    ] {
        assert!(full.join(file).is_file(), "{file} missing");
    }
    assert!(full.join("checkpoint/model-2.mpk").is_file());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["data"][0]["sha256"].as_str().unwrap().len(), 64);

    // The logged dev F1 of the best epoch is what `evaluate` computes from the folder alone.
    let valid = records(&full, "valid");
    let logged = valid
        .iter()
        .find(|(e, _)| *e as usize == summary.best_epoch)
        .map(|(_, m)| m["Dev F1"].as_f64().unwrap())
        .unwrap();
    assert_eq!(logged, summary.best.f1 * 100.0);
    let report = evaluate_run::<Cpu>(
        &EvaluateOptions {
            run: &full,
            data: &config.data.dev,
            docs: Some(DocSlice { start: 8, end: 12 }),
            result_json: None,
        },
        &Default::default(),
    )
    .unwrap()
    .unwrap();
    assert!(
        summary.best.f1 > 0.0,
        "dev F1 is 0: the comparison would be vacuous"
    );
    // `summary.best` was read back from `best/report.json`, which holds percent: equal there.
    let pct = atlop::evaluation::percent::to_pct;
    assert_eq!(pct(report.f1), pct(summary.best.f1));
    assert_eq!(report.decision, summary.best.decision);
    assert_eq!(report.ign_f1.map(pct), summary.best.ign_f1.map(pct));

    // The same run in the `atlop` binary, stopped by Ctrl-C once epoch 1 is checkpointed (the
    // epoch in progress is dropped) and resumed: it ends with the same numbers.
    let resumed = dir.path().join("resumed");
    let cli = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_atlop"));
        command
            .current_dir(smoke_config::root())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let resumed_arg = resumed.to_str().unwrap();
    let first = cli(&[
        "train",
        "--config",
        "configs/smoke.toml",
        "--set",
        "decision.strategy.kind=global",
        "--set",
        "training.dropout=0.1",
        "--plain",
        "--out",
        resumed_arg,
    ])
    .spawn()
    .unwrap();
    let stopped = crate::train_interrupt::interrupt_after(first, &resumed, 1);
    assert_eq!(
        stopped.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let out = cli(&["train", "--resume", resumed_arg, "--plain"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = |path: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let selected = json(resumed.join("best/selected.json"));
    assert_eq!(selected["epoch"].as_u64(), Some(summary.best_epoch as u64));
    let (best_full, best_resumed) = (
        json(full.join("best/report.json")),
        json(resumed.join("best/report.json")),
    );
    assert_eq!(best_resumed["f1_pct"], best_full["f1_pct"]);
    assert_eq!(best_resumed["decision"], best_full["decision"]);
    let epoch2 = |run: &Path| {
        let v = records(run, "valid");
        v.iter()
            .find(|(e, _)| *e == 2)
            .map(|(_, m)| m.clone())
            .unwrap()
    };
    assert_eq!(epoch2(&resumed)["Dev F1"], epoch2(&full)["Dev F1"]);
    // The stopped session logged part of epoch 2; the resumed one logged all of it, last.
    let last_loss = |run: &Path| records(run, "train").last().unwrap().1["Loss"].clone();
    assert_eq!(last_loss(&resumed), last_loss(&full));
}

/// `--devices` wiring without a GPU: two handles to the one CPU device still go through burn's
/// multi-device strategy (loader split in two parts, a batch per part and iteration, gradients
/// summed on the first device). Each device takes half of the batch, so an epoch has half the
/// iterations and the run trains to the end.
#[test]
fn two_devices_share_each_batch_and_train() {
    let Some(config) = smoke_config() else { return };
    let _serial = crate::serial::training();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("two");
    let device: burn::tensor::Device<CpuAutodiff> = Default::default();
    let summary = train_on::<CpuAutodiff>(
        TrainTarget::New {
            config: Box::new(config.clone()),
            out: Some(run.clone()),
        },
        Dashboard::Plain,
        vec![device, device],
    )
    .unwrap();
    // 8 documents, batch 2 shared by 2 devices: parts of 4 documents, 1 each per iteration.
    assert_eq!(summary.iterations_per_epoch, 4);
    let train_records = records(&run, "train");
    assert_eq!(train_records.len(), 2 * 8, "one record per device batch");
    let loss = |i: usize| train_records[i].1["Loss"].as_f64().unwrap();
    assert!(train_records
        .iter()
        .all(|(_, m)| m["Loss"].as_f64().unwrap().is_finite()));
    assert!(loss(15) < loss(0), "loss {} -> {}", loss(0), loss(15));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["devices"].as_array().unwrap().len(), 2);
    assert!(run.join("best/model.mpk").is_file());

    // A batch the devices cannot share equally is refused before any work.
    let mut odd = config;
    odd.training.batch_size = 3;
    let err = train_on::<CpuAutodiff>(
        TrainTarget::New {
            config: Box::new(odd),
            out: Some(dir.path().join("odd")),
        },
        Dashboard::Plain,
        vec![device, device],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("training.batch_size"), "{err}");
}
