//! `atlop train` refuses what cannot work before it creates a run folder or trains a step: an
//! unlabelled train file, a `max_len` beyond the encoder's two windows, a run name that would
//! write outside `runs/`, an out-of-range optimiser setting. Each is exit 1 with the key named.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use std::process::Command;

use crate::smoke_config::{self, root};

#[test]
fn bad_runs_are_refused_up_front_and_leave_no_folder() {
    if smoke_config::smoke_config(&[]).is_none() {
        return;
    }
    let unlabelled = root().join("data/docred/test.json");
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![format!("data.train=\"{}\"", unlabelled.display())],
            "has no relation labels",
        ),
        (vec!["data.max_len=100000".into()], "data.max_len"),
        (vec!["name=\"../../escape\"".into()], "`name`"),
        (
            vec!["optimizer.warmup_ratio=2.0".into()],
            "optimizer.warmup_ratio",
        ),
    ];
    for (i, (overrides, expected)) in cases.iter().enumerate() {
        if expected.contains("labels") && !unlabelled.is_file() {
            eprintln!(
                "skipping the unlabelled case: {} is absent",
                unlabelled.display()
            );
            continue;
        }
        let out_dir = dir.path().join(format!("run-{i}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_atlop"));
        command
            .current_dir(root())
            .args([
                "train",
                "--config",
                "configs/smoke.toml",
                "--plain",
                "--out",
            ])
            .arg(&out_dir);
        for o in overrides {
            command.arg("--set").arg(o);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{overrides:?}: {stderr}");
        assert!(stderr.contains(expected), "{overrides:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !out_dir.exists(),
            "{overrides:?} left {}",
            out_dir.display()
        );
    }
}
