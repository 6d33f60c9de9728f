//! Matrix products on strided views through the `gemm` crate (the library burn-flex uses), on
//! the calling thread or split into one band per thread ([`Product::in_bands`]).

use super::SharedMut;

/// A strided matrix view: element (r, c) at `ptr + r * row + c * col`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    pub ptr: *const f32,
    pub row: isize,
    pub col: isize,
}

impl View {
    pub fn new(ptr: *const f32, row: usize, col: usize) -> Self {
        Self {
            ptr,
            row: row as isize,
            col: col as isize,
        }
    }

    /// The view starting `rows` rows further down.
    pub fn offset_rows(self, rows: usize) -> Self {
        Self {
            ptr: self.ptr.wrapping_offset(rows as isize * self.row),
            ..self
        }
    }

    /// The transposed view of the same memory.
    pub fn t(self) -> Self {
        Self {
            ptr: self.ptr,
            row: self.col,
            col: self.row,
        }
    }
}

/// How many threads one product uses.
#[derive(Clone, Copy)]
pub(crate) enum Threads {
    /// The calling thread only: for products inside tasks that are already parallel.
    One,
    /// All of rayon's threads: for one large product.
    All,
}

/// `dst[m x n] (+)= scale * lhs[m x k] . rhs[k x n]`. `dst` rows are `dst_row` apart, columns
/// adjacent.
///
/// # Safety
/// Every view must address valid memory for its extent, and `dst` must not alias `lhs`/`rhs`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_row: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    scale: f32,
    threads: Threads,
) {
    let parts = match threads {
        Threads::One => 1,
        Threads::All if m * n * k < PARALLEL_MIN => 1,
        Threads::All => rayon::current_num_threads(),
    };
    let product = Product {
        dims: (m, n, k),
        dst: SharedMut(dst),
        dst_row,
        accumulate,
        lhs,
        rhs,
        scale,
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        if parts > 1 {
            product.in_bands(parts)
        } else {
            product.here()
        }
    }
}

/// Products with fewer multiply-adds run on the calling thread (`gemm`'s own threshold).
const PARALLEL_MIN: usize = 48 * 48 * 256;

/// The arguments of one [`matmul`].
#[derive(Clone, Copy)]
struct Product {
    dims: (usize, usize, usize),
    dst: SharedMut,
    dst_row: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    scale: f32,
}

// SAFETY: the views are only read, and the parallel bands of [`Product::in_bands`] write
// disjoint parts of the destination.
unsafe impl Send for Product {}
unsafe impl Sync for Product {}

impl Product {
    /// The product on the calling thread.
    ///
    /// # Safety
    /// As [`matmul`].
    unsafe fn here(self) {
        let Product {
            dims: (m, n, k),
            dst,
            dst_row,
            accumulate,
            lhs,
            rhs,
            scale,
        } = self;
        // SAFETY: forwarded from the caller.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.0,
                1,
                dst_row as isize,
                accumulate,
                lhs.ptr,
                lhs.col,
                lhs.row,
                rhs.ptr,
                rhs.col,
                rhs.row,
                1.0,
                scale,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    }

    /// The product as `parts` single-threaded products over bands of the destination's rows
    /// (when `m >= n`) or columns, run in parallel.
    ///
    /// Why not `gemm`'s own `Parallelism::Rayon`: it forks and joins once per depth block of
    /// the product and hands each thread an equal count of tiles, and `perf` of a training step
    /// at AVX2 caught one thread working inside `gemm` while the other waited for 2% of the
    /// step (15 ms). One fork per product gives each thread one band; the operand both bands
    /// read is packed by each, and splitting the longer side makes that the smaller operand.
    ///
    /// # Safety
    /// As [`matmul`].
    unsafe fn in_bands(self, parts: usize) {
        use rayon::prelude::*;
        let (m, n, _) = self.dims;
        let by_rows = m >= n;
        let long = if by_rows { m } else { n };
        // Whole micro-tiles (16 rows at AVX2) per band, as far as the split allows.
        let band = long.div_ceil(parts).next_multiple_of(16);
        // Through a reference, so the closure captures the whole `Product` (which is `Sync`),
        // not its fields (raw pointers, which are not).
        let this = &self;
        (0..long.div_ceil(band)).into_par_iter().for_each(|i| {
            let start = i * band;
            let len = band.min(long - start);
            // Band `i` covers rows (or columns) `start..start + len` of the destination, which
            // no other band writes, and reads the matching part of `lhs` (or `rhs`).
            let part = if by_rows {
                Product {
                    dims: (len, this.dims.1, this.dims.2),
                    dst: SharedMut(this.dst.at(start * this.dst_row)),
                    lhs: this.lhs.offset_rows(start),
                    ..*this
                }
            } else {
                Product {
                    dims: (this.dims.0, len, this.dims.2),
                    dst: SharedMut(this.dst.at(start)),
                    rhs: this.rhs.t().offset_rows(start).t(),
                    ..*this
                }
            };
            // SAFETY: as the caller's, for the part described above.
            unsafe { part.here() }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_in_bands_match_the_single_threaded_product() {
        // Tall (split by rows) and wide (split by columns), lhs read transposed, accumulating
        // onto a destination with a wider row stride; 3 bands, so one is short.
        for (m, n, k) in [(101, 7, 33), (5, 90, 17)] {
            let lhs_t: Vec<f32> = (0..k * m).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
            let rhs: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 * 0.5).collect();
            let stride = n + 3;
            let start: Vec<f32> = (0..m * stride).map(|i| (i % 4) as f32).collect();
            let run = |bands: usize| {
                let mut dst = start.clone();
                let lhs = View::new(lhs_t.as_ptr(), m, 1).t();
                let rhs = View::new(rhs.as_ptr(), n, 1);
                let dims = (m, n, k);
                // SAFETY: the views and the destination cover the buffers above.
                unsafe {
                    if bands == 1 {
                        matmul(
                            dims,
                            dst.as_mut_ptr(),
                            stride,
                            true,
                            lhs,
                            rhs,
                            0.5,
                            Threads::One,
                        )
                    } else {
                        Product {
                            dims,
                            dst: SharedMut(dst.as_mut_ptr()),
                            dst_row: stride,
                            accumulate: true,
                            lhs,
                            rhs,
                            scale: 0.5,
                        }
                        .in_bands(bands)
                    }
                };
                dst
            };
            assert_eq!(run(3), run(1), "{m} x {n} x {k}");
        }
    }

    #[test]
    fn strided_matmul_matches_the_definition() {
        // lhs 2x3 read transposed from a 3x2 buffer; rhs 3x2 with a row stride of 4.
        let lhs_t = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]; // lhs = [[1,2,3],[4,5,6]]
        let rhs = [
            1.0f32, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 5.0, 6.0, 0.0, 0.0,
        ];
        let mut dst = [1.0f32; 4];
        unsafe {
            matmul(
                (2, 2, 3),
                dst.as_mut_ptr(),
                2,
                true,
                View::new(lhs_t.as_ptr(), 2, 1).t(),
                View::new(rhs.as_ptr(), 4, 1),
                0.5,
                Threads::One,
            )
        };
        // lhs . rhs = [[22, 28], [49, 64]]; dst = 1 + 0.5 * that.
        assert_eq!(dst, [12.0, 15.0, 25.5, 33.0]);
    }
}
