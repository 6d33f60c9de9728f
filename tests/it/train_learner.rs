//! The training pieces inside burn's own `SupervisedTraining`: a toy model with an `encoder`
//! and a `head` trains 3 epochs with [`TwoGroupAdamW`], [`WarmupLinearDecay`] and the atomic
//! [`CheckpointRecorder`] under gradient accumulation; a second run resumed from the epoch-1
//! checkpoint must end with exactly the same weights (model, optimiser moments and schedule
//! position all restored).

use std::path::Path;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::train::{
    latest_checkpoint, CheckpointRecorder, OptimizerConfig, ParamGroups, WarmupLinearDecayConfig,
};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::{list_param_ids, Module, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::renderer::CliMetricsRenderer;
use burn::train::{
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
};

type B = CpuAutodiff;

const EPOCHS: usize = 3;
const BATCH: usize = 2;
const ITEMS: usize = 18; // 9 iterations per epoch: with accumulation 2, one is dropped
const ACCUMULATION: usize = 2;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    encoder: Linear<B>,
    head: Linear<B>,
}

impl<B: Backend> ParamGroups for Toy<B> {
    fn encoder_param_ids(&self) -> Vec<ParamId> {
        list_param_ids(&self.encoder)
    }
}

fn linear<B: Backend>(d_in: usize, d_out: usize, offset: usize) -> Linear<B> {
    let values = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| (((i + offset) * 5 % 11) as f32 - 5.0) / 10.0)
            .collect()
    };
    let device = Default::default();
    let weight = Tensor::<B, 1>::from_floats(values(d_in * d_out).as_slice(), &device);
    Linear {
        weight: Param::from_tensor(weight.reshape([d_in, d_out])),
        bias: Some(Param::from_tensor(Tensor::from_floats(
            values(d_out).as_slice(),
            &device,
        ))),
    }
}

impl<B: Backend> Toy<B> {
    fn new() -> Self {
        Self {
            encoder: linear(4, 3, 0),
            head: linear(3, 1, 3),
        }
    }

    fn regression(&self, batch: ToyBatch<B>) -> RegressionOutput<B> {
        let output = self.head.forward(self.encoder.forward(batch.inputs)); // [batch, 1]
        let loss = (output.clone() - batch.targets.clone())
            .powf_scalar(2.0)
            .mean();
        RegressionOutput::new(loss, output, batch.targets)
    }
}

impl<B: AutodiffBackend> TrainStep for Toy<B> {
    type Input = ToyBatch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: ToyBatch<B>) -> TrainOutput<RegressionOutput<B>> {
        let item = self.regression(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: Backend> InferenceStep for Toy<B> {
    type Input = ToyBatch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: ToyBatch<B>) -> RegressionOutput<B> {
        self.regression(batch)
    }
}

#[derive(Clone, Debug)]
struct ToyBatch<B: Backend> {
    inputs: Tensor<B, 2>,  // [batch, 4]
    targets: Tensor<B, 2>, // [batch, 1]
}

#[derive(Clone)]
struct ToyBatcher;

impl<B: Backend> Batcher<B, [f32; 5], ToyBatch<B>> for ToyBatcher {
    fn batch(&self, items: Vec<[f32; 5]>, device: &B::Device) -> ToyBatch<B> {
        let n = items.len();
        let inputs: Vec<f32> = items.iter().flat_map(|item| item[..4].to_vec()).collect();
        let targets: Vec<f32> = items.iter().map(|item| item[4]).collect();
        ToyBatch {
            inputs: Tensor::<B, 1>::from_floats(inputs.as_slice(), device).reshape([n, 4]),
            targets: Tensor::<B, 1>::from_floats(targets.as_slice(), device).reshape([n, 1]),
        }
    }
}

fn items() -> Vec<[f32; 5]> {
    (0..ITEMS)
        .map(|i| {
            let x = |k: usize| ((i * 3 + k * 7) % 13) as f32 / 6.0 - 1.0;
            [x(0), x(1), x(2), x(3), x(0) - 2.0 * x(2) + 0.5]
        })
        .collect()
}

/// Trains to the end in `run`, resuming from `resume` when given; returns the final weights.
fn train(run: &Path, resume: Option<usize>) -> Vec<f32> {
    let train_loader = DataLoaderBuilder::new(ToyBatcher)
        .batch_size(BATCH)
        .build(InMemDataset::new(items()));
    let valid_loader = DataLoaderBuilder::<Cpu, _, _>::new(ToyBatcher)
        .batch_size(BATCH)
        .build(InMemDataset::new(items()));
    let schedule = WarmupLinearDecayConfig::new(ITEMS / BATCH, EPOCHS)
        .with_grad_accumulation(ACCUMULATION)
        .with_warmup_ratio(0.25)
        .init()
        .unwrap();
    let optim = OptimizerConfig::new()
        .with_encoder_lr(1e-2)
        .with_head_lr(5e-2)
        .with_max_grad_norm(0.5)
        .with_grad_accumulation(ACCUMULATION)
        .init::<Toy<B>, B>()
        .unwrap();
    let learner = Learner::new(Toy::<B>::new(), optim, schedule);
    let mut training = SupervisedTraining::new(run, train_loader, valid_loader)
        .num_epochs(EPOCHS)
        .grads_accumulation(ACCUMULATION)
        .with_file_checkpointer(CheckpointRecorder::default())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(EPOCHS))
        .with_application_logger(None)
        .renderer(CliMetricsRenderer::new());
    if let Some(epoch) = resume {
        training = training.checkpoint(epoch);
    }
    let model = training.launch(learner).model;
    [
        model.encoder.weight.val().into_data(),
        model.head.weight.val().into_data(),
        model.head.bias.unwrap().val().into_data(),
    ]
    .into_iter()
    .flat_map(|data| data.to_vec::<f32>().unwrap())
    .collect()
}

#[test]
fn resuming_from_a_checkpoint_reproduces_the_uninterrupted_run() {
    let full = tempfile::tempdir().unwrap();
    let weights = train(full.path(), None);
    assert_eq!(latest_checkpoint(full.path()).unwrap(), Some(EPOCHS));
    let initial = {
        let toy = Toy::<Cpu>::new();
        let weights: Vec<f32> = toy.encoder.weight.val().into_data().to_vec().unwrap();
        weights
    };
    assert_ne!(
        weights[..initial.len()],
        initial[..],
        "training moved nothing"
    );

    // A run that stopped after epoch 1: only that epoch's checkpoint is on disk.
    let resumed = tempfile::tempdir().unwrap();
    let checkpoints = resumed.path().join("checkpoint");
    std::fs::create_dir_all(&checkpoints).unwrap();
    for component in ["model", "optim", "scheduler"] {
        let name = format!("{component}-1.mpk");
        std::fs::copy(
            full.path().join("checkpoint").join(&name),
            checkpoints.join(&name),
        )
        .unwrap();
    }
    assert_eq!(latest_checkpoint(resumed.path()).unwrap(), Some(1));
    let weights_resumed = train(resumed.path(), Some(1));
    assert_eq!(weights, weights_resumed);
}
