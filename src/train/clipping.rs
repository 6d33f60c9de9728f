//! Clipping of the GLOBAL gradient norm, as PyTorch's `clip_grad_norm_` does (ATLOP clips at
//! 1.0): `total = sqrt(sum over all parameters of ||g||^2)`, and every gradient is multiplied
//! by `max_norm / (total + 1e-6)` when that is below 1.
//!
//! burn's `GradientClippingConfig::Norm` clips each tensor by its OWN norm, a different rule.
//! `GradientsParams` cannot be iterated on its own, so these functions visit the module to
//! find which parameter ids (and tensor ranks) to read.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

/// Added to the norm before dividing, as `clip_grad_norm_` does.
const NORM_EPSILON: f64 = 1e-6;

/// Global L2 norm of all gradients in `grads` that belong to `module`'s parameters.
pub fn global_norm<B, M>(module: &M, grads: &GradientsParams) -> f64
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let mut visitor = SquaredNorms::<B> {
        grads,
        squares: Vec::new(),
        on_host: 0.0,
    };
    module.visit(&mut visitor);
    let on_host = visitor.on_host;
    let Some(first) = visitor.squares.first() else {
        return on_host.sqrt();
    };
    // One device read for the whole sum: [n_params] -> scalar.
    let device = first.device();
    let squares: Vec<_> = visitor
        .squares
        .into_iter()
        .map(|square| square.to_device(&device))
        .collect();
    let total: f64 = Tensor::cat(squares, 0).sum().into_scalar().elem();
    (total + on_host).sqrt()
}

/// Multiplies every gradient of `module`'s parameters by `factor`.
pub fn scale_grads<B, M>(module: &M, grads: GradientsParams, factor: f64) -> GradientsParams
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    if factor == 1.0 {
        return grads;
    }
    let mut visitor = Scaler::<B> {
        grads,
        factor,
        _backend: std::marker::PhantomData,
    };
    module.visit(&mut visitor);
    visitor.grads
}

/// The factor `clip_grad_norm_` applies for a gradient of global norm `total`.
pub fn clip_factor(total_norm: f64, max_norm: f64) -> f64 {
    (max_norm / (total_norm + NORM_EPSILON)).min(1.0)
}

/// Clips `grads` to a global norm of `max_norm`; returns them with their norm BEFORE clipping
/// (what `clip_grad_norm_` returns).
pub fn clip_global_norm<B, M>(
    module: &M,
    grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, f64)
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let total = global_norm::<B, M>(module, &grads);
    let grads = scale_grads::<B, M>(module, grads, clip_factor(total, max_norm));
    (grads, total)
}

struct SquaredNorms<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    // one [1] tensor per parameter with a gradient that stays on its device
    squares: Vec<Tensor<B::InnerBackend, 1>>,
    // the sum of the squares computed by `kernels::adamw::squared_sum` (burn-flex in f32)
    on_host: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorms<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            match host_squared_sum(grad) {
                Ok(sum) => self.on_host += sum,
                Err(grad) => self.squares.push(grad.square().sum()),
            }
        }
    }
}

/// `sum g^2` by the parallel kernel when `grad` is an f32 burn-flex tensor (and the AdamW
/// kernels are not switched off); the tensor back otherwise.
fn host_squared_sum<B: Backend, const D: usize>(grad: Tensor<B, D>) -> Result<f64, Tensor<B, D>> {
    use crate::kernels::{downcast, f32_values, fused_backend, Kernel};
    if !fused_backend::<B>(Kernel::AdamW) || grad.dtype() != burn::tensor::DType::F32 {
        return Err(grad);
    }
    let grad = downcast::<Tensor<B, D>, Tensor<crate::backend::Cpu, D>>(grad)?;
    let primitive = grad.into_primitive().tensor();
    let values = f32_values(&primitive).expect("the dtype was checked to be f32");
    Ok(crate::kernels::adamw::squared_sum(&values))
}

struct Scaler<B> {
    grads: GradientsParams,
    factor: f64,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scaler<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads
                .register::<B::InnerBackend, D>(param.id, grad.mul_scalar(self.factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::module::Module;
    use burn::tensor::Tensor;

    type B = CpuAutodiff;
    type Cpu1 = crate::backend::Cpu;

    /// Two parameters: a [2] vector and a [1] vector.
    #[derive(Module, Debug)]
    struct Pair<B: burn::tensor::backend::Backend> {
        a: Param<Tensor<B, 1>>,
        b: Param<Tensor<B, 1>>,
    }

    fn pair_with_grads(ga: [f32; 2], gb: [f32; 1]) -> (Pair<B>, GradientsParams) {
        let device = Default::default();
        let pair = Pair::<B> {
            a: Param::from_tensor(Tensor::zeros([2], &device)),
            b: Param::from_tensor(Tensor::zeros([1], &device)),
        };
        let mut grads = GradientsParams::new();
        grads.register(pair.a.id, Tensor::<Cpu1, 1>::from_data(ga, &device));
        grads.register(pair.b.id, Tensor::<Cpu1, 1>::from_data(gb, &device));
        (pair, grads)
    }

    fn values(grads: &GradientsParams, id: burn::module::ParamId) -> Vec<f32> {
        let grad: Tensor<Cpu1, 1> = grads.get(id).unwrap();
        grad.into_data().to_vec().unwrap()
    }

    #[test]
    fn global_norm_of_3_4_and_12_is_13_and_is_clipped_to_one() {
        let (pair, grads) = pair_with_grads([3.0, 4.0], [12.0]);
        let (clipped, total) = clip_global_norm(&pair, grads, 1.0);
        assert!((total - 13.0).abs() < 1e-9, "total {total}");
        let scale = 1.0 / (13.0 + 1e-6);
        let expected_a = [3.0 * scale, 4.0 * scale];
        for (got, want) in values(&clipped, pair.a.id).iter().zip(expected_a) {
            assert!((*got as f64 - want).abs() < 1e-7, "{got} vs {want}");
        }
        let got_b = values(&clipped, pair.b.id)[0] as f64;
        assert!((got_b - 12.0 * scale).abs() < 1e-7);
        assert!((global_norm(&pair, &clipped) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gradients_below_the_limit_are_left_unchanged() {
        let (pair, grads) = pair_with_grads([0.3, 0.4], [0.0]);
        let (clipped, total) = clip_global_norm(&pair, grads, 1.0);
        assert!((total - 0.5).abs() < 1e-7);
        assert_eq!(values(&clipped, pair.a.id), vec![0.3, 0.4]);
    }

    #[test]
    fn scale_multiplies_every_gradient() {
        let (pair, grads) = pair_with_grads([3.0, 4.0], [12.0]);
        let scaled = scale_grads(&pair, grads, 0.5);
        assert_eq!(values(&scaled, pair.a.id), vec![1.5, 2.0]);
        assert_eq!(values(&scaled, pair.b.id), vec![6.0]);
    }
}
