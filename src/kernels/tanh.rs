//! `tanh` as one parallel SIMD pass forward and one backward, `dy * (1 - y^2)`. burn-flex
//! evaluates it with scalar libm `tanhf` on one thread, and its backward as three more passes;
//! the head's two extractors (Eq. 3-4) apply it to `[pairs, emb]`, about 2 M values a MiniLM
//! step and 2-3% of it.
//!
//! The backward keeps the output `y`, not the input, as PyTorch's does.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::math::{self, simd_fn};
use super::{downcast, f32_values, flex_tensor};
use crate::backend::{Cpu, CpuAutodiff};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `tanh(x)`: the fused kernel on burn-flex in f32, burn's op elsewhere.
pub fn tanh<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if super::fused_backend::<B>(super::Kernel::Tanh) {
        if let Some(y) = try_fused(&x) {
            return y;
        }
    }
    x.tanh()
}

fn try_fused<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<Tensor<B, D>> {
    if let Ok(x) = downcast::<_, Tensor<CpuAutodiff, D>>(x.clone()) {
        return downcast(tracked(x)?).ok();
    }
    let x = downcast::<_, Tensor<Cpu, D>>(x.clone()).ok()?;
    let y = forward(&x.into_primitive().tensor())?;
    downcast(Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(y))).ok()
}

/// Cephes' `tanhf` (relative error about 2 ulp): an odd polynomial below |x| = 0.625, where
/// `1 - 2 / (e^2x + 1)` would cancel, that formula above, and +-1 beyond |x| = 10 where f32
/// rounds to it. Branch-free, so the loop vectorises.
#[inline(always)]
fn tanh_value(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let large = 1.0 - 2.0 / (math::exp(2.0 * a.min(10.0)) + 1.0);
    let large = if x < 0.0 { -large } else { large };
    let value = if a < 0.625 { small } else { large };
    // NaN in, NaN out (`min` above would turn it into 10, and so into 1).
    if x.is_nan() {
        x
    } else {
        value
    }
}

simd_fn! {
    fn tanh_values(x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = tanh_value(x);
        }
    }
}

simd_fn! {
    /// `dx = dy * (1 - y^2)`.
    fn tanh_grads(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = dy * (1.0 - y * y);
        }
    }
}

fn forward(x: &FlexTensor) -> Option<FlexTensor> {
    let values = f32_values(x)?;
    let mut y = vec![0f32; values.len()];
    y.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK))
        .for_each(|(y, x)| tanh_values(x, y));
    Some(flex_tensor(y, x.shape().as_slice()))
}

/// `dy * tanh'(x)` from the output `y`.
fn backward(y: &FlexTensor, grad: &FlexTensor) -> Option<FlexTensor> {
    let (values, grad_values) = (f32_values(y)?, f32_values(grad)?);
    let mut dx = vec![0f32; values.len()];
    dx.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK).zip(grad_values.par_chunks(CHUNK)))
        .for_each(|(dx, (y, dy))| tanh_grads(y, dy, dx));
    Some(flex_tensor(dx, y.shape().as_slice()))
}

#[derive(Debug)]
struct TanhBackward;

impl Backward<Cpu, 1> for TanhBackward {
    /// The forward output.
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        let Some(dx) = backward(&ops.state, &grad) else {
            unreachable!("fused tanh: the input was checked to be f32 in the forward pass")
        };
        grads.register::<Cpu>(node.id, dx);
    }
}

fn tracked<const D: usize>(x: Tensor<CpuAutodiff, D>) -> Option<Tensor<CpuAutodiff, D>> {
    let x = x.into_primitive().tensor();
    let y = forward(&x.primitive)?;
    let out = match TanhBackward
        .prepare::<NoCheckpointing>([x.node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_tanh_and_its_gradient_match_burns() {
        type B = CpuAutodiff;
        let device = Default::default();
        let x = Tensor::<B, 2>::random([37, 1000], Distribution::Normal(0.0, 2.0), &device)
            .require_grad();
        let w = Tensor::<B, 2>::random([37, 1000], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 2>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            (y.into_data(), x.grad(&grads).expect("tracked").into_data())
        };
        let (want, want_grad) = run(x.clone().tanh());
        let (got, got_grad) = run(tanh(x.clone()));
        got.assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-6));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(2e-6));
        let plain = tanh(x.clone().inner());
        plain
            .into_data()
            .assert_approx_eq::<f32>(&want, Tolerance::absolute(1e-6));
    }

    #[test]
    fn relative_error_is_a_few_ulp_across_the_range() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // -20 .. 20, through both branches and the switch
            let want = (x as f64).tanh();
            let got = tanh_value(x) as f64;
            let err = if want == 0.0 {
                got.abs()
            } else {
                ((got - want) / want).abs()
            };
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
        assert_eq!(tanh_value(0.0), 0.0);
        assert_eq!(tanh_value(30.0), 1.0);
        assert_eq!(tanh_value(-30.0), -1.0);
        // A diverged run must stay visibly diverged.
        assert!(tanh_value(f32::NAN).is_nan());
        let mut y = [0.0; 3];
        tanh_values(&[f32::NAN, 1.0, f32::INFINITY], &mut y);
        assert!(y[0].is_nan() && y[2] == 1.0, "{y:?}");
    }
}
