//! The experiment definitions in `experiments/`: one TOML file per table of the paper (Tables
//! 3-6), each row a named model variant plus a decision rule, and `variants.toml`, the trained
//! models as `--set` overrides of a profile's base config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::decision::Strategy;
use crate::error::{AtlopError, Result};

/// The tables `atlop experiment <name>` knows, in the paper's order.
pub const TABLES: [&str; 4] = ["main", "bio", "ablation", "thresholding"];

/// A trained model: overrides of the base config, shared by every row that names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// What the variant is, in the paper's words.
    pub about: String,
    /// `key=value` overrides (the syntax of `atlop train --set`).
    pub set: Vec<String>,
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub label: String,
    /// Key into `variants.toml`.
    pub variant: String,
    /// An encoder other than the profile's (e.g. `roberta-large` for Table 3's last row).
    #[serde(default)]
    pub encoder: Option<String>,
    pub decision: Strategy,
    /// How the table names the decision when the rule's own name would mislead: the adaptive
    /// rule on a BCE-trained model is the paper's "TH logit" decision. Default: the rule's
    /// name ([`Strategy::label`]).
    #[serde(default)]
    pub decision_label: Option<String>,
    /// The paper's numbers for this row, by column; absent where the paper has none.
    #[serde(default)]
    pub paper: BTreeMap<String, f64>,
}

impl Row {
    /// The decision as the table prints it.
    pub fn decision_label(&self) -> String {
        self.decision_label
            .clone()
            .unwrap_or_else(|| self.decision.label())
    }
}

/// Which data a table runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableDataset {
    Docred,
    Bio,
}

/// One table of the paper.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: String,
    pub title: String,
    pub dataset: TableDataset,
    pub columns: Vec<String>,
    #[serde(rename = "row")]
    pub rows: Vec<Row>,
    /// Labels of the rows drawn in Figure 4 (dev F1 by number of entities); DocRED tables.
    #[serde(default)]
    pub entity_figure: Vec<String>,
}

/// Every table and variant, read from one folder and checked against each other.
#[derive(Debug, Clone)]
pub struct Definitions {
    pub dir: PathBuf,
    pub variants: BTreeMap<String, Variant>,
    pub tables: Vec<Table>,
}

impl Definitions {
    /// Reads `variants.toml` and the four tables from `dir`; every row must name a known variant
    /// and give paper numbers only for the table's columns.
    pub fn load(dir: &Path) -> Result<Self> {
        let variants: BTreeMap<String, Variant> = read_toml(&dir.join("variants.toml"))?;
        let mut tables = Vec::new();
        for name in TABLES {
            let path = dir.join(format!("{name}.toml"));
            let table: Table = read_toml(&path)?;
            check_table(&path, &table, &variants)?;
            tables.push(table);
        }
        Ok(Definitions {
            dir: dir.to_path_buf(),
            variants,
            tables,
        })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    toml::from_str(&text).map_err(|e| AtlopError::Config {
        source_name: path.display().to_string(),
        key: String::new(),
        message: e.to_string(),
    })
}

fn check_table(path: &Path, table: &Table, variants: &BTreeMap<String, Variant>) -> Result<()> {
    let err = |key: String, message: String| AtlopError::Config {
        source_name: path.display().to_string(),
        key,
        message,
    };
    for (i, row) in table.rows.iter().enumerate() {
        if !variants.contains_key(&row.variant) {
            return Err(err(
                format!("row[{i}].variant"),
                format!("`{}` is not defined in variants.toml", row.variant),
            ));
        }
        if let Some(column) = row.paper.keys().find(|c| !table.columns.contains(c)) {
            return Err(err(
                format!("row[{i}].paper.{column}"),
                format!("not a column of the table ({})", table.columns.join(", ")),
            ));
        }
    }
    for (i, label) in table.entity_figure.iter().enumerate() {
        if !table.rows.iter().any(|r| &r.label == label) {
            return Err(err(
                format!("entity_figure[{i}]"),
                format!("`{label}` is not the label of a row of this table"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_definitions_load_and_cover_every_table() {
        let defs = Definitions::load(Path::new("experiments")).expect("experiments/ loads");
        assert_eq!(defs.tables.len(), TABLES.len());
        let ablation = defs.table("ablation").expect("Table 5");
        assert_eq!(
            ablation.rows.len(),
            8,
            "ATLOP, three ATLOP ablations, BERT-E, three BERT-E ablations"
        );
        // Table 6 decides the models of Table 5 anew: it must not need a model of its own.
        let trained: Vec<&str> = ablation.rows.iter().map(|r| r.variant.as_str()).collect();
        for row in &defs.table("thresholding").expect("Table 6").rows {
            assert!(
                trained.contains(&row.variant.as_str()),
                "{} trains a new model",
                row.label
            );
        }
    }

    #[test]
    fn unknown_variant_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("variants.toml"),
            "[atlop]\nabout = \"x\"\nset = []\n",
        )
        .expect("write");
        for name in TABLES {
            let body = "name = \"t\"\ntitle = \"t\"\ndataset = \"docred\"\ncolumns = [\"dev_f1\"]\n\
                        [[row]]\nlabel = \"r\"\nvariant = \"nope\"\ndecision = { kind = \"global\" }\n";
            std::fs::write(dir.path().join(format!("{name}.toml")), body).expect("write");
        }
        let err = Definitions::load(dir.path())
            .expect_err("unknown variant")
            .to_string();
        assert!(
            err.contains("row[0].variant") && err.contains("nope"),
            "{err}"
        );
    }
}
