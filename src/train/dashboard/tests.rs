use std::path::PathBuf;

use burn::train::metric::NumericEntry;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::state::MAX_LOSS_POINTS;
use super::*;
use crate::train::metrics::{DEV_F1, LOSS};
use crate::train::test_events::{aggregated, definition, progress, state};

const EPOCHS: usize = 30;
const DOCS: usize = 250;

fn info(prior_best: Option<(usize, f64)>) -> DashboardInfo {
    DashboardInfo {
        run_dir: PathBuf::from("runs/local/docred/atlop-seed66"),
        rule: "adaptive (top 4)".into(),
        prior_best,
    }
}

/// `epochs` epochs of 10 steps of 25 documents, each followed by a dev pass scoring `f1(epoch)`,
/// starting at epoch `first`.
fn drive(dashboard: &mut DashboardState, first: usize, epochs: usize, f1: impl Fn(usize) -> f64) {
    for (id, name) in [
        ("loss", LOSS),
        ("f1", DEV_F1),
        ("lr", "LR encoder"),
        ("docs", "Docs per s"),
    ] {
        dashboard.register(&definition(id, name));
    }
    let mut iteration = 0;
    for epoch in first..first + epochs {
        for step in 1..=10 {
            iteration += 1;
            let loss = 1.0 / (iteration as f64).sqrt();
            dashboard.update_train(&state("loss", NumericEntry::Value(loss)));
            dashboard.update_train(&state("lr", NumericEntry::Value(4.9e-5)));
            dashboard.update_train(&state("docs", NumericEntry::Value(2.1)));
            dashboard.on_train(&progress(epoch, EPOCHS, step * 25, DOCS, iteration));
        }
        for batch in 1..=5 {
            if batch == 5 {
                dashboard.update_valid(&state("f1", aggregated(f1(epoch))));
            }
            dashboard.on_valid(&progress(epoch, EPOCHS, batch * 50, DOCS, batch));
        }
    }
}

/// The screen as text lines.
fn screen(dashboard: &DashboardState, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| dashboard.draw(frame)).unwrap();
    let buffer = terminal.backend().buffer();
    buffer
        .content
        .chunks(width as usize)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect()
}

fn shows(lines: &[String], text: &str) -> bool {
    lines.iter().any(|line| line.contains(text))
}

#[test]
fn at_80x24_the_dashboard_shows_the_run_its_best_dev_f1_and_labelled_progress() {
    let mut dashboard = DashboardState::new(info(None));
    drive(&mut dashboard, 1, 3, |epoch| {
        [50.25, 57.17, 56.5][epoch - 1]
    });
    let lines = screen(&dashboard, 80, 24);
    let text = lines.join("\n");
    for expected in [
        "run runs/local/docred/atlop-seed66",
        "epoch 3/30 · best dev F1 57.17 at epoch 2 (adaptive (top 4)) · epoch 3 56.50",
        "train  epoch 3  250/250 docs",
        "run    3.0/30 epochs",
        "dev    250/250 docs",
        "Dev F1 (%) by epoch",
        "Train loss by step",
        "Loss 0.1826",
        "LR encoder 4.90e-5",
        "dev   Dev F1 56.5000",
        "q, Esc or Ctrl-C: stop",
    ] {
        assert!(shows(&lines, expected), "{expected:?} not on\n{text}");
    }
    // The dev F1 curve is drawn (Braille dots inside the chart's box), not only its title.
    let chart_rows = &lines[5..22];
    assert!(
        chart_rows.iter().any(|row| row
            .chars()
            .take(40)
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))),
        "no curve in the dev chart:\n{text}"
    );
}

#[test]
fn a_resumed_run_keeps_the_best_from_before_and_a_fresh_one_says_no_dev_pass_yet() {
    let fresh = DashboardState::new(info(None));
    let lines = screen(&fresh, 80, 24);
    assert!(shows(&lines, "no dev pass yet"), "{}", lines.join("\n"));
    assert!(shows(&lines, "ETA -"), "{}", lines.join("\n"));

    let mut resumed = DashboardState::new(info(Some((4, 60.0))));
    drive(&mut resumed, 5, 2, |_| 58.0);
    let lines = screen(&resumed, 80, 24);
    assert!(
        shows(&lines, "best dev F1 60.00 at epoch 4"),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn the_dashboard_draws_on_small_and_large_terminals_without_panicking() {
    let mut dashboard = DashboardState::new(info(None));
    drive(&mut dashboard, 1, 2, |epoch| 40.0 + epoch as f64);
    for (w, h) in [(20, 5), (80, 24), (200, 60)] {
        let lines = screen(&dashboard, w, h);
        assert_eq!(lines.len(), h as usize);
    }
}

#[test]
fn the_loss_curve_stays_bounded_over_a_long_run() {
    let mut dashboard = DashboardState::new(info(None));
    dashboard.register(&definition("loss", LOSS));
    for i in 1..=3 * MAX_LOSS_POINTS {
        dashboard.update_train(&state("loss", NumericEntry::Value(1.0)));
        dashboard.on_train(&progress(1 + i / 1000, EPOCHS, i % 1000, 1000, i));
    }
    assert!(dashboard.loss.len() <= MAX_LOSS_POINTS);
    assert!(dashboard.loss.len() >= MAX_LOSS_POINTS / 2);
}
