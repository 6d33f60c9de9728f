//! Every row of a table from its models' records: the row's decision rule was tuned on dev and
//! applied unchanged to test (paper Table 6: "tuned on dev, applied to test") when each model's
//! record was written; a cell is the mean ± sample standard deviation over the seeds recorded so
//! far, in percent, and says how many of the planned seeds that is. A cell without a value says
//! where its models stand (`training (12/30 epochs)`, `not run`, ...).

use serde::{Deserialize, Serialize};

use super::definition::Table;
use super::profile::column_ref;
use super::record::{BucketScore, ModelRecord};
use super::runner::{JobState, ModelJob};
use crate::decision::Strategy;
use crate::error::Result;

/// One cell: our values per seed and the paper's number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub column: String,
    /// Percent, one per seed; empty when the cell could not be computed.
    pub values: Vec<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub paper: Option<f64>,
    /// `mean - paper`.
    pub diff: Option<f64>,
    /// Why there is no value ("not available here: ...", "training (3/30 epochs)"), or for a
    /// partial mean where the missing seeds stand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Seeds planned for the cell; `values` may hold fewer while the campaign runs.
    #[serde(default)]
    pub planned: usize,
}

/// Dev F1 of the documents with a given number of entities (Figure 4), percent per seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketCell {
    /// `1-5`, ..., `26+`.
    pub label: String,
    pub documents: usize,
    pub values: Vec<f64>,
    pub mean: Option<f64>,
}

/// One row of a filled table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    pub label: String,
    pub variant: String,
    pub decision: Strategy,
    /// [`crate::experiment::definition::Row::decision_label`].
    #[serde(default)]
    pub decision_label: String,
    pub seeds: Vec<u64>,
    pub cells: Vec<Cell>,
    /// DocRED rows: dev F1 by entity-count bucket (the row's decision, tuned on dev).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_by_entities: Vec<BucketCell>,
}

/// Fills every row of `table` from the records of `jobs` (`states[i]` is where `jobs[i]` stands).
pub fn fill_table(table: &Table, jobs: &[ModelJob], states: &[JobState]) -> Result<Vec<RowResult>> {
    let mut out = Vec::new();
    for row in &table.rows {
        let mut cells = Vec::new();
        let mut seeds = Vec::new();
        let mut buckets: Vec<BucketCell> = Vec::new();
        let mut bucket_models: Vec<u64> = Vec::new();
        for column in &table.columns {
            let cref = column_ref(table.dataset, column);
            let row_jobs: Vec<(&ModelJob, &JobState)> = jobs
                .iter()
                .zip(states)
                .filter(|(j, _)| j.base == cref.base && j.variant == row.variant)
                .filter(|(j, _)| j.encoder == row.encoder)
                .collect();
            let mut cell = Cell {
                column: column.clone(),
                values: Vec::new(),
                mean: None,
                std: None,
                paper: row.paper.get(column).copied(),
                diff: None,
                note: None,
                planned: row_jobs.len(),
            };
            let mut waiting = Vec::new();
            for (job, state) in &row_jobs {
                let JobState::Recorded(record) = state else {
                    waiting.push(format!("seed {}: {}", job.seed, state.describe()));
                    continue;
                };
                match record_value(record, &row.decision, &cref.metric) {
                    Ok(v) => cell.values.push(v),
                    Err(why) => waiting.push(why),
                }
                if !seeds.contains(&job.seed) {
                    seeds.push(job.seed);
                }
                if !bucket_models.contains(&job.seed) {
                    bucket_models.push(job.seed);
                    if let Some(d) = record.decision(&row.decision) {
                        add_buckets(&mut buckets, &d.dev_by_entities);
                    }
                }
            }
            if !waiting.is_empty() {
                // One line per state, not per seed, when every seed waits for the same reason.
                let states: Vec<String> = waiting
                    .iter()
                    .map(|w| {
                        w.split_once(": ")
                            .map_or(w.as_str(), |(_, s)| s)
                            .to_string()
                    })
                    .collect();
                let all_same = states.windows(2).all(|w| w[0] == w[1]);
                cell.note = Some(if all_same && cell.values.is_empty() {
                    states[0].clone()
                } else {
                    waiting.join("; ")
                });
            }
            summarise(&mut cell);
            cells.push(cell);
        }
        for bucket in &mut buckets {
            let n = bucket.values.len();
            bucket.mean = (n > 0).then(|| bucket.values.iter().sum::<f64>() / n as f64);
        }
        out.push(RowResult {
            label: row.label.clone(),
            variant: row.variant.clone(),
            decision: row.decision,
            decision_label: row.decision_label(),
            seeds,
            cells,
            dev_by_entities: buckets,
        });
    }
    Ok(out)
}

/// A column of one record under a decision, or why it has none.
fn record_value(
    record: &ModelRecord,
    decision: &Strategy,
    metric: &str,
) -> std::result::Result<f64, String> {
    if record.decision(decision).is_none() {
        return Err(format!(
            "seed {}: the record has no `{}` decision (rebuild it with --force)",
            record.seed,
            decision.label()
        ));
    }
    record.metric(decision, metric).ok_or_else(|| {
        if metric.starts_with("test") {
            "no labelled test set (scored on CodaLab)".to_string()
        } else {
            format!("seed {}: the record has no {metric}", record.seed)
        }
    })
}

/// Adds one model's bucket F1s (percent) to the row's buckets.
fn add_buckets(buckets: &mut Vec<BucketCell>, seed: &[BucketScore]) {
    for (i, b) in seed.iter().enumerate() {
        if buckets.len() <= i {
            let label = match b.max_entities {
                Some(max) => format!("{}-{max}", b.min_entities),
                None => format!("{}+", b.min_entities),
            };
            buckets.push(BucketCell {
                label,
                documents: b.documents,
                values: Vec::new(),
                mean: None,
            });
        }
        // A bucket without documents has no F1 (not 0): it stays out of the mean and the figure.
        if b.documents > 0 {
            buckets[i].values.push(b.f1_pct);
        }
    }
}

fn summarise(cell: &mut Cell) {
    let n = cell.values.len();
    if n == 0 {
        return;
    }
    let mean = cell.values.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        cell.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    cell.mean = Some(mean);
    cell.std = Some(var.sqrt());
    cell.diff = cell.paper.map(|p| mean - p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_summary_is_mean_and_sample_std() {
        let mut cell = Cell {
            column: "dev_f1".into(),
            values: vec![50.0, 52.0, 54.0],
            mean: None,
            std: None,
            paper: Some(51.0),
            diff: None,
            note: None,
            planned: 3,
        };
        summarise(&mut cell);
        assert_eq!(cell.mean, Some(52.0));
        assert_eq!(cell.std, Some(2.0));
        assert_eq!(cell.diff, Some(1.0));
    }
}
