//! AdamW with two parameter groups (ATLOP §4.1: the pre-trained encoder at 5e-5 / 3e-5 / 2e-5
//! for BERT / RoBERTa / SciBERT, the new layers at 1e-4; eps 1e-6, no weight decay), with the
//! averaging of accumulated gradients and global-norm clipping of the reference `train.py`.
//!
//! burn has one optimiser and one rate per `Learner`. [`TwoGroupAdamW`] is that one optimiser:
//! it holds two AdamW adaptors ([`FusedAdamW`], burn's `AdamW` fused on the CPU) and hands each the gradients of its group; an adaptor
//! leaves parameters without a gradient untouched, so each moves only its own group. The `lr`
//! the Learner passes is the schedule factor of [`super::WarmupLinearDecay`]; each group runs at
//! `factor * base_rate`.
//!
//! Per optimiser step, in the reference's order: the summed gradients are divided by the
//! number of summed batches (burn sums, PyTorch's `loss / accumulation` averages), clipped to a
//! global norm, split by group, and applied.

use std::collections::HashSet;

use burn::config::Config;
use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::LearningRate;
use burn::optim::{GradientsParams, MultiGradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;

pub use adamw::FusedAdamW;

use super::clipping::{clip_factor, global_norm};
use crate::error::AtlopError;

/// A model whose parameters split into the pre-trained encoder and the new layers.
pub trait ParamGroups {
    /// Ids of the encoder's parameters; every other parameter belongs to the new layers.
    /// Usually `burn::module::list_param_ids(&self.encoder)`.
    fn encoder_param_ids(&self) -> Vec<ParamId>;
}

/// The optimiser half of the paper's recipe. Defaults are the paper's BERT-base values.
#[derive(Config, Debug)]
pub struct OptimizerConfig {
    /// Base rate of the pre-trained encoder (BERT 5e-5, RoBERTa 3e-5, SciBERT 2e-5).
    #[config(default = 5e-5)]
    pub encoder_lr: f64,
    /// Base rate of the new layers (pooling projections, bilinear classifier).
    #[config(default = 1e-4)]
    pub head_lr: f64,
    /// AdamW epsilon (burn's default is 1e-5; the paper 1e-6).
    #[config(default = 1e-6)]
    pub epsilon: f32,
    #[config(default = 0.9)]
    pub beta_1: f32,
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Decoupled weight decay (burn's default is 1e-4; the paper uses none).
    #[config(default = 0.0)]
    pub weight_decay: f32,
    /// Global gradient-norm limit; 0 or less disables clipping.
    #[config(default = 1.0)]
    pub max_grad_norm: f64,
    /// Batches whose gradients burn sums into one step: the Learner's `grads_accumulation`.
    #[config(default = 1)]
    pub grad_accumulation: usize,
    /// Devices of a multi-device strategy: each adds its own batch's gradient to the sum.
    #[config(default = 1)]
    pub num_devices: usize,
}

impl OptimizerConfig {
    /// Checks the configuration and builds the optimiser with empty state.
    pub fn init<M, B>(&self) -> crate::Result<TwoGroupAdamW<M, B>>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B> + ParamGroups,
    {
        let invalid = |key: &str, message: &str| AtlopError::Config {
            source_name: "optimizer".into(),
            key: key.into(),
            message: message.into(),
        };
        for (key, rate) in [("encoder_lr", self.encoder_lr), ("head_lr", self.head_lr)] {
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(invalid(key, "must be a finite rate >= 0"));
            }
        }
        if self.grad_accumulation == 0 || self.num_devices == 0 {
            return Err(invalid(
                "grad_accumulation",
                "grad_accumulation and num_devices must be at least 1",
            ));
        }
        let adamw = FusedAdamW::new(self.beta_1, self.beta_2, self.epsilon, self.weight_decay);
        Ok(TwoGroupAdamW {
            encoder: adamw.clone().init(),
            head: adamw.init(),
            encoder_lr: self.encoder_lr,
            head_lr: self.head_lr,
            max_grad_norm: self.max_grad_norm,
            batches_per_step: self.grad_accumulation * self.num_devices,
            last_grad_norm: None,
            steps: 0,
            guard: None,
        })
    }
}

/// Record of [`TwoGroupAdamW`]: (encoder group state, new-layer group state).
pub type TwoGroupAdamWRecord<M, B> = (GroupRecord<M, B>, GroupRecord<M, B>);
/// Record of one burn AdamW adaptor (moments and step count per parameter).
pub type GroupRecord<M, B> = <OptimizerAdaptor<FusedAdamW, M, B> as Optimizer<M, B>>::Record;

/// AdamW with an encoder group and a new-layer group; see the module documentation.
#[derive(Clone)]
pub struct TwoGroupAdamW<M, B>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    encoder: OptimizerAdaptor<FusedAdamW, M, B>,
    head: OptimizerAdaptor<FusedAdamW, M, B>,
    encoder_lr: f64,
    head_lr: f64,
    max_grad_norm: f64,
    batches_per_step: usize,
    last_grad_norm: Option<f64>,
    /// Optimiser steps taken by this instance (for messages).
    steps: usize,
    /// Stopped when the gradient norm is not finite (the step is then skipped).
    guard: Option<burn::train::Interrupter>,
}

impl<M, B> TwoGroupAdamW<M, B>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ParamGroups,
{
    /// Stops training through `interrupter` (and skips the update) when a step's gradient norm
    /// is NaN or infinite, instead of writing NaN into every weight.
    pub fn stopping_on_non_finite(mut self, interrupter: burn::train::Interrupter) -> Self {
        self.guard = Some(interrupter);
        self
    }

    /// Global norm of the averaged gradient at the last step, before clipping (for logs);
    /// `None` before the first step or when clipping is disabled.
    pub fn last_grad_norm(&self) -> Option<f64> {
        self.last_grad_norm
    }

    /// The rates of the two groups for schedule factor `factor`: (encoder, new layers).
    pub fn rates(&self, factor: LearningRate) -> (f64, f64) {
        (factor * self.encoder_lr, factor * self.head_lr)
    }
}

impl<M, B> Optimizer<M, B> for TwoGroupAdamW<M, B>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ParamGroups,
{
    type Record = TwoGroupAdamWRecord<M, B>;

    fn step(&mut self, lr: LearningRate, module: M, grads: GradientsParams) -> M {
        // Average, then clip: one multiplication carries both factors.
        let averaging = 1.0 / self.batches_per_step as f64;
        let mut factor = averaging;
        self.steps += 1;
        if self.max_grad_norm > 0.0 {
            let norm = global_norm::<B, M>(&module, &grads) * averaging;
            self.last_grad_norm = Some(norm);
            if !norm.is_finite() {
                if let Some(guard) = &self.guard {
                    guard.stop(Some(&format!(
                        "the gradient norm is {norm} at optimiser step {} of this session \
                         (the update was skipped)",
                        self.steps
                    )));
                    return module;
                }
            }
            factor *= clip_factor(norm, self.max_grad_norm);
        }
        // The factor is applied inside the AdamW pass (`FusedAdamW::scale_gradients_by`).
        for group in [&self.encoder, &self.head] {
            group.optim().scale_gradients_by(factor as f32);
        }
        let mut head_grads = grads;
        let encoder_grads = split_off(&module, &mut head_grads);
        let (encoder_lr, head_lr) = self.rates(lr);
        let module = self.encoder.step(encoder_lr, module, encoder_grads);
        self.head.step(head_lr, module, head_grads)
    }

    fn step_multi(&mut self, lr: LearningRate, module: M, grads: MultiGradientsParams) -> M {
        // Sum each parameter's gradients over devices first: the global norm spans them all.
        let mut visitor = MergeDevices::<B> {
            multi: grads,
            merged: GradientsParams::new(),
            _backend: std::marker::PhantomData,
        };
        module.visit(&mut visitor);
        self.step(lr, module, visitor.merged)
    }

    fn to_record(&self) -> Self::Record {
        (self.encoder.to_record(), self.head.to_record())
    }

    fn load_record(mut self, record: Self::Record) -> Self {
        let (encoder, head) = record;
        self.encoder = self.encoder.load_record(encoder);
        self.head = self.head.load_record(head);
        self
    }
}

/// Moves the gradients of the encoder's parameters out of `grads` into a new container.
fn split_off<B, M>(module: &M, grads: &mut GradientsParams) -> GradientsParams
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ParamGroups,
{
    let mut visitor = Splitter::<B> {
        ids: module.encoder_param_ids().into_iter().collect(),
        from: grads,
        to: GradientsParams::new(),
        _backend: std::marker::PhantomData,
    };
    module.visit(&mut visitor);
    visitor.to
}

struct Splitter<'a, B> {
    ids: HashSet<ParamId>,
    from: &'a mut GradientsParams,
    to: GradientsParams,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Splitter<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if !self.ids.contains(&param.id) {
            return;
        }
        if let Some(grad) = self.from.remove::<B::InnerBackend, D>(param.id) {
            self.to.register::<B::InnerBackend, D>(param.id, grad);
        }
    }
}

struct MergeDevices<B> {
    multi: MultiGradientsParams,
    merged: GradientsParams,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for MergeDevices<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some((grad, _device)) = self.multi.remove::<B::InnerBackend, D>(param.id) {
            self.merged.register::<B::InnerBackend, D>(param.id, grad);
        }
    }
}

mod adamw;
#[cfg(test)]
mod tests;
