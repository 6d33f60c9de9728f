//! `atlop evaluate`: a run folder's best model on a dataset file, decided with the run's rule
//! and the thresholds it fitted on dev, scored with the dataset's official metric. Reads only
//! the run folder (config, encoder files, best model, dev report) and the data files.

use std::path::Path;

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::Backend;

use crate::config::DocSlice;
use crate::error::{AtlopError, Result};
use crate::evaluation::whole_set::SetReport;
use crate::evaluation::{decisions_to_predictions, to_codalab, write_result_json};
use crate::model::atlop::AtlopModel;
use crate::pipeline::split_scores;
use crate::run_folder::RunFolder;
use crate::trained_run::TrainedRun;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluateOptions<'a> {
    pub run: &'a Path,
    pub data: &'a Path,
    /// Only these documents of `data` (as a run's `dev_docs`).
    pub docs: Option<DocSlice>,
    /// Also write CodaLab's `result.json` (DocRED).
    pub result_json: Option<&'a Path>,
}

fn run_error(path: &Path, message: impl Into<String>) -> AtlopError {
    AtlopError::Run {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Loads the best model of a run folder, built from the folder alone.
pub fn load_best<B: Backend>(
    folder: &RunFolder,
    num_classes: usize,
    device: &B::Device,
) -> Result<AtlopModel<B>> {
    let config = folder.read_config()?;
    let model = AtlopModel::<B>::init(
        &config.model_config(num_classes),
        &folder.encoder_dir(),
        false,
        device,
    )?;
    let path = folder.best_model();
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::default();
    let record = Recorder::<B>::load(&recorder, path.clone(), device)
        .map_err(|e| run_error(&folder.path, format!("{}: {e}", path.display())))?;
    let expected = crate::params::param_shapes(&model);
    let model = load_record_checked(model, record).map_err(|message| {
        run_error(
            &folder.path,
            format!(
                "{}.mpk does not fit the run's config.toml and encoder/config.json (were they \
                 edited after training?): {message}",
                path.display()
            ),
        )
    })?;
    let loaded = crate::params::param_shapes(&model);
    if let Some((key, want, got)) = crate::params::first_shape_change(&expected, &loaded) {
        return Err(run_error(
            &folder.path,
            format!(
                "{}.mpk: tensor `{key}` is {got:?} but config.toml and encoder/config.json make \
                 it {want:?}: were they edited after training? (model.emb_size, \
                 model.block_size, model.localized_context, model.bilinear, or the encoder's \
                 sizes)",
                path.display()
            ),
        ));
    }
    if expected.len() != loaded.len() {
        return Err(run_error(
            &folder.path,
            format!(
                "{}.mpk holds {} tensors, the run's config makes {}: were config.toml or \
                 encoder/config.json edited after training?",
                path.display(),
                loaded.len(),
                expected.len()
            ),
        ));
    }
    if let Some((key, value)) = crate::params::first_non_finite(&model) {
        return Err(run_error(
            &folder.path,
            format!(
                "{}.mpk: tensor `{key}` holds {value}: the best model is corrupt",
                path.display()
            ),
        ));
    }
    Ok(model)
}

/// `model.load_record(record)`, with burn's panic on a record of another structure (a different
/// number of layers) turned into its message.
fn load_record_checked<B: Backend>(
    model: AtlopModel<B>,
    record: <AtlopModel<B> as Module<B>>::Record,
) -> std::result::Result<AtlopModel<B>, String> {
    // The panic is expected and reported as an error: keep burn's message off stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.load_record(record)));
    std::panic::set_hook(hook);
    loaded.map_err(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the record does not match the model".into());
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    })
}

/// Evaluates; the report is `None` for an unlabelled file (then only `result.json` is written).
pub fn evaluate_run<B: Backend>(
    options: &EvaluateOptions,
    device: &B::Device,
) -> Result<Option<SetReport>> {
    let run = TrainedRun::open(options.run)?;
    let split = run.split(options.data, options.docs)?;
    let model = run.best_model::<B>(device)?;
    let scores = split_scores(&model, &split, &run.config, &run.tokenizer, device)?;
    let dev = run.best_report()?;
    if let Some(out) = options.result_json {
        let decided = dev.decision.decide(&scores)?;
        let predictions = decisions_to_predictions(&split.features, &decided)?;
        write_result_json(out, &to_codalab(&predictions, &split.vocab)?)?;
    }
    if !split.dataset.is_labelled() {
        return Ok(None);
    }
    let vocab = split.vocab.clone();
    let set = TrainedRun::eval_set(split, &run.train_facts()?);
    let mut report = set.score(&scores, &dev.decision)?;
    if let Some(docred) = &mut report.docred {
        docred.name_relations(&vocab);
    }
    Ok(Some(report))
}
