//! `scripts/gpu-check.sh --dry-run`: the prepared GPU check, run here up to the point that needs
//! a GPU. Every step runs with this build's `atlop` and tiny sizes (the benchmarks for real, in
//! f32 and bf16; parity and the campaign as the commands they would run), and the summary table
//! gets a row per step. Skips (with a message) without bash, MiniLM or the Re-DocRED file.

use crate::smoke_config;

use std::process::Command;

#[test]
fn the_gpu_check_runs_every_step_in_a_dry_run() {
    if smoke_config::smoke_config(&[]).is_none() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = Command::new("bash")
        .arg(smoke_config::root().join("scripts/gpu-check.sh"))
        .arg("--dry-run")
        .env("OUT", out.path())
        .env("ATLOP_BIN", env!("CARGO_BIN_EXE_atlop"))
        .output();
    let Ok(run) = run else {
        eprintln!("skipping: bash is not available");
        return;
    };
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let summary = std::fs::read_to_string(out.path().join("gpu-check.md")).unwrap();
    eprintln!("{summary}");
    assert!(summary.contains("DRY RUN"), "{summary}");
    let row = |prefix: &str| -> String {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("| {prefix}")))
            .unwrap_or_else(|| panic!("no row {prefix:?} in\n{summary}"))
            .to_string()
    };
    assert!(row("device").contains("no nvidia-smi") || row("device").contains("NVIDIA"));
    assert!(row("parity").contains("cubecl_path"));
    for precision in ["f32", "bf16"] {
        let step = row(&format!("bench step {precision}"));
        assert!(
            step.contains("step_s=") && step.contains("tokens/s"),
            "{step}"
        );
        let encoder = row(&format!("bench encoder {precision}"));
        assert!(
            encoder.contains("random bert-base") && encoder.contains("forward+backward"),
            "{encoder}"
        );
    }
    assert!(row("campaign").contains("experiment all --profile local"));
    let log = std::fs::read_to_string(out.path().join("gpu-check.log")).unwrap();
    assert!(log.contains("===== step-bf16.log") && log.contains("precision=Bf16"));
}
