//! One AdamW update (Loshchilov & Hutter 2019) as a single parallel pass over a parameter, its
//! gradient and both moments, bit for bit what burn's `AdamW` computes with its tensor ops.
//!
//! burn's `AdamW::step` runs about a dozen tensor ops per parameter (scale, add, square, two
//! bias corrections, sqrt, add, divide, scale, subtract), each a pass over memory, most on one
//! thread and several allocating. Over MiniLM's 22.7 M parameters (half of them the word
//! embeddings, whose rows all move every step since AdamW's moments do) that was about 7% of a
//! training step. Here each element is read once and written once, on every thread.
//!
//! The arithmetic is burn 0.21's (`burn-optim` `adamw.rs`), in the same f32 operations and
//! order, so results are identical, not merely close: `m = m*b1 + g*(1-b1)`,
//! `v = v*b2 + (g*g)*(1-b2)`, `delta = (m/c1) / (sqrt(v/c2) + eps)` with `c = 1 - b^t`,
//! `p = p*(1 - lr*wd) - delta*lr`. Rust never contracts `a*b + c` into a fused multiply-add, so
//! the vectorised loop rounds exactly as the scalar ops do.

use rayon::prelude::*;

use super::math::simd_fn;

/// Elements per parallel task: large enough that task overhead vanishes, small enough that
/// both threads stay busy on a [384] bias as well as on [30522, 384] embeddings.
const CHUNK: usize = 1 << 15;

/// The scalars of one AdamW step, all in f32 as burn applies them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWScalars {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// `1 - beta_1^t` and `1 - beta_2^t` for this step's `t` (from 1).
    pub correction_1: f32,
    pub correction_2: f32,
    /// The step's learning rate.
    pub lr: f32,
    /// `1 - lr * weight_decay`; `None` when the decay rate is 0 (burn then skips the multiply).
    pub decay: Option<f32>,
    /// The factor the gradient is multiplied by first (averaging over accumulated batches and
    /// global-norm clipping, one `f32` multiply as burn's `mul_scalar`); `None` for 1.
    pub grad_scale: Option<f32>,
}

impl AdamWScalars {
    /// The scalars for step `time` (1 on the first update) at rate `lr`, as burn derives them.
    pub fn new(
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
        lr: f64,
        time: usize,
    ) -> Self {
        let time = time as i32;
        let decay_rate = lr * weight_decay as f64;
        AdamWScalars {
            beta_1,
            beta_2,
            epsilon,
            correction_1: 1f32 - beta_1.powi(time),
            correction_2: 1f32 - beta_2.powi(time),
            lr: lr as f32,
            decay: (decay_rate != 0.0).then_some((1.0 - decay_rate) as f32),
            grad_scale: None,
        }
    }

    /// The same step on the gradient multiplied by `factor` first (nothing for 1).
    pub fn scaling_gradients_by(self, factor: f32) -> Self {
        AdamWScalars {
            grad_scale: (factor != 1.0).then_some(factor),
            ..self
        }
    }
}

simd_fn! {
    /// The update of one chunk; `first`: the moments hold nothing yet (burn's first step
    /// starts them from the gradient alone instead of decaying zeros).
    fn update_chunk(
        params: &mut [f32],
        grads: &[f32],
        moment_1: &mut [f32],
        moment_2: &mut [f32],
        first: bool,
        s: AdamWScalars,
    ) {
        let factor_1 = 1.0 - s.beta_1;
        let factor_2 = 1.0 - s.beta_2;
        let decay = s.decay.unwrap_or(1.0);
        let decays = s.decay.is_some();
        let grad_scale = s.grad_scale.unwrap_or(1.0);
        let scales = s.grad_scale.is_some();
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(moment_1.iter_mut()).zip(moment_2.iter_mut()) {
            let g = if scales { g * grad_scale } else { g };
            let (m_new, v_new) = if first {
                (g * factor_1, (g * g) * factor_2)
            } else {
                (*m * s.beta_1 + g * factor_1, *v * s.beta_2 + (g * g) * factor_2)
            };
            *m = m_new;
            *v = v_new;
            let delta = (m_new / s.correction_1) / ((v_new / s.correction_2).sqrt() + s.epsilon);
            let kept = if decays { *p * decay } else { *p };
            *p = kept - delta * s.lr;
        }
    }
}

/// Applies one AdamW step in place. All four slices have the same length. `first`: the
/// moments are uninitialised (their values are ignored and overwritten).
pub fn update(
    params: &mut [f32],
    grads: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    first: bool,
    scalars: AdamWScalars,
) {
    let n = params.len();
    assert!(
        grads.len() == n && moment_1.len() == n && moment_2.len() == n,
        "adamw::update: lengths differ"
    );
    params
        .par_chunks_mut(CHUNK)
        .zip(grads.par_chunks(CHUNK))
        .zip(moment_1.par_chunks_mut(CHUNK))
        .zip(moment_2.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| update_chunk(p, g, m, v, first, scalars));
}

/// `sum x^2` over `values`, in parallel: one gradient's share of the global norm that
/// clipping needs (`crate::train::clipping`). burn's `square().sum()` allocates the squares and
/// sums them on one thread, two passes over MiniLM's 22.7 M gradients every step.
/// Each task sums its chunk in `f32` lanes; the chunks add up in `f64`.
pub fn squared_sum(values: &[f32]) -> f64 {
    values
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut sum = 0.0;
            chunk_squared_sum(chunk, &mut sum);
            sum as f64
        })
        .sum()
}

/// Independent accumulators, so the loop vectorises (one f32 sum would be a serial chain).
const LANES: usize = 16;

simd_fn! {
    /// `*sum = sum x^2` over `values`.
    fn chunk_squared_sum(values: &[f32], sum: &mut f32) {
        let mut lanes = [0f32; LANES];
        let mut rows = values.chunks_exact(LANES);
        for row in &mut rows {
            for (lane, &x) in lanes.iter_mut().zip(row) {
                *lane += x * x;
            }
        }
        let tail: f32 = rows.remainder().iter().map(|&x| x * x).sum();
        *sum = lanes.iter().sum::<f32>() + tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// burn's formulas written out element by element with the same f32 operations.
    fn reference(p: f32, g: f32, m: Option<(f32, f32)>, s: AdamWScalars) -> (f32, f32, f32) {
        let g = s.grad_scale.map_or(g, |factor| g * factor);
        let (m, v) = match m {
            None => (g * (1.0 - s.beta_1), (g * g) * (1.0 - s.beta_2)),
            Some((m, v)) => (
                m * s.beta_1 + g * (1.0 - s.beta_1),
                v * s.beta_2 + (g * g) * (1.0 - s.beta_2),
            ),
        };
        let delta = (m / s.correction_1) / ((v / s.correction_2).sqrt() + s.epsilon);
        let kept = s.decay.map_or(p, |d| p * d);
        (kept - delta * s.lr, m, v)
    }

    #[test]
    fn the_vectorised_pass_equals_the_scalar_formulas_bit_for_bit() {
        let n = CHUNK * 2 + 37; // several tasks and a ragged tail
        let value = |i: usize, k: f32| ((i as f32 * 0.618 + k).sin() * 3.0).powi(3) * 1e-2;
        for (first, weight_decay, scale) in [
            (true, 0.0, 1.0),
            (false, 0.0, 1.0),
            (false, 0.01, 1.0),
            (false, 0.0, 0.37),
        ] {
            let s = AdamWScalars::new(0.9, 0.999, 1e-6, weight_decay, 3e-5, 7)
                .scaling_gradients_by(scale);
            let mut p: Vec<f32> = (0..n).map(|i| value(i, 0.1)).collect();
            let g: Vec<f32> = (0..n).map(|i| value(i, 0.7)).collect();
            let mut m: Vec<f32> = (0..n).map(|i| value(i, 1.3)).collect();
            let mut v: Vec<f32> = (0..n).map(|i| value(i, 2.9).abs()).collect();
            let expected: Vec<_> = (0..n)
                .map(|i| reference(p[i], g[i], (!first).then_some((m[i], v[i])), s))
                .collect();
            update(&mut p, &g, &mut m, &mut v, first, s);
            for (i, &(ep, em, ev)) in expected.iter().enumerate() {
                assert_eq!(
                    (p[i].to_bits(), m[i].to_bits(), v[i].to_bits()),
                    (ep.to_bits(), em.to_bits(), ev.to_bits()),
                    "element {i} (first {first}, decay {weight_decay})"
                );
            }
        }
    }

    #[test]
    fn squared_sum_over_chunks_and_a_ragged_tail() {
        let values: Vec<f32> = (0..CHUNK * 3 + 21).map(|i| (i % 7) as f32 - 3.0).collect();
        let want: f64 = values.iter().map(|&x| (x as f64) * (x as f64)).sum();
        assert_eq!(squared_sum(&values), want);
        assert_eq!(squared_sum(&[]), 0.0);
        assert!(squared_sum(&[1.0, f32::NAN]).is_nan());
    }

    #[test]
    fn scalars_follow_burns_derivation() {
        let s = AdamWScalars::new(0.9, 0.999, 1e-6, 0.0, 1e-4, 1);
        assert_eq!(s.correction_1, 1f32 - 0.9f32);
        assert_eq!(s.correction_2, 1f32 - 0.999f32);
        assert_eq!(s.decay, None);
        let s = AdamWScalars::new(0.9, 0.999, 1e-6, 0.5, 0.1, 3);
        assert_eq!(s.decay, Some(0.95));
        assert_eq!(s.correction_1, 1f32 - 0.9f32.powi(3));
    }
}
