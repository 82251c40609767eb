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

/// Fills each of the `rows` rows of `dst` with `bias`.
pub fn broadcast_rows(dst: &mut [f32], bias: &[f32], rows: usize) {
    let n = bias.len();
    for row in dst[..rows * n].chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
}

/// Applies `act` in place.
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

/// Multiplies `delta` by the derivative of `act` at the point whose output was `ys`.
pub fn backprop_activation(delta: &mut [f32], ys: &[f32], act: Activation) {
    let pairs = delta.iter_mut().zip(ys);
    match act {
        Activation::Relu => pairs.for_each(|(d, &y)| {
            if y <= 0.0 {
                *d = 0.0
            }
        }),
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

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The reconstruction loss summed over every element (a batch's per-example losses added up),
/// with `delta = scale * d(loss)/d(logits)` written alongside in one pass.
pub fn loss_and_grad(loss: ReconLoss, logits: &[f32], target: &[f32], delta: &mut [f32], scale: f32) -> f64 {
    let mut total = 0f64;
    match loss {
        ReconLoss::Bce => {
            for ((d, &x), &y) in delta.iter_mut().zip(logits).zip(target) {
                // max(x, 0) - x y + log(1 + exp(-|x|)), the stable form of ae_core::loss.
                let e = (-x.abs()).exp();
                total += f64::from(x.max(0.0) - x * y + e.ln_1p());
                let s = if x >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                *d = scale * (s - y);
            }
        }
        ReconLoss::Mse => {
            for ((d, &x), &y) in delta.iter_mut().zip(logits).zip(target) {
                let r = x - y;
                total += f64::from(r * r);
                *d = scale * 2.0 * r;
            }
        }
    }
    total
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
