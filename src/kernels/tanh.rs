//! `tanh` as one parallel SIMD pass forward and one backward, `dy * (1 - y^2)`. burn-flex
//! evaluates it with scalar libm `tanhf` on one thread, and its backward as three more passes;
//! the head's two extractors (Eq. 3-4) apply it to `[pairs, emb]`, about 2 M values a MiniLM
//! step and 2-3% of it.
//!
//! The backward keeps the output `y`, not the input, as PyTorch's does.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::elementwise::Elementwise;
use super::math::{self, simd_fn};

/// tanh for [`Elementwise`]: the backward reads the output.
const TANH: Elementwise = Elementwise {
    name: "tanh",
    values: tanh_values,
    grads: tanh_grads,
    saves_output: true,
};

/// `tanh(x)`: the fused kernel on burn-flex in f32, burn's op elsewhere.
pub fn tanh<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if super::fused_backend::<B>(super::Kernel::Tanh) {
        if let Some(y) = TANH.try_apply(&x) {
            return y;
        }
    }
    x.tanh()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
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
