//! `atlop experiment ablation --profile smoke --train` end to end: the 7 models of Table 5 train
//! once (2 epochs on 4 documents, max_len 64), each writes its record, every row of the table is
//! written with a value for every column, with Figure 4 and the training curves. A first
//! invocation is killed (SIGKILL) while a model is between its epochs; the same command then
//! resumes that model from its epoch-1 checkpoint and trains only the models not finished, and a
//! third invocation reuses every model. Without run folders the tables come back identical from
//! the records alone; a record whose config hash no longer matches is reported stale, not used.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn command(runs: &Path, results: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atlop"));
    command
        .current_dir(root())
        .args([
            "experiment",
            "ablation",
            "--profile",
            "smoke",
            "--seeds",
            "1",
        ])
        .arg("--runs-dir")
        .arg(runs)
        .arg("--records-dir")
        .arg(results.join("models"))
        .arg("--results-dir")
        .arg(results);
    command
}

fn experiment(runs: &Path, results: &Path, train: bool) -> String {
    let mut command = command(runs, results);
    if train {
        command.arg("--train");
    }
    let out = command.output().expect("atlop runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "atlop experiment failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn ablation_table_survives_a_kill_and_trains_each_model_once() {
    for needed in [
        "models/all-MiniLM-L6-v2/model.safetensors",
        "data/redocred/dev_revised.json",
    ] {
        if !root().join(needed).is_file() {
            eprintln!("skipping: {needed} is absent");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (runs, results) = (dir.path().join("runs"), dir.path().join("results"));

    let models = runs.join("smoke/docred");
    let model_dirs = || -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&models)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs
    };
    let finished = |p: &Path| p.join("finished.json").is_file();

    // Killed while a later model trains, after the first has finished and the later one has
    // checkpointed its first epoch.
    let checkpointed = |p: &Path| {
        ["model", "optim", "scheduler"]
            .iter()
            .all(|c| p.join(format!("checkpoint/{c}-1.mpk")).is_file())
    };
    let mut child = command(&runs, &results)
        .arg("--train")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let dirs = model_dirs();
        let done = dirs.iter().filter(|d| finished(d)).count();
        if done >= 1 && dirs.iter().any(|d| !finished(d) && checkpointed(d)) {
            break;
        }
        assert!(Instant::now() < deadline, "no model finished in 10 minutes");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before: Vec<PathBuf> = model_dirs().into_iter().filter(|d| finished(d)).collect();
    assert!(!done_before.is_empty() && done_before.len() < 7);
    let marker_time = |p: &Path| {
        std::fs::metadata(p.join("finished.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let times_before: Vec<_> = done_before.iter().map(|p| marker_time(p)).collect();

    let interrupted: Vec<PathBuf> = model_dirs()
        .into_iter()
        .filter(|d| !finished(d) && checkpointed(d))
        .collect();
    assert!(!interrupted.is_empty());

    // The same command finishes the rest, without touching the finished models, resuming the
    // interrupted one from its checkpoint.
    let first = experiment(&runs, &results, true);
    assert!(first.contains("from its checkpoint"), "{first}");
    assert_eq!(
        first.matches("training into").count(),
        7 - done_before.len(),
        "{first}"
    );
    assert_eq!(
        first.matches("already trained").count(),
        done_before.len(),
        "{first}"
    );
    let times_after: Vec<_> = done_before.iter().map(|p| marker_time(p)).collect();
    assert_eq!(times_before, times_after, "a finished model was retrained");
    let markers: Vec<_> = model_dirs()
        .into_iter()
        .filter(|p| finished(p) && p.join("scores/dev.f32").is_file())
        .collect();
    assert_eq!(markers.len(), 7, "one finished model per variant");
    // A model killed mid-run resumed cleanly: one line per iteration (2 epochs x 2), none twice.
    for dir in &markers {
        let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        let train: Vec<&str> = metrics
            .lines()
            .filter(|l| l.contains("\"train\""))
            .collect();
        assert_eq!(train.len(), 4, "{}: {metrics}", dir.display());
        // Only the last and the best epoch's checkpoints are kept.
        let kept = std::fs::read_dir(dir.join("checkpoint")).unwrap().count();
        assert!(kept <= 6, "{}: {kept} checkpoint files", dir.display());
    }
    let records = results.join("models/smoke/docred");
    assert_eq!(
        std::fs::read_dir(&records).unwrap().count(),
        7,
        "one record per model"
    );
    // Each record's training time is the sum of its epochs' wall times, every epoch timed: the
    // killed model's too, whose first epoch ran in the killed process.
    for entry in std::fs::read_dir(&records).unwrap() {
        let path = entry.unwrap().path();
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let epochs: Vec<f64> = record["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seconds"].as_f64().expect("every epoch timed"))
            .collect();
        assert_eq!(epochs.len(), 2, "{}", path.display());
        assert!(epochs.iter().all(|s| *s > 0.0), "{}", path.display());
        let total = record["provenance"]["training_seconds"].as_f64().unwrap();
        assert!(
            (total - epochs.iter().sum::<f64>()).abs() < 1e-6,
            "{}: {total} s against epochs {epochs:?}",
            path.display()
        );
    }

    let table_dir = results.join("ablation/smoke");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(table_dir.join("rows.json")).unwrap())
            .unwrap();
    let rows = rows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "every row of Table 5");
    for row in rows {
        for cell in row["cells"].as_array().unwrap() {
            let mean = cell["mean"].as_f64();
            assert!(
                mean.is_some_and(|m| (0.0..=100.0).contains(&m)),
                "{}: {cell}",
                row["label"]
            );
            assert!(cell["paper"].as_f64().is_some(), "{cell}");
        }
    }
    let table = std::fs::read_to_string(table_dir.join("table.md")).unwrap();
    assert!(table.contains("- regenerate: `") && table.contains("- trained at git commit(s):"));
    assert_eq!(table.lines().filter(|l| l.starts_with("| ")).count(), 1 + 8);
    let figures = [
        "figure4.svg",
        "figure4.png",
        "training_curves.svg",
        "training_curves.png",
    ];
    if Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").is_file() {
        for figure in figures {
            assert!(table_dir.join(figure).is_file(), "{figure} missing");
        }
        let svg = std::fs::read_to_string(table_dir.join("figure4.svg")).unwrap();
        assert!(svg.contains("Localized Context Pooling") && svg.contains("31+"));
    } else {
        eprintln!("figures not checked: no DejaVu font on this machine");
    }

    let before: Vec<_> = markers.iter().map(|p| marker_time(p)).collect();
    let second = experiment(&runs, &results, true);
    assert_eq!(second.matches("training into").count(), 0, "{second}");
    assert_eq!(second.matches("already trained").count(), 7, "{second}");
    let after: Vec<_> = markers.iter().map(|p| marker_time(p)).collect();
    assert_eq!(before, after, "no model was retrained");
    let again = std::fs::read_to_string(table_dir.join("rows.json")).unwrap();
    assert!(again.contains("\"label\": \"ATLOP\""));

    // A fresh clone has the records and no run folders: the same tables, from the records alone.
    let table_before = std::fs::read_to_string(table_dir.join("table.md")).unwrap();
    std::fs::remove_dir_all(&runs).unwrap();
    let status = experiment(&runs, &results, false);
    assert!(!status.contains("training into"), "{status}");
    assert_eq!(
        std::fs::read_to_string(table_dir.join("rows.json")).unwrap(),
        again,
        "rows.json rebuilt from the records alone"
    );
    assert_eq!(
        std::fs::read_to_string(table_dir.join("table.md")).unwrap(),
        table_before
    );

    // A record made from another config is stale: reported, and its cells are empty.
    let atlop = records.join("atlop-seed66.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&atlop).unwrap()).unwrap();
    record["config_hash"] = "0000".into();
    std::fs::write(&atlop, serde_json::to_string(&record).unwrap()).unwrap();
    let status = experiment(&runs, &results, false);
    assert!(
        status.contains("docred/atlop-seed66: stale record"),
        "{status}"
    );
    let table = std::fs::read_to_string(table_dir.join("table.md")).unwrap();
    let atlop_row = table.lines().find(|l| l.starts_with("| ATLOP |")).unwrap();
    assert!(
        atlop_row.starts_with("| ATLOP | adaptive (top 4) | n/a"),
        "{atlop_row}"
    );
    assert!(table.contains("stale record"), "{table}");
}
