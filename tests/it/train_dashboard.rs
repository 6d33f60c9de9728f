//! The live dashboard in a real terminal: `atlop train` on the smoke config runs inside a tmux
//! pane (a real pseudo-terminal) of 80 x 24, and the screen read back with `capture-pane` must
//! show what a user watches; then `q` must stop the run cleanly with the command that resumes it. Skipped, with the reason printed, where tmux or the smoke inputs are absent.

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
    let run = out_dir.path().join("run");
    // 30 epochs, so that the stop key always lands before the run ends on its own.
    let command = format!(
        "{} train --config configs/smoke.toml --set training.epochs=30 --out {}; sleep 60",
        env!("CARGO_BIN_EXE_atlop"),
        run.display()
    );
    // The smallest terminal people use: 80 x 24.
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ])
    .expect("start tmux session");
    let screen = |wanted: &[&str], seconds: u64| -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut screen = String::new();
        while Instant::now() < deadline {
            screen = tmux(&["capture-pane", "-p", "-J", "-t", &session]).unwrap_or_default();
            if wanted.iter().all(|w| screen.contains(w)) {
                return (true, screen);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        (false, screen)
    };

    // After the first dev pass: the run folder, the best dev F1 with its rule, labelled
    // progress, both charts, the train and dev values and the stop key, all at 80 x 24.
    let wanted = [
        "atlop train  run ",
        "best dev F1 ",
        "at epoch 1 (adaptive",
        "train  epoch ",
        "run    ",
        "Dev F1 (%) by epoch",
        "Train loss by step",
        "LR encoder",
        "Dev Ign F1",
        "q, Esc or Ctrl-C: stop",
    ];
    let (shown, text) = screen(&wanted, 300);
    if !shown {
        let _ = tmux(&["kill-session", "-t", &session]);
    }
    for w in wanted {
        assert!(
            text.contains(w),
            "`{w}` missing from the 80x24 terminal:\n{text}"
        );
    }

    // `q` stops the run after its step: the terminal comes back and says how to resume.
    tmux(&["send-keys", "-t", &session, "q"]).expect("send q");
    let resume = format!("resume with: atlop train --resume {}", run.display());
    let (stopped, text) = screen(&["training stopped by the user", "resume with:"], 120);
    let _ = tmux(&["kill-session", "-t", &session]);
    assert!(stopped, "`q` did not stop the run:\n{text}");
    // `-J` joins the lines the pane wrapped at 80 columns.
    assert!(text.contains(&resume), "{text}");
    assert!(
        run.join("best/model.mpk").is_file(),
        "no best/ after the stop"
    );
}
