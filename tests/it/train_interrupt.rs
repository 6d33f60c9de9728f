//! `atlop train` stopped by Ctrl-C (SIGINT) twice and resumed each time: every stop exits 130
//! with the command that resumes it, keeps at most the last and the best epochs' checkpoints,
//! and the finished run's `best/` (selected by dev F1 of the run's own decision rule) loads in
//! `atlop evaluate` and `atlop predict`. Also: a diverged loss (`optimizer.eps = 0`) fails the
//! run with a non-zero exit naming the step, instead of saving a NaN model as the best.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use crate::smoke_config;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use smoke_config::root;

fn atlop() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atlop"));
    command.current_dir(root());
    command
}

fn inputs_present() -> bool {
    smoke_config::smoke_config(&[]).is_some()
}

/// The model, optimiser and scheduler checkpoints of `epoch` are all written.
pub fn checkpoint_complete(run: &Path, epoch: usize) -> bool {
    ["model", "optim", "scheduler"]
        .iter()
        .all(|c| run.join(format!("checkpoint/{c}-{epoch}.mpk")).is_file())
}

/// Waits until epoch `epoch` is checkpointed, then sends SIGINT; returns the stopped process's
/// output.
pub fn interrupt_after(mut child: Child, run: &Path, epoch: usize) -> Output {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !checkpoint_complete(run, epoch) {
        assert!(
            Instant::now() < deadline,
            "epoch {epoch} was never checkpointed"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("training ended ({status}) before epoch {epoch} was checkpointed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

fn checkpoint_epochs(run: &Path) -> Vec<usize> {
    let mut epochs: Vec<usize> = std::fs::read_dir(run.join("checkpoint"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            name.strip_prefix("model-")?
                .strip_suffix(".mpk")?
                .parse()
                .ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs
}

fn assert_stopped(out: &Output, run: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let resume = format!("resume with: atlop train --resume {}", run.display());
    assert!(stderr.contains(&resume), "{stderr}");
    assert!(
        checkpoint_epochs(run).len() <= 2,
        "{:?}",
        checkpoint_epochs(run)
    );
}

#[test]
fn interrupted_twice_and_resumed_ends_with_a_loadable_best_model() {
    if !inputs_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let piped = |command: &mut Command| -> Child {
        command
            .arg("--plain")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = piped(
        atlop()
            .args(["train", "--config", "configs/smoke.toml"])
            .args([
                "--set",
                "training.epochs=6",
                "--set",
                "decision.strategy.kind=global",
            ])
            .arg("--out")
            .arg(&run),
    );
    let out = interrupt_after(child, &run, 2);
    assert_stopped(&out, &run);

    let resume = |run: &Path| -> Child { piped(atlop().arg("train").arg("--resume").arg(run)) };
    let out = interrupt_after(resume(&run), &run, 4);
    assert_stopped(&out, &run);

    let out = resume(&run).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = checkpoint_epochs(&run);
    assert!(kept.contains(&6) && kept.len() <= 2, "{kept:?}");

    // best/ is the epoch of the highest dev F1 among the reports of all three sessions.
    let selected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("best/selected.json")).unwrap())
            .unwrap();
    let f1 = |epoch: u64| -> f64 {
        let path = run.join(format!("dev/epoch-{epoch}.json"));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        report["f1_pct"].as_f64().unwrap()
    };
    let best = selected["epoch"].as_u64().unwrap();
    let highest = (1..=6).map(f1).fold(f64::MIN, f64::max);
    assert_eq!(f1(best), highest);
    assert!((1..best).all(|e| f1(e) < highest), "the earliest best wins");
    assert_eq!(
        selected["dev_f1_pct"].as_f64().unwrap(),
        highest,
        "{selected}"
    );

    let evaluate = atlop()
        .args(["evaluate", "--run"])
        .arg(&run)
        .args([
            "--data",
            "data/redocred/dev_revised.json",
            "--docs",
            "8..12",
        ])
        .output()
        .unwrap();
    assert!(
        evaluate.status.success(),
        "{}",
        String::from_utf8_lossy(&evaluate.stderr)
    );
    let predict = atlop()
        .args(["predict", "--run"])
        .arg(&run)
        .args(["--input", "data/redocred/dev_revised.json", "--output"])
        .arg(dir.path().join("preds.json"))
        .output()
        .unwrap();
    assert!(
        predict.status.success(),
        "{}",
        String::from_utf8_lossy(&predict.stderr)
    );
}

#[test]
fn a_diverged_loss_fails_the_run_instead_of_saving_nan() {
    if !inputs_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = atlop()
        .args(["train", "--config", "configs/smoke.toml", "--plain"])
        .args([
            "--set",
            "optimizer.eps=0.0",
            "--set",
            "optimizer.max_grad_norm=0.0",
        ])
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("training failed: the loss is NaN at epoch"),
        "{stderr}"
    );
    assert!(!run.join("best/model.mpk").exists());
}
