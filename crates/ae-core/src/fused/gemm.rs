//! A safe matrix product over row-major `f32` slices. Where OpenBLAS was found at build time
//! (`build.rs`) it calls OpenBLAS's `cblas_sgemm`; otherwise the `gemm` crate that candle itself
//! uses. OpenBLAS measured 1.2x to 1.8x faster on this project's 2-core AVX-512 machine (see
//! `docs/benchmarks.md`). With `dense_avx512.rs` this is one of the two places in ae with
//! `unsafe`: every length is checked against the shapes before the call, so the pointers handed
//! over always stay inside their slices.

#![allow(unsafe_code)]

/// A row-major matrix operand: `rows x cols`, optionally read transposed.
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    /// The values, row-major, of the matrix *as stored*.
    pub data: &'a [f32],
    /// Rows as stored.
    pub rows: usize,
    /// Columns as stored.
    pub cols: usize,
    /// Use the transpose of the stored matrix.
    pub transposed: bool,
}

impl Operand<'_> {
    /// Shape after the optional transpose.
    fn shape(&self) -> (usize, usize) {
        if self.transposed { (self.cols, self.rows) } else { (self.rows, self.cols) }
    }

    /// (column stride, row stride) of the logical matrix.
    #[cfg_attr(ae_openblas, allow(dead_code))]
    fn strides(&self) -> (isize, isize) {
        if self.transposed { (self.cols as isize, 1) } else { (1, self.cols as isize) }
    }
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`), where `dst` is row-major `m x n`.
///
/// # Panics
/// If a slice is shorter than its shape or the inner dimensions differ: a programming error in
/// ae, never a user input.
pub fn matmul(dst: &mut [f32], a: Operand<'_>, b: Operand<'_>, accumulate: bool, threads: usize) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "matmul: inner dimensions {k} and {k2} differ");
    assert!(a.data.len() >= a.rows * a.cols, "matmul: lhs slice too short");
    assert!(b.data.len() >= b.rows * b.cols, "matmul: rhs slice too short");
    assert!(dst.len() >= m * n, "matmul: dst slice too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    product(dst, a, b, accumulate, threads);
}

/// The pure-Rust product: the `gemm` crate, split across `threads` on rayon's pool.
#[cfg(not(ae_openblas))]
fn product(dst: &mut [f32], a: Operand<'_>, b: Operand<'_>, accumulate: bool, threads: usize) {
    use gemm::Parallelism;
    let ((m, k), (_, n)) = (a.shape(), b.shape());
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    let parallelism = if threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    // SAFETY: the asserts above guarantee that every element the strides address,
    // (i, p) -> i*rs + p*cs for i < m (or k) and p < k (or n), lies inside its slice; `dst` is
    // borrowed mutably and cannot alias the shared borrows `a` and `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(ae_openblas)]
mod cblas {
    #[link(name = "openblas")]
    unsafe extern "C" {
        pub fn cblas_sgemm(
            order: i32,
            trans_a: i32,
            trans_b: i32,
            m: i32,
            n: i32,
            k: i32,
            alpha: f32,
            a: *const f32,
            lda: i32,
            b: *const f32,
            ldb: i32,
            beta: f32,
            c: *mut f32,
            ldc: i32,
        );
        pub fn openblas_set_num_threads(threads: i32);
    }
    pub const ROW_MAJOR: i32 = 101;
    pub const NO_TRANS: i32 = 111;
    pub const TRANS: i32 = 112;
}

/// The OpenBLAS product. OpenBLAS keeps one global thread count; it is set only when it changes.
/// (Routing small single-thread products to the `gemm` crate, faster in isolation, made
/// reconstruction slower in the benchmark, so every product goes to OpenBLAS.)
#[cfg(ae_openblas)]
fn product(dst: &mut [f32], a: Operand<'_>, b: Operand<'_>, accumulate: bool, threads: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static THREADS: AtomicUsize = AtomicUsize::new(0);
    let ((m, k), (_, n)) = (a.shape(), b.shape());
    let int = |v: usize| i32::try_from(v).expect("matmul: dimension over i32::MAX");
    let trans = |o: &Operand<'_>| if o.transposed { cblas::TRANS } else { cblas::NO_TRANS };
    let threads = threads.max(1);
    if THREADS.swap(threads, Ordering::Relaxed) != threads {
        // SAFETY: a plain setter with no pointers.
        unsafe { cblas::openblas_set_num_threads(int(threads)) };
    }
    // SAFETY: the asserts in `matmul` guarantee every element addressed through the leading
    // dimensions (the stored column counts) lies inside its slice; `dst` cannot alias `a` or `b`.
    unsafe {
        cblas::cblas_sgemm(
            cblas::ROW_MAJOR,
            trans(&a),
            trans(&b),
            int(m),
            int(n),
            int(k),
            1.0,
            a.data.as_ptr(),
            int(a.cols.max(1)),
            b.data.as_ptr(),
            int(b.cols.max(1)),
            if accumulate { 1.0 } else { 0.0 },
            dst.as_mut_ptr(),
            int(n),
        );
    }
}

/// Which matrix-product backend this build uses (`OpenBLAS 0.3.21`, `pure Rust (gemm crate)`),
/// chosen by `build.rs`: `ae --version`, `ae train` and the benchmark report it.
pub const BACKEND: &str = env!("AE_MATMUL_BACKEND");

/// The backend and, where the CPU has it, ae's own AVX-512 inference kernel, in one phrase for
/// reports: `matrix products on OpenBLAS 0.3.21, inference on ae's AVX-512 kernel`, and in a
/// build with the `cuda` feature, that `--device cuda` is available.
pub fn describe() -> String {
    let inference = if super::dense_avx512::available() { "ae's AVX-512 kernel" } else { "the same products" };
    let cuda = if cfg!(feature = "cuda") { "; --device cuda on candle's CUDA backend" } else { "" };
    format!("matrix products on {BACKEND}, inference on {inference}{cuda}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37 + seed).sin()).collect()
    }

    #[test]
    fn every_transpose_combination_matches_candle() {
        let (m, k, n) = (7, 5, 3);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let av = data(m * k, 1.0);
            let bv = data(k * n, 2.0);
            let (ar, ac) = if ta { (k, m) } else { (m, k) };
            let (br, bc) = if tb { (n, k) } else { (k, n) };
            let at = Tensor::from_slice(&av, (ar, ac), &Device::Cpu).unwrap();
            let bt = Tensor::from_slice(&bv, (br, bc), &Device::Cpu).unwrap();
            let at = if ta { at.t().unwrap() } else { at };
            let bt = if tb { bt.t().unwrap() } else { bt };
            let want = at.matmul(&bt).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for threads in [1, 2] {
                let mut dst = vec![1.0f32; m * n];
                let a = Operand { data: &av, rows: ar, cols: ac, transposed: ta };
                let b = Operand { data: &bv, rows: br, cols: bc, transposed: tb };
                matmul(&mut dst, a, b, false, threads);
                for (g, w) in dst.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "ta={ta} tb={tb}: {dst:?} vs {want:?}");
                }
                matmul(&mut dst, a, b, true, threads);
                for (g, w) in dst.iter().zip(&want) {
                    assert!((g - 2.0 * w).abs() < 1e-5, "accumulate");
                }
            }
        }
    }
}
