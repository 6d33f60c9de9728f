//! Documents -> model features: per-word subword tokenization, `*` entity markers, mention
//! start offsets, truncation, ordered entity pairs and their multi-hot labels.

pub mod feature;

pub use feature::Feature;
