//! Fused CPU kernels for the training step's hot spots, used when the backend is burn-flex.
//!
//! ## Why
//! burn-flex runs a model op by op: every reshape, broadcast add, softmax stage and dropout
//! multiply is its own pass over memory, most on one thread, and autodiff adds as many again in
//! the backward pass. `perf` of `atlop bench step` (MiniLM, 4 documents) put over half of the CPU
//! time outside matrix products, with the cores mostly idle (CPU time / wall time 1.27 on 2
//! threads). The kernels here do one such group of ops in one parallel pass, with a hand-written
//! backward, and call the same `gemm` crate burn-flex uses, on strided views, so nothing is
//! copied into head-major layout and back.
//!
//! ## How they are reached
//! The model code stays generic over `B: Backend` (CUDA keeps burn's own ops and fusion). Rust has
//! no specialisation, so [`downcast`] checks at run time whether `B` is [`Cpu`] or
//! [`CpuAutodiff`] and moves the tensors to the concrete type; any other backend gets `Err` back
//! with its inputs and runs the composite ops. The fused and composite paths are tested against
//! each other, values and gradients.

pub mod adamw;
pub mod at_loss;
pub mod attention;
pub mod attention_probs;
pub mod bilinear;
pub mod dropout_mask;
mod elementwise;
pub mod embedding;
pub mod gelu;
pub mod heads;
pub mod layer_norm;
pub mod linear;
pub mod math;
pub mod mention_pooling;
pub mod pair_attention;
mod product;
pub mod tanh;

use std::any::Any;
use std::borrow::Cow;

use burn::backend::flex::FlexTensor;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};

use crate::backend::{Cpu, CpuAutodiff};

pub(crate) use product::{matmul, Threads, View};

/// Moves `value` to type `T` when it is one (same `TypeId`), or gives it back.
pub fn downcast<A: 'static, T: 'static>(value: A) -> Result<T, A> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<T>>() {
        Some(target) => Ok(target.take().expect("the slot was just filled")),
        None => Err(slot.expect("the slot is untouched when the types differ")),
    }
}

/// The fused kernels, by the name `ATLOP_UNFUSED` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Attention,
    Gelu,
    Bilinear,
    LayerNorm,
    Linear,
    AdamW,
    Tanh,
    PairAttention,
    Embedding,
    AtLoss,
    MentionPooling,
}

impl Kernel {
    fn name(self) -> &'static str {
        match self {
            Kernel::Attention => "attention",
            Kernel::Gelu => "gelu",
            Kernel::Bilinear => "bilinear",
            Kernel::LayerNorm => "layer_norm",
            Kernel::Linear => "linear",
            Kernel::AdamW => "adamw",
            Kernel::Tanh => "tanh",
            Kernel::PairAttention => "pair_attention",
            Kernel::Embedding => "embedding",
            Kernel::AtLoss => "at_loss",
            Kernel::MentionPooling => "mention_pooling",
        }
    }
}

/// Whether `kernel` serves backend `B`: `B` is burn-flex (with or without autodiff) and the
/// kernel is not switched off by `ATLOP_UNFUSED` (a comma-separated list of kernel names, or
/// `all`), which exists to measure each kernel against burn's composite ops.
pub fn fused_backend<B: 'static>(kernel: Kernel) -> bool {
    use std::any::TypeId;
    use std::sync::OnceLock;
    static UNFUSED: OnceLock<Vec<String>> = OnceLock::new();
    let id = TypeId::of::<B>();
    if id != TypeId::of::<Cpu>() && id != TypeId::of::<CpuAutodiff>() {
        return false;
    }
    let unfused = UNFUSED.get_or_init(|| {
        std::env::var("ATLOP_UNFUSED")
            .unwrap_or_default()
            .split(',')
            .map(|name| name.trim().to_lowercase())
            .collect()
    });
    !unfused.iter().any(|n| n == "all" || n == kernel.name())
}

/// The f32 values of a flex tensor in row-major order: borrowed when already contiguous.
/// `None` for another dtype (the fused paths then are not taken).
pub(crate) fn f32_values(tensor: &FlexTensor) -> Option<Cow<'_, [f32]>> {
    if tensor.dtype() != burn::tensor::DType::F32 {
        return None;
    }
    Some(match tensor.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(tensor.to_contiguous().as_slice::<f32>()?.to_vec()),
    })
}

/// `n` values written in parallel by `fill(chunk_index, chunk)` over chunks of `chunk` values
/// (the last may be shorter). Each task zeroes its own chunk just before filling it, where it is
/// about to be in cache anyway, instead of the whole buffer being zero-filled up front: a
/// zeroed allocation (`vec![0.0; n]`) is a serial `memset` on the calling thread while the
/// workers wait, tens of MB for an encoder layer's activations.
pub(crate) fn par_filled(
    n: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    use rayon::prelude::*;
    use std::mem::MaybeUninit;
    let mut values: Vec<f32> = Vec::with_capacity(n);
    values.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(index, part)| {
            part.fill(MaybeUninit::new(0.0));
            // SAFETY: every element of `part` was just initialised; `MaybeUninit<f32>` has
            // `f32`'s layout.
            let part = unsafe { &mut *(part as *mut [MaybeUninit<f32>] as *mut [f32]) };
            fill(index, part)
        });
    // SAFETY: the chunks cover `0..n` and each was initialised above.
    unsafe { values.set_len(n) };
    values
}

/// A tracked burn-flex tensor: its values and its node in the autodiff graph.
pub(crate) type TrackedTensor = burn::tensor::ops::FloatTensor<CpuAutodiff>;

/// Runs a kernel of one float input when `B` is burn-flex: `tracked` (which records its
/// backward, see [`record`]) with autodiff, `plain` on the values without; `None` for any other
/// backend or when the kernel declines (another dtype, indices out of range), and the caller
/// runs burn's ops.
pub(crate) fn on_flex<B: Backend, const D: usize, const O: usize>(
    input: &Tensor<B, D>,
    tracked: impl FnOnce(TrackedTensor) -> Option<TrackedTensor>,
    plain: impl FnOnce(&FlexTensor) -> Option<FlexTensor>,
) -> Option<Tensor<B, O>> {
    if let Ok(x) = downcast::<_, Tensor<CpuAutodiff, D>>(input.clone()) {
        let y = tracked(x.into_primitive().tensor())?;
        return downcast(Tensor::<CpuAutodiff, O>::from_primitive(
            TensorPrimitive::Float(y),
        ))
        .ok();
    }
    let x = downcast::<_, Tensor<Cpu, D>>(input.clone()).ok()?;
    let y = plain(&x.into_primitive().tensor())?;
    downcast(Tensor::<Cpu, O>::from_primitive(TensorPrimitive::Float(y))).ok()
}

/// Records `output`, computed by a kernel from `inputs`, in the autodiff graph with `op` as its
/// backward: `state` (what the backward keeps) is built from the inputs' values only when some
/// input needs a gradient; otherwise the output is recorded untracked.
pub(crate) fn record<K, const N: usize>(
    op: K,
    inputs: [TrackedTensor; N],
    output: FlexTensor,
    state: impl FnOnce([FlexTensor; N]) -> K::State,
) -> TrackedTensor
where
    K: burn::backend::autodiff::ops::Backward<Cpu, N>,
{
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::ops::OpsKind;
    let nodes = inputs.each_ref().map(|x| x.node.clone());
    match op
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state(inputs.map(|x| x.primitive)), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    }
}

/// The values of an index tensor on the host, each checked to lie in `0..bound`; `None` when
/// one does not, and the kernel declines (burn's ops then run and report it their own way).
pub(crate) fn host_indices<B: Backend, const D: usize>(
    indices: &Tensor<B, D, burn::tensor::Int>,
    bound: usize,
) -> Option<Vec<usize>> {
    let values = indices.to_data().convert::<i64>().into_vec::<i64>().ok()?;
    values
        .into_iter()
        .map(|i| usize::try_from(i).ok().filter(|&i| i < bound))
        .collect()
}

/// A flex tensor owning `values` with `shape`.
pub(crate) fn flex_tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(burn::tensor::TensorData::new(values, shape.to_vec()))
}

/// A reusable scratch buffer of `f32`: taken from a small per-thread pool, given back on drop.
/// Its values are whatever the last user left: callers overwrite every element before
/// reading. Large kernel scratch (the bilinear's feature chunks, 100 MB each at emb 384) is
/// reused from step to step instead of being allocated and zeroed again; `perf` showed fresh
/// allocations of it faulting in new pages every step (kernel `clear_page`, ~4% of the step).
pub(crate) struct Scratch(Vec<f32>);

/// Buffers each thread keeps for reuse.
const POOLED: usize = 4;

thread_local! {
    static POOL: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Scratch {
    /// A buffer of `len` values (zero only where it had to grow).
    pub fn take(len: usize) -> Self {
        let mut values = POOL
            .with(|pool| {
                let mut pool = pool.borrow_mut();
                // The largest pooled buffer, so one large request does not grow a small one.
                let best = (0..pool.len()).max_by_key(|&i| pool[i].capacity())?;
                Some(pool.swap_remove(best))
            })
            .unwrap_or_default();
        if values.len() < len {
            values.resize(len, 0.0);
        } else {
            values.truncate(len);
        }
        Scratch(values)
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let values = std::mem::take(&mut self.0);
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOLED {
                pool.push(values);
            }
        });
    }
}

/// A raw pointer that parallel tasks may share because each writes a disjoint part of the
/// buffer behind it.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut(pub *mut f32);
// SAFETY: users write disjoint elements only (documented at each use).
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The pointer `offset` elements in. A method, so that closures capture the whole
    /// `SharedMut` (which is `Sync`), not its raw field.
    pub fn at(&self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downcast_moves_only_to_the_same_type() {
        assert_eq!(downcast::<u32, u32>(7), Ok(7));
        assert_eq!(downcast::<u32, i32>(7), Err(7));
        assert!(fused_backend::<Cpu>(Kernel::Gelu) && fused_backend::<CpuAutodiff>(Kernel::Gelu));
        assert!(!fused_backend::<burn::backend::NdArray>(Kernel::Gelu));
    }

    #[test]
    fn scratch_buffers_are_reused_with_the_requested_length() {
        let ptr = {
            let mut a = Scratch::take(1000);
            a[999] = 5.0;
            a.as_ptr()
        };
        let b = Scratch::take(10);
        assert_eq!(b.len(), 10);
        assert_eq!(b.as_ptr(), ptr, "the pooled buffer is reused");
        drop(b);
        let c = Scratch::take(2000);
        assert_eq!(c.len(), 2000);
        assert_eq!(c[1999], 0.0, "growth is zeroed");
    }
}
