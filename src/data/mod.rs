//! Datasets: readers for DocRED JSON and the CDR/GDA `.data` format, producing one
//! [`Document`] type, the relation vocabulary, and dataset statistics (the paper's Table 1).

pub mod document;
pub mod relations;

pub use document::{Dataset, DatasetKind, Document, Entity, Fact, Mention};
pub use relations::RelationVocab;
