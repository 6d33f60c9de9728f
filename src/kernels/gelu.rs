//! Exact (erf) GELU, `x * Phi(x)` (Hendrycks & Gimpel 2016), as one parallel SIMD pass forward
//! and one backward, `dy * (Phi(x) + x * phi(x))`. burn-flex evaluates it with scalar libm `erf`
//! on one thread, forward and again backward; in the feed-forward block of every layer that was
//! about 8 % of a MiniLM training step.

use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::elementwise::Elementwise;
use super::math::{normal_cdf_pdf, simd_fn};

/// GELU for [`Elementwise`]: the backward reads the input.
const GELU: Elementwise = Elementwise {
    name: "GELU",
    values: gelu_values,
    grads: gelu_grads,
    saves_output: false,
};

/// GELU of `x`: the fused kernel on burn-flex in f32, burn's op elsewhere.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if super::fused_backend::<B>(super::Kernel::Gelu) {
        if let Some(y) = GELU.try_apply(&x) {
            return y;
        }
    }
    activation::gelu(x)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
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
