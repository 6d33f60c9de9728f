//! A trained run opened from its folder alone: its config, tokenizer, dataset kind, relation
//! vocabulary, best model and dev-fitted decision, and the evaluation sets its config names.
//! `evaluate`, `predict` ([`crate::Predictor`]), the experiment runner's saved scores and its
//! records all open a run through this one type, so they read it the same way.

use std::path::Path;

use burn::tensor::backend::Backend;

use crate::config::{DocSlice, RunConfig};
use crate::data::load::docred_vocab;
use crate::data::{load_dataset, DatasetKind, RelationVocab};
use crate::error::Result;
use crate::evaluation::whole_set::{EvalSet, SetReport};
use crate::evaluation::TrainFacts;
use crate::features::tokenizer::DocTokenizer;
use crate::model::atlop::AtlopModel;
use crate::pipeline::{load_documents, load_split, Split};
use crate::run_folder::RunFolder;

/// See the module documentation.
pub struct TrainedRun {
    pub folder: RunFolder,
    pub config: RunConfig,
    pub tokenizer: DocTokenizer,
    /// DocRED or CDR/GDA, from the training file of the config.
    pub kind: DatasetKind,
    /// The relation classes the model's logits are indexed by.
    pub vocab: RelationVocab,
}

impl TrainedRun {
    pub fn open(run_dir: &Path) -> Result<Self> {
        let folder = RunFolder::open(run_dir)?;
        let config = folder.read_config()?;
        let tokenizer = DocTokenizer::from_dir(&folder.encoder_dir())?;
        let is_bio = config.data.train.extension().and_then(|e| e.to_str()) == Some("data");
        let kind = if is_bio {
            DatasetKind::Bio
        } else {
            DatasetKind::Docred
        };
        let vocab = match folder.read_relations()? {
            Some(vocab) => vocab,
            // Run folders from before `relations.json`: read it beside the training data.
            // CDR/GDA name their one relation in the data; the dev file is the smaller one.
            None if is_bio => load_dataset(&config.data.dev, None)?.1,
            None => docred_vocab(&config.data.train, config.data.vocab.as_deref())?,
        };
        Ok(Self {
            folder,
            config,
            tokenizer,
            kind,
            vocab,
        })
    }

    /// The best model (`best/model.mpk`), checked against the run's config.
    pub fn best_model<B: Backend>(&self, device: &B::Device) -> Result<AtlopModel<B>> {
        crate::evaluate::load_best::<B>(&self.folder, self.vocab.num_classes(), device)
    }

    /// The best epoch's dev report: its scores and the decision with its dev-fitted thresholds.
    pub fn best_report(&self) -> Result<SetReport> {
        self.folder.read_best_report()
    }

    /// Documents `slice` of `path`, featurised as the run's training did.
    pub fn split(&self, path: &Path, slice: Option<DocSlice>) -> Result<Split> {
        load_split(&self.config, path, slice, &self.tokenizer)
    }

    /// The facts of the run's training documents, for Ign F1 (empty for CDR/GDA).
    pub fn train_facts(&self) -> Result<TrainFacts> {
        let d = &self.config.data;
        let (train, _) = load_documents(&self.config, &d.train, d.train_docs)?;
        Ok(match train.kind {
            DatasetKind::Docred => TrainFacts::from_dataset(&train),
            DatasetKind::Bio => TrainFacts::default(),
        })
    }

    /// A split as an evaluation set, with `train_facts` for Ign F1.
    pub fn eval_set(split: Split, train_facts: &TrainFacts) -> EvalSet {
        EvalSet {
            dataset: split.dataset,
            features: split.features,
            train_facts: train_facts.clone(),
        }
    }

    /// The config's dev set and its labelled test set (if any).
    pub fn eval_sets(&self) -> Result<(EvalSet, Option<EvalSet>)> {
        let d = &self.config.data;
        let facts = self.train_facts()?;
        let dev = Self::eval_set(self.split(&d.dev, d.dev_docs)?, &facts);
        let test = match &d.test {
            Some(path) => Some(Self::eval_set(self.split(path, d.test_docs)?, &facts))
                .filter(|s| s.dataset.is_labelled()),
            None => None,
        };
        Ok((dev, test))
    }
}
