//! The pictures of an experiment, as SVG and PNG beside its table (plotters):
//!
//! - `figure4.{svg,png}`: the paper's Figure 4, dev F1 by the number of entities in a document,
//!   one line per row the table names in `entity_figure` (ATLOP with and without localized
//!   context pooling in the ablation table): LOP should help more as documents hold more
//!   entities;
//! - `training_curves.{svg,png}`: per finished model of the table, the mean training loss and
//!   the whole-dev-set F1 of every epoch, from the models' records (which read them from the
//!   run folders' `metrics.jsonl` when the model finished).
//!
//! [`chart`] draws them. Text needs a TrueType font (see there); without one the figures are
//! skipped with a message and the tables are still written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod chart;

pub use chart::{draw, Chart, Series};

use super::definition::Table;
use super::report::TableResult;
use super::runner::{JobState, ModelJob};
use crate::error::{AtlopError, Result};

/// Figure 4 from the table's rows: dev F1 (mean over seeds) per entity-count bucket of the
/// rows named by `table.entity_figure`. `None` when the table names none or has no buckets.
pub fn entity_count_chart(table: &Table, result: &TableResult) -> Option<Chart> {
    let mut series = Vec::new();
    let mut x_names = Vec::new();
    for label in &table.entity_figure {
        let row = result.rows.iter().find(|r| &r.label == label)?;
        if row.dev_by_entities.is_empty() {
            continue;
        }
        x_names = row
            .dev_by_entities
            .iter()
            .map(|b| b.label.clone())
            .collect();
        let points = row
            .dev_by_entities
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.mean.map(|m| (i as f64, m)))
            .collect();
        series.push(Series {
            label: label.clone(),
            points,
        });
    }
    (!series.is_empty()).then(|| Chart {
        title: "Dev F1 by number of entities (Figure 4)".into(),
        x_label: "entities in the document".into(),
        y_label: "dev F1 (%)".into(),
        x_names,
        series,
    })
}

/// Per epoch of a run: `(epoch, value)` points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpochCurves {
    /// Mean training loss of the epoch's iterations.
    pub loss: Vec<(f64, f64)>,
    /// Whole-dev-set F1 (percent) after the epoch.
    pub dev_f1: Vec<(f64, f64)>,
}

/// The curves of a run folder, from its `metrics.jsonl`.
pub fn epoch_curves(run_dir: &Path) -> Result<EpochCurves> {
    let path = run_dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| AtlopError::io(&path, e))?;
    let mut losses: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
    let mut dev = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| AtlopError::Line {
                path: path.clone(),
                line: i + 1,
                field: String::new(),
                message: e.to_string(),
            })?;
        let Some(epoch) = record["epoch"].as_u64() else {
            continue;
        };
        let metrics = &record["metrics"];
        match record["split"].as_str() {
            Some("train") => {
                if let Some(loss) = metrics["Loss"].as_f64() {
                    let entry = losses.entry(epoch).or_insert((0.0, 0));
                    entry.0 += loss;
                    entry.1 += 1;
                }
            }
            Some("valid") => {
                if let Some(f1) = metrics["Dev F1"].as_f64() {
                    dev.insert(epoch, f1);
                }
            }
            _ => {}
        }
    }
    let loss = losses
        .into_iter()
        .map(|(e, (sum, n))| (e as f64, sum / n as f64))
        .collect();
    let dev_f1 = dev.into_iter().map(|(e, f)| (e as f64, f)).collect();
    Ok(EpochCurves { loss, dev_f1 })
}

/// Training curves of the finished models among `jobs` that the table's rows use, from their
/// records: the mean loss per epoch (AT-loss and BCE models on separate charts: their scales
/// differ) and the dev F1 each model was selected by.
pub fn training_charts(table: &Table, jobs: &[ModelJob], states: &[JobState]) -> Vec<Chart> {
    let mut at_loss = Vec::new();
    let mut bce_loss = Vec::new();
    let mut dev = Vec::new();
    for (job, state) in jobs.iter().zip(states) {
        let JobState::Recorded(record) = state else {
            continue;
        };
        if !job.is_in(table) {
            continue;
        }
        let label = job.label();
        let loss: Vec<(f64, f64)> = record
            .epochs
            .iter()
            .filter_map(|e| Some((e.epoch as f64, e.train_loss?)))
            .collect();
        let is_bce = job
            .config
            .as_ref()
            .is_ok_and(|c| c.model.loss == crate::config::LossChoice::Bce);
        let series = Series {
            label: label.clone(),
            points: loss,
        };
        if is_bce {
            bce_loss.push(series);
        } else {
            at_loss.push(series);
        }
        dev.push(Series {
            label,
            points: record
                .epochs
                .iter()
                .filter_map(|e| Some((e.epoch as f64, e.dev_f1_pct?)))
                .collect(),
        });
    }
    let mut charts = Vec::new();
    for (title, series) in [
        (
            "Training loss, adaptive-thresholding loss (mean per epoch)",
            at_loss,
        ),
        ("Training loss, BCE (mean per epoch)", bce_loss),
    ] {
        if !series.is_empty() {
            charts.push(Chart {
                title: title.into(),
                x_label: "epoch".into(),
                y_label: "loss".into(),
                x_names: vec![],
                series,
            });
        }
    }
    if !dev.is_empty() {
        charts.push(Chart {
            title: "Dev F1 per epoch (whole dev set, each model's decision rule)".into(),
            x_label: "epoch".into(),
            y_label: "dev F1 (%)".into(),
            x_names: vec![],
            series: dev,
        });
    }
    charts
}

/// Writes the table's figures into `dir`; returns the files written. A missing font is not an
/// error: the figures are skipped and the reason printed.
pub fn write_figures(
    dir: &Path,
    table: &Table,
    result: &TableResult,
    jobs: &[ModelJob],
    states: &[JobState],
) -> Result<Vec<PathBuf>> {
    if let Err(why) = chart::ensure_font() {
        eprintln!("[experiment] figures skipped: {why}");
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    match entity_count_chart(table, result) {
        Some(chart) => written.extend(draw(&dir.join("figure4"), &[chart])?),
        None => remove_figure(&dir.join("figure4"))?,
    }
    let charts = training_charts(table, jobs, states);
    if charts.is_empty() {
        remove_figure(&dir.join("training_curves"))?;
    } else {
        written.extend(draw(&dir.join("training_curves"), &charts)?);
    }
    Ok(written)
}

/// Removes `<base>.svg` and `<base>.png` left by an earlier run: a figure with nothing to draw
/// now must not show what it drew then.
fn remove_figure(base: &Path) -> Result<()> {
    for ext in ["svg", "png"] {
        let path = base.with_extension(ext);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AtlopError::io(&path, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_curves_average_the_train_loss_and_keep_dev_f1() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"{"epoch":1,"iteration":1,"metrics":{"Loss":2.0},"split":"train"}"#,
            r#"{"epoch":1,"iteration":2,"metrics":{"Loss":1.0},"split":"train"}"#,
            r#"{"epoch":1,"iteration":1,"metrics":{"Dev F1":40.0},"split":"valid"}"#,
            r#"{"epoch":2,"iteration":1,"metrics":{"Loss":0.5},"split":"train"}"#,
            r#"{"epoch":2,"iteration":1,"metrics":{"Dev F1":45.5},"split":"valid"}"#,
        ];
        std::fs::write(dir.path().join("metrics.jsonl"), lines.join("\n")).unwrap();
        let curves = epoch_curves(dir.path()).unwrap();
        assert_eq!(curves.loss, vec![(1.0, 1.5), (2.0, 0.5)]);
        assert_eq!(curves.dev_f1, vec![(1.0, 40.0), (2.0, 45.5)]);
    }
}
