//! Exact (erf) GELU, `x * Phi(x)` (Hendrycks & Gimpel 2016), as one parallel SIMD pass forward
//! and one backward, `dy * (Phi(x) + x * phi(x))`. burn-flex evaluates it with scalar libm `erf`
//! on one thread, forward and again backward; in the feed-forward block of every layer that was
//! about 8 % of a MiniLM training step.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::math::{normal_cdf_pdf, simd_fn};
use super::{downcast, f32_values, flex_tensor};
use crate::backend::{Cpu, CpuAutodiff};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// GELU of `x`: the fused kernel on burn-flex in f32, burn's op elsewhere.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if super::fused_backend::<B>(super::Kernel::Gelu) {
        if let Some(y) = try_fused(&x) {
            return y;
        }
    }
    activation::gelu(x)
}

fn try_fused<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<Tensor<B, D>> {
    if let Ok(x) = downcast::<_, Tensor<CpuAutodiff, D>>(x.clone()) {
        return downcast(tracked(x)?).ok();
    }
    let x = downcast::<_, Tensor<Cpu, D>>(x.clone()).ok()?;
    let y = forward(&x.into_primitive().tensor())?;
    downcast(Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(y))).ok()
}

simd_fn! {
    /// `y = x * Phi(x)`.
    fn gelu_values(x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * normal_cdf_pdf(x).0;
        }
    }
}

simd_fn! {
    /// `dx = dy * (Phi(x) + x * phi(x))`.
    fn gelu_grads(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            let (cdf, pdf) = normal_cdf_pdf(x);
            *dx = dy * (cdf + x * pdf);
        }
    }
}

fn forward(x: &FlexTensor) -> Option<FlexTensor> {
    let values = f32_values(x)?;
    let mut y = vec![0f32; values.len()];
    y.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK))
        .for_each(|(y, x)| gelu_values(x, y));
    Some(flex_tensor(y, x.shape().as_slice()))
}

/// `dy * GELU'(x)`.
fn backward(x: &FlexTensor, grad: &FlexTensor) -> Option<FlexTensor> {
    let (values, grad_values) = (f32_values(x)?, f32_values(grad)?);
    let mut dx = vec![0f32; values.len()];
    dx.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK).zip(grad_values.par_chunks(CHUNK)))
        .for_each(|(dx, (x, dy))| gelu_grads(x, dy, dx));
    Some(flex_tensor(dx, x.shape().as_slice()))
}

#[derive(Debug)]
struct GeluBackward;

impl Backward<Cpu, 1> for GeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        // The forward pass checked the input is f32; the gradient has its dtype.
        let Some(dx) = backward(&ops.state, &grad) else {
            unreachable!("fused GELU: the input was checked to be f32 in the forward pass")
        };
        grads.register::<Cpu>(node.id, dx);
    }
}

fn tracked<const D: usize>(x: Tensor<CpuAutodiff, D>) -> Option<Tensor<CpuAutodiff, D>> {
    let x = x.into_primitive().tensor();
    let y = forward(&x.primitive)?;
    let out = match GeluBackward
        .prepare::<NoCheckpointing>([x.node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(x.primitive, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_gelu_and_its_gradient_match_burns() {
        type B = CpuAutodiff;
        let device = Default::default();
        let x = Tensor::<B, 2>::random([37, 1000], Distribution::Normal(0.0, 3.0), &device)
            .require_grad();
        let w = Tensor::<B, 2>::random([37, 1000], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 2>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            (y.into_data(), x.grad(&grads).expect("tracked").into_data())
        };
        let (want, want_grad) = run(activation::gelu(x.clone()));
        let (got, got_grad) = run(gelu(x.clone()));
        got.assert_approx_eq::<f32>(&want, Tolerance::absolute(2e-6));
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(2e-6));
        // Without autodiff too.
        let plain = gelu(x.clone().inner());
        plain
            .into_data()
            .assert_approx_eq::<f32>(&want, Tolerance::absolute(2e-6));
    }
}
