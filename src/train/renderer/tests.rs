use super::*;
use crate::train::test_events::drive;

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
