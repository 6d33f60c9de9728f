//! `y = x W + b` over the rows of `x [rows, d_in]` (burn's `Linear`, weight `[d_in, d_out]`),
//! forward and backward, with `gemm` writing straight into fresh buffers.
//!
//! burn-flex's matmul allocates its output zeroed (a serial `memset` on the calling thread
//! while the workers wait), then the bias is added in another pass, and under autodiff the
//! backward allocates zeroed buffers again for both products and reduces the bias gradient on
//! one thread. The encoder runs 36 such layers a MiniLM step forward and twice that backward:
//! `perf` put those zero fills and the bias passes at about 5% of a step, all of it time when
//! only one core works. Here the output starts as the bias, filled in parallel, and `gemm`
//! accumulates the product onto it; the backward's products write into uninitialised buffers
//! (`gemm` does not read them), and the bias gradient is summed over fixed row blocks in
//! parallel, then over the blocks in order, so it is the same from run to run.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::{downcast, f32_values, flex_tensor, matmul, par_filled, record, Kernel, Threads, View};
use crate::backend::{Cpu, CpuAutodiff};

/// Rows per parallel task when filling the bias and summing its gradient.
const ROWS: usize = 64;

/// `linear.forward(x)` for `x [rows, d_in]`: fused on burn-flex in f32 when the layer has a
/// bias, burn's op otherwise.
pub fn linear<B: Backend>(linear: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    if super::fused_backend::<B>(Kernel::Linear) {
        if let Some(y) = try_fused(linear, &x) {
            return y;
        }
    }
    linear.forward(x)
}

fn try_fused<B: Backend>(linear: &Linear<B>, x: &Tensor<B, 2>) -> Option<Tensor<B, 2>> {
    let weight = linear.weight.val();
    let bias = linear.bias.as_ref()?.val();
    if x.dims()[1] != weight.dims()[0] {
        return None;
    }
    if let Ok(x) = downcast::<_, Tensor<CpuAutodiff, 2>>(x.clone()) {
        let weight = downcast::<_, Tensor<CpuAutodiff, 2>>(weight).ok()?;
        let bias = downcast::<_, Tensor<CpuAutodiff, 1>>(bias).ok()?;
        return downcast(tracked(x, weight, bias)?).ok();
    }
    let primitive = |t: Tensor<Cpu, 2>| t.into_primitive().tensor();
    let x = primitive(downcast(x.clone()).ok()?);
    let weight = primitive(downcast(weight).ok()?);
    let bias = downcast::<_, Tensor<Cpu, 1>>(bias)
        .ok()?
        .into_primitive()
        .tensor();
    let y = forward_on(&x, &weight, &bias)?;
    downcast(Tensor::<Cpu, 2>::from_primitive(TensorPrimitive::Float(y))).ok()
}

fn forward_on(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> Option<FlexTensor> {
    let (xv, w, b) = (f32_values(x)?, f32_values(weight)?, f32_values(bias)?);
    let d_out = b.len();
    let rows = x.shape()[0];
    let y = forward_values(&xv, &w, &b, rows);
    Some(flex_tensor(y, &[rows, d_out]))
}

/// `x [rows, d_in] . w [d_in, d_out] + b`.
fn forward_values(x: &[f32], w: &[f32], b: &[f32], rows: usize) -> Vec<f32> {
    let d_out = b.len();
    let d_in = x.len().checked_div(rows).unwrap_or(0);
    let mut y = par_filled(rows * d_out, ROWS * d_out, |_, part| {
        for row in part.chunks_exact_mut(d_out) {
            row.copy_from_slice(b);
        }
    });
    if rows > 0 && d_out > 0 && d_in > 0 {
        // SAFETY: `y` is `rows x d_out`, `x` is `rows x d_in`, `w` is `d_in x d_out`, all
        // row-major and distinct buffers.
        unsafe {
            matmul(
                (rows, d_out, d_in),
                y.as_mut_ptr(),
                d_out,
                true,
                View::new(x.as_ptr(), d_in, 1),
                View::new(w.as_ptr(), d_out, 1),
                1.0,
                Threads::All,
            )
        };
    }
    y
}

/// `m x n` values written by `gemm` (which does not read its destination when not
/// accumulating) into a buffer that is never zero-filled.
fn product((m, n, k): (usize, usize, usize), lhs: View, rhs: View) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    if m * n > 0 {
        if k == 0 {
            out.resize(m * n, 0.0);
            return out;
        }
        // SAFETY: the destination has capacity `m * n`; `gemm` overwrites every element of it
        // without reading (accumulate = false), after which all `m * n` values are initialised.
        unsafe {
            matmul(
                (m, n, k),
                out.as_mut_ptr(),
                n,
                false,
                lhs,
                rhs,
                1.0,
                Threads::All,
            );
            out.set_len(m * n);
        }
    }
    out
}

/// The gradients of `x`, `w` and `b` that are wanted (`wanted[i]`), from `dy [rows, d_out]`.
fn backward_values(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    (rows, d_in, d_out): (usize, usize, usize),
    wanted: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let dx = wanted[0].then(|| {
        // dx = dy . w^T
        product(
            (rows, d_in, d_out),
            View::new(dy.as_ptr(), d_out, 1),
            View::new(w.as_ptr(), d_out, 1).t(),
        )
    });
    let dw = wanted[1].then(|| {
        // dw = x^T . dy
        product(
            (d_in, d_out, rows),
            View::new(x.as_ptr(), d_in, 1).t(),
            View::new(dy.as_ptr(), d_out, 1),
        )
    });
    let db = wanted[2].then(|| {
        let partials: Vec<Vec<f32>> = dy
            .par_chunks(ROWS * d_out.max(1))
            .map(|block| {
                let mut sums = vec![0f32; d_out];
                for row in block.chunks_exact(d_out) {
                    sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                sums
            })
            .collect();
        let mut db = vec![0f32; d_out];
        for sums in partials {
            db.iter_mut().zip(sums).for_each(|(s, v)| *s += v);
        }
        db
    });
    [dx, dw, db]
}

#[derive(Debug, Clone)]
struct Saved {
    x: FlexTensor,
    weight: FlexTensor,
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Cpu, 3> for LinearBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let values = (f32_values(&s.x), f32_values(&s.weight), f32_values(&grad));
        // The forward pass checked every input is f32; the gradient has their dtype.
        let (Some(x), Some(w), Some(dy)) = values else {
            unreachable!("fused Linear: inputs were checked to be f32 in the forward pass")
        };
        let [d_in, d_out] = [s.weight.shape()[0], s.weight.shape()[1]];
        let rows = s.x.shape()[0];
        let wanted = [0, 1, 2].map(|i| ops.parents[i].is_some());
        let parts = backward_values(&x, &w, &dy, (rows, d_in, d_out), wanted);
        let shapes = [vec![rows, d_in], vec![d_in, d_out], vec![d_out]];
        for ((parent, values), shape) in ops.parents.into_iter().zip(parts).zip(shapes) {
            if let (Some(node), Some(values)) = (parent, values) {
                grads.register::<Cpu>(node.id, flex_tensor(values, &shape));
            }
        }
    }
}

fn tracked(
    x: Tensor<CpuAutodiff, 2>,
    weight: Tensor<CpuAutodiff, 2>,
    bias: Tensor<CpuAutodiff, 1>,
) -> Option<Tensor<CpuAutodiff, 2>> {
    let inputs = [
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ];
    let [x, weight, bias] = inputs.each_ref().map(|t| &t.primitive);
    let y = forward_on(x, weight, bias)?;
    let out = record(LinearBackward, inputs, y, |[x, weight, _]| Saved {
        x,
        weight,
    });
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::AutodiffModule;
    use burn::nn::LinearConfig;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_linear_and_its_gradients_match_burns() {
        type B = CpuAutodiff;
        let device = Default::default();
        // Rows not a multiple of the row block; widths not multiples of any SIMD width.
        for (rows, d_in, d_out) in [(150, 37, 53), (1, 5, 3), (64, 384, 96)] {
            let layer = LinearConfig::new(d_in, d_out).init::<B>(&device);
            let x = Tensor::<B, 2>::random([rows, d_in], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let w = Tensor::<B, 2>::random([rows, d_out], Distribution::Normal(0.0, 1.0), &device);
            let run = |y: Tensor<B, 2>| {
                let grads = (y.clone() * w.clone()).sum().backward();
                let weight = layer.weight.val().grad(&grads).expect("weight tracked");
                let bias = layer
                    .bias
                    .as_ref()
                    .unwrap()
                    .val()
                    .grad(&grads)
                    .expect("bias");
                let dx = x.grad(&grads).expect("x tracked");
                [
                    y.into_data(),
                    dx.into_data(),
                    weight.into_data(),
                    bias.into_data(),
                ]
            };
            let want = run(layer.forward(x.clone()));
            let got = run(linear(&layer, x.clone()));
            for (got, want) in got.iter().zip(&want) {
                got.assert_approx_eq::<f32>(want, Tolerance::absolute(1e-4));
            }
            // Without autodiff: the same values.
            let plain = linear(&layer.valid(), x.clone().inner());
            plain
                .into_data()
                .assert_approx_eq::<f32>(&want[0], Tolerance::absolute(1e-4));
        }
    }

    #[test]
    fn a_layer_without_bias_or_another_width_falls_back_to_burns() {
        type B = CpuAutodiff;
        let device = Default::default();
        let layer = LinearConfig::new(8, 4).with_bias(false).init::<B>(&device);
        let x = Tensor::<B, 2>::random([3, 8], Distribution::Default, &device);
        linear(&layer, x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&layer.forward(x).into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn the_bias_gradient_is_the_same_from_run_to_run() {
        let (rows, d_in, d_out) = (1000, 16, 24);
        let values = |n: usize, seed: u32| -> Vec<f32> {
            (0..n)
                .map(|i| ((i as u32).wrapping_mul(2_654_435_761) ^ seed) as f32 / u32::MAX as f32)
                .collect()
        };
        let (x, w, dy) = (
            values(rows * d_in, 1),
            values(d_in * d_out, 2),
            values(rows * d_out, 3),
        );
        let shape = (rows, d_in, d_out);
        let first = backward_values(&x, &w, &dy, shape, [true; 3]);
        let second = backward_values(&x, &w, &dy, shape, [true; 3]);
        assert_eq!(first, second);
        let db = first[2].as_ref().unwrap();
        let want: f32 = (0..rows).map(|r| dy[r * d_out + 5]).sum();
        assert!(
            (db[5] - want).abs() < 1e-3 * want.abs(),
            "{} vs {want}",
            db[5]
        );
        assert!(backward_values(&x, &w, &dy, shape, [false, true, false])[0].is_none());
    }
}
