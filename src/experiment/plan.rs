//! The plan of an experiment: which models must be trained (each once, shared by every row that
//! names it) and which rows each one serves.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::definition::{Definitions, Table};

/// A model to train and the rows it serves, as `table: row` labels.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedModel {
    pub variant: String,
    /// `Some` when a row needs an encoder other than the profile's.
    pub encoder: Option<String>,
    pub rows: Vec<String>,
}

/// The models behind the given tables, each listed once.
pub fn models_for(tables: &[&Table]) -> Vec<PlannedModel> {
    let mut models: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
    for table in tables {
        for row in &table.rows {
            models
                .entry((row.variant.clone(), row.encoder.clone()))
                .or_default()
                .push(format!("{}: {}", table.name, row.label));
        }
    }
    models
        .into_iter()
        .map(|((variant, encoder), rows)| PlannedModel {
            variant,
            encoder,
            rows,
        })
        .collect()
}

/// The plan as Markdown: each table's rows with the paper's numbers, then the models to train.
pub fn render(defs: &Definitions, tables: &[&Table], profile: &str, seeds: usize) -> String {
    let mut out = String::new();
    for table in tables {
        let _ = writeln!(out, "## {}\n", table.title);
        let _ = writeln!(
            out,
            "| row | model | decision | paper ({}) |",
            table.columns.join(" / ")
        );
        let _ = writeln!(out, "|---|---|---|---|");
        for row in &table.rows {
            let paper: Vec<String> = table
                .columns
                .iter()
                .map(|c| row.paper.get(c).map_or("-".into(), |v| format!("{v:.2}")))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {}{} | {} | {} |",
                row.label,
                row.variant,
                row.encoder
                    .as_ref()
                    .map_or(String::new(), |e| format!(" ({e})")),
                row.decision_label(),
                paper.join(" / ")
            );
        }
        out.push('\n');
    }
    let models = models_for(tables);
    let _ = writeln!(
        out,
        "## Models to train (profile `{profile}`, {seeds} seed(s) each: {} training runs)\n",
        models.len() * seeds
    );
    for model in &models {
        let about = defs
            .variants
            .get(&model.variant)
            .map_or("", |v| v.about.as_str());
        let _ = writeln!(
            out,
            "- `{}`{}: {about}\n  serves {}",
            model.variant,
            model
                .encoder
                .as_ref()
                .map_or(String::new(), |e| format!(" with {e}")),
            model.rows.join("; ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn ablation_and_thresholding_share_their_models() {
        let defs = Definitions::load(Path::new("experiments")).expect("experiments/ loads");
        let tables = [
            defs.table("ablation").expect("Table 5"),
            defs.table("thresholding").expect("Table 6"),
        ];
        let models = models_for(&tables);
        // Table 5 has 8 rows over 7 models ('- AT' and '- AT loss' share the BCE model); Table 6
        // adds none.
        assert_eq!(models.len(), 7);
        let bce = models
            .iter()
            .find(|m| m.variant == "atlop_bce")
            .expect("BCE model");
        assert_eq!(bce.rows.len(), 4, "{:?}", bce.rows);
    }

    #[test]
    fn a_table_owns_the_models_of_its_rows_on_its_columns_datasets() {
        let defs = Definitions::load(Path::new("experiments")).expect("experiments/ loads");
        let [main, bio] = ["main", "bio"].map(|t| defs.table(t).expect("shipped table"));
        let dir = Path::new("unused");
        let jobs = crate::experiment::runner::plan_jobs(
            &defs,
            &[main, bio],
            crate::experiment::profile::Profile::Local,
            1,
            dir,
            dir,
        );
        let owned = |table: &Table| -> Vec<String> {
            let mut labels: Vec<String> = jobs
                .iter()
                .filter(|j| j.is_in(table))
                .map(|j| format!("{}/{}", j.base, j.variant))
                .collect();
            labels.sort();
            labels
        };
        // Table 4's ATLOP row is CDR's and GDA's ATLOP, never DocRED's (same variant name).
        assert!(
            owned(bio).iter().all(|l| !l.starts_with("docred/")),
            "{:?}",
            owned(bio)
        );
        assert!(owned(bio).contains(&"cdr/atlop".to_string()));
        assert!(
            owned(main).iter().all(|l| l.starts_with("docred/")),
            "{:?}",
            owned(main)
        );
        assert!(owned(main).contains(&"docred/baseline".to_string()));
    }
}
