//! `results/<table>/<profile>/`: `rows.json` (every cell per seed, mean ± std, the paper's
//! number) and `table.md` (our numbers beside the paper's), headed by how they were made, as
//! nanoGPT's README puts each table next to its command.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::definition::Table;
use super::rows::{Cell, RowResult};
use super::saved_scores::write_atomic;
use crate::error::{AtlopError, Result};

/// How a table was produced: from the records of its finished models, so that regenerating it
/// from the same records writes the same file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command that regenerates the table (and continues the campaign with `--train`).
    pub command: String,
    /// Commits that trained the finished models.
    pub git_commits: Vec<String>,
    pub profile: String,
    /// Data files (with their sha256) of the models, and the document slices each split uses.
    pub data_files: Vec<String>,
    pub encoders: Vec<String>,
    pub seeds: Vec<u64>,
    pub backends: Vec<String>,
    /// CPU (model and vector extensions) and threads of the machines that trained the models.
    pub machines: Vec<String>,
    pub models_finished: usize,
    pub models_planned: usize,
    /// Training time of the finished models (dev passes included), summed, seconds.
    pub training_seconds: f64,
}

/// `rows.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableResult {
    pub table: String,
    pub title: String,
    pub provenance: Provenance,
    pub rows: Vec<RowResult>,
}

/// Writes `rows.json` and `table.md` into `<results>/<table>/<profile>/`; returns that folder.
pub fn write_table(results: &Path, table: &Table, result: &TableResult) -> Result<PathBuf> {
    let dir = results.join(&table.name).join(&result.provenance.profile);
    std::fs::create_dir_all(&dir).map_err(|e| AtlopError::io(&dir, e))?;
    let json_path = dir.join("rows.json");
    let json = serde_json::to_string_pretty(result).map_err(|e| AtlopError::Json {
        path: json_path.clone(),
        source: e,
    })?;
    write_atomic(&json_path, json.as_bytes())?;
    write_atomic(&dir.join("table.md"), render(table, result).as_bytes())?;
    Ok(dir)
}

/// The table as Markdown: per column ours (mean ± std over seeds), the paper's, the difference.
pub fn render(table: &Table, result: &TableResult) -> String {
    let p = &result.provenance;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", table.title);
    let _ = writeln!(
        out,
        "- regenerate: `{}`",
        p.command.replace("<table>", &table.name)
    );
    let _ = writeln!(
        out,
        "- models: {} of {} planned finished (each one's record is in `results/models/{}/`)",
        p.models_finished, p.models_planned, p.profile
    );
    let _ = writeln!(out, "- profile: {}", p.profile);
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "- encoder(s): {}", list(&p.encoders));
    let seeds: Vec<String> = p.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(out, "- seeds: {}", list(&seeds));
    let _ = writeln!(out, "- backend: {}", list(&p.backends));
    let _ = writeln!(out, "- hardware: {}", list(&p.machines));
    let _ = writeln!(
        out,
        "- training time of the finished models: {:.1} h (dev passes included)",
        p.training_seconds / 3600.0
    );
    let _ = writeln!(out, "- trained at git commit(s): {}", list(&p.git_commits));
    let _ = writeln!(out, "- data files:");
    for file in &p.data_files {
        let _ = writeln!(out, "  - {file}");
    }
    let _ = writeln!(
        out,
        "\nOurs = mean ± sample std over the seeds finished so far (percent; `(k/n seeds)` when \
         fewer than planned); paper = Zhou et al. (2021); diff = ours - paper.\n"
    );
    let mut header = "| row | decision |".to_string();
    let mut rule = "|---|---|".to_string();
    for column in &table.columns {
        let _ = write!(header, " {column} ours | paper | diff |");
        rule.push_str("---|---|---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    let mut notes = Vec::new();
    for row in &result.rows {
        let _ = write!(out, "| {} | {} |", row.label, row.decision_label);
        for cell in &row.cells {
            let _ = write!(out, " {} |", ours(cell, &mut notes));
            let _ = write!(
                out,
                " {} | {} |",
                cell.paper.map_or("-".into(), |v| format!("{v:.2}")),
                cell.diff.map_or("-".into(), |v| format!("{v:+.2}"))
            );
        }
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push('\n');
        for (i, note) in notes.iter().enumerate() {
            let _ = writeln!(out, "[{}] {note}", i + 1);
        }
    }
    out
}

/// Our cell: `mean ± std` (with `(k/n seeds)` while seeds are missing), or where its models
/// stand (`training (3/30 epochs)`, `not run`), long reasons as footnotes.
fn ours(cell: &Cell, notes: &mut Vec<String>) -> String {
    let mut mark = |note: &str| {
        let index = match notes.iter().position(|n| n == note) {
            Some(i) => i,
            None => {
                notes.push(note.to_string());
                notes.len() - 1
            }
        };
        format!("[{}]", index + 1)
    };
    let n = cell.values.len();
    match (cell.mean, cell.std) {
        (Some(m), Some(s)) => {
            let value = if n > 1 {
                format!("{m:.2} ± {s:.2}")
            } else {
                format!("{m:.2}")
            };
            if n < cell.planned {
                let why = cell.note.as_deref().map(&mut mark).unwrap_or_default();
                format!("{value} ({n}/{} seeds){why}", cell.planned)
            } else {
                value
            }
        }
        _ => match &cell.note {
            Some(note) if note.len() <= 28 => note.clone(),
            Some(note) => format!("n/a {}", mark(note)),
            None => "-".into(),
        },
    }
}
