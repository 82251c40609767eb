//! Element-wise kernels of the fused path, on row-major host slices: bias broadcast, activations
//! and their derivatives (from the activation's *output*, so no pre-activation buffer is kept),
//! and each reconstruction loss fused with its gradient. Each is tested against the composed
//! candle version in `fused::mlp`'s tests.

use crate::activation::Activation;
use crate::loss::ReconLoss;

/// Whether the fused path supports `act`: its derivative must be a function of its output.
pub fn supports(act: Activation) -> bool {
    !matches!(act, Activation::Gelu)
}

/// Applies `act` in place.
#[inline(always)]
pub fn activate(xs: &mut [f32], act: Activation) {
    match act {
        Activation::Relu => xs.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::LeakyRelu => xs.iter_mut().for_each(|x| {
            if *x < 0.0 {
                *x *= 0.01
            }
        }),
        Activation::Tanh => xs.iter_mut().for_each(|x| *x = x.tanh()),
        Activation::Sigmoid => xs.iter_mut().for_each(|x| *x = sigmoid(*x)),
        Activation::Gelu => unreachable!("gelu has no fused path; callers check `supports`"),
    }
}

/// Rows per parallel chunk of [`add_bias_activate`]: below about this much work a chunk is not
/// worth a task.
const BIAS_CHUNK_ELEMS: usize = 1 << 15;

/// `x = act(x + bias)` for every row of `xs`, in one pass over memory (the bias is not folded
/// into the matrix product, which would cost a pass of its own to broadcast it); in row chunks on
/// rayon's pool when `threads > 1` and the buffer is large.
pub fn add_bias_activate(xs: &mut [f32], bias: &[f32], act: Option<Activation>, threads: usize) {
    use rayon::prelude::*;
    let n = bias.len().max(1);
    let rows_per_chunk = (BIAS_CHUNK_ELEMS / n).max(1);
    let run = |chunk: &mut [f32]| pulp::Arch::new().dispatch(BiasActivate { xs: chunk, bias, act });
    if threads <= 1 || xs.len() <= BIAS_CHUNK_ELEMS {
        run(xs);
    } else {
        xs.par_chunks_mut(rows_per_chunk * n).for_each(run);
    }
}

/// The loop of [`add_bias_activate`] for one chunk. `pulp` compiles it once per SIMD level and
/// picks the widest this CPU has at run time (AVX-512 here); the plain build targets SSE2 only.
struct BiasActivate<'a> {
    xs: &'a mut [f32],
    bias: &'a [f32],
    act: Option<Activation>,
}

impl pulp::WithSimd for BiasActivate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for row in self.xs.chunks_exact_mut(self.bias.len().max(1)) {
            row.iter_mut().zip(self.bias).for_each(|(x, b)| *x += b);
            if let Some(act) = self.act {
                activate(row, act);
            }
        }
    }
}

/// [`activate`] compiled for the widest SIMD level this CPU has (as in [`add_bias_activate`]),
/// for passes that have no bias to add.
pub fn activate_vectorised(xs: &mut [f32], act: Activation) {
    struct Activate<'a> {
        xs: &'a mut [f32],
        act: Activation,
    }
    impl pulp::WithSimd for Activate<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) {
            activate(self.xs, self.act);
        }
    }
    pulp::Arch::new().dispatch(Activate { xs, act });
}

/// Multiplies `delta` by the derivative of `act` at the point whose output was `ys`.
pub fn backprop_activation(delta: &mut [f32], ys: &[f32], act: Activation) {
    let pairs = delta.iter_mut().zip(ys);
    match act {
        Activation::Relu => pairs.for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 }),
        Activation::LeakyRelu => pairs.for_each(|(d, &y)| {
            if y < 0.0 {
                *d *= 0.01
            }
        }),
        Activation::Tanh => pairs.for_each(|(d, &y)| *d *= 1.0 - y * y),
        Activation::Sigmoid => pairs.for_each(|(d, &y)| *d *= y * (1.0 - y)),
        Activation::Gelu => unreachable!("gelu has no fused path; callers check `supports`"),
    }
}

/// The logistic function, branch-free on [`exp_non_positive`] so loops over it vectorise.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp_non_positive(-x.abs());
    let inv = 1.0 / (1.0 + e);
    if x >= 0.0 { inv } else { e * inv }
}

/// Elements per parallel chunk of the loss kernel.
const LOSS_CHUNK: usize = 1 << 14;

/// The reconstruction loss summed over every element (a batch's per-example losses added up),
/// with `delta = scale * d(loss)/d(logits)` written alongside in one pass, in parallel chunks on
/// rayon's pool. Chunk totals are added in chunk order, so the result does not depend on how the
/// work was scheduled.
pub fn loss_and_grad(loss: ReconLoss, logits: &[f32], target: &[f32], delta: &mut [f32], scale: f32) -> f64 {
    use rayon::prelude::*;
    if logits.len() <= LOSS_CHUNK {
        return loss_chunk(loss, logits, target, delta, scale);
    }
    delta
        .par_chunks_mut(LOSS_CHUNK)
        .zip(logits.par_chunks(LOSS_CHUNK))
        .zip(target.par_chunks(LOSS_CHUNK))
        .map(|((d, x), y)| loss_chunk(loss, x, y, d, scale))
        .collect::<Vec<f64>>()
        .into_iter()
        .sum()
}

/// The reconstruction loss of each row of `logits` (`width` values a row) against the row
/// `target(i)`, summed over the row: per-example losses without gradients, rows in parallel.
pub fn row_losses<'t>(
    loss: ReconLoss,
    logits: &[f32],
    width: usize,
    target: impl Fn(usize) -> &'t [f32] + Sync,
) -> Vec<f64> {
    use rayon::prelude::*;
    let width = width.max(1);
    logits
        .par_chunks(width)
        .enumerate()
        .map_init(
            || vec![0f32; width],
            |scratch, (i, row)| loss_chunk(loss, row, &target(i)[..row.len()], &mut scratch[..row.len()], 1.0),
        )
        .collect()
}

fn loss_chunk(loss: ReconLoss, logits: &[f32], target: &[f32], delta: &mut [f32], scale: f32) -> f64 {
    // Eight running sums added in a fixed order: the result is deterministic, and the loop body
    // has no serial dependency, so it vectorises.
    const LANES: usize = 8;
    let mut acc = [0f64; LANES];
    let term = |x: f32, y: f32| -> (f32, f32) {
        match loss {
            ReconLoss::Bce => {
                // max(x, 0) - x y + log(1 + exp(-|x|)), the stable form of ae_core::loss;
                // the gradient is sigmoid(x) - y.
                let e = exp_non_positive(-x.abs());
                let inv = 1.0 / (1.0 + e);
                let s = if x >= 0.0 { inv } else { e * inv };
                (x.max(0.0) - x * y + ln_1p_unit(e), s - y)
            }
            ReconLoss::Mse => {
                let r = x - y;
                (r * r, 2.0 * r)
            }
        }
    };
    let n = logits.len() / LANES * LANES;
    for ((d, x), y) in
        delta[..n].chunks_exact_mut(LANES).zip(logits[..n].chunks_exact(LANES)).zip(target[..n].chunks_exact(LANES))
    {
        let mut terms = [0f32; LANES];
        for j in 0..LANES {
            let (t, g) = term(x[j], y[j]);
            terms[j] = t;
            d[j] = scale * g;
        }
        for j in 0..LANES {
            acc[j] += f64::from(terms[j]);
        }
    }
    let mut total: f64 = acc.iter().sum();
    for ((d, &x), &y) in delta[n..].iter_mut().zip(&logits[n..]).zip(&target[n..]) {
        let (t, g) = term(x, y);
        total += f64::from(t);
        *d = scale * g;
    }
    total
}

/// The constants of [`exp_non_positive`], which the AVX-512 kernel's sigmoid
/// (`dense_avx512.rs`) evaluates the same way on 16 lanes.
pub(crate) mod exp_constants {
    pub const LOG2_E: f32 = std::f32::consts::LOG2_E;
    /// ln 2 split in two, so that `n ln 2` is subtracted without rounding error.
    pub const LN2_HI: f32 = 0.693_145_75;
    pub const LN2_LO: f32 = 1.428_606_8e-6;
    /// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without a call.
    pub const ROUND: f32 = 12_582_912.0;
    /// Inputs are clamped here: exp(-87), about 1.6e-38, is just above the smallest normal f32.
    pub const FLOOR: f32 = -87.0;
}

/// `exp(y)` for `y <= 0`, branch-free so loops over it vectorise: `y = n ln 2 + r` with
/// `|r| <= ln 2 / 2`, a degree-6 Taylor polynomial for `exp(r)` (relative error below 2e-7) and
/// `2^n` built from its exponent bits. Inputs below -87 give `exp(-87)` (about 1.6e-38) instead of
/// a subnormal, which no caller can tell from 0.
#[inline(always)]
pub fn exp_non_positive(y: f32) -> f32 {
    use exp_constants::{LN2_HI, LN2_LO, LOG2_E, ROUND};
    let y = y.clamp(exp_constants::FLOOR, 0.0);
    let t = y * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // The integer n sits in the low mantissa bits of t (one unit per ulp at 1.5 * 2^23): reading
    // it from the bits keeps the loop in vector registers, where `n as i32` (a saturating cast)
    // was done one lane at a time and cost more than the polynomial.
    let k = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits(((k + 127) as u32) << 23);
    p * scale
}

/// `ln(1 + e)` for `e` in [0, 1], branch-free: `2 atanh(s)` with `s = e / (2 + e)` in [0, 1/3], as
/// the odd series `2 (s + s^3/3 + ... + s^13/13)` (truncation below 2e-8 relative), accurate for
/// small `e` too since nothing cancels.
#[inline]
pub fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    2.0 * s * series
}

/// Adds each row of the `rows x n` matrix `delta` into `sum` (length `n`).
pub fn sum_rows(sum: &mut [f32], delta: &[f32], rows: usize) {
    let n = sum.len();
    sum.fill(0.0);
    for row in delta[..rows * n].chunks_exact(n) {
        for (s, d) in sum.iter_mut().zip(row) {
            *s += d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_f64_to_float_precision() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let y = -87.0 * i as f32 / 200_000.0;
            let want = f64::from(y).exp();
            let got = f64::from(exp_non_positive(y));
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 4e-7, "worst relative error {worst:e}");
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert!(exp_non_positive(-200.0) < 2e-38 && exp_non_positive(-200.0) >= 0.0);
    }

    #[test]
    fn ln_1p_matches_f64_to_float_precision() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let e = (i as f32 / 200_000.0).powi(3);
            let want = f64::from(e).ln_1p();
            let got = f64::from(ln_1p_unit(e));
            if want > 0.0 {
                worst = worst.max(((got - want) / want).abs());
            }
        }
        assert!(worst < 4e-7, "worst relative error {worst:e}");
        assert_eq!(ln_1p_unit(0.0), 0.0);
    }

    #[test]
    fn bce_kernel_matches_the_stable_formula_in_f64() {
        let xs: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.2).chain([100.0, -100.0, 1e-3]).collect();
        let ys: Vec<f32> = (0..xs.len()).map(|i| (i % 11) as f32 / 10.0).collect();
        let mut delta = vec![0f32; xs.len()];
        let got = loss_and_grad(ReconLoss::Bce, &xs, &ys, &mut delta, 0.5);
        let mut want = 0f64;
        for ((&x, &y), &d) in xs.iter().zip(&ys).zip(&delta) {
            let (x, y) = (f64::from(x), f64::from(y));
            want += x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
            let g = 0.5 * (1.0 / (1.0 + (-x).exp()) - y);
            assert!((f64::from(d) - g).abs() < 1e-6, "x={x} y={y}: {d} vs {g}");
        }
        assert!(((got - want) / want).abs() < 1e-6, "{got} vs {want}");
    }
}
