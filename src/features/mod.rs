//! Documents -> model features: per-word subword tokenization, `*` entity markers, mention
//! start offsets, truncation, ordered entity pairs and their multi-hot labels.

pub mod feature;
pub mod featurize;
pub mod tokenizer;

pub use feature::Feature;
pub use featurize::{featurize, featurize_dataset, featurize_with_words, FeatureConfig};
pub use tokenizer::{DocTokenizer, ModelType};
