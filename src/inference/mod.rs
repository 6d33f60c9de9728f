//! Inference on new documents with a trained run folder: the [`Predictor`] (the same featurize
//! -> batch -> forward -> decision path as `atlop evaluate`, so both predict the same facts),
//! the explanations ATLOP gives for free (the localized-context weights of Sec. 2.3), and their
//! renderings. Nothing here imports training code.

pub mod explanation;
pub mod html;
pub mod input;
pub mod predictor;

pub use explanation::{PairExplanation, WordWeight};
pub use predictor::{
    DocumentPrediction, ExplainedPrediction, Predictor, RelationPrediction, Score,
};
