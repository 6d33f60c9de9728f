//! The frame of an element-wise kernel with a hand-written backward (GELU, tanh): one parallel
//! SIMD pass forward, one backward that reads the gradient and one saved tensor (the input for
//! GELU, the output for tanh), on burn-flex with or without autodiff.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata};

use super::{f32_values, flex_tensor, on_flex, par_filled, record, TrackedTensor};
use crate::backend::Cpu;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// One element-wise function: its values and its backward.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elementwise {
    /// For messages.
    pub name: &'static str,
    /// `y = f(x)` over a chunk.
    pub values: fn(x: &[f32], y: &mut [f32]),
    /// `dx = dy * f'(.)` over a chunk, from the saved tensor (`saved`) and `dy`.
    pub grads: fn(saved: &[f32], dy: &[f32], dx: &mut [f32]),
    /// Whether the backward reads the output (`true`) or the input (`false`).
    pub saves_output: bool,
}

impl Elementwise {
    /// `f(x)` on burn-flex in f32 (tracked when `B` is autodiff); `None` for another backend
    /// or dtype, and the caller runs burn's op.
    pub fn try_apply<B: Backend, const D: usize>(self, x: &Tensor<B, D>) -> Option<Tensor<B, D>> {
        on_flex(x, |x| self.tracked(x), |x| self.forward(x))
    }

    fn forward(self, x: &FlexTensor) -> Option<FlexTensor> {
        let values = f32_values(x)?;
        let y = par_filled(values.len(), CHUNK, |chunk, y| {
            (self.values)(&values[chunk * CHUNK..][..y.len()], y)
        });
        Some(flex_tensor(y, x.shape().as_slice()))
    }

    fn backward(self, saved: &FlexTensor, grad: &FlexTensor) -> Option<FlexTensor> {
        let (values, grad_values) = (f32_values(saved)?, f32_values(grad)?);
        let dx = par_filled(values.len(), CHUNK, |chunk, dx| {
            let at = chunk * CHUNK..chunk * CHUNK + dx.len();
            (self.grads)(&values[at.clone()], &grad_values[at], dx)
        });
        Some(flex_tensor(dx, saved.shape().as_slice()))
    }

    fn tracked(self, x: TrackedTensor) -> Option<TrackedTensor> {
        let y = self.forward(&x.primitive)?;
        // A handle on the output (shared values, no copy) for a backward that reads it.
        let output = y.clone();
        Some(record(ElementwiseBackward(self), [x], y, |[x]| {
            if self.saves_output {
                output
            } else {
                x
            }
        }))
    }
}

#[derive(Debug)]
struct ElementwiseBackward(Elementwise);

impl Backward<Cpu, 1> for ElementwiseBackward {
    /// The input or the output of the forward pass (`Elementwise::saves_output`).
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Cpu>(&ops.node);
        let [parent] = ops.parents;
        let Some(node) = parent else { return };
        // The forward pass checked the input is f32; the gradient has its dtype.
        let Some(dx) = self.0.backward(&ops.state, &grad) else {
            unreachable!(
                "fused {}: the input was checked to be f32 in the forward pass",
                self.0.name
            )
        };
        grads.register::<Cpu>(node.id, dx);
    }
}
