//! Official metrics: DocRED F1 / Ign F1 with intra-/inter-sentence, entity-count and
//! per-relation breakdowns ([`docred`]), CodaLab's `result.json` for the unlabelled test split
//! ([`codalab`]), and the positive-class F1 of CDR/GDA ([`bio`]). All of them read
//! [`Prediction`]s, made from a strategy's decisions by [`decisions_to_predictions`].

pub mod bio;
pub mod codalab;
pub mod docred;
pub mod percent;
mod prediction;
pub mod train_facts;
pub mod whole_set;

pub use bio::BioReport;
pub use codalab::{to_codalab, write_result_json, CodalabEntry};
pub use docred::{DocredEvalConfig, DocredReport};
pub use prediction::{decisions_to_predictions, Prediction};
pub use train_facts::TrainFacts;
