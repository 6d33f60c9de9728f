//! `atlop train`: one run of the paper's recipe (Sec. 4.1) through burn-train's `Learner` and
//! `SupervisedTraining`, with the two-group AdamW, the warm-up/linear-decay schedule, global
//! norm clipping, atomic full-precision checkpoints, the whole-dev-set metrics of every epoch
//! and the best-dev-F1 model kept in `best/` (see [`crate::run_folder`] for the folder).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use burn::tensor::backend::AutodiffBackend;
use burn::train::renderer::MetricsRenderer;
use burn::train::{ExecutionStrategy, Learner, MultiDeviceOptim, SupervisedTraining};

use super::best::{BestModel, KeepBestAndLast};
use super::dashboard::{DashboardInfo, TerminalDashboard};
use super::epoch_loader::EpochLoader;
use super::metrics::{DevProgress, DevReports, DevScore, GroupRate, LossValue, Throughput};
use super::metrics_log::JsonlRenderer;
use super::renderer::PlainRenderer;
use super::{latest_checkpoint, remove_stale_temp_files, CheckpointRecorder};
use super::{OptimizerConfig, WarmupLinearDecayConfig};
use crate::batch::AtlopBatcher;
use crate::config::RunConfig;
use crate::data::DatasetKind;
use crate::encoder::source::HubCache;
use crate::encoder::ModelSource;
use crate::error::{AtlopError, Result};
use crate::evaluation::whole_set::{EvalSet, SetReport};
use crate::evaluation::TrainFacts;
use crate::features::tokenizer::DocTokenizer;
use crate::model::atlop::AtlopModel;
use crate::pipeline::load_split;
use crate::run_folder::{git_commit, now_unix, sha256_file, DataFile, RunFolder, RunManifest};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dashboard {
    /// The dashboard (`train::dashboard`) on a terminal, plain lines otherwise.
    Auto,
    /// Plain lines on stdout.
    Plain,
}

/// What `atlop train` was asked to do.
#[derive(Debug, Clone)]
pub enum TrainTarget {
    /// A new run with this configuration, in `out` or `runs/<name>-<timestamp>`.
    New {
        config: Box<RunConfig>,
        out: Option<PathBuf>,
    },
    /// Continue the run in this folder from its last complete checkpoint.
    Resume(PathBuf),
}

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub run_dir: PathBuf,
    pub best_epoch: usize,
    pub best: SetReport,
    /// The epoch the run started from (0 for a fresh run).
    pub resumed_from: usize,
    pub seconds: f64,
    pub iterations_per_epoch: usize,
}

fn run_error(path: &Path, message: impl Into<String>) -> AtlopError {
    AtlopError::Run {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Trains on backend `B` on `device` (the dev pass runs there too).
pub fn train<B: AutodiffBackend>(
    target: TrainTarget,
    dashboard: Dashboard,
    device: B::Device,
) -> Result<TrainSummary> {
    train_on::<B>(target, dashboard, vec![device])
}

/// Trains on one or several devices. With several, burn's multi-device strategy
/// (`ExecutionStrategy::MultiDevice`, optimiser on the main device) gives each device a
/// contiguous part of the training documents; every iteration runs one batch per device, sums
/// their gradients on the first device, which steps the optimiser and runs the dev pass.
/// `training.batch_size` stays the batch of one optimiser step, as in the paper: each device
/// takes `batch_size / devices` documents, so the recipe does not change with the hardware.
pub fn train_on<B: AutodiffBackend>(
    target: TrainTarget,
    dashboard: Dashboard,
    devices: Vec<B::Device>,
) -> Result<TrainSummary> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let Some(device) = devices.first().cloned() else {
        return Err(AtlopError::Invalid(
            "training needs one device at least".into(),
        ));
    };
    // Removes a new run folder again when its set-up fails before training starts.
    let mut new_folder = crate::run_folder::RemoveOnFailure::default();
    let (folder, config, resume_epoch) = match target {
        TrainTarget::New { config, out } => {
            // Resolves the encoder and hashes the data first: a bad config leaves no folder.
            let manifest = manifest::<B>(&config, &devices)?;
            if let Some(out) = out
                .as_deref()
                .filter(|o| latest_checkpoint(o).ok().flatten().is_some())
            {
                return Err(run_error(
                    out,
                    "already holds checkpoints; use --resume to continue it",
                ));
            }
            let existed = out.as_deref().is_some_and(Path::exists);
            let folder = RunFolder::create(out.as_deref(), &config.name)?;
            if !existed {
                new_folder.arm(&folder.path);
            }
            folder.write_inputs(&config, &manifest)?;
            (folder, *config, 0)
        }
        TrainTarget::Resume(path) => {
            let folder = RunFolder::open(&path)?;
            remove_stale_temp_files(&folder.path)?;
            let epoch = latest_checkpoint(&folder.path)?
                .ok_or_else(|| run_error(&path, "no complete checkpoint to resume from"))?;
            // The epoch that was in progress is trained again: its log lines go.
            super::metrics_log::truncate_metrics(&folder.metrics(), epoch)?;
            (folder.clone(), folder.read_config()?, epoch)
        }
    };
    println!(
        "backend {} on {devices:?}; run folder {}",
        crate::backend::describe::<B>(),
        folder.path.display()
    );

    // The run folder's copy of the tokenizer and encoder config; the weights come from the
    // encoder folder on a fresh run and from the checkpoint on resume.
    let tokenizer = DocTokenizer::from_dir(&folder.encoder_dir())?;
    let train_split = load_split(
        &config,
        &config.data.train,
        config.data.train_docs,
        &tokenizer,
    )?;
    let dev_split = load_split(&config, &config.data.dev, config.data.dev_docs, &tokenizer)?;
    for (key, split) in [("data.train", &train_split), ("data.dev", &dev_split)] {
        if !split.dataset.is_labelled() {
            return Err(AtlopError::Config {
                source_name: folder.config().display().to_string(),
                key: key.into(),
                message: format!(
                    "{} has no relation labels (DocRED's test.json hides them): it cannot be \
                     trained on or select a model",
                    split.dataset.path.display()
                ),
            });
        }
    }
    folder.write_relations(&train_split.vocab)?;
    let num_classes = train_split.vocab.num_classes();
    let encoder_dir = if resume_epoch == 0 {
        encoder_folder(&config)?
    } else {
        folder.encoder_dir()
    };
    let model = AtlopModel::<B>::init(
        &config.model_config(num_classes),
        &encoder_dir,
        resume_epoch == 0,
        &device,
    )?;

    let t = &config.training;
    let num_devices = devices.len();
    if t.batch_size % num_devices != 0 {
        return Err(AtlopError::Config {
            source_name: folder.config().display().to_string(),
            key: "training.batch_size".into(),
            message: format!(
                "{} documents cannot be shared equally by {num_devices} devices",
                t.batch_size
            ),
        });
    }
    let batcher = AtlopBatcher {
        num_classes,
        pad_id: tokenizer.pad_id(),
    };
    let train_features = Arc::new(train_split.features.clone());
    let train_loader = EpochLoader::<B>::new(
        train_features,
        batcher.clone(),
        t.batch_size / num_devices,
        Some(t.seed),
        resume_epoch,
        device.clone(),
    );
    let iterations_per_epoch = train_loader.iterations_on(num_devices);
    // Dev batches in evaluation order, as `evaluate` batches them (the same scores).
    let dev_features = crate::batch::evaluation_order(&dev_split.features)
        .into_iter()
        .map(|i| dev_split.features[i].clone())
        .collect();
    let valid_loader = EpochLoader::<B::InnerBackend>::new(
        Arc::new(dev_features),
        batcher,
        t.eval_batch_size,
        None,
        0,
        device.clone(),
    );

    let o = &config.optimizer;
    let schedule = WarmupLinearDecayConfig::new(iterations_per_epoch, t.epochs)
        .with_grad_accumulation(t.grad_accumulation)
        .with_warmup_ratio(o.warmup_ratio)
        .init()?;
    let optimizer = OptimizerConfig::new()
        .with_encoder_lr(o.encoder_lr)
        .with_head_lr(o.head_lr)
        .with_epsilon(o.eps)
        .with_weight_decay(o.weight_decay)
        .with_max_grad_norm(o.max_grad_norm)
        .with_grad_accumulation(t.grad_accumulation)
        .with_num_devices(num_devices)
        .init::<AtlopModel<B>, B>()?;
    // One interrupter for the Learner, the dashboard, the signal handler and the guards against
    // a diverged loss, so each of them stops training the same way.
    let interrupter = burn::train::Interrupter::new();
    let optimizer = optimizer.stopping_on_non_finite(interrupter.clone());

    let dev_set = Arc::new(EvalSet {
        train_facts: TrainFacts::from_dataset(&train_split.dataset),
        dataset: dev_split.dataset,
        features: dev_split.features,
    });
    let decision = Arc::new(config.decision.clone());
    let dev_progress = Arc::new(DevProgress::default());
    let dev_f1 = DevScore::f1(
        dev_set.clone(),
        decision.clone(),
        DevReports {
            dir: folder.dev_reports(),
        },
        dev_progress.clone(),
    );
    // Keep the last epoch (to resume) and the best (selected by the run's decision rule); the
    // recorder publishes `best/` as soon as the best epoch's model is written.
    let best = BestModel::open(&folder, resume_epoch)?;
    let keep = KeepBestAndLast::new(best.clone(), resume_epoch)?
        .waiting_for(dev_progress, interrupter.clone());

    let info = DashboardInfo {
        run_dir: folder.path.clone(),
        rule: config.decision.strategy.label(),
        prior_best: best.best().map(|b| (b.epoch, b.dev_f1 * 100.0)),
    };
    let renderer = JsonlRenderer::new(
        renderer(dashboard, t.log_every, info, interrupter.clone()),
        &folder.metrics(),
        resume_epoch + 1,
        started_at,
    )?;
    let mut training =
        SupervisedTraining::new(&folder.path, Arc::new(train_loader), Arc::new(valid_loader))
            .num_epochs(t.epochs)
            .with_interrupter(interrupter.clone())
            .with_file_checkpointer(CheckpointRecorder::publishing_best(best.clone()))
            .with_checkpointing_strategy(keep)
            .metric_train_numeric(LossValue::stopping_on_non_finite(interrupter.clone()))
            .metric_valid_numeric(LossValue::default())
            .metric_train_numeric(GroupRate::encoder(o.encoder_lr))
            .metric_train_numeric(GroupRate::head(o.head_lr))
            .metric_train_numeric(Throughput::documents())
            .metric_train_numeric(Throughput::tokens())
            .metric_valid_numeric(dev_f1);
    if dev_set.dataset.kind == DatasetKind::Docred {
        training = training.metric_valid_numeric(DevScore::ign_f1(dev_set.clone(), decision));
    }
    if t.grad_accumulation > 1 {
        training = training.grads_accumulation(t.grad_accumulation);
    }
    if resume_epoch > 0 {
        training = training.checkpoint(resume_epoch);
    }
    if num_devices > 1 {
        training = training.with_training_strategy(
            ExecutionStrategy::multi(devices.clone(), MultiDeviceOptim::OptimMainDevice).into(),
        );
    }
    let training = training.renderer(renderer);
    let _signals = super::stop::on_signal(&interrupter);
    new_folder.disarm();
    training.launch(Learner::new(model, optimizer, schedule));
    if interrupter.should_stop() {
        return Err(super::stop::stopped(&folder, &interrupter));
    }

    let selected = best.ensure_published()?;
    let best_epoch = selected.epoch;
    let best = folder.read_best_report()?;
    println!(
        "best dev F1 {:.2} (Ign F1 {}) at epoch {best_epoch}; model in {}",
        best.f1 * 100.0,
        best.ign_f1
            .map_or("-".to_string(), |v| format!("{:.2}", v * 100.0)),
        folder.best_dir().display()
    );
    Ok(TrainSummary {
        run_dir: folder.path,
        best_epoch,
        best,
        resumed_from: resume_epoch,
        seconds: started.elapsed().as_secs_f64(),
        iterations_per_epoch,
    })
}

/// The renderer a run shows progress with: the dashboard on a terminal, plain lines otherwise
/// (or when the terminal cannot be taken over).
fn renderer(
    dashboard: Dashboard,
    every: usize,
    info: DashboardInfo,
    interrupter: burn::train::Interrupter,
) -> Box<dyn MetricsRenderer> {
    if dashboard == Dashboard::Auto && std::io::stdout().is_terminal() {
        if let Some(tui) = TerminalDashboard::open(info, interrupter) {
            return Box::new(tui);
        }
    }
    Box::new(PlainRenderer::new(std::io::stdout(), every))
}

/// The local folder of the configured encoder (downloading a hub id first).
fn encoder_folder(config: &RunConfig) -> Result<PathBuf> {
    ModelSource::from(config.encoder.source.clone()).resolve(&HubCache::from_env())
}

fn manifest<B: AutodiffBackend>(config: &RunConfig, devices: &[B::Device]) -> Result<RunManifest> {
    let encoder_dir = encoder_folder(config)?;
    let mut data = Vec::new();
    let files = [
        ("train", Some(&config.data.train)),
        ("dev", Some(&config.data.dev)),
        ("test", config.data.test.as_ref()),
    ];
    for (role, path) in files {
        if let Some(path) = path.filter(|p| p.is_file()) {
            data.push(DataFile {
                role: role.into(),
                path: path.clone(),
                sha256: sha256_file(path)?,
            });
        }
    }
    Ok(RunManifest {
        encoder_source: config.encoder.source.clone(),
        encoder_dir: encoder_dir.canonicalize().unwrap_or(encoder_dir),
        git_commit: git_commit(),
        backend: crate::backend::describe::<B>().to_string(),
        devices: devices.iter().map(|d| format!("{d:?}")).collect(),
        data,
        created_unix: now_unix(),
    })
}
