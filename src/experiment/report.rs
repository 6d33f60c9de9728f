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

/// How a table was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub command: String,
    pub git_commit: Option<String>,
    pub profile: String,
    /// Data files (with their sha256) of the models, from their `run.json`, and the document
    /// slices each split uses.
    pub data_files: Vec<String>,
    pub encoders: Vec<String>,
    pub seeds: Vec<u64>,
    pub backend: String,
    /// Wall time of this invocation (training included), seconds.
    pub wall_seconds: f64,
    /// Training time of the models behind the table, summed over their (last) runs, seconds.
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
    let _ = writeln!(out, "- command: `{}`", p.command);
    let _ = writeln!(
        out,
        "- git commit: {}",
        p.git_commit.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(out, "- profile: {}", p.profile);
    let _ = writeln!(out, "- encoder(s): {}", p.encoders.join(", "));
    let seeds: Vec<String> = p.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(out, "- seeds: {}", seeds.join(", "));
    let _ = writeln!(out, "- backend: {}", p.backend);
    let _ = writeln!(
        out,
        "- wall time: {:.0} s this invocation; the models' training took {:.0} s",
        p.wall_seconds, p.training_seconds
    );
    let _ = writeln!(out, "- data files:");
    for file in &p.data_files {
        let _ = writeln!(out, "  - {file}");
    }
    let _ = writeln!(
        out,
        "\nOurs = mean ± sample std over seeds (percent); paper = Zhou et al. (2021); \
         diff = ours - paper.\n"
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
        let _ = write!(out, "| {} | {:?} |", row.label, row.decision);
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

/// Our cell: `mean ± std`, or a footnote mark naming why it is empty.
fn ours(cell: &Cell, notes: &mut Vec<String>) -> String {
    match (cell.mean, cell.std, &cell.note) {
        (Some(m), Some(s), _) if cell.values.len() > 1 => format!("{m:.2} ± {s:.2}"),
        (Some(m), _, _) => format!("{m:.2}"),
        (None, _, Some(note)) => {
            let index = match notes.iter().position(|n| n == note) {
                Some(i) => i,
                None => {
                    notes.push(note.clone());
                    notes.len() - 1
                }
            };
            format!("n/a [{}]", index + 1)
        }
        (None, _, None) => "-".into(),
    }
}
