//! Linear warm-up then linear decay to zero, per OPTIMISER step (ATLOP §4.1: "linear warmup
//! for the first 6% steps followed by a linear decay to 0"; Hugging Face
//! `get_linear_schedule_with_warmup`, which the reference `train.py` uses).
//!
//! burn's `Learner` calls [`LrScheduler::step`] once per ITERATION (per batch on one device,
//! before the forward pass), but steps the optimiser only every `grads_accumulation` iterations
//! and drops the gradients of an epoch's last `iterations % grads_accumulation` batches. The
//! scheduler therefore counts iterations and maps each one to the optimiser step it feeds, so
//! the schedule is exact in optimiser steps whatever the accumulation.
//!
//! The value returned is the schedule FACTOR in `[0, 1]`, not a rate: the ATLOP recipe has two
//! base rates (encoder and new layers), and [`super::TwoGroupAdamW`] multiplies each by it. A
//! factor keeps both rates exact (no ratio of floats), at the price that burn's `LearningRate`
//! metric shows the factor.

use burn::config::Config;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::LearningRate;
use burn::tensor::backend::Backend;

use crate::error::AtlopError;

/// Shape of the warm-up / linear-decay schedule.
#[derive(Config, Debug)]
pub struct WarmupLinearDecayConfig {
    /// Learner iterations (batches per device) in one epoch: how often burn calls `step`.
    pub iterations_per_epoch: usize,
    /// Number of training epochs (paper: 30 on DocRED, 30 on CDR, 10 on GDA).
    pub num_epochs: usize,
    /// Iterations whose gradients burn sums into one optimiser step (`grads_accumulation`).
    #[config(default = 1)]
    pub grad_accumulation: usize,
    /// Fraction of all optimiser steps spent warming up (paper: 6%).
    #[config(default = 0.06)]
    pub warmup_ratio: f64,
}

impl WarmupLinearDecayConfig {
    /// Optimiser steps in one epoch: burn drops the gradients of an incomplete last group.
    pub fn steps_per_epoch(&self) -> usize {
        self.iterations_per_epoch / self.grad_accumulation.max(1)
    }

    /// Optimiser steps over the whole run.
    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.num_epochs
    }

    /// Warm-up steps, truncated as Python's `int(total_steps * warmup_ratio)`.
    pub fn warmup_steps(&self) -> usize {
        (self.total_steps() as f64 * self.warmup_ratio) as usize
    }

    /// Checks the configuration and builds the scheduler at iteration 0.
    pub fn init(&self) -> crate::Result<WarmupLinearDecay> {
        let invalid = |key: &str, message: &str| AtlopError::Config {
            source_name: "schedule".into(),
            key: key.into(),
            message: message.into(),
        };
        if self.grad_accumulation == 0 {
            return Err(invalid("grad_accumulation", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(invalid("warmup_ratio", "must lie in [0, 1]"));
        }
        if self.total_steps() == 0 {
            return Err(invalid(
                "iterations_per_epoch",
                "no optimiser step would run: need iterations_per_epoch >= grad_accumulation \
                 and num_epochs >= 1",
            ));
        }
        Ok(WarmupLinearDecay {
            iterations_per_epoch: self.iterations_per_epoch,
            grad_accumulation: self.grad_accumulation,
            total_steps: self.total_steps(),
            warmup_steps: self.warmup_steps(),
            iteration: 0,
        })
    }
}

/// The schedule itself; its record is the number of iterations already stepped (resume).
#[derive(Clone, Debug, PartialEq)]
pub struct WarmupLinearDecay {
    iterations_per_epoch: usize,
    grad_accumulation: usize,
    total_steps: usize,
    warmup_steps: usize,
    iteration: usize,
}

impl WarmupLinearDecay {
    /// The factor for 0-based optimiser step `step`, exactly HF's `lr_lambda`:
    /// `step / warmup` while warming up, then `max(0, (total - step) / (total - warmup))`.
    pub fn factor_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return step as f64 / self.warmup_steps.max(1) as f64;
        }
        let remaining = self.total_steps.saturating_sub(step) as f64;
        remaining / self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64
    }

    /// The 0-based optimiser step that the 0-based iteration `iteration` contributes to.
    /// Iterations past an epoch's last complete group feed no step; they get the next one's.
    pub fn optimizer_step_of(&self, iteration: usize) -> usize {
        let epoch = iteration / self.iterations_per_epoch;
        let within = iteration % self.iterations_per_epoch;
        let steps_per_epoch = self.iterations_per_epoch / self.grad_accumulation;
        epoch * steps_per_epoch + within / self.grad_accumulation
    }

    /// Optimiser steps over the whole run.
    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    /// Warm-up optimiser steps.
    pub fn warmup_steps(&self) -> usize {
        self.warmup_steps
    }
}

impl LrScheduler for WarmupLinearDecay {
    type Record<B: Backend> = usize;

    fn step(&mut self) -> LearningRate {
        // HF steps the scheduler AFTER each optimiser step, so optimiser step s uses factor(s):
        // the first step runs at factor 0 when there is a warm-up.
        let factor = self.factor_at(self.optimizer_step_of(self.iteration));
        self.iteration += 1;
        factor
    }

    fn to_record<B: Backend>(&self) -> Self::Record<B> {
        self.iteration
    }

    fn load_record<B: Backend>(mut self, record: Self::Record<B>) -> Self {
        self.iteration = record;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn schedule(iterations: usize, epochs: usize, accumulation: usize) -> WarmupLinearDecay {
        WarmupLinearDecayConfig::new(iterations, epochs)
            .with_grad_accumulation(accumulation)
            .init()
            .unwrap()
    }

    #[test]
    fn factor_at_start_end_of_warmup_mid_decay_and_end() {
        // 100 steps per epoch, 10 epochs: 1000 steps, 60 of warm-up.
        let s = schedule(100, 10, 1);
        assert_eq!((s.total_steps(), s.warmup_steps()), (1000, 60));
        assert_eq!(s.factor_at(0), 0.0);
        assert_eq!(s.factor_at(30), 0.5);
        assert_eq!(s.factor_at(59), 59.0 / 60.0);
        assert_eq!(s.factor_at(60), 1.0);
        assert_eq!(s.factor_at(530), 0.5);
        assert_eq!(s.factor_at(999), 1.0 / 940.0);
        assert_eq!(s.factor_at(1000), 0.0);
        assert_eq!(s.factor_at(5000), 0.0);
    }

    #[test]
    fn step_yields_factor_of_each_optimizer_step_in_order() {
        let mut s = schedule(100, 10, 1);
        let seen: Vec<f64> = (0..1000).map(|_| s.step()).collect();
        let expected: Vec<f64> = (0..1000).map(|i| s.factor_at(i)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn accumulation_counts_optimizer_steps_and_drops_epoch_remainders() {
        // 7 iterations per epoch, accumulation 3: steps after iterations 3 and 6; the 7th
        // iteration's gradient is dropped by burn. 2 steps per epoch, 3 epochs.
        let mut s = schedule(7, 3, 3);
        assert_eq!(s.total_steps(), 6);
        let factors: Vec<f64> = (0..21).map(|_| s.step()).collect();
        // The Learner steps the optimiser at 1-based iterations 3, 6, 10, 13, 17, 20.
        let used: Vec<f64> = [3, 6, 10, 13, 17, 20]
            .iter()
            .map(|i| factors[i - 1])
            .collect();
        let expected: Vec<f64> = (0..6).map(|step| s.factor_at(step)).collect();
        assert_eq!(used, expected);
    }

    #[test]
    fn record_round_trip_resumes_the_sequence() {
        let mut s = schedule(10, 5, 2);
        for _ in 0..17 {
            s.step();
        }
        let record = s.to_record::<Cpu>();
        let mut resumed = schedule(10, 5, 2).load_record::<Cpu>(record);
        let next: Vec<f64> = (0..20).map(|_| s.step()).collect();
        let next_resumed: Vec<f64> = (0..20).map(|_| resumed.step()).collect();
        assert_eq!(next, next_resumed);
    }

    #[test]
    fn rejects_a_run_without_optimizer_steps() {
        let err = WarmupLinearDecayConfig::new(2, 3)
            .with_grad_accumulation(4)
            .init()
            .unwrap_err();
        assert!(err.to_string().contains("iterations_per_epoch"), "{err}");
    }
}
