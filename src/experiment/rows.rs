//! Every row of a table from its trained models' saved logits: the row's decision rule is tuned
//! on dev and applied unchanged to test (paper Table 6: "tuned on dev, applied to test"), per
//! seed; a cell is the mean ± sample standard deviation over seeds, in percent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::definition::{Row, Table};
use super::profile::column_ref;
use super::runner::ModelJob;
use super::saved_scores;
use crate::config::{DocSlice, RunConfig};
use crate::data::DatasetKind;
use crate::decision::{Decisions, ScoreMatrix, Strategy};
use crate::error::{AtlopError, Result};
use crate::evaluation::docred::EntityBucket;
use crate::evaluation::whole_set::EvalSet;
use crate::evaluation::TrainFacts;
use crate::features::tokenizer::DocTokenizer;
use crate::pipeline::{load_documents, load_split};
use crate::run_folder::RunFolder;

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
    /// Why there is no value ("not available here: ...", unlabelled test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
    pub seeds: Vec<u64>,
    pub cells: Vec<Cell>,
    /// DocRED rows: dev F1 by entity-count bucket (the row's decision, tuned on dev).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_by_entities: Vec<BucketCell>,
}

/// Metrics of one model under one decision: `dev_f1`, `dev_ign_f1`, `test_f1`, `test_ign_f1`.
type Metrics = BTreeMap<String, f64>;

/// What one model gives a row: its metrics and (DocRED) its dev entity-count buckets.
struct ModelScores {
    metrics: Metrics,
    dev_buckets: Vec<EntityBucket>,
}

/// Fills every row of `table` from the finished models among `jobs`.
pub fn fill_table(table: &Table, jobs: &[ModelJob]) -> Result<Vec<RowResult>> {
    let mut sets: BTreeMap<String, (EvalSet, Option<EvalSet>)> = BTreeMap::new();
    let mut out = Vec::new();
    for row in &table.rows {
        let mut cells = Vec::new();
        let mut seeds = Vec::new();
        let mut buckets: Vec<BucketCell> = Vec::new();
        let mut scored: BTreeMap<PathBuf, ModelScores> = BTreeMap::new();
        for column in &table.columns {
            let cref = column_ref(table.dataset, column);
            let row_jobs: Vec<&ModelJob> = jobs
                .iter()
                .filter(|j| j.base == cref.base && j.variant == row.variant)
                .filter(|j| j.encoder == row.encoder)
                .collect();
            let mut cell = Cell {
                column: column.clone(),
                values: Vec::new(),
                mean: None,
                std: None,
                paper: row.paper.get(column).copied(),
                diff: None,
                note: None,
            };
            if let Some(Err(why)) = row_jobs.first().map(|j| &j.config) {
                cell.note = Some(format!("not available here: {why}"));
            }
            for job in row_jobs.iter().filter(|j| j.config.is_ok()) {
                // Tuned and scored once per model, whichever columns read it.
                if !scored.contains_key(&job.dir) {
                    let model = model_metrics(job, row, &mut sets)?;
                    add_buckets(&mut buckets, &model.dev_buckets);
                    scored.insert(job.dir.clone(), model);
                }
                let metrics = &scored[&job.dir].metrics;
                match metrics.get(&cref.metric) {
                    Some(v) => cell.values.push(v * 100.0),
                    None => cell.note = Some("no labelled test set (scored on CodaLab)".into()),
                }
                if !seeds.contains(&job.seed) {
                    seeds.push(job.seed);
                }
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
            seeds,
            cells,
            dev_by_entities: buckets,
        });
    }
    Ok(out)
}

/// Adds one model's bucket F1s (percent) to the row's buckets.
fn add_buckets(buckets: &mut Vec<BucketCell>, seed: &[EntityBucket]) {
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
        buckets[i].values.push(b.scores.f1 * 100.0);
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

/// Tunes the row's decision on the model's dev logits and scores dev and (labelled) test.
fn model_metrics(
    job: &ModelJob,
    row: &Row,
    sets: &mut BTreeMap<String, (EvalSet, Option<EvalSet>)>,
) -> Result<ModelScores> {
    let folder = RunFolder::open(&job.dir)?;
    let config = folder.read_config()?;
    let key = format!("{:?}", config.data);
    if !sets.contains_key(&key) {
        sets.insert(key.clone(), eval_sets(&folder, &config)?);
    }
    let Some((dev, test)) = sets.get(&key) else {
        return Ok(ModelScores {
            metrics: Metrics::new(),
            dev_buckets: Vec::new(),
        });
    };
    let dev_scores = required_scores(&job.dir, "dev")?;
    let gold = Decisions::from_features(&dev.features);
    let tuned = row
        .decision
        .tune(&dev_scores, &gold, &config.decision.search)?;
    let mut metrics = Metrics::new();
    let dev_report = dev.score(&dev_scores, &tuned)?;
    metrics.insert("dev_f1".into(), dev_report.f1);
    if let Some(ign) = dev_report.ign_f1 {
        metrics.insert("dev_ign_f1".into(), ign);
    }
    let dev_buckets = dev_report
        .docred
        .map(|r| r.by_entity_count)
        .unwrap_or_default();
    if let (Some(test), Some(scores)) = (test, saved_scores::load(&job.dir, "test")?) {
        let report = test.score(&scores, &tuned)?;
        metrics.insert("test_f1".into(), report.f1);
        if let Some(ign) = report.ign_f1 {
            metrics.insert("test_ign_f1".into(), ign);
        }
    }
    Ok(ModelScores {
        metrics,
        dev_buckets,
    })
}

fn required_scores(dir: &Path, split: &str) -> Result<ScoreMatrix> {
    saved_scores::load(dir, split)?.ok_or_else(|| AtlopError::Run {
        path: dir.to_path_buf(),
        message: format!("no saved {split} scores: retrain with --force"),
    })
}

/// The dev set and the labelled test set (if any) of a run, as its training featurised them.
fn eval_sets(folder: &RunFolder, config: &RunConfig) -> Result<(EvalSet, Option<EvalSet>)> {
    let tokenizer = DocTokenizer::from_dir(&folder.encoder_dir())?;
    let d = &config.data;
    let train_facts = {
        let (train, _) = load_documents(config, &d.train, d.train_docs)?;
        match train.kind {
            DatasetKind::Docred => TrainFacts::from_dataset(&train),
            DatasetKind::Bio => TrainFacts::default(),
        }
    };
    let set = |path: &Path, slice: Option<DocSlice>| -> Result<EvalSet> {
        let split = load_split(config, path, slice, &tokenizer)?;
        Ok(EvalSet {
            dataset: split.dataset,
            features: split.features,
            train_facts: train_facts.clone(),
        })
    };
    let dev = set(&d.dev, d.dev_docs)?;
    let test = match &d.test {
        Some(path) => Some(set(path, d.test_docs)?).filter(|s| s.dataset.is_labelled()),
        None => None,
    };
    Ok((dev, test))
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
        };
        summarise(&mut cell);
        assert_eq!(cell.mean, Some(52.0));
        assert_eq!(cell.std, Some(2.0));
        assert_eq!(cell.diff, Some(1.0));
    }
}
