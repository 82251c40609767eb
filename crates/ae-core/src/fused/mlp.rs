//! One training step of a stack of dense layers on host slices, with every buffer reused from
//! step to step: forward (bias folded into the matrix product, activation in place), the loss
//! fused with its gradient, and backward writing weight and bias gradients. The gradient with
//! respect to the input batch is never formed: nothing uses it.

use crate::activation::Activation;
use crate::fused::dense_avx512;
use crate::fused::gemm::{Operand, matmul};
use crate::fused::kernels;
use crate::loss::ReconLoss;

/// One dense layer `y = act(x W^T + b)` as host slices.
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a> {
    /// `(out_dim, in_dim)`, row-major, as `nn.Linear` stores it.
    pub weight: &'a [f32],
    /// `(out_dim,)`.
    pub bias: &'a [f32],
    /// Input features.
    pub in_dim: usize,
    /// Output features.
    pub out_dim: usize,
    /// Activation after the layer, if any.
    pub activation: Option<Activation>,
}

/// Buffers kept between steps: each layer's output and two gradient buffers.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    outs: Vec<Vec<f32>>,
    delta: Vec<f32>,
    next: Vec<f32>,
}

fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// Runs `layers` on `x` (`rows x layers[0].in_dim`), returning the last layer's output.
pub fn forward<'w>(layers: &[Dense<'_>], x: &[f32], rows: usize, ws: &'w mut Workspace, threads: usize) -> &'w [f32] {
    run_layers(layers, x, rows, ws, threads, None);
    let last = layers.last().map_or(0, |l| rows * l.out_dim);
    &ws.outs[layers.len() - 1][..last]
}

/// The layers one after another; the last writes into `into` when given, else into `ws`.
/// With `into` (inference) on one thread, each layer runs on the AVX-512 kernel where the CPU
/// has it.
fn run_layers(
    layers: &[Dense<'_>],
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
    threads: usize,
    mut into: Option<&mut [f32]>,
) {
    let kernel = into.is_some() && threads <= 1;
    ws.outs.resize_with(layers.len(), Vec::new);
    for (l, layer) in layers.iter().enumerate() {
        let (done, rest) = ws.outs.split_at_mut(l);
        let input: &[f32] = if l == 0 { x } else { &done[l - 1] };
        let out = match into.as_deref_mut() {
            Some(dst) if l + 1 == layers.len() => &mut dst[..rows * layer.out_dim],
            _ => sized(&mut rest[0], rows * layer.out_dim),
        };
        if kernel && dense_avx512::layer_forward(out, input, rows, layer) {
            continue;
        }
        matmul(
            out,
            Operand { data: input, rows, cols: layer.in_dim, transposed: false },
            Operand { data: layer.weight, rows: layer.out_dim, cols: layer.in_dim, transposed: true },
            false,
            threads,
        );
        kernels::add_bias_activate(out, layer.bias, layer.activation, threads);
    }
}

/// Rows per block in [`forward_rows_parallel`] with the `gemm` crate. Every block packs the
/// weights anew, so blocks must be large enough to amortise that (at 128 rows packing took a
/// quarter of the time).
const ROW_BLOCK: usize = 512;

thread_local! {
    /// Each thread's inference buffers, kept so repeated calls neither allocate nor zero pages.
    static INFERENCE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
}

/// [`forward`] for inference on a large batch, into a fresh vector. The rows are split into one
/// block per thread, each run through every layer on its own thread, with the AVX-512 kernel
/// where the CPU has it (each core keeps its block's activations in its own cache: batch 1,000,
/// 2 threads, 4-6% more images per second than OpenBLAS splitting each product) or else the
/// `gemm` crate in blocks of up to 512 rows (784-512-256-64: 65,000 reconstructions per second
/// against 22,000 when it split each product). Without AVX-512, OpenBLAS splits each product.
pub fn forward_rows_parallel(layers: &[Dense<'_>], x: &[f32], rows: usize, threads: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let (in_dim, out_dim) = match (layers.first(), layers.last()) {
        (Some(f), Some(l)) => (f.in_dim, l.out_dim),
        _ => return Vec::new(),
    };
    let mut out = vec![0f32; rows * out_dim];
    let whole = |out: &mut [f32], x: &[f32], n: usize, threads: usize| {
        INFERENCE.with_borrow_mut(|ws| run_layers(layers, x, n, ws, threads, Some(out)));
    };
    let kernel = dense_avx512::available();
    if threads <= 1 || (!kernel && cfg!(ae_openblas)) {
        whole(&mut out, x, rows, threads);
        return out;
    }
    let per_thread = rows.div_ceil(threads);
    let block = if kernel { per_thread } else { ROW_BLOCK.min(per_thread) }.max(1);
    out.par_chunks_mut(block * out_dim)
        .zip(x[..rows * in_dim].par_chunks(block * in_dim))
        .for_each(|(out, x)| whole(out, x, x.len() / in_dim, 1));
    out
}

/// A batch as host slices: `rows` inputs and their targets, row-major.
#[derive(Debug, Clone, Copy)]
pub struct HostBatch<'a> {
    /// `rows x in_dim` inputs.
    pub input: &'a [f32],
    /// `rows x out_dim` targets.
    pub target: &'a [f32],
    /// Examples in the batch.
    pub rows: usize,
}

/// One step: forward, `loss` against the batch's target, backward. Writes `d(mean loss)/d(weight)`
/// into `grads[2 l]` and `d(mean loss)/d(bias)` into `grads[2 l + 1]` for each layer `l`, and
/// returns the loss summed over the batch (divide by `rows` for the mean per example).
pub fn train_step(
    layers: &[Dense<'_>],
    batch: HostBatch<'_>,
    loss: ReconLoss,
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
    threads: usize,
) -> f64 {
    let HostBatch { input: x, target, rows } = batch;
    forward(layers, x, rows, ws, threads);
    let total = loss_into_delta(layers, ws, target, loss, rows);
    backward(layers, x, rows, ws, grads, threads, false);
    total
}

/// The loss of the last forward pass's output (logits) against `target`, summed over the batch,
/// with `d(mean loss)/d(logits)` written as the delta [`backward`] starts from.
pub fn loss_into_delta(layers: &[Dense<'_>], ws: &mut Workspace, target: &[f32], loss: ReconLoss, rows: usize) -> f64 {
    weighted_loss_into_delta(layers, ws, target, loss, rows, 1.0)
}

/// [`loss_into_delta`] for `weight` times the loss (a Gaussian likelihood's `1 / (2 σ²)` on the
/// squared error): returns the unweighted sum, writes `d(weight · mean loss)/d(logits)`.
pub fn weighted_loss_into_delta(
    layers: &[Dense<'_>],
    ws: &mut Workspace,
    target: &[f32],
    loss: ReconLoss,
    rows: usize,
    weight: f32,
) -> f64 {
    let n_last = layers[layers.len() - 1].out_dim;
    let logits = &ws.outs[layers.len() - 1][..rows * n_last];
    let delta = sized(&mut ws.delta, rows * n_last);
    kernels::loss_and_grad(loss, logits, &target[..rows * n_last], delta, weight / rows as f32)
}

/// The delta [`backward`] starts from, `rows x` the last layer's width, for callers that compute
/// the gradient at the top of the stack themselves (it is the gradient of the loss with respect to
/// the last layer's output before its activation).
pub fn top_delta<'w>(layers: &[Dense<'_>], ws: &'w mut Workspace, rows: usize) -> &'w mut [f32] {
    let n_last = layers.last().map_or(0, |l| l.out_dim);
    sized(&mut ws.delta, rows * n_last)
}

/// The last layer's output buffer, `rows x` its width, for callers that compute the forward pass
/// themselves (a sparse code's decoder) before [`loss_into_delta`].
pub fn output_mut<'w>(layers: &[Dense<'_>], ws: &'w mut Workspace, rows: usize) -> &'w mut [f32] {
    ws.outs.resize_with(layers.len(), Vec::new);
    let n_last = layers.last().map_or(0, |l| l.out_dim);
    sized(&mut ws.outs[layers.len() - 1], rows * n_last)
}

/// The output of layer `l` in the last forward pass (after its activation).
pub fn layer_output<'w>(layers: &[Dense<'_>], ws: &'w Workspace, l: usize, rows: usize) -> &'w [f32] {
    &ws.outs[l][..rows * layers[l].out_dim]
}

/// Backward from the top delta after a [`forward`] of `x`: writes each layer's weight and bias
/// gradients into `grads[2 l]` and `grads[2 l + 1]`. With `input_grad` it also forms the gradient
/// with respect to `x` and returns it (a VAE's decoder passes it on to the code); otherwise that
/// product is skipped.
pub fn backward<'w>(
    layers: &[Dense<'_>],
    x: &[f32],
    rows: usize,
    ws: &'w mut Workspace,
    grads: &mut [Vec<f32>],
    threads: usize,
    input_grad: bool,
) -> Option<&'w [f32]> {
    assert_eq!(grads.len(), 2 * layers.len(), "one weight and one bias gradient per layer");
    for l in (0..layers.len()).rev() {
        let layer = &layers[l];
        let input: &[f32] = if l == 0 { x } else { &ws.outs[l - 1][..rows * layer.in_dim] };
        let delta = &ws.delta[..rows * layer.out_dim];
        let (gw, gb) = grads[2 * l..2 * l + 2].split_at_mut(1);
        matmul(
            sized(&mut gw[0], layer.out_dim * layer.in_dim),
            Operand { data: delta, rows, cols: layer.out_dim, transposed: true },
            Operand { data: input, rows, cols: layer.in_dim, transposed: false },
            false,
            threads,
        );
        kernels::sum_rows(sized(&mut gb[0], layer.out_dim), delta, rows);
        if l == 0 && !input_grad {
            break;
        }
        let next = sized(&mut ws.next, rows * layer.in_dim);
        matmul(
            next,
            Operand { data: delta, rows, cols: layer.out_dim, transposed: false },
            Operand { data: layer.weight, rows: layer.out_dim, cols: layer.in_dim, transposed: false },
            false,
            threads,
        );
        if l == 0 {
            return Some(&ws.next[..rows * layer.in_dim]);
        }
        if let Some(act) = layers[l - 1].activation {
            kernels::backprop_activation(next, &ws.outs[l - 1][..rows * layer.in_dim], act);
        }
        std::mem::swap(&mut ws.delta, &mut ws.next);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::linear;
    use crate::rng::{Purpose, stream};
    use crate::{Params, rng};
    use candle_core::{Device, Module, Tensor};
    use candle_nn::Linear;

    /// The composed candle version: the same layers with autograd.
    fn reference(layers: &[(Linear, Option<Activation>)], xs: &Tensor, loss: ReconLoss) -> Tensor {
        let mut h = xs.clone();
        for (layer, act) in layers {
            h = layer.forward(&h).unwrap();
            if let Some(a) = act {
                h = a.apply(&h).unwrap();
            }
        }
        let target = xs;
        loss.per_example(&h, target).unwrap().mean(0).unwrap()
    }

    #[test]
    fn fused_step_matches_candle_autograd_for_every_activation_and_loss() {
        let widths = [12, 9, 4, 9, 12];
        let rows = 5;
        for act in [Activation::Relu, Activation::LeakyRelu, Activation::Tanh, Activation::Sigmoid] {
            for loss in [ReconLoss::Bce, ReconLoss::Mse] {
                let params = Params::new();
                let vb = params.var_builder(stream(1, Purpose::Init, 0), &Device::Cpu);
                let layers: Vec<(Linear, Option<Activation>)> = widths
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| {
                        (linear(w[0], w[1], vb.pp(i.to_string())).unwrap(), (i + 2 < widths.len()).then_some(act))
                    })
                    .collect();
                let xs =
                    rng::uniform(&mut stream(2, Purpose::Eval, 0), (rows, widths[0]), 0.0, 1.0, &Device::Cpu).unwrap();

                let want_loss = reference(&layers, &xs, loss);
                let want_grads = want_loss.backward().unwrap();

                let host: Vec<(Vec<f32>, Vec<f32>)> = layers
                    .iter()
                    .map(|(l, _)| {
                        let w = l.weight().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                        let b = l.bias().unwrap().to_vec1::<f32>().unwrap();
                        (w, b)
                    })
                    .collect();
                let dense: Vec<Dense<'_>> = host
                    .iter()
                    .zip(&layers)
                    .zip(widths.windows(2))
                    .map(|(((w, b), (_, a)), dims)| Dense {
                        weight: w,
                        bias: b,
                        in_dim: dims[0],
                        out_dim: dims[1],
                        activation: *a,
                    })
                    .collect();
                let x = xs.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let mut grads = vec![Vec::new(); 2 * dense.len()];
                let mut ws = Workspace::default();
                for threads in [1, 2] {
                    let batch = HostBatch { input: &x, target: &x, rows };
                    let total = train_step(&dense, batch, loss, &mut ws, &mut grads, threads);
                    let want = want_loss.to_scalar::<f32>().unwrap() as f64;
                    assert!(
                        (total / rows as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
                        "{act} {loss:?}: loss {total} vs {want}"
                    );
                    for (l, (layer, _)) in layers.iter().enumerate() {
                        for (got, param) in
                            [(&grads[2 * l], layer.weight()), (&grads[2 * l + 1], layer.bias().unwrap())]
                        {
                            let want = want_grads.get(param).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            assert_eq!(got.len(), want.len());
                            for (g, w) in got.iter().zip(&want) {
                                assert!((g - w).abs() < 1e-5 + 1e-4 * w.abs(), "{act} {loss:?} layer {l}: {g} vs {w}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn forward_matches_candle() {
        let params = Params::new();
        let vb = params.var_builder(stream(1, Purpose::Init, 0), &Device::Cpu);
        let layer = linear(6, 3, vb).unwrap();
        let xs = rng::uniform(&mut stream(3, Purpose::Eval, 0), (4, 6), -1.0, 1.0, &Device::Cpu).unwrap();
        let want = Activation::Tanh
            .apply(&layer.forward(&xs).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let (w, b) = (
            layer.weight().flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            layer.bias().unwrap().to_vec1::<f32>().unwrap(),
        );
        let dense = [Dense { weight: &w, bias: &b, in_dim: 6, out_dim: 3, activation: Some(Activation::Tanh) }];
        let x = xs.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let got = forward(&dense, &x, 4, &mut Workspace::default(), 1).to_vec();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6);
        }
        // Inference may take the AVX-512 kernel (another summation order), and gives the same
        // values, bit for bit, at any thread count.
        let one = forward_rows_parallel(&dense, &x, 4, 1);
        for (g, i) in got.iter().zip(&one) {
            assert!((g - i).abs() < 1e-6, "{g} vs {i}");
        }
        for threads in [2, 3, 8] {
            assert_eq!(forward_rows_parallel(&dense, &x, 4, threads), one, "{threads} threads");
        }
    }
}
