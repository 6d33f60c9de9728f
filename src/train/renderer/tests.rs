use burn::train::metric::NumericEntry;

use super::*;
use crate::train::test_events::{aggregated, definition, state};

fn progress(epoch: usize, done: usize, total: usize, iteration: usize) -> TrainingProgress {
    crate::train::test_events::progress(epoch, 2, done, total, iteration)
}

/// Two epochs of two iterations and a validation: plain lines with values, no debug dump.
fn drive<R: MetricsRenderer>(r: &mut R) {
    r.register_metric(definition("loss", "Loss"));
    r.register_metric(definition("f1", "Dev F1"));
    for epoch in 1..=2 {
        for it in 1..=2 {
            r.update_train(state("loss", NumericEntry::Value(1.0 / it as f64)));
            r.render_train(progress(epoch, it * 2, 4, it), vec![]);
        }
        let pending = NumericEntry::Aggregated {
            aggregated_value: 0.0,
            count: 0,
        };
        r.update_valid(state("f1", pending));
        r.render_valid(progress(epoch, 1, 2, 1), vec![]);
        r.update_valid(state("f1", aggregated(42.5)));
        r.render_valid(progress(epoch, 2, 2, 2), vec![]);
    }
}

#[test]
fn plain_renderer_prints_lines_with_values_every_n_and_per_epoch() {
    let mut r = PlainRenderer::new(Vec::new(), 2);
    drive(&mut r);
    let text = String::from_utf8(r.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Per epoch: the line of iteration 2 (every 2, also the last) and the epoch line.
    assert_eq!(lines.len(), 4, "{text}");
    // Each line starts with `[HH:MM:SS +elapsed] `.
    let body = |line: &str| -> String {
        let (stamp, rest) = line.split_once("] ").expect("a time stamp");
        let clock = stamp.trim_start_matches('[');
        assert!(
            clock.len() >= 12 && clock.as_bytes()[2] == b':' && clock.contains(" +"),
            "{line}"
        );
        rest.to_string()
    };
    assert_eq!(
        body(lines[0]),
        "train epoch 1/2 iter 2 docs 4/4 | Loss 0.5000 | ETA -"
    );
    assert_eq!(
        body(lines[1]),
        "epoch 1/2 done | train mean: Loss 0.7500 | valid: Dev F1 42.5000 | best Dev F1 42.50 \
         (epoch 1 of this session)"
    );
    assert!(!text.contains("TrainingProgress"), "{text}");
}

#[test]
fn jsonl_renderer_appends_a_record_per_iteration_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let inner = Box::new(PlainRenderer::new(Vec::new(), 1));
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
