//! The live dashboard in a real terminal: `atlop train` on the smoke config runs inside a tmux
//! pane (a real pseudo-terminal), and the screen read back with `capture-pane` must show the
//! metric panels. Skipped, with the reason printed, where tmux or the smoke inputs are absent.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> Option<String> {
    let out = Command::new("tmux").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn dashboard_shows_metric_panels_in_a_terminal() {
    if tmux(&["-V"]).is_none() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    if !Path::new("models/all-MiniLM-L6-v2/model.safetensors").exists()
        || !Path::new("data/redocred/dev_revised.json").exists()
    {
        eprintln!("skipped: run scripts/setup.sh first (model and data for configs/smoke.toml)");
        return;
    }
    let out_dir = tempfile::tempdir().expect("temp dir");
    let session = format!("atlop-dashboard-{}", std::process::id());
    let command = format!(
        "{} train --config configs/smoke.toml --out {}; sleep 60",
        env!("CARGO_BIN_EXE_atlop"),
        out_dir.path().join("run").display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "48",
        &command,
    ])
    .expect("start tmux session");

    let wanted = [
        "Metrics",
        "Loss",
        "LR encoder",
        "LR head",
        "Dev F1",
        "Dev Ign F1",
        "Tokens per s",
    ];
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut screen = String::new();
    while Instant::now() < deadline {
        screen = tmux(&["capture-pane", "-p", "-t", &session]).unwrap_or_default();
        if wanted.iter().all(|w| screen.contains(w)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = tmux(&["kill-session", "-t", &session]);
    for w in wanted {
        assert!(
            screen.contains(w),
            "panel `{w}` missing from the terminal:\n{screen}"
        );
    }
}
