//! Datasets: readers for DocRED JSON and the CDR/GDA `.data` format, producing one
//! [`Document`] type, the relation vocabulary, and dataset statistics (the paper's Table 1).

pub mod bio;
pub mod docred;
pub mod document;
pub mod load;
pub mod plain_text;
pub mod relations;
pub mod stats;

pub use bio::read_bio;
pub use docred::read_docred;
pub use document::{Dataset, DatasetKind, Document, Entity, Fact, Mention};
pub use load::load_dataset;
pub use relations::RelationVocab;
pub use stats::{DatasetStats, LengthStats};
