//! `atlop experiment ablation --profile smoke` end to end: the 7 models of Table 5 train once
//! (1 epoch on 4 documents, max_len 64), every row of the table is written with a value for
//! every column, and a second invocation reuses every finished model instead of retraining.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn experiment(runs: &Path, results: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_atlop"))
        .current_dir(root())
        .args(["experiment", "ablation", "--profile", "smoke", "--runs-dir"])
        .arg(runs)
        .arg("--results-dir")
        .arg(results)
        .output()
        .expect("atlop runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "atlop experiment failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn ablation_table_is_filled_once_and_reused() {
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

    let first = experiment(&runs, &results);
    assert_eq!(first.matches("training into").count(), 7, "{first}");
    let models = runs.join("smoke/docred");
    let markers: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("finished.json").is_file() && p.join("scores/dev.f32").is_file())
        .collect();
    assert_eq!(markers.len(), 7, "one finished model per variant");

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
    assert!(table.contains("- command: `") && table.contains("- git commit:"));
    assert_eq!(table.lines().filter(|l| l.starts_with("| ")).count(), 1 + 8);

    let marker_time = |p: &Path| {
        std::fs::metadata(p.join("finished.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before: Vec<_> = markers.iter().map(|p| marker_time(p)).collect();
    let second = experiment(&runs, &results);
    assert_eq!(second.matches("training into").count(), 0, "{second}");
    assert_eq!(second.matches("already trained").count(), 7, "{second}");
    let after: Vec<_> = markers.iter().map(|p| marker_time(p)).collect();
    assert_eq!(before, after, "no model was retrained");
    let again = std::fs::read_to_string(table_dir.join("rows.json")).unwrap();
    assert!(again.contains("\"label\": \"ATLOP\""));
}
