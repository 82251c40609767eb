//! One dense layer, `out = act(x W^T + b)`, as a blocked AVX-512 matrix product with the bias and
//! the activation (ReLU, leaky ReLU or sigmoid) applied in the kernel's epilogue, for inference.
//! Against OpenBLAS's `sgemm` plus a separate bias/activation pass it skips OpenBLAS's zeroing of
//! the output, that pass over memory, and the copy of the input batch into packed panels (the
//! kernel broadcasts straight from the input's rows); only the weights are repacked, once per
//! call (keeping packed weights between calls, checked against the live weights byte for byte,
//! measured no faster: the check reads as much as the packing). Measured layer by layer on this
//! project's 2-core Cascade Lake machine (batch 1,000, one thread, a throwaway harness): 784 -> 400
//! at 110-118 GFLOP/s against OpenBLAS 0.3.21's 101-106, 20 -> 400 at 78 against 51, 400 -> 784
//! at 108-115 against 114-118 (before the single reduction block and the unrolled loop below,
//! which added 6-14% on whole models); whole models against PyTorch in `docs/benchmarks.md`.
//!
//! This file and `gemm.rs` are the two places in ae with `unsafe`: AVX-512 intrinsics and raw
//! pointers into slices whose lengths are checked against the shapes on entry.

#![allow(unsafe_code)]

use crate::activation::Activation;
use crate::fused::kernels;
use crate::fused::mlp::Dense;

/// Whether this CPU has AVX-512F (checked once); without it callers use the general path.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out = act(x W^T + b)` for `rows` rows of `x` on the calling thread. Returns false, writing
/// nothing, where the CPU lacks AVX-512.
///
/// # Panics
/// If a slice is shorter than its shape: a programming error in ae, never a user input.
pub fn layer_forward(out: &mut [f32], x: &[f32], rows: usize, layer: &Dense<'_>) -> bool {
    if !available() {
        return false;
    }
    let (k, n) = (layer.in_dim, layer.out_dim);
    assert!(out.len() >= rows * n, "dense: output slice too short");
    assert!(x.len() >= rows * k, "dense: input slice too short");
    assert!(layer.weight.len() >= n * k && layer.bias.len() >= n, "dense: weight or bias too short");
    if rows == 0 || n == 0 {
        return true;
    }
    let fused = match layer.activation {
        Some(Activation::Tanh | Activation::Gelu) => None,
        act => act,
    };
    #[cfg(target_arch = "x86_64")]
    PACKED.with_borrow_mut(|packed| blocked::product(&mut out[..rows * n], x, rows, layer, fused, packed));
    match layer.activation {
        Some(act) if fused.is_none() => kernels::activate_vectorised(&mut out[..rows * n], act),
        _ => {}
    }
    true
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// Each thread's packed weight panels, kept so calls do not allocate.
    static PACKED: std::cell::RefCell<Vec<f32>> = std::cell::RefCell::default();
}

#[cfg(target_arch = "x86_64")]
mod blocked {
    use std::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::fused::mlp::Dense;

    /// Output columns per kernel call: two 16-float registers.
    const NR: usize = 32;
    /// Input rows per kernel call: 12 x 2 accumulators leave registers for the weights.
    const MR: usize = 12;
    /// Most of the reduction dimension per block. Every layer of ae's models fits in one, so each
    /// output tile is written once, with its bias and activation; the 12 input rows then spill
    /// from L1 (37 KB at 784) into L2, which costs less than storing and reloading partial sums
    /// that the chunk's packed weights had pushed out to L3 (384, three blocks at 784: 2-6%
    /// fewer images per second on the VAE and the stacked model).
    const KC: usize = 1024;
    /// Bytes of packed weights per block, to stay in the 1 MiB L2 with room for the input.
    const PACKED_BYTES: usize = 512 * 1024;
    /// How far ahead, in reduction steps, the kernel prefetches packed weights (4 measured best
    /// of 4, 8, 16 and 32).
    const PREFETCH: usize = 4;

    /// The blocked product: for each block of output columns and of the reduction, pack the
    /// weights, then run the kernel over every 12-row panel of the input.
    pub(super) fn product(
        out: &mut [f32],
        x: &[f32],
        rows: usize,
        layer: &Dense<'_>,
        activation: Option<Activation>,
        packed: &mut Vec<f32>,
    ) {
        let (k, n) = (layer.in_dim, layer.out_dim);
        let panels = n.div_ceil(NR);
        let k_blocks = k.div_ceil(KC).max(1);
        let kc_max = k.div_ceil(k_blocks).max(1);
        let panels_per_chunk = (PACKED_BYTES / (NR * kc_max * 4)).max(1);
        let chunks = panels.div_ceil(panels_per_chunk);
        let chunk_panels = panels.div_ceil(chunks);
        // Panels start on a 64-byte boundary, so that each packed step of 32 values is exactly two
        // cache lines; unaligned, every load of the kernel and store of the packer straddled two
        // (VAE, one thread: 4-5% more encodes and reconstructions per second).
        let need = chunk_panels * NR * kc_max + 16;
        if packed.len() < need {
            packed.resize(need, 0.0);
        }
        let offset = (64 - packed.as_ptr() as usize % 64) % 64 / 4;
        let packed = &mut packed[offset..];
        for chunk in 0..chunks {
            let (p0, p1) = (chunk * chunk_panels, ((chunk + 1) * chunk_panels).min(panels));
            let mut k0 = 0;
            for block in 0..k_blocks {
                let kc = (k - k0).div_ceil(k_blocks - block);
                let step = Step { kc, first: block == 0, last: block + 1 == k_blocks, activation };
                // SAFETY: AVX-512F was detected by `available`; `pack` writes panels p0..p1 of
                // `kc` steps, which `packed` was sized for, and reads rows < n, columns < k of W.
                unsafe { pack(layer.weight, k, n, k0, kc, p0, p1, packed) };
                for (i, rows_out) in out.chunks_mut(MR * n).enumerate() {
                    let (m0, mr) = (i * MR, rows_out.len() / n);
                    debug_assert!(m0 + mr <= rows);
                    // Rows past the last one read row m0 again: valid memory, results discarded.
                    let row_ptrs: [*const f32; MR] =
                        std::array::from_fn(|r| x[(m0 + if r < mr { r } else { 0 }) * k + k0..].as_ptr());
                    for p in p0..p1 {
                        let n0 = p * NR;
                        let tile = Tile { c: rows_out[n0..].as_mut_ptr(), ldc: n, rows: mr, cols: (n - n0).min(NR) };
                        // SAFETY: each row pointer has `kc` readable values (k0 + kc <= k); the
                        // panel has NR x kc values; the tile's rows < mr and columns < cols lie
                        // inside `rows_out`; the bias has `cols` values from n0.
                        unsafe {
                            kernel(&row_ptrs, packed[(p - p0) * NR * kc..].as_ptr(), &layer.bias[n0..], tile, step)
                        };
                    }
                }
                k0 += kc;
            }
        }
    }

    /// Where the kernel's 12 x 32 tile goes: `rows x cols` valid values at `c`, row stride `ldc`.
    struct Tile {
        c: *mut f32,
        ldc: usize,
        rows: usize,
        cols: usize,
    }

    /// The reduction block a kernel call covers, and what its epilogue does.
    #[derive(Clone, Copy)]
    struct Step {
        kc: usize,
        /// Start from the bias (first block) instead of the partial sums already in the output.
        first: bool,
        /// Apply the activation (last block).
        last: bool,
        /// ReLU, leaky ReLU or sigmoid (the others are applied after the product).
        activation: Option<Activation>,
    }

    /// Packs columns `k0..k0 + kc` of weight rows `p0 * NR..p1 * NR` (W is `n x k`) as panels
    /// of `kc` steps of NR consecutive output features, zero past row n: 16 x 16 blocks loaded
    /// row by row and transposed in registers (gathering a column at a time cost twice as much).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn pack(w: &[f32], k: usize, n: usize, k0: usize, kc: usize, p0: usize, p1: usize, dst: &mut [f32]) {
        assert!(dst.len() >= (p1 - p0) * NR * kc && w.len() >= n * k && k0 + kc <= k);
        for p in p0..p1 {
            // Both halves of a step of 16 columns in turn, so the panel is written front to back.
            for kk in (0..kc).step_by(16) {
                let width = (kc - kk).min(16);
                let mask = lane_mask(width);
                for half in 0..2 {
                    let r0 = p * NR + half * 16;
                    let valid = n.saturating_sub(r0).min(16);
                    let out = dst[(p - p0) * NR * kc + half * 16..].as_mut_ptr();
                    let mut block = [_mm512_setzero_ps(); 16];
                    for (i, row) in block.iter_mut().enumerate().take(valid) {
                        let at = (r0 + i) * k + k0 + kk;
                        // SAFETY: row r0 + i < n; columns k0 + kk + lane < k0 + kc <= k for the
                        // lanes under `mask`; masked-off lanes are not read.
                        *row = unsafe { _mm512_maskz_loadu_ps(mask, w.as_ptr().add(at)) };
                        // Four cache lines ahead along the row: W is usually out of L2 by the
                        // next call (VAE 784 -> 400, one thread: 330 us a packing without it,
                        // 255 with, 225 with both halves of a step in turn).
                        _mm_prefetch::<_MM_HINT_T0>(w.as_ptr().wrapping_add(at + 64) as *const i8);
                    }
                    transpose16(&mut block);
                    for (j, column) in block.iter().enumerate().take(width) {
                        // SAFETY: step kk + j < kc of this panel half: 16 values inside the
                        // (p1 - p0) x NR x kc values `dst` holds.
                        unsafe { _mm512_storeu_ps(out.add((kk + j) * NR), *column) };
                    }
                }
            }
        }
    }

    /// Transposes a 16 x 16 block held as 16 rows: afterwards `r[j]` holds column j.
    #[target_feature(enable = "avx512f")]
    fn transpose16(r: &mut [__m512; 16]) {
        let pd = |x: __m512| _mm512_castps_pd(x);
        let ps = |x: __m512d| _mm512_castpd_ps(x);
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for q in (0..16).step_by(4) {
            r[q] = ps(_mm512_unpacklo_pd(pd(t[q]), pd(t[q + 2])));
            r[q + 1] = ps(_mm512_unpackhi_pd(pd(t[q]), pd(t[q + 2])));
            r[q + 2] = ps(_mm512_unpacklo_pd(pd(t[q + 1]), pd(t[q + 3])));
            r[q + 3] = ps(_mm512_unpackhi_pd(pd(t[q + 1]), pd(t[q + 3])));
        }
        for h in (0..16).step_by(8) {
            for j in 0..4 {
                t[h + j] = _mm512_shuffle_f32x4::<0x88>(r[h + j], r[h + 4 + j]);
                t[h + 4 + j] = _mm512_shuffle_f32x4::<0xdd>(r[h + j], r[h + 4 + j]);
            }
        }
        for j in 0..8 {
            r[j] = _mm512_shuffle_f32x4::<0x88>(t[j], t[8 + j]);
            r[8 + j] = _mm512_shuffle_f32x4::<0xdd>(t[j], t[8 + j]);
        }
    }

    /// Leaky ReLU or sigmoid on 16 values (the ReLU is applied in the kernel's epilogue itself).
    #[target_feature(enable = "avx512f")]
    fn activate(v: __m512, activation: Option<Activation>) -> __m512 {
        match activation {
            // max(x, 0.01 x) is x for x >= 0 and 0.01 x below.
            Some(Activation::LeakyRelu) => _mm512_max_ps(v, _mm512_mul_ps(v, _mm512_set1_ps(0.01))),
            Some(Activation::Sigmoid) => sigmoid(v),
            _ => v,
        }
    }

    /// `kernels::sigmoid` on 16 lanes: `exp(-|x|)` by the same range reduction and polynomial
    /// (with fused multiply-adds), then `1 / (1 + e)` from the 14-bit reciprocal estimate and one
    /// Newton step (relative error about 2^-28, below f32 rounding).
    #[target_feature(enable = "avx512f")]
    fn sigmoid(x: __m512) -> __m512 {
        use crate::fused::kernels::exp_constants::{FLOOR, LN2_HI, LN2_LO, LOG2_E, ROUND};
        let set = _mm512_set1_ps;
        let y = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)), set(FLOOR));
        let t = _mm512_fmadd_ps(y, set(LOG2_E), set(ROUND));
        let n = _mm512_sub_ps(t, set(ROUND));
        let r = _mm512_fnmadd_ps(n, set(LN2_LO), _mm512_fnmadd_ps(n, set(LN2_HI), y));
        let mut p = set(1.0 / 720.0);
        for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm512_fmadd_ps(p, r, set(c));
        }
        // 2^n from n's bits in t's mantissa, as in `kernels::exp_non_positive`.
        let k = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(ROUND.to_bits() as i32));
        let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k, _mm512_set1_epi32(127))));
        let e = _mm512_mul_ps(p, scale);
        let d = _mm512_add_ps(set(1.0), e);
        let r0 = _mm512_rcp14_ps(d);
        let inv = _mm512_mul_ps(r0, _mm512_fnmadd_ps(d, r0, set(2.0)));
        let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_setzero_ps());
        _mm512_mask_mul_ps(inv, negative, e, inv)
    }

    /// The first `valid` of 16 lanes.
    fn lane_mask(valid: usize) -> __mmask16 {
        if valid >= 16 { 0xffff } else { ((1u32 << valid) - 1) as u16 }
    }

    /// The 12 x 32 micro-kernel: accumulates `kc` steps in 24 registers, then adds the bias (or
    /// the partial sums already stored), applies the activation on the last block, and stores the valid
    /// part of the tile under masks.
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel(rows: &[*const f32; MR], b: *const f32, bias: &[f32], tile: Tile, step: Step) {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        let rows = *rows;
        // One reduction step: the next NR weights against each row's value at `kk`.
        let mut b = b;
        let mut fma_step = |kk: usize| {
            // SAFETY: b stays inside the NR x kc panel (the prefetch addresses may run past it,
            // so they are formed with wrapping arithmetic; a prefetch never faults);
            // rows[i] + kk < rows[i] + kc, inside the input (see `product`).
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PREFETCH * NR) as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PREFETCH * NR + 16) as *const i8);
                let b0 = _mm512_loadu_ps(b);
                let b1 = _mm512_loadu_ps(b.add(16));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let a = _mm512_set1_ps(*rows[i].add(kk));
                    acc[0] = _mm512_fmadd_ps(a, b0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(a, b1, acc[1]);
                }
                b = b.add(NR);
            }
        };
        // Two steps a turn: the loop's own instructions were a tenth of the issue slots (about 2%
        // more images per second).
        let pairs = step.kc / 2;
        for pair in 0..pairs {
            fma_step(2 * pair);
            fma_step(2 * pair + 1);
        }
        if step.kc % 2 == 1 {
            fma_step(step.kc - 1);
        }
        let masks = [lane_mask(tile.cols), lane_mask(tile.cols.saturating_sub(16))];
        // SAFETY: masked loads and stores touch only the tile's first `cols` columns of its first
        // `rows` rows, and the bias's first `cols` values; masked-off lanes never fault. A second
        // half with no valid column may start past the slice's end, so its address is formed
        // with wrapping arithmetic and never dereferenced.
        unsafe {
            let bias = [
                _mm512_maskz_loadu_ps(masks[0], bias.as_ptr()),
                _mm512_maskz_loadu_ps(masks[1], bias.as_ptr().wrapping_add(16)),
            ];
            for (i, acc) in acc.iter().enumerate().take(tile.rows) {
                for half in 0..2 {
                    let c = tile.c.wrapping_add(i * tile.ldc + half * 16);
                    let start = if step.first { bias[half] } else { _mm512_maskz_loadu_ps(masks[half], c) };
                    let mut v = _mm512_add_ps(acc[half], start);
                    if step.last && step.activation == Some(Activation::Relu) {
                        v = _mm512_max_ps(v, _mm512_setzero_ps());
                    }
                    _mm512_mask_storeu_ps(c, masks[half], v);
                }
            }
        }
        if step.last && matches!(step.activation, Some(Activation::LeakyRelu | Activation::Sigmoid)) {
            // SAFETY: the same tile, just stored.
            unsafe { activate_tile(&tile, masks, step.activation) };
        }
    }

    /// The other activations over a stored tile, while it is in L1. Kept out of line: inlined,
    /// its constants took registers from the kernel's loop, which then spilled (3x slower).
    #[target_feature(enable = "avx512f")]
    #[inline(never)]
    unsafe fn activate_tile(tile: &Tile, masks: [__mmask16; 2], activation: Option<Activation>) {
        for i in 0..tile.rows {
            for (half, &mask) in masks.iter().enumerate() {
                // SAFETY: as for the kernel's stores: the tile's first `rows` rows and `cols`
                // columns, masked.
                unsafe {
                    let c = tile.c.wrapping_add(i * tile.ldc + half * 16);
                    _mm512_mask_storeu_ps(c, mask, activate(_mm512_maskz_loadu_ps(mask, c), activation));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::gemm::{Operand, matmul};

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37 + seed).sin() * 0.5).collect()
    }

    /// The composed reference: the matrix product, then the bias and activation pass.
    fn reference(x: &[f32], rows: usize, layer: &Dense<'_>) -> Vec<f32> {
        let mut out = vec![0f32; rows * layer.out_dim];
        let a = Operand { data: x, rows, cols: layer.in_dim, transposed: false };
        let w = Operand { data: layer.weight, rows: layer.out_dim, cols: layer.in_dim, transposed: true };
        matmul(&mut out, a, w, false, 1);
        kernels::add_bias_activate(&mut out, layer.bias, layer.activation, 1);
        out
    }

    #[test]
    fn the_fused_sigmoid_matches_the_scalar_one() {
        // One input, weight 1, bias 0: the output is sigmoid(x) from the epilogue.
        let x: Vec<f32> = (0..=40_000).map(|i| -100.0 + i as f32 * 0.005).chain([0.0, -0.0, 1e-30, -1e-30]).collect();
        let layer =
            Dense { weight: &[1.0], bias: &[0.0], in_dim: 1, out_dim: 1, activation: Some(Activation::Sigmoid) };
        let mut got = vec![0f32; x.len()];
        // Without AVX-512F the kernel must decline (callers then take the general path, whose
        // sigmoid is the scalar one) and leave the output untouched.
        assert_eq!(layer_forward(&mut got, &x, x.len(), &layer), available());
        if !available() {
            assert!(got.iter().all(|&g| g == 0.0), "a declined call wrote to its output");
            return;
        }
        for (v, g) in x.iter().zip(&got) {
            let want = kernels::sigmoid(*v);
            assert!((g - want).abs() <= 1.2e-7 && (*g - want).abs() <= 4e-7 * want, "sigmoid({v}): {g} vs {want}");
        }
    }

    #[test]
    fn matches_the_matrix_product_with_its_bias_and_activation_pass() {
        if !available() {
            // Nothing to compare: the function must then refuse, and callers take the general path.
            let layer = Dense { weight: &[1.0], bias: &[0.0], in_dim: 1, out_dim: 1, activation: None };
            assert!(!layer_forward(&mut [0.0], &[1.0], 1, &layer));
            eprintln!("no AVX-512F on this CPU: checked only that layer_forward declines");
            return;
        }
        // Edges of every blocking: rows not a multiple of 12, columns not a multiple of 16 or
        // 32, an odd reduction length, a reduction over several blocks (2100 > 1024) and output
        // columns over several chunks.
        let shapes = [
            (1, 1, 1),
            (5, 3, 17),
            (13, 20, 33),
            (25, 800, 40),
            (12, 64, 784),
            (30, 400, 1500),
            (7, 2, 16),
            (13, 2100, 40),
        ];
        let activations = [
            None,
            Some(Activation::Relu),
            Some(Activation::Sigmoid),
            Some(Activation::Tanh),
            Some(Activation::LeakyRelu),
        ];
        for (rows, k, n) in shapes {
            for activation in activations {
                let (w, b, x) = (data(n * k, 1.0), data(n, 2.0), data(rows * k, 3.0));
                let layer = Dense { weight: &w, bias: &b, in_dim: k, out_dim: n, activation };
                let want = reference(&x, rows, &layer);
                let mut got = vec![f32::NAN; rows * n + 3];
                assert!(layer_forward(&mut got, &x, rows, &layer));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (1.0 + w.abs()) * (k as f32).sqrt();
                    assert!((g - w).abs() <= tol, "{rows}x{k}->{n} {activation:?} at {i}: {g} vs {w}");
                }
                assert!(got[rows * n..].iter().all(|v| v.is_nan()), "wrote past the output");
            }
        }
    }
}
