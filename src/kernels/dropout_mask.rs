//! Dropout masks hashed from (seed, element index) with SplitMix64, in parallel: each value is
//! `1 / keep` or `0`, so dropout is one multiplication, and the mask is the same whatever the
//! thread count. Used by the encoder's dropout (`encoder::dropout`) and by the fused attention
//! kernels ([`super::heads`]) for the attention probabilities' dropout; it lives here so that
//! the kernels never import the encoder.

use super::math::simd_fn;
use super::par_filled;

/// Elements per parallel task; the mask depends only on (seed, index), not on this.
const CHUNK: usize = 1 << 16;

/// `n` values, each `1 / keep` with probability `keep` and `0` otherwise.
pub fn keep_mask(seed: u64, n: usize, keep: f64) -> Vec<f32> {
    let scale = (1.0 / keep) as f32;
    // An element survives when its 32 random bits fall below keep * 2^32.
    let threshold = (keep * 4_294_967_296.0).min(u32::MAX as f64) as u64;
    // Tens of MB for an attention layer's mask: filled in parallel, never zeroed up front.
    par_filled(n, CHUNK, |chunk, values| {
        let first_pair = (chunk * CHUNK) as u64 / 2;
        fill_mask(values, (seed, first_pair), threshold, scale)
    })
}

simd_fn! {
    /// `values[2i]`, `values[2i + 1]` from the low and high 32 bits of the hash of pair
    /// `first_pair + i`: `scale` below `threshold`, else 0. A plain loop, so it vectorises
    /// (64-bit multiplies in AVX-512); it was 4% of a training step as scalar code.
    fn fill_mask(values: &mut [f32], seed_and_first_pair: (u64, u64), threshold: u64, scale: f32) {
        let (seed, first_pair) = seed_and_first_pair;
        let keep = |r: u64| if r < threshold { scale } else { 0.0 };
        let done = (values.len() / 2) as u64;
        let mut pairs = values.chunks_exact_mut(2);
        for (pair, out) in (&mut pairs).enumerate() {
            let bits = splitmix64(seed ^ (first_pair + pair as u64).wrapping_mul(PHI));
            out[0] = keep(bits & 0xffff_ffff);
            out[1] = keep(bits >> 32);
        }
        if let [last] = pairs.into_remainder() {
            let bits = splitmix64(seed ^ (first_pair + done).wrapping_mul(PHI));
            *last = keep(bits & 0xffff_ffff);
        }
    }
}

/// Golden-ratio increment of SplitMix64: spreads consecutive counters over the state space.
const PHI: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function (Steele et al. 2014): a well-mixed 64-bit hash of `x`.
#[inline(always)]
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(PHI);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_is_the_hash_of_seed_and_index_across_chunks_and_odd_lengths() {
        let (seed, keep) = (12345u64, 0.9);
        let n = 2 * CHUNK + 3;
        let threshold = (keep * 4_294_967_296.0) as u64;
        let want: Vec<f32> = (0..n)
            .map(|i| {
                let bits = splitmix64(seed ^ ((i / 2) as u64).wrapping_mul(PHI));
                let r = if i % 2 == 0 {
                    bits & 0xffff_ffff
                } else {
                    bits >> 32
                };
                if r < threshold {
                    (1.0 / keep) as f32
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(keep_mask(seed, n, keep), want);
    }

    #[test]
    fn mask_keeps_the_right_share_scaled_and_is_repeatable() {
        let n = 200_001;
        let mask = keep_mask(7, n, 0.9);
        let kept: Vec<&f32> = mask.iter().filter(|v| **v != 0.0).collect();
        let share = kept.len() as f64 / n as f64;
        assert!((share - 0.9).abs() < 0.005, "kept share {share}");
        assert!(kept.iter().all(|v| (**v - 1.0 / 0.9).abs() < 1e-6));
        assert_eq!(mask, keep_mask(7, n, 0.9));
        assert_ne!(mask, keep_mask(8, n, 0.9));
    }
}
