//! LayerNorm (Ba et al. 2016) over the last dimension with its own backward. burn-flex has a
//! fused forward, but under autodiff burn decomposes LayerNorm into about eight tensor ops
//! forward and twice that backward, several of them broadcasts over strided views, all on one
//! thread; the encoder runs thirteen of them per step. Here rows are normalised in parallel, and
//! the backward pass is one pass over the rows plus a reduction for `gamma` and `beta`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::nn::LayerNorm;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::math::{self, simd_fn};
use super::{downcast, f32_values, flex_tensor, record, Kernel};
use crate::backend::{Cpu, CpuAutodiff};

/// Rows per parallel task.
const ROWS: usize = 32;

simd_fn! {
    /// Normalises each row of `x` (`width` wide) into `y`; writes each row's mean and
    /// reciprocal standard deviation into `stats` as pairs.
    fn normalize_rows(
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
        y: &mut [f32],
        stats: &mut [f32],
    ) {
        let width = gamma.len();
        let rows = x.chunks(width).zip(y.chunks_mut(width)).zip(stats.chunks_mut(2));
        for ((x, y), stats) in rows {
            let mean = math::sum(x) / width as f32;
            y.iter_mut().zip(x).for_each(|(y, x)| *y = (x - mean) * (x - mean));
            let rstd = 1.0 / (math::sum(y) / width as f32 + eps).sqrt();
            for (((y, x), g), b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
                *y = (x - mean) * rstd * g + b;
            }
            stats[0] = mean;
            stats[1] = rstd;
        }
    }
}

simd_fn! {
    /// Backward over rows: `dx` for each row, and `dgamma`, `dbeta` accumulated over them.
    /// `scratch` is one row wide.
    fn normalize_rows_backward(
        x: &[f32],
        dy: &[f32],
        stats: &[f32],
        gamma: &[f32],
        dx: &mut [f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
        scratch: &mut [f32],
    ) {
        let width = gamma.len();
        let rows = x.chunks(width).zip(dy.chunks(width)).zip(stats.chunks(2));
        for (((x, dy), stats), dx) in rows.zip(dx.chunks_mut(width)) {
            let (mean, rstd) = (stats[0], stats[1]);
            // scratch = xhat; dx = dy * gamma (the gradient of xhat)
            scratch.iter_mut().zip(x).for_each(|(h, x)| *h = (x - mean) * rstd);
            dx.iter_mut().zip(dy).zip(gamma).for_each(|((d, dy), g)| *d = dy * g);
            let mean_d = math::sum(dx) / width as f32;
            let mut lanes = [0f32; 16];
            for (k, (d, h)) in dx.iter().zip(scratch.iter()).enumerate() {
                lanes[k % 16] += d * h;
            }
            let mean_dh = lanes.iter().sum::<f32>() / width as f32;
            for (d, h) in dx.iter_mut().zip(scratch.iter()) {
                *d = rstd * (*d - mean_d - h * mean_dh);
            }
            for (((dg, db), dy), h) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(dy).zip(scratch.iter()) {
                *dg += dy * h;
                *db += dy;
            }
        }
    }
}

/// Forward on slices: the output and per-row (mean, 1 / std).
fn forward_values(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    let width = gamma.len();
    let rows = x.len() / width;
    let mut y = vec![0f32; x.len()];
    let mut stats = vec![0f32; rows * 2];
    y.par_chunks_mut(ROWS * width)
        .zip(stats.par_chunks_mut(ROWS * 2))
        .zip(x.par_chunks(ROWS * width))
        .for_each(|((y, stats), x)| normalize_rows(x, gamma, beta, eps, y, stats));
    (y, stats)
}

/// Gradients of the input, gamma and beta.
fn backward_values(x: &[f32], dy: &[f32], stats: &[f32], gamma: &[f32]) -> [Vec<f32>; 3] {
    let width = gamma.len();
    let mut dx = vec![0f32; x.len()];
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(ROWS * width)
        .zip(x.par_chunks(ROWS * width))
        .zip(dy.par_chunks(ROWS * width).zip(stats.par_chunks(ROWS * 2)))
        .map(|((dx, x), (dy, stats))| {
            let (mut dgamma, mut dbeta) = (vec![0f32; width], vec![0f32; width]);
            let mut scratch = vec![0f32; width];
            let (dg, db, scratch) = (&mut dgamma, &mut dbeta, &mut scratch);
            normalize_rows_backward(x, dy, stats, gamma, dx, dg, db, scratch);
            (dgamma, dbeta)
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0f32; width], vec![0f32; width]);
    for (g, b) in partials {
        dgamma.iter_mut().zip(g).for_each(|(a, v)| *a += v);
        dbeta.iter_mut().zip(b).for_each(|(a, v)| *a += v);
    }
    [dx, dgamma, dbeta]
}

#[derive(Debug, Clone)]
struct Saved {
    x: FlexTensor,
    gamma: FlexTensor,
    stats: std::sync::Arc<Vec<f32>>,
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Cpu, 3> for LayerNormBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let values = (f32_values(&s.x), f32_values(&s.gamma), f32_values(&grad));
        // The forward pass checked every input is f32; the gradient has their dtype.
        let (Some(x), Some(gamma), Some(dy)) = values else {
            unreachable!("fused LayerNorm: inputs were checked to be f32 in the forward pass")
        };
        let parts = backward_values(&x, &dy, &s.stats, &gamma);
        let shapes = [s.x.shape().to_vec(), vec![gamma.len()], vec![gamma.len()]];
        for ((parent, values), shape) in ops.parents.into_iter().zip(parts).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Cpu>(node.id, flex_tensor(values, &shape));
            }
        }
    }
}

/// `norm.forward(x)`: fused on burn-flex in f32 (with a beta), burn's op otherwise. `eps` must
/// be the one `norm` was built with (burn keeps it private).
pub fn layer_norm<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    eps: f64,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    if super::fused_backend::<B>(Kernel::LayerNorm) {
        if let Some(y) = try_fused(norm, eps as f32, &x) {
            return y;
        }
    }
    norm.forward(x)
}

fn try_fused<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    eps: f32,
    x: &Tensor<B, D>,
) -> Option<Tensor<B, D>> {
    let gamma = norm.gamma.val();
    let beta = norm.beta.as_ref()?.val();
    if x.dims()[D - 1] != gamma.dims()[0] || gamma.dims()[0] == 0 {
        return None;
    }
    if let Ok(x) = downcast::<_, Tensor<CpuAutodiff, D>>(x.clone()) {
        let gamma = downcast::<_, Tensor<CpuAutodiff, 1>>(gamma).ok()?;
        let beta = downcast::<_, Tensor<CpuAutodiff, 1>>(beta).ok()?;
        return downcast(tracked(x, gamma, beta, eps)?).ok();
    }
    let x = downcast::<_, Tensor<Cpu, D>>(x.clone()).ok()?;
    let gamma = downcast::<_, Tensor<Cpu, 1>>(gamma)
        .ok()?
        .into_primitive()
        .tensor();
    let beta = downcast::<_, Tensor<Cpu, 1>>(beta)
        .ok()?
        .into_primitive()
        .tensor();
    let x = x.into_primitive().tensor();
    let (y, _) = forward_on(&x, &gamma, &beta, eps)?;
    downcast(Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(y))).ok()
}

fn forward_on(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    eps: f32,
) -> Option<(FlexTensor, Vec<f32>)> {
    let (xv, g, b) = (f32_values(x)?, f32_values(gamma)?, f32_values(beta)?);
    let (y, stats) = forward_values(&xv, &g, &b, eps);
    Some((flex_tensor(y, x.shape().as_slice()), stats))
}

fn tracked<const D: usize>(
    x: Tensor<CpuAutodiff, D>,
    gamma: Tensor<CpuAutodiff, 1>,
    beta: Tensor<CpuAutodiff, 1>,
    eps: f32,
) -> Option<Tensor<CpuAutodiff, D>> {
    let inputs = [
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.into_primitive().tensor(),
    ];
    let [x, gamma, beta] = inputs.each_ref().map(|t| &t.primitive);
    let (y, stats) = forward_on(x, gamma, beta, eps)?;
    let out = record(LayerNormBackward, inputs, y, |[x, gamma, _]| Saved {
        x,
        gamma,
        stats: std::sync::Arc::new(stats),
    });
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::AutodiffModule;
    use burn::nn::LayerNormConfig;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_layer_norm_and_gradients_match_burns() {
        type B = CpuAutodiff;
        let device = Default::default();
        let norm = LayerNormConfig::new(48)
            .with_epsilon(1e-12)
            .init::<B>(&device);
        // Non-trivial gamma and beta, so their gradients are checked through real values.
        let mut norm = norm;
        norm.gamma = burn::module::Param::from_tensor(Tensor::random(
            [48],
            Distribution::Normal(1.0, 0.5),
            &device,
        ));
        let x = Tensor::<B, 3>::random([3, 37, 48], Distribution::Normal(1.0, 2.0), &device)
            .require_grad();
        let w = Tensor::<B, 3>::random([3, 37, 48], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 3>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            let beta = norm.beta.as_ref().expect("beta").val();
            (
                y.into_data(),
                x.grad(&grads).expect("tracked").into_data(),
                norm.gamma.val().grad(&grads).expect("tracked").into_data(),
                beta.grad(&grads).expect("tracked").into_data(),
            )
        };
        let want = run(norm.forward(x.clone()));
        let got = run(layer_norm(&norm, 1e-12, x.clone()));
        let tol = Tolerance::absolute(1e-4);
        got.0.assert_approx_eq::<f32>(&want.0, tol);
        got.1.assert_approx_eq::<f32>(&want.1, tol);
        got.2.assert_approx_eq::<f32>(&want.2, tol);
        got.3.assert_approx_eq::<f32>(&want.3, tol);
        let plain = layer_norm(&norm.valid(), 1e-12, x.inner());
        plain.into_data().assert_approx_eq::<f32>(&want.0, tol);
    }
}
