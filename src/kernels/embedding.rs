//! Embedding lookup with its own backward. The word embeddings' gradient is dense (AdamW
//! updates every row, so a sparse gradient would change the optimiser): `[vocab, hidden]`,
//! 11.7 M values for MiniLM. burn-flex builds it on one thread as a zeroed tensor, copies it
//! (`select_add` takes a copy of its input), then adds the rows, while the workers wait; about
//! 1.5% of a training step (`perf`). Here the zeros are written in parallel, once, and the rows
//! of the batch's tokens are added in token order, so the sums do not depend on scheduling.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::nn::Embedding;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorMetadata};

use super::{
    f32_values, flex_tensor, host_indices, on_flex, par_filled, record, Kernel, TrackedTensor,
};
use crate::backend::Cpu;

/// Values per parallel task when writing the gradient's zeros and the looked-up rows.
const CHUNK: usize = 1 << 15;

/// `embedding.forward(ids)` for `ids [batch, len]`: fused on burn-flex in f32, burn's op
/// otherwise (or when an id is out of range, which burn's op reports).
pub fn embedding<B: Backend>(embedding: &Embedding<B>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    if super::fused_backend::<B>(Kernel::Embedding) {
        if let Some(y) = try_fused(embedding, &ids) {
            return y;
        }
    }
    embedding.forward(ids)
}

fn try_fused<B: Backend>(
    embedding: &Embedding<B>,
    ids: &Tensor<B, 2, Int>,
) -> Option<Tensor<B, 3>> {
    let weight = embedding.weight.val();
    let [vocab, _] = weight.dims();
    let [batch, len] = ids.dims();
    let ids = Arc::new(host_indices(ids, vocab)?);
    on_flex(
        &weight,
        |w| tracked(w, ids.clone(), [batch, len]),
        |w| forward_on(w, &ids, [batch, len]),
    )
}

fn forward_on(weight: &FlexTensor, ids: &[usize], [batch, len]: [usize; 2]) -> Option<FlexTensor> {
    let w = f32_values(weight)?;
    let hidden = weight.shape()[1];
    let rows_per_task = (CHUNK / hidden.max(1)).max(1);
    let y = par_filled(ids.len() * hidden, rows_per_task * hidden, |task, out| {
        let first = task * rows_per_task;
        for (row, &id) in out.chunks_exact_mut(hidden).zip(&ids[first..]) {
            row.copy_from_slice(&w[id * hidden..][..hidden]);
        }
    });
    Some(flex_tensor(y, &[batch, len, hidden]))
}

/// `dW [vocab, hidden]`: zeros, plus each token's gradient row added to its id's row.
fn backward_values(dy: &[f32], ids: &[usize], [vocab, hidden]: [usize; 2]) -> Vec<f32> {
    let mut dw = par_filled(vocab * hidden, CHUNK, |_, _| {});
    for (row, &id) in dy.chunks_exact(hidden).zip(ids) {
        dw[id * hidden..][..hidden]
            .iter_mut()
            .zip(row)
            .for_each(|(d, g)| *d += g);
    }
    dw
}

#[derive(Debug, Clone)]
struct Saved {
    ids: Arc<Vec<usize>>,
    dims: [usize; 2],
}

#[derive(Debug)]
struct EmbeddingBackward;

impl Backward<Cpu, 1> for EmbeddingBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let s = ops.state;
        let Some(dy) = f32_values(&grad) else {
            unreachable!("fused embedding: the weight was checked to be f32 in the forward pass")
        };
        let dw = backward_values(&dy, &s.ids, s.dims);
        let [parent] = ops.parents;
        if let Some(node) = parent {
            grads.register::<Cpu>(node.id, flex_tensor(dw, &s.dims));
        }
    }
}

fn tracked(
    weight: TrackedTensor,
    ids: Arc<Vec<usize>>,
    shape: [usize; 2],
) -> Option<TrackedTensor> {
    let y = forward_on(&weight.primitive, &ids, shape)?;
    let dims = [weight.primitive.shape()[0], weight.primitive.shape()[1]];
    Some(record(EmbeddingBackward, [weight], y, |_| Saved {
        ids,
        dims,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::module::AutodiffModule;
    use burn::nn::EmbeddingConfig;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn lookup_and_its_gradient_match_burns_with_repeated_ids() {
        type B = CpuAutodiff;
        let device = Default::default();
        let table = EmbeddingConfig::new(50, 7).init::<B>(&device);
        // Repeated ids (their gradients add up) and more rows than one task holds.
        let ids: Vec<i64> = (0..3 * 2000).map(|i| (i * 7 % 50) as i64).collect();
        let ids = Tensor::<B, 1, Int>::from_ints(ids.as_slice(), &device).reshape([3, 2000]);
        let w = Tensor::<B, 3>::random([3, 2000, 7], Distribution::Normal(0.0, 1.0), &device);
        let run = |y: Tensor<B, 3>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            let dw = table.weight.val().grad(&grads).expect("tracked");
            (y.into_data(), dw.into_data())
        };
        let (want, want_grad) = run(table.forward(ids.clone()));
        let (got, got_grad) = run(embedding(&table, ids.clone()));
        assert_eq!(got, want, "a lookup copies rows");
        got_grad.assert_approx_eq::<f32>(&want_grad, Tolerance::absolute(1e-4));
        let plain = embedding(&table.valid(), ids.inner());
        assert_eq!(plain.into_data(), want);
    }

    #[test]
    fn an_id_out_of_range_is_left_to_burn() {
        let device = Default::default();
        let table = EmbeddingConfig::new(4, 3).init::<Cpu>(&device);
        let ids = Tensor::<Cpu, 2, Int>::from_ints([[0, 9]], &device);
        assert!(try_fused(&table, &ids).is_none());
    }
}
