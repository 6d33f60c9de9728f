//! Experiments: every row of the paper's Tables 3-6 from the definitions in `experiments/`.

pub mod definition;
pub mod plan;

pub use definition::{Definitions, Row, Table, TableDataset, Variant, TABLES};
pub use plan::{models_for, render, PlannedModel};
