//! burn's AdamW with the update fused into one pass on burn-flex ([`crate::kernels::adamw`]).
//!
//! [`FusedAdamW`] is a burn `SimpleOptimizer` whose state is burn's own `AdamWState`, so the
//! optimiser records (`optim-<epoch>` checkpoints) are the same as with burn's `AdamW`: runs
//! resume across the change in either direction. On any other backend, dtype or option
//! (AMSGrad), and with `ATLOP_UNFUSED=adamw`, it hands the step to burn's `AdamW` unchanged.
//!
//! It also multiplies each gradient by the step's averaging-and-clipping factor
//! ([`FusedAdamW::scale_gradients_by`]) inside that pass: as a pass of its own (burn's
//! `mul_scalar` on one thread) that was 4 ms of CPU a MiniLM step. `SimpleOptimizer::step` has no
//! room for it, so the factor is shared state the owner sets before each step.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use burn::backend::flex::FlexTensor;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, SimpleOptimizer,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Device, Tensor, TensorPrimitive};

use crate::backend::Cpu;
use crate::kernels::adamw::{update, AdamWScalars};
use crate::kernels::{downcast, f32_values, fused_backend, Kernel};

/// AdamW (no AMSGrad) with burn's arithmetic and state; see the module documentation.
#[derive(Clone)]
pub struct FusedAdamW {
    burn: AdamW,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    /// The gradient factor of the coming steps, as `f32` bits (1.0 until set); shared by the
    /// clones of one optimiser.
    grad_scale: Arc<AtomicU32>,
}

impl FusedAdamW {
    /// The optimiser for burn's `config` values (AMSGrad and cautious weight decay stay off).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, weight_decay: f32) -> Self {
        let burn = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        FusedAdamW {
            burn,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            grad_scale: Arc::new(AtomicU32::new(1f32.to_bits())),
        }
    }

    /// Multiplies every gradient of the following steps by `factor` (in `f32`, as burn's
    /// `mul_scalar`) before the update; 1 leaves them as they are.
    pub fn scale_gradients_by(&self, factor: f32) {
        self.grad_scale.store(factor.to_bits(), Ordering::Relaxed);
    }

    fn grad_scale(&self) -> f32 {
        f32::from_bits(self.grad_scale.load(Ordering::Relaxed))
    }

    /// Wrapped in burn's adaptor, as `AdamWConfig::init` does for burn's `AdamW`.
    pub fn init<M: AutodiffModule<B>, B: AutodiffBackend>(self) -> OptimizerAdaptor<Self, M, B> {
        OptimizerAdaptor::from(self)
    }
}

impl<B: Backend> SimpleOptimizer<B> for FusedAdamW {
    type State<const D: usize> = AdamWState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let scale = self.grad_scale();
        let unfused = |(tensor, grad, state): Inputs<B, D>| {
            let grad = if scale == 1.0 {
                grad
            } else {
                grad.mul_scalar(scale)
            };
            self.burn.step(lr, tensor, grad, state)
        };
        if !fused_backend::<B>(Kernel::AdamW) {
            return unfused((tensor, grad, state));
        }
        match fused_step::<B, D>(self, lr, tensor, grad, state) {
            Ok((tensor, state)) => (tensor, Some(state)),
            Err(inputs) => unfused(inputs),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device<B>) -> Self::State<D> {
        <AdamW as SimpleOptimizer<B>>::to_device(state, device)
    }
}

/// One parameter's step on the concrete CPU backend: `(tensor, grad, state)`.
type CpuStep<const D: usize> = (Tensor<Cpu, D>, Tensor<Cpu, D>, Option<AdamWState<Cpu, D>>);
type Inputs<B, const D: usize> = (Tensor<B, D>, Tensor<B, D>, Option<AdamWState<B, D>>);

/// The fused update when `B` is burn-flex and everything is f32 without AMSGrad state; the
/// inputs back otherwise.
fn fused_step<B: Backend, const D: usize>(
    optim: &FusedAdamW,
    lr: LearningRate,
    tensor: Tensor<B, D>,
    grad: Tensor<B, D>,
    state: Option<AdamWState<B, D>>,
) -> Result<(Tensor<B, D>, AdamWState<B, D>), Inputs<B, D>> {
    let (tensor, grad, state) = downcast::<Inputs<B, D>, CpuStep<D>>((tensor, grad, state))?;
    let mut tensors = vec![&tensor, &grad];
    if let Some(s) = &state {
        tensors.extend([&s.momentum.moment_1, &s.momentum.moment_2]);
    }
    let f32s = tensors.iter().all(|t| t.dtype() == DType::F32);
    let amsgrad = state
        .as_ref()
        .is_some_and(|s| s.momentum.max_moment_2.is_some());
    if !f32s || amsgrad {
        return Err(same_type((tensor, grad, state)));
    }
    let (time, moments) = match state {
        Some(s) => (
            s.momentum.time + 1,
            Some((s.momentum.moment_1, s.momentum.moment_2)),
        ),
        None => (1, None),
    };
    let shape = tensor.shape();
    let mut params = owned(tensor.into_primitive().tensor());
    let grads = grad.into_primitive().tensor();
    let grads = f32_values(&grads).expect("the dtype is f32");
    let first = moments.is_none();
    let (mut m, mut v) = match moments {
        Some((m, v)) => (
            owned(m.into_primitive().tensor()),
            owned(v.into_primitive().tensor()),
        ),
        None => (
            FlexTensor::zeros(shape.clone(), DType::F32),
            FlexTensor::zeros(shape, DType::F32),
        ),
    };
    let scalars = AdamWScalars::new(
        optim.beta_1,
        optim.beta_2,
        optim.epsilon,
        optim.weight_decay,
        lr,
        time,
    )
    .scaling_gradients_by(optim.grad_scale());
    update(
        params.storage_mut::<f32>(),
        &grads,
        m.storage_mut::<f32>(),
        v.storage_mut::<f32>(),
        first,
        scalars,
    );
    let tensor = |t: FlexTensor| Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(t));
    let state = AdamWState {
        momentum: AdaptiveMomentumState {
            time,
            moment_1: tensor(m),
            moment_2: tensor(v),
            max_moment_2: None,
        },
    };
    Ok(same_type((tensor(params), state)))
}

/// Moves a value back from the concrete backend to `B`, which it is (the downcast to it
/// succeeded).
fn same_type<A: 'static, T: 'static>(value: A) -> T {
    downcast(value).unwrap_or_else(|_| unreachable!("the downcast to Cpu succeeded, so B is Cpu"))
}

/// `tensor` contiguous from offset 0, so that its storage holds exactly its elements in order
/// (copied only when it is a view; `storage_mut` copies it when shared).
fn owned(tensor: FlexTensor) -> FlexTensor {
    match tensor.layout().contiguous_offsets() {
        Some((0, end)) if end == tensor.layout().shape().num_elements() => tensor,
        _ => tensor.to_contiguous(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_path_serves_f32_cpu_tensors_and_keeps_burns_state() {
        let device = Default::default();
        let optim = FusedAdamW::new(0.9, 0.999, 1e-6, 0.0);
        let tensor = Tensor::<Cpu, 1>::from_floats([1.0, -2.0, 3.0], &device);
        let grad = Tensor::<Cpu, 1>::from_floats([0.5, 0.25, -1.0], &device);
        let Ok((first, state)) = fused_step(&optim, 0.1, tensor.clone(), grad.clone(), None) else {
            panic!("the fused path refused f32 CPU tensors");
        };
        assert_eq!(state.momentum.time, 1);
        let (burns, burn_state) = optim.burn.step(0.1, tensor, grad.clone(), None);
        assert_eq!(first.to_data(), burns.to_data());
        let burn_state = burn_state.unwrap();
        assert_eq!(
            state.momentum.moment_2.to_data(),
            burn_state.momentum.moment_2.to_data()
        );
        let Ok((_, state)) = fused_step(&optim, 0.1, first, grad, Some(state)) else {
            panic!("the fused path refused its own state");
        };
        assert_eq!(state.momentum.time, 2);
    }
}
