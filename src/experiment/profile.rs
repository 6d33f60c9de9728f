//! Profiles: which base config each dataset of a table trains from. `paper` is the paper's
//! recipe (BERT-base / SciBERT, full data), `local` the same recipe with MiniLM on the data this
//! machine has (Re-DocRED protocol, CDR), `smoke` a minutes-long run that proves the pipeline.
//!
//! A table column names its dataset: the DocRED tables' columns (`dev_f1`, `test_ign_f1`, ...)
//! belong to `docred`; Table 4's `cdr_test_f1` / `gda_test_f1` to `cdr` / `gda`.

use std::path::{Path, PathBuf};

use super::definition::TableDataset;

/// How big and faithful an experiment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Paper,
    Local,
    Smoke,
}

/// A metric of one model: `dev_f1`, `dev_ign_f1`, `test_f1`, `test_ign_f1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// `docred`, `cdr` or `gda`: the base config it comes from.
    pub base: String,
    pub metric: String,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Paper => "paper",
            Profile::Local => "local",
            Profile::Smoke => "smoke",
        }
    }

    /// The base config of a dataset (`docred`, `cdr`, `gda`), relative to the repository root,
    /// or why the profile has none (GDA has no local recipe: its train file is not here).
    pub fn base_config(self, base: &str) -> Result<PathBuf, String> {
        let file = match (self, base) {
            (Profile::Paper, "docred") => "docred_bert.toml",
            (Profile::Paper, "cdr") => "cdr_scibert.toml",
            (Profile::Paper, "gda") => "gda_scibert.toml",
            (Profile::Local, "docred") => "docred_local.toml",
            (Profile::Local, "cdr") => "cdr_local.toml",
            (Profile::Smoke, "docred") => "smoke_experiment.toml",
            (Profile::Smoke, "cdr") => "cdr_smoke_experiment.toml",
            (_, "gda") => {
                return Err(format!(
                    "no GDA recipe in profile `{}`: only GDA's test file is here, no train file",
                    self.name()
                ))
            }
            _ => return Err(format!("no {base} recipe in profile `{}`", self.name())),
        };
        Ok(Path::new("configs").join(file))
    }
}

/// The dataset and metric a column of a table reports.
pub fn column_ref(dataset: TableDataset, column: &str) -> ColumnRef {
    match dataset {
        TableDataset::Docred => ColumnRef {
            base: "docred".into(),
            metric: column.into(),
        },
        TableDataset::Bio => {
            let (base, metric) = column.split_once('_').unwrap_or((column, ""));
            ColumnRef {
                base: base.into(),
                metric: metric.into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bio_columns_name_their_dataset() {
        let c = column_ref(TableDataset::Bio, "gda_test_f1");
        assert_eq!((c.base.as_str(), c.metric.as_str()), ("gda", "test_f1"));
        let c = column_ref(TableDataset::Docred, "dev_ign_f1");
        assert_eq!(
            (c.base.as_str(), c.metric.as_str()),
            ("docred", "dev_ign_f1")
        );
    }

    #[test]
    fn every_profile_config_exists() {
        for profile in [Profile::Paper, Profile::Local, Profile::Smoke] {
            for base in ["docred", "cdr", "gda"] {
                if let Ok(path) = profile.base_config(base) {
                    assert!(path.is_file(), "{}", path.display());
                }
            }
        }
    }
}
