//! glibc `malloc` settings for tensor workloads. Every burn operation allocates its output, and
//! a training step allocates and frees the same large buffers (attention probabilities, the
//! group bilinear's `[pairs, emb * block]` features: hundreds of MB) again and again. By default
//! glibc serves blocks above a (dynamic, at most 32 MB) threshold with `mmap` and returns them
//! with `munmap`, so each step faults every page of those buffers in afresh, and trims the heap
//! top eagerly. Serving them from the heap and keeping freed memory makes a MiniLM training
//! step (`atlop bench step`) about 10% faster, in CPU time and wall time, for about 15% more
//! peak memory (measured interleaved with the defaults: cpu_s 2.95-3.03 vs 3.21-3.39 s; peak RSS
//! 1774 vs 1545-1559 MB).
//!
//! The `atlop` binary calls [`keep_freed_memory`] first thing; a program using the library can
//! call it too (or set `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` / `MALLOC_TOP_PAD_`
//! in the environment, which glibc reads the same way). A no-op off glibc.

/// Blocks up to this size (2 GiB, `mallopt` takes an `int`) come from the heap instead of
/// `mmap` (glibc `M_MMAP_THRESHOLD`).
pub const MMAP_THRESHOLD: i32 = i32::MAX;
/// Freed memory kept at the top of the heap before it is returned (`M_TRIM_THRESHOLD`).
pub const TRIM_THRESHOLD: i32 = i32::MAX;
/// Extra memory requested from the kernel on each heap growth (`M_TOP_PAD`); untouched pages
/// cost nothing.
pub const TOP_PAD: i32 = 1 << 30;

/// Applies the settings above; returns whether glibc accepted all three.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let settings = [
            (libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (libc::M_TOP_PAD, TOP_PAD),
        ];
        settings.iter().all(|&(option, value)| {
            // SAFETY: mallopt only changes allocator parameters; any value is valid input
            // (glibc rejects what it cannot use and returns 0).
            unsafe { libc::mallopt(option, value) == 1 }
        })
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_accepts_the_settings_and_allocation_still_works() {
        let accepted = keep_freed_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(accepted, "glibc refused a malloc setting");
        }
        // A block above the default mmap threshold, written and freed.
        let big = vec![1u8; 64 << 20];
        assert_eq!(big.iter().map(|&b| b as usize).sum::<usize>(), 64 << 20);
    }
}
