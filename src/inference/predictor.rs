//! [`Predictor`]: a run folder's best model, tokenizer, relation vocabulary and dev-fitted
//! decision, applied to documents in batches.
//!
//! Predictions equal `atlop evaluate`'s for the same documents in the same batches: both
//! featurize with the run's [`FeatureConfig`], batch with [`AtlopBatch`], call the one
//! [`AtlopModel::forward`] and decide with the [`Tuned`] strategy read from `best/report.json`.

use std::path::Path;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::explanation::{explain_pair, PairExplanation};
use crate::batch::{check_feature, AtlopBatch};
use crate::data::{DatasetKind, Document, RelationVocab};
use crate::decision::{ScoreMatrix, Strategy, Thresholds, Tuned};
use crate::error::{AtlopError, Result};
use crate::features::{featurize_with_words, DocTokenizer, Feature, FeatureConfig};
use crate::model::atlop::AtlopModel;
use crate::trained_run::TrainedRun;

/// How confident the model is in one predicted relation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Score {
    /// Adaptive thresholding (Sec. 2.2): the relation's logit minus the TH logit (> 0 when
    /// predicted).
    Margin { margin: f32 },
    /// Probability thresholds fitted on dev (global / per-class, Table 6): `sigmoid(logit)` and
    /// the class's threshold it exceeded.
    Probability { probability: f32, threshold: f32 },
}

/// One predicted fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationPrediction {
    /// Head and tail entity (indices into the document's entities / `vertexSet`).
    pub head: usize,
    pub tail: usize,
    /// The first mention's text of the head and of the tail entity, so that a prediction reads
    /// without the input file at hand (empty when read from a file written before they existed).
    #[serde(default)]
    pub head_name: String,
    #[serde(default)]
    pub tail_name: String,
    /// The relation as the data spells it (DocRED P-id, `CID`, ...).
    pub relation: String,
    /// Readable name (`rel_info.json`), the label itself when there is none.
    pub name: String,
    pub score: Score,
}

/// The predictions of one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentPrediction {
    /// Position of the document in its input.
    pub index: usize,
    pub title: String,
    pub predictions: Vec<RelationPrediction>,
}

/// A document's predictions with, per predicted pair, the localized-context weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedPrediction {
    pub prediction: DocumentPrediction,
    /// One per distinct predicted (head, tail), in prediction order.
    pub pairs: Vec<PairExplanation>,
}

/// A trained run ready to predict. Generic over the backend, like the model.
///
/// ```no_run
/// use atlop::backend::Cpu;
/// use atlop::Predictor;
///
/// # fn main() -> atlop::Result<()> {
/// let predictor = Predictor::<Cpu>::open("runs/smoke".as_ref(), &Default::default())?;
/// let docs = atlop::data::read_docred("docs.json".as_ref(), predictor.vocab())?.documents;
/// for doc in predictor.predict(&docs)? {
///     for p in &doc.predictions {
///         println!("{}: {} -> {} {} ({})", doc.title, p.head, p.tail, p.relation, p.name);
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct Predictor<B: Backend> {
    model: AtlopModel<B>,
    tokenizer: DocTokenizer,
    vocab: RelationVocab,
    decision: Tuned,
    features: FeatureConfig,
    kind: DatasetKind,
    batch_size: usize,
    device: B::Device,
}

impl<B: Backend> Predictor<B> {
    /// Loads the run folder's best model, its tokenizer (`encoder/`), the relation vocabulary
    /// of its training data and the decision with the thresholds fitted on dev.
    pub fn open(run_dir: &Path, device: &B::Device) -> Result<Self> {
        let run = TrainedRun::open(run_dir)?;
        let report = run.best_report()?;
        let model = run.best_model::<B>(device)?;
        let TrainedRun {
            config,
            tokenizer,
            kind,
            vocab,
            ..
        } = run;
        Ok(Self {
            model,
            tokenizer,
            vocab,
            decision: report.decision,
            features: config.feature_config(),
            kind,
            batch_size: config.training.eval_batch_size.max(1),
            device: device.clone(),
        })
    }

    /// Documents per forward pass (default: the run's `eval_batch_size`, as `evaluate`).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    pub fn vocab(&self) -> &RelationVocab {
        &self.vocab
    }

    pub fn tokenizer(&self) -> &DocTokenizer {
        &self.tokenizer
    }

    /// The decision rule and its dev-fitted thresholds.
    pub fn decision(&self) -> &Tuned {
        &self.decision
    }

    /// Featurizes and checks one document, so a caller can report a bad one and go on.
    pub fn featurize(&self, doc: &Document, index: usize) -> Result<Feature> {
        Ok(self.featurize_with_words(doc, index)?.0)
    }

    fn featurize_with_words(
        &self,
        doc: &Document,
        index: usize,
    ) -> Result<(Feature, Vec<Option<usize>>)> {
        let (feature, words) =
            featurize_with_words(doc, index, self.kind, &self.tokenizer, &self.features)?;
        check_feature(&feature, self.vocab.num_classes())?;
        Ok((feature, words))
    }

    /// Predicts every document, `batch_size` at a time; indices are positions in `docs`.
    pub fn predict(&self, docs: &[Document]) -> Result<Vec<DocumentPrediction>> {
        let indexed: Vec<(usize, &Document)> = docs.iter().enumerate().collect();
        let mut out = Vec::with_capacity(docs.len());
        for chunk in indexed.chunks(self.batch_size) {
            out.extend(
                self.predict_batch(chunk, false)?
                    .into_iter()
                    .map(|e| e.prediction),
            );
        }
        Ok(out)
    }

    /// Predicts and explains every document, `batch_size` at a time.
    pub fn predict_explained(&self, docs: &[Document]) -> Result<Vec<ExplainedPrediction>> {
        let indexed: Vec<(usize, &Document)> = docs.iter().enumerate().collect();
        let mut out = Vec::with_capacity(docs.len());
        for chunk in indexed.chunks(self.batch_size) {
            out.extend(self.predict_batch(chunk, true)?);
        }
        Ok(out)
    }

    /// One forward pass over `docs` (each with its index in the caller's input). With
    /// `explain`, each predicted pair gets its localized-context weights.
    pub fn predict_batch(
        &self,
        docs: &[(usize, &Document)],
        explain: bool,
    ) -> Result<Vec<ExplainedPrediction>> {
        let mut features = Vec::with_capacity(docs.len());
        let mut token_words = Vec::with_capacity(docs.len());
        for &(index, doc) in docs {
            let (f, w) = self.featurize_with_words(doc, index)?;
            features.push(f);
            token_words.push(w);
        }
        let num_classes = self.vocab.num_classes();
        let rows: usize = features.iter().map(|f| f.hts.len()).sum();
        if rows == 0 {
            // No pair anywhere in the batch (single-entity documents): nothing to classify.
            return Ok(features
                .iter()
                .map(|f| ExplainedPrediction {
                    prediction: DocumentPrediction {
                        index: f.doc_index,
                        title: f.title.clone(),
                        predictions: Vec::new(),
                    },
                    pairs: Vec::new(),
                })
                .collect());
        }
        let batch = AtlopBatch::<B>::from_features(
            &features,
            num_classes,
            self.tokenizer.pad_id(),
            &self.device,
        )?;
        let output = self.model.forward(&batch);
        let logits = output
            .logits // [N, C]
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| AtlopError::Invalid(format!("reading logits: {e:?}")))?;
        let scores = ScoreMatrix::new(rows, num_classes, logits)?;
        let decided = self.decision.decide(&scores)?;
        let weights = match (explain, output.pair_weights) {
            (false, _) => None,
            (true, Some(w)) => {
                let [_, l] = w.dims();
                let values = w
                    .into_data() // [N, L]
                    .to_vec::<f32>()
                    .map_err(|e| AtlopError::Invalid(format!("reading pair weights: {e:?}")))?;
                Some((values, l))
            }
            (true, None) => {
                return Err(AtlopError::Invalid(
                    "explanations need localized context pooling, which this run's model \
                     has off (model.localized_context = false)"
                        .into(),
                ))
            }
        };
        let mut out = Vec::with_capacity(features.len());
        let mut row = 0;
        for ((f, words), &(_, doc)) in features.iter().zip(&token_words).zip(docs) {
            let entity_name = |e: usize| {
                doc.entities
                    .get(e)
                    .and_then(|entity| entity.mentions.first())
                    .map_or_else(String::new, |m| m.name.clone())
            };
            let mut predictions = Vec::new();
            let mut pairs = Vec::new();
            for (k, &(head, tail)) in f.hts.iter().enumerate() {
                let logits = &scores.data[(row + k) * num_classes..(row + k + 1) * num_classes];
                let relations = &decided.rows[row + k];
                for &r in relations {
                    predictions.push(RelationPrediction {
                        head,
                        tail,
                        head_name: entity_name(head),
                        tail_name: entity_name(tail),
                        relation: self.vocab.labels.get(r).cloned().unwrap_or_default(),
                        name: self.vocab.name(r).to_string(),
                        score: self.score(logits, r),
                    });
                }
                if let (false, Some((values, l))) = (relations.is_empty(), &weights) {
                    let start = (row + k) * l;
                    let token_weights = &values[start..start + f.len()];
                    pairs.push(explain_pair(doc, head, tail, token_weights, words));
                }
            }
            row += f.hts.len();
            out.push(ExplainedPrediction {
                prediction: DocumentPrediction {
                    index: f.doc_index,
                    title: f.title.clone(),
                    predictions,
                },
                pairs,
            });
        }
        Ok(out)
    }

    /// The score of relation `r` from a pair's logits `[C]`, in the decision rule's terms.
    fn score(&self, logits: &[f32], r: usize) -> Score {
        let logit = logits.get(r).copied().unwrap_or(f32::NAN);
        let probability = 1.0 / (1.0 + (-logit).exp());
        match (&self.decision.strategy, &self.decision.thresholds) {
            (Strategy::Global { .. }, Thresholds::Global(t)) => Score::Probability {
                probability,
                threshold: *t,
            },
            (Strategy::PerClass { .. }, Thresholds::PerClass(ts)) => Score::Probability {
                probability,
                threshold: ts.get(r).copied().unwrap_or(f32::NAN),
            },
            _ => Score::Margin {
                margin: logit - logits.first().copied().unwrap_or(0.0),
            },
        }
    }
}
