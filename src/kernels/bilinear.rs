//! Fused group bilinear (Zhou et al. 2021, Eq. 5): `logits = outer(z_s, z_o) . W + b`, where
//! `outer` holds the per-group outer products `[N, groups * block * block]`.
//!
//! The composite version materialises those features for all pairs at once (2494 pairs x 24576
//! features = 245 MB for the benchmark batch) as 15 000 tiny batched products, then builds a
//! gradient of the same size in the backward pass and reduces it with 30 000 more. Here pairs
//! go through in chunks of [`CHUNK`]: the features of a chunk are filled in parallel, multiplied
//! by `W` at once, and rebuilt in the backward pass (cheaper than keeping them), where the
//! chunk's feature gradient is reduced to `dz_s`, `dz_o` right away. Same products, same
//! numbers; bounded scratch instead of two tensors that grow with the number of pairs.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use rayon::prelude::*;

use super::math::simd_fn;
use super::{downcast, f32_values, flex_tensor, matmul, record, Scratch, Threads, View};
use crate::backend::{Cpu, CpuAutodiff};

/// Pairs per chunk. A chunk's features are `CHUNK x emb x block` floats (100 MB at emb 384 /
/// block 64, 200 MB at 768), held twice in the backward pass. Measured on the step benchmark
/// (2494 pairs, emb 384): 256 pairs 1.44-1.47 s, 512 1.40 s, 1024 1.35 s, 2048 1.35 s with
/// peak RSS 923 / 966 / 1064 / 1258 MB; smaller chunks make narrower products.
const CHUNK: usize = 1024;

/// Sizes of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims {
    pairs: usize,
    groups: usize,
    block: usize,
    classes: usize,
}

impl Dims {
    fn emb(&self) -> usize {
        self.groups * self.block
    }

    fn features(&self) -> usize {
        self.groups * self.block * self.block
    }
}

simd_fn! {
    /// One pair's features: for each group `g`, `out[g, i, j] = head[g, i] * tail[g, j]`.
    fn outer_row(head: &[f32], tail: &[f32], block: usize, out: &mut [f32]) {
        for ((out, head), tail) in out
            .chunks_mut(block * block)
            .zip(head.chunks(block))
            .zip(tail.chunks(block))
        {
            for (row, h) in out.chunks_mut(block).zip(head) {
                row.iter_mut().zip(tail).for_each(|(o, t)| *o = h * t);
            }
        }
    }
}

simd_fn! {
    /// One pair's feature gradient `grad[g, i, j]` reduced to the gradients of its head and
    /// tail: `dh[g, i] = sum_j grad[g, i, j] t[g, j]`, `dt[g, j] = sum_i grad[g, i, j] h[g, i]`.
    fn outer_row_grads(
        grad: &[f32],
        head: &[f32],
        tail: &[f32],
        block: usize,
        dh: &mut [f32],
        dt: &mut [f32],
    ) {
        let groups = grad
            .chunks(block * block)
            .zip(head.chunks(block).zip(tail.chunks(block)))
            .zip(dh.chunks_mut(block).zip(dt.chunks_mut(block)));
        for ((grad, (head, tail)), (dh, dt)) in groups {
            dt.iter_mut().for_each(|d| *d = 0.0);
            for ((row, h), dh) in grad.chunks(block).zip(head).zip(dh.iter_mut()) {
                let mut lanes = [0f32; 16];
                for (k, (g, t)) in row.iter().zip(tail).enumerate() {
                    lanes[k % 16] += g * t;
                }
                *dh = lanes.iter().sum();
                dt.iter_mut().zip(row).for_each(|(d, g)| *d += g * h);
            }
        }
    }
}

/// Features of pairs `rows` into `out` (`rows.len() x features`), in parallel.
fn fill_features(
    dims: Dims,
    head: &[f32],
    tail: &[f32],
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let emb = dims.emb();
    out.par_chunks_mut(dims.features())
        .zip(rows)
        .for_each(|(out, r)| {
            outer_row(
                &head[r * emb..(r + 1) * emb],
                &tail[r * emb..(r + 1) * emb],
                dims.block,
                out,
            )
        });
}

/// `logits [pairs, classes] = features . weight + bias`.
fn forward_values(
    dims: Dims,
    head: &[f32],
    tail: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let Dims { pairs, classes, .. } = dims;
    let mut logits: Vec<f32> = (0..pairs).flat_map(|_| bias.iter().copied()).collect();
    // Every element is written by `fill_features` before the product reads it.
    let mut features = Scratch::take(CHUNK.min(pairs) * dims.features());
    for start in (0..pairs).step_by(CHUNK) {
        let rows = start..(start + CHUNK).min(pairs);
        let chunk = &mut features[..rows.len() * dims.features()];
        fill_features(dims, head, tail, rows.clone(), chunk);
        // SAFETY: chunk is rows x features, weight features x classes, and the destination is
        // rows x classes inside `logits`.
        unsafe {
            matmul(
                (rows.len(), classes, dims.features()),
                logits[start * classes..].as_mut_ptr(),
                classes,
                true,
                View::new(chunk.as_ptr(), dims.features(), 1),
                View::new(weight.as_ptr(), classes, 1),
                1.0,
                Threads::All,
            )
        };
    }
    logits
}

/// Gradients of head, tail, weight and bias from the gradient of the logits.
fn backward_values(
    dims: Dims,
    (head, tail, weight): (&[f32], &[f32], &[f32]),
    grad: &[f32],
) -> [Vec<f32>; 4] {
    let Dims { pairs, classes, .. } = dims;
    let (emb, features) = (dims.emb(), dims.features());
    let mut d_head = vec![0f32; pairs * emb];
    let mut d_tail = vec![0f32; pairs * emb];
    let mut d_weight = vec![0f32; features * classes];
    let mut d_bias = vec![0f32; classes];
    for row in grad.chunks(classes) {
        d_bias.iter_mut().zip(row).for_each(|(d, g)| *d += g);
    }
    // Fully written before being read: by `fill_features`, and by a product that does not
    // accumulate into its destination.
    let mut feats = Scratch::take(CHUNK.min(pairs) * features);
    let mut d_feats = Scratch::take(CHUNK.min(pairs) * features);
    for start in (0..pairs).step_by(CHUNK) {
        let rows = start..(start + CHUNK).min(pairs);
        let n = rows.len();
        let (feats, d_feats) = (&mut feats[..n * features], &mut d_feats[..n * features]);
        fill_features(dims, head, tail, rows.clone(), feats);
        let grad_rows = View::new(grad[start * classes..].as_ptr(), classes, 1);
        // SAFETY: every view and destination lies inside the buffers sized above.
        unsafe {
            // dW += features^T . dlogits
            matmul(
                (features, classes, n),
                d_weight.as_mut_ptr(),
                classes,
                true,
                View::new(feats.as_ptr(), features, 1).t(),
                grad_rows,
                1.0,
                Threads::All,
            );
            // dfeatures = dlogits . W^T
            matmul(
                (n, features, classes),
                d_feats.as_mut_ptr(),
                features,
                false,
                grad_rows,
                View::new(weight.as_ptr(), classes, 1).t(),
                1.0,
                Threads::All,
            );
        }
        let d_rows = d_head[start * emb..(start + n) * emb]
            .par_chunks_mut(emb)
            .zip(d_tail[start * emb..(start + n) * emb].par_chunks_mut(emb));
        d_rows
            .zip(d_feats.par_chunks(features))
            .zip(rows)
            .for_each(|(((dh, dt), g), r)| {
                let (h, t) = (&head[r * emb..(r + 1) * emb], &tail[r * emb..(r + 1) * emb]);
                outer_row_grads(g, h, t, dims.block, dh, dt);
            });
    }
    [d_head, d_tail, d_weight, d_bias]
}

#[derive(Debug, Clone)]
struct Saved {
    dims: Dims,
    head: FlexTensor,
    tail: FlexTensor,
    weight: FlexTensor,
}

#[derive(Debug)]
struct GroupBilinearBackward;

impl Backward<Cpu, 4> for GroupBilinearBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let values = (
            f32_values(&s.head),
            f32_values(&s.tail),
            f32_values(&s.weight),
            f32_values(&grad),
        );
        // The forward pass checked every input is f32; the gradient has their dtype.
        let (Some(head), Some(tail), Some(weight), Some(grad)) = values else {
            unreachable!("fused bilinear: inputs were checked to be f32 in the forward pass")
        };
        let d = s.dims;
        let parts = backward_values(d, (&head, &tail, &weight), &grad);
        let shapes = [
            vec![d.pairs, d.emb()],
            vec![d.pairs, d.emb()],
            vec![d.features(), d.classes],
            vec![d.classes],
        ];
        for ((parent, values), shape) in ops.parents.into_iter().zip(parts).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Cpu>(node.id, flex_tensor(values, &shape));
            }
        }
    }
}

/// `logits [N, C]` of the group bilinear for `z_head`, `z_tail` `[N, groups * block]`, with
/// `weight [groups * block^2, C]` and `bias [C]` as burn's Linear stores them; `None` when `B`
/// is not burn-flex or an input is not f32 (the caller then runs the composite ops).
pub fn fused_logits<B: Backend>(
    (z_head, z_tail): (&Tensor<B, 2>, &Tensor<B, 2>),
    (weight, bias): (&Tensor<B, 2>, &Tensor<B, 1>),
    block: usize,
) -> Option<Tensor<B, 2>> {
    if !super::fused_backend::<B>(super::Kernel::Bilinear) {
        return None;
    }
    let [pairs, emb] = z_head.dims();
    let [features, classes] = weight.dims();
    if block == 0 || emb == 0 || emb % block != 0 || z_tail.dims() != [pairs, emb] {
        return None;
    }
    let dims = Dims {
        pairs,
        groups: emb / block,
        block,
        classes,
    };
    if features != dims.features() || bias.dims() != [classes] || pairs == 0 {
        return None;
    }
    let ad = |t: &Tensor<B, 2>| downcast::<_, Tensor<CpuAutodiff, 2>>(t.clone()).ok();
    if let (Some(h), Some(t), Some(w)) = (ad(z_head), ad(z_tail), ad(weight)) {
        let b = downcast::<_, Tensor<CpuAutodiff, 1>>(bias.clone()).ok()?;
        return downcast(tracked(dims, [h, t, w], b)?).ok();
    }
    let plain = |t: &Tensor<B, 2>| downcast::<_, Tensor<Cpu, 2>>(t.clone()).ok();
    let (h, t, w) = (plain(z_head)?, plain(z_tail)?, plain(weight)?);
    let b = downcast::<_, Tensor<Cpu, 1>>(bias.clone()).ok()?;
    let [h, t, w] = [h, t, w].map(|x| x.into_primitive().tensor());
    let b = b.into_primitive().tensor();
    let logits = forward_on(dims, [&h, &t, &w], &b)?;
    downcast(Tensor::<Cpu, 2>::from_primitive(TensorPrimitive::Float(
        logits,
    )))
    .ok()
}

fn forward_on(dims: Dims, [h, t, w]: [&FlexTensor; 3], b: &FlexTensor) -> Option<FlexTensor> {
    let (h, t, w, b) = (
        f32_values(h)?,
        f32_values(t)?,
        f32_values(w)?,
        f32_values(b)?,
    );
    let logits = forward_values(dims, &h, &t, &w, &b);
    Some(flex_tensor(logits, &[dims.pairs, dims.classes]))
}

fn tracked(
    dims: Dims,
    inputs: [Tensor<CpuAutodiff, 2>; 3],
    bias: Tensor<CpuAutodiff, 1>,
) -> Option<Tensor<CpuAutodiff, 2>> {
    let [h, t, w] = inputs.map(|x| x.into_primitive().tensor());
    let inputs = [h, t, w, bias.into_primitive().tensor()];
    let [h, t, w, b] = inputs.each_ref().map(|x| &x.primitive);
    let logits = forward_on(dims, [h, t, w], b)?;
    let out = record(
        GroupBilinearBackward,
        inputs,
        logits,
        |[head, tail, weight, _]| Saved {
            dims,
            head,
            tail,
            weight,
        },
    );
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bilinear::{BilinearLayout, GroupBilinear};
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn fused_logits_and_gradients_match_the_composite_ops() {
        type B = CpuAutodiff;
        let device = Default::default();
        // More pairs than one chunk, so the chunk boundary is crossed.
        let (pairs, emb, block, classes) = (CHUNK + 37, 12, 4, 5);
        let layer = GroupBilinear::<B>::new(emb, block, classes, &device);
        let z = || {
            Tensor::<B, 2>::random([pairs, emb], Distribution::Normal(0.0, 1.0), &device)
                .require_grad()
        };
        let (zh, zt) = (z(), z());
        let w = Tensor::<B, 2>::random([pairs, classes], Distribution::Normal(0.0, 1.0), &device);
        let run = |logits: Tensor<B, 2>| {
            let grads = (logits.clone() * w.clone()).sum().backward();
            let weight = layer.bilinear.weight.val().grad(&grads).expect("tracked");
            let bias = layer.bilinear.bias.as_ref().expect("bias").val();
            let bias = bias.grad(&grads).expect("tracked");
            (
                logits.into_data(),
                [zh.grad(&grads), zt.grad(&grads), Some(weight)]
                    .map(|g| g.expect("tracked").into_data()),
                bias.into_data(),
            )
        };
        let bias = layer.bilinear.bias.as_ref().expect("bias").val();
        let weight = layer.bilinear.weight.val();
        let composite = run(layer.forward(zh.clone(), zt.clone(), BilinearLayout::Factored));
        let fused = fused_logits((&zh, &zt), (&weight, &bias), block).expect("burn-flex");
        let fused = run(fused);
        let tol = Tolerance::absolute(1e-4);
        fused.0.assert_approx_eq::<f32>(&composite.0, tol);
        for (got, want) in fused.1.iter().zip(&composite.1) {
            got.assert_approx_eq::<f32>(want, tol);
        }
        fused.2.assert_approx_eq::<f32>(&composite.2, tol);
    }
}
