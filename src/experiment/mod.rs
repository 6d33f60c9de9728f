//! Experiments: every row of the paper's Tables 3-6 from the definitions in `experiments/`.
//! `plan` lists the models, `runner` trains each once, `rows` decides every row from the saved
//! logits, `report` writes `results/<table>/<profile>/`, `figures`
//! draws Figure 4 and the training curves there, `session` ties them together.

pub mod definition;
pub mod estimate;
pub mod figures;
pub mod job;
pub mod plan;
pub mod profile;
pub mod record;
pub mod report;
pub mod rows;
pub mod runner;
pub mod saved_scores;
pub mod session;

pub use definition::{Definitions, Row, Table, TableDataset, Variant, TABLES};
pub use estimate::estimate;
pub use plan::{models_for, render, PlannedModel};
pub use profile::Profile;
pub use session::{default_runs_dir, job_states, run_experiment, status, ExperimentOptions};
