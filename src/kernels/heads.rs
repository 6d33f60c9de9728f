//! The per-(document, head) pieces both fused attention kernels ([`super::attention`] and
//! [`super::attention_probs`]) are built from: the sizes and views of one call, its checks, and
//! each task's products and row passes. A task is one head of one document; its products read and
//! write the `[batch, len, heads * head_dim]` layout of the projections through strided views,
//! so heads are never split into or merged from a head-major copy.

use std::borrow::Cow;
use std::sync::Arc;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::math::{self, simd_fn};
use super::{matmul, SharedMut, Threads, View};

/// Sizes of one attention call: `batch` documents padded to `len` positions (the key bias and
/// the probabilities are `[batch, .., len, len]`), and the shape `rows` of the q/k/v and context
/// buffers: `[batch, len, width]` (the padded grid) or `[1, real, width]` (the real rows of every
/// document one after the other, as [`crate::encoder::token_rows`] packs them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub rows: [usize; 3],
}

impl AttentionShape {
    pub(super) fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    pub(super) fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    /// Values in a q/k/v or context buffer.
    pub(super) fn row_values(&self) -> usize {
        self.rows.iter().product()
    }

    /// Where task `t`'s head starts in a q/k/v or context buffer.
    pub(super) fn head_offset(&self, t: Task) -> usize {
        t.row0 * self.width() + t.h * self.head_dim
    }

    /// View of task `t`'s head in a q/k/v or context buffer: rows are tokens.
    pub(super) fn head_view(&self, base: *const f32, t: Task) -> View {
        View::new(base.wrapping_add(self.head_offset(t)), self.width(), 1)
    }

    /// Task number `task` (document-major, then head) with its document's real length and
    /// first row.
    pub(super) fn task(&self, task: usize, docs: &Docs) -> Task {
        let b = task / self.heads;
        Task {
            b,
            h: task % self.heads,
            n: docs.real[b],
            row0: docs.first_row[b],
        }
    }
}

/// Per document: its real length ([`Task`]) and its first row in the q/k/v buffers (`b * len`
/// on the padded grid, the real rows of the documents before it when packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Docs {
    pub real: Vec<usize>,
    pub first_row: Vec<usize>,
}

/// One task: head `h` of document `b`, whose first `n` positions are real. Its products and row
/// passes cover the `n x n` block of its `len x len` square only: the other keys are padding
/// (masked: probability exactly 0, so they add nothing and get no gradient) and so are the
/// other queries, whose rows the encoder drops ([`crate::encoder::token_rows`]): their context
/// and probabilities are left 0. A batch of 4 random training documents is ~27% padding, so this
/// skips ~45% of the attention products. Its rows start at `row0` of the q/k/v buffers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Task {
    pub b: usize,
    pub h: usize,
    pub n: usize,
    pub row0: usize,
}

/// A key bias at or below this masks its key: `exp(score - 1e9 - max)` is 0 in f32.
const MASKED_BIAS: f32 = -1e9;

/// Per document, its real length: `n` such that keys `n..len` are masked and key `n - 1` is not.
/// A document whose masked keys are not all at its end, or whose keys are all masked, counts as
/// `len` long (every position computed, as the composite ops do).
fn real_lengths(bias: &[f32], batch: usize, len: usize) -> Vec<usize> {
    (0..batch)
        .map(|b| {
            let row = &bias[b * len..(b + 1) * len];
            let n = row
                .iter()
                .rposition(|&x| x > MASKED_BIAS)
                .map_or(0, |i| i + 1);
            let suffix_only = row[..n].iter().all(|&x| x > MASKED_BIAS);
            if n == 0 || !suffix_only {
                len
            } else {
                n
            }
        })
        .collect()
}

/// Dropout of the probabilities in a fused call: a keep mask as `encoder::dropout` draws it.
pub struct AttentionDropout {
    pub seed: u64,
    pub prob: f64,
}

/// Query, key and value projections, each `[batch, len, heads * head_dim]` (or packed,
/// `[1, real, heads * head_dim]`, see [`AttentionShape`]).
pub type Qkv<B> = (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>);

/// How the rows of q, k, v (and the context) are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLayout {
    /// `[batch, len, width]`, the key bias's grid.
    Padded,
    /// `[1, real, width]`: each document's real positions (a prefix of its `len`, the rest of
    /// its keys masked) one after the other. A mask with holes cannot be packed this way: the
    /// kernels then decline and the caller computes on the padded grid.
    Packed,
}

/// What both attention kernels check and build before running: the sizes, the key bias as
/// `[batch, len]` values, each document's real length and first row ([`Docs`]) and the
/// dropout keep mask.
pub(super) struct Prepared {
    pub shape: AttentionShape,
    pub bias: Vec<f32>,
    pub docs: Arc<Docs>,
    pub keep: Option<Arc<Vec<f32>>>,
}

/// `None` when the shapes do not fit the kernels (empty, heads not dividing the width, q/k/v
/// of different shapes, a bias that is not one value per key, packed rows that are not the
/// documents' real prefixes).
pub(super) fn prepare<B: Backend>(
    (q, k, v): (&Tensor<B, 3>, &Tensor<B, 3>, &Tensor<B, 3>),
    key_bias: &Tensor<B, 4>,
    (heads, layout): (usize, RowLayout),
    dropout: Option<AttentionDropout>,
) -> Option<Prepared> {
    let rows = q.dims();
    let [batch, _, _, len] = key_bias.dims();
    let width = rows[2];
    let empty = batch == 0 || len == 0 || width == 0 || rows[1] == 0;
    if empty || heads == 0 || width % heads != 0 || k.dims() != rows || v.dims() != rows {
        return None;
    }
    let bias = key_bias.to_data().into_vec::<f32>().ok()?;
    if bias.len() != batch * len {
        return None;
    }
    let real = real_lengths(&bias, batch, len);
    let first_row: Vec<usize> = match layout {
        RowLayout::Padded if rows[..2] == [batch, len] => (0..batch).map(|b| b * len).collect(),
        // Each document's real length is at least its number of unmasked keys, equal only when
        // those are a prefix: the totals agree exactly when every document packs as a prefix.
        RowLayout::Packed if rows[0] == 1 && real.iter().sum::<usize>() == rows[1] => real
            .iter()
            .scan(0, |start, n| {
                let first = *start;
                *start += n;
                Some(first)
            })
            .collect(),
        _ => return None,
    };
    let shape = AttentionShape {
        batch,
        len,
        heads,
        head_dim: width / heads,
        rows,
    };
    let keep = dropout.map(|d| {
        let n = batch * heads * len * len;
        Arc::new(super::dropout_mask::keep_mask(d.seed, n, 1.0 - d.prob))
    });
    Some(Prepared {
        shape,
        bias,
        docs: Arc::new(Docs { real, first_row }),
        keep,
    })
}

simd_fn! {
    /// The first `bias.len()` values of each of the first `rows` rows of `scores` (`stride`
    /// apart) become `softmax(row + bias)`.
    pub(super) fn softmax_rows(scores: &mut [f32], stride: usize, rows: usize, bias: &[f32]) {
        for row in scores.chunks_mut(stride).take(rows) {
            let row = &mut row[..bias.len()];
            row.iter_mut().zip(bias).for_each(|(s, b)| *s += b);
            let max = math::max(row);
            row.iter_mut().for_each(|s| *s = math::exp(*s - max));
            let inv = 1.0 / math::sum(row);
            row.iter_mut().for_each(|s| *s *= inv);
        }
    }
}

simd_fn! {
    /// `out = a * b` elementwise.
    pub(super) fn times(a: &[f32], b: &[f32], out: &mut [f32]) {
        out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (a, b))| *o = a * b);
    }
}

simd_fn! {
    /// The `n x n` block of `grads` (rows `len` apart), the gradient of the dropped
    /// probabilities, becomes the gradient of the scores: through dropout (`keep`), then
    /// softmax, `dS = P * dP - P * sum_j(P * dP)`. Outside the block `P` is 0, and so is `dS`
    /// (the products read the block only).
    pub(super) fn softmax_backward_rows(grads: &mut [f32], probs: &[f32], keep: Option<&[f32]>, len: usize, n: usize) {
        for (i, row) in grads.chunks_mut(len).take(n).enumerate() {
            let row = &mut row[..n];
            let p_row = &probs[i * len..i * len + n];
            if let Some(keep) = keep {
                let keep = &keep[i * len..i * len + n];
                row.iter_mut().zip(keep).for_each(|(g, m)| *g *= m);
            }
            row.iter_mut().zip(p_row).for_each(|(g, p)| *g *= p);
            let dot = math::sum(row);
            row.iter_mut().zip(p_row).for_each(|(g, p)| *g -= p * dot);
        }
    }
}

/// Task `t` = (document b, head h): its probabilities `softmax(q_h k_h^T / sqrt(d) + bias_b)`
/// into the `n x n` block of `p` (`len x len`, zero-filled by the caller).
pub(super) fn head_probs(
    shape: AttentionShape,
    (q, k): (&[f32], &[f32]),
    key_bias: &[f32],
    t: Task,
    p: &mut [f32],
) {
    let (len, n, b) = (shape.len, t.n, t.b);
    let (qh, kh) = (
        shape.head_view(q.as_ptr(), t),
        shape.head_view(k.as_ptr(), t),
    );
    // SAFETY: the views stay inside q and k; `p` holds len x len values.
    unsafe {
        matmul(
            (n, n, shape.head_dim),
            p.as_mut_ptr(),
            len,
            false,
            qh,
            kh.t(),
            shape.scale(),
            Threads::One,
        )
    };
    softmax_rows(p, len, n, &key_bias[b * len..b * len + n]);
}

/// Task `t`'s score gradient `ds` (its `n x n` block of `len x len`) into its columns of `dq`
/// and `dk` (rows past `n` are left as they are: 0):
/// `S = scale * Q K^T`, so `dQ = scale * dS . K` and `dK = scale * dS^T . Q`.
///
/// # Safety
/// `dq`, `dk` point to `[batch, len, width]` buffers in which no other thread writes task
/// `t`'s columns.
pub(super) unsafe fn scores_backward(
    shape: AttentionShape,
    (q, k): (&[f32], &[f32]),
    ds: &[f32],
    t: Task,
    (dq, dk): (SharedMut, SharedMut),
) {
    let (qh, kh) = (
        shape.head_view(q.as_ptr(), t),
        shape.head_view(k.as_ptr(), t),
    );
    let dsv = View::new(ds.as_ptr(), shape.len, 1);
    let at = shape.head_offset(t);
    let dims = (t.n, shape.head_dim, t.n);
    // SAFETY: the views stay inside their buffers; the caller owns these columns of dq, dk.
    unsafe {
        matmul(
            dims,
            dq.at(at),
            shape.width(),
            false,
            dsv,
            kh,
            shape.scale(),
            Threads::One,
        );
        matmul(
            dims,
            dk.at(at),
            shape.width(),
            false,
            dsv.t(),
            qh,
            shape.scale(),
            Threads::One,
        );
    }
}

/// The probabilities as the context uses them: `p * keep` with dropout, `p` itself without.
pub(super) fn apply_keep<'a>(p: &'a [f32], keep: Option<&[f32]>) -> Cow<'a, [f32]> {
    match keep {
        Some(keep) => {
            let mut dropped = vec![0f32; p.len()];
            times(p, keep, &mut dropped);
            Cow::Owned(dropped)
        }
        None => Cow::Borrowed(p),
    }
}

/// Task `t`'s context: `weights` (`len x len`, the probabilities after dropout; its `n x n`
/// block) `. v_h`, written into the first `n` rows of its columns of the `[batch, len, width]`
/// buffer behind `context`.
///
/// # Safety
/// `context` points to a `[batch, len, width]` buffer in which no other thread writes task
/// `t`'s columns.
pub(super) unsafe fn head_context(
    shape: AttentionShape,
    weights: &[f32],
    v: &[f32],
    t: Task,
    context: SharedMut,
) {
    let (len, n) = (shape.len, t.n);
    // SAFETY: the views stay inside `weights` and `v`; the caller owns these columns.
    unsafe {
        matmul(
            (n, shape.head_dim, n),
            context.at(shape.head_offset(t)),
            shape.width(),
            false,
            View::new(weights.as_ptr(), len, 1),
            shape.head_view(v.as_ptr(), t),
            1.0,
            Threads::One,
        )
    };
}

/// Backward of [`head_context`] for task `t`: `d_weights = dC_h . v_h^T` into the `n x n` block
/// of `d_weights` (`len x len`) and `dv_h = weights^T . dC_h` into the first `n` rows of its
/// columns of the buffer behind `dv`.
///
/// # Safety
/// As for [`head_context`], for `dv`.
pub(super) unsafe fn head_context_backward(
    shape: AttentionShape,
    (weights, v, grad): (&[f32], &[f32], &[f32]),
    t: Task,
    d_weights: &mut [f32],
    dv: SharedMut,
) {
    let (len, n) = (shape.len, t.n);
    let gh = shape.head_view(grad.as_ptr(), t);
    let d = shape.head_dim;
    // SAFETY: the views stay inside their buffers; `d_weights` is the caller's own; the caller
    // owns these columns of dv.
    unsafe {
        matmul(
            (n, n, d),
            d_weights.as_mut_ptr(),
            len,
            false,
            gh,
            shape.head_view(v.as_ptr(), t).t(),
            1.0,
            Threads::One,
        );
        matmul(
            (n, d, n),
            dv.at(shape.head_offset(t)),
            shape.width(),
            false,
            View::new(weights.as_ptr(), len, 1).t(),
            gh,
            1.0,
            Threads::One,
        );
    }
}

/// Inputs and the composite reference the attention kernels' tests compare against.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_lengths_count_up_to_the_last_unmasked_key_of_a_masked_suffix() {
        let m = -1e30;
        let bias = [0., 0., m, m, 0., 0., 0., 0., 0., m, 0., m, m, m, m, m];
        // suffix masked: 2; none masked: 4; a hole (not a suffix): 4; all masked: 4.
        assert_eq!(real_lengths(&bias, 4, 4), [2, 4, 4, 4]);
    }
}

#[cfg(test)]
pub(super) mod testing {
    use super::*;
    use crate::kernels::dropout_mask::keep_mask;
    use burn::tensor::activation::softmax;
    use burn::tensor::{Distribution, TensorData};

    pub const HEADS: usize = 3;
    pub const SEED: u64 = 42;

    /// The same attention with burn ops (as `encoder::attention` composes it).
    pub fn reference<B: Backend>(
        (q, k, v): Qkv<B>,
        key_bias: Tensor<B, 4>,
        drop: Option<f64>,
    ) -> Tensor<B, 3> {
        reference_with_probs((q, k, v), key_bias, drop).0
    }

    /// The context and the probabilities after dropout; the rows of padded queries (past the
    /// last unmasked key, see [`Task`]) are 0, as the kernels leave them.
    pub fn reference_with_probs<B: Backend>(
        (q, k, v): Qkv<B>,
        key_bias: Tensor<B, 4>,
        drop: Option<f64>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let [batch, len, width] = q.dims();
        let d = width / HEADS;
        let split = |x: Tensor<B, 3>| x.reshape([batch, len, HEADS, d]).swap_dims(1, 2);
        let q = split(q).div_scalar((d as f64).sqrt());
        let mut probs = softmax(q.matmul(split(k).swap_dims(2, 3)) + key_bias.clone(), 3);
        if let Some(p) = drop {
            let mask = keep_mask(SEED, batch * HEADS * len * len, 1.0 - p);
            let mask = TensorData::new(mask, [batch, HEADS, len, len]);
            let device = probs.device();
            probs = probs * Tensor::from_data(mask, &device);
        }
        let real = key_bias
            .clone()
            .reshape([batch, len])
            .greater_elem(MASKED_BIAS)
            .float();
        let probs = probs * real.clone().reshape([batch, 1, len, 1]);
        let context = probs
            .clone()
            .matmul(split(v))
            .swap_dims(1, 2)
            .reshape([batch, len, width]);
        (context, probs)
    }

    /// q, k, v [2, 5, 12] and a key bias that masks the last two keys of document 1 (with the
    /// encoder's score for padding).
    pub fn inputs<B: Backend>() -> (Qkv<B>, Tensor<B, 4>) {
        let device = Default::default();
        let make =
            || Tensor::<B, 3>::random([2, 5, 4 * HEADS], Distribution::Normal(0.0, 1.0), &device);
        let mut bias = vec![0f32; 10];
        bias[8] = -1e30;
        bias[9] = -1e30;
        let bias = Tensor::from_data(TensorData::new(bias, [2, 1, 1, 5]), &device);
        ((make(), make(), make()), bias)
    }
}
