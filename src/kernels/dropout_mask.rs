//! Dropout masks hashed from (seed, element index), in parallel: each value is `1 / keep` or
//! `0`, so dropout is one multiplication, and the mask is the same whatever the thread count.
//! Used by the encoder's dropout (`encoder::dropout`) and by the fused attention kernels
//! ([`super::heads`]) for the attention probabilities' dropout; it lives here so that the
//! kernels never import the encoder.
//!
//! The hash works on 32-bit lanes (two rounds of Wellons' `lowbias32` keyed by the seed) so that
//! it vectorises on plain AVX2, which has no 64-bit multiply: SplitMix64, used before, needed
//! one per two values, emulated with three 32-bit multiplies each, and took 21 ms of CPU a
//! MiniLM training step at AVX2 (3x this hash; the same at AVX-512, where both are memory-bound).

use super::math::simd_fn;
use super::par_filled;

/// Elements per parallel task; the mask depends only on (seed, index), not on this. A power of
/// two below 2^32, so no task straddles a change of the index's high 32 bits.
const CHUNK: usize = 1 << 16;

/// `n` values, each `1 / keep` with probability `keep` and `0` otherwise.
pub fn keep_mask(seed: u64, n: usize, keep: f64) -> Vec<f32> {
    let scale = (1.0 / keep) as f32;
    // An element survives when its 32 random bits fall below keep * 2^32.
    let threshold = (keep * 4_294_967_296.0).min(u32::MAX as f64) as u32;
    let keys = MaskKeys::new(seed);
    // Tens of MB for an attention layer's mask: filled in parallel, never zeroed up front.
    par_filled(n, CHUNK, |chunk, values| {
        let first = (chunk * CHUNK) as u64;
        fill_mask(values, keys.at(first >> 32), first as u32, threshold, scale)
    })
}

/// The two 32-bit keys of a mask, from its seed.
#[derive(Clone, Copy)]
struct MaskKeys(u32, u32);

impl MaskKeys {
    /// SplitMix64 of the seed, so that nearby seeds (7, 8) give unrelated keys.
    fn new(seed: u64) -> Self {
        let key = splitmix64(seed);
        MaskKeys(key as u32, (key >> 32) as u32)
    }

    /// The keys for the elements whose index has high 32 bits `high`: the same keys below
    /// 2^32 elements.
    fn at(self, high: u64) -> Self {
        MaskKeys(
            self.0,
            self.1.wrapping_add((high as u32).wrapping_mul(0x9e37_79b9)),
        )
    }
}

simd_fn! {
    /// `values[i]` from the hash of element `first + i`: `scale` below `threshold`, else 0.
    /// A plain loop over 32-bit lanes, so it vectorises on AVX2 as well as AVX-512.
    fn fill_mask(values: &mut [f32], keys: MaskKeys, first: u32, threshold: u32, scale: f32) {
        for (i, out) in values.iter_mut().enumerate() {
            let bits = element_bits(keys, first.wrapping_add(i as u32));
            *out = if bits < threshold { scale } else { 0.0 };
        }
    }
}

/// The 32 random bits of the element whose index has low 32 bits `index`.
#[inline(always)]
fn element_bits(keys: MaskKeys, index: u32) -> u32 {
    lowbias32(lowbias32(index ^ keys.0) ^ keys.1)
}

/// Chris Wellons' `lowbias32`: a bijective 32-bit integer hash with low bias (two multiplies).
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// SplitMix64's output function (Steele et al. 2014): a well-mixed 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    const PHI: u64 = 0x9e37_79b9_7f4a_7c15;
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
        let threshold = (keep * 4_294_967_296.0) as u32;
        let keys = MaskKeys::new(seed);
        let want: Vec<f32> = (0..n)
            .map(|i| {
                if element_bits(keys, i as u32) < threshold {
                    (1.0 / keep) as f32
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(keep_mask(seed, n, keep), want);
        // From an offset, as each parallel task fills its chunk.
        let mut plain = vec![0.0; 1000];
        fill_mask(&mut plain, keys, 17, threshold, 2.0);
        let by_element: Vec<f32> = (17..1017u32)
            .map(|i| {
                if element_bits(keys, i) < threshold {
                    2.0
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(plain, by_element);
    }

    #[test]
    fn masks_of_nearby_seeds_and_neighbouring_elements_are_uncorrelated() {
        let n = 400_000;
        let (a, b) = (keep_mask(7, n, 0.5), keep_mask(8, n, 0.5));
        let kept = |m: &[f32], i: usize| (m[i] != 0.0) as u32 as f64;
        // Agreement of two independent fair coins: 1/2 (sd 0.0008 here).
        let agree = (0..n).filter(|&i| kept(&a, i) == kept(&b, i)).count() as f64 / n as f64;
        assert!(
            (agree - 0.5).abs() < 0.005,
            "seeds 7 and 8 agree on {agree}"
        );
        let next = (0..n - 1)
            .filter(|&i| kept(&a, i) == kept(&a, i + 1))
            .count() as f64;
        let next = next / (n - 1) as f64;
        assert!((next - 0.5).abs() < 0.005, "neighbours agree on {next}");
        // The keys change with the index's high 32 bits.
        let keys = MaskKeys::new(7);
        assert_ne!(element_bits(keys, 5), element_bits(keys.at(1), 5));
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
