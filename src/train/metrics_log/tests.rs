use super::*;
use crate::train::test_events::drive;

#[test]
fn jsonl_renderer_appends_a_record_per_iteration_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let inner = Box::new(crate::train::renderer::PlainRenderer::new(Vec::new(), 1));
    let started = std::time::SystemTime::now();
    let mut r = JsonlRenderer::new(inner, &path, 1, started).unwrap();
    drive(&mut r);
    drop(r);
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 7);
    // The process's start stamp first, then two iterations and a validation per epoch.
    assert_eq!(records[0]["split"], "start");
    assert_eq!(records[0]["epoch"], 1);
    assert_eq!(records[3]["split"], "valid");
    assert_eq!(records[3]["metrics"]["Dev F1"], 42.5);
    assert_eq!(records[6]["epoch"], 2);
    // Both epochs are timed from those stamps.
    let times = crate::train::epoch_times::epoch_seconds(&text);
    assert_eq!(times.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
    assert!(times.values().all(|s| s.is_finite() && *s >= 0.0));
}

#[test]
fn a_resume_drops_the_log_lines_of_the_epoch_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let lines = [
        r#"{"epoch":1,"iteration":1,"split":"train"}"#,
        r#"{"epoch":1,"iteration":1,"split":"valid"}"#,
        r#"{"epoch":2,"iteration":1,"split":"train"}"#,
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    super::truncate_metrics(&path, 1).unwrap();
    let kept = std::fs::read_to_string(&path).unwrap();
    assert_eq!(kept, lines[..2].join("\n") + "\n");
    super::truncate_metrics(&dir.path().join("absent.jsonl"), 1).unwrap();
}
