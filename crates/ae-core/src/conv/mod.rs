//! Convolutions for the conv body: ae's own CPU kernels ([`ops`]) for f32 tensors on the CPU, and
//! candle's `conv2d` / `conv_transpose2d` everywhere else (the GPU), with the same results.

pub mod ops;
pub mod patches;

use candle_core::{DType, Result, Tensor};

use crate::Activation;
use crate::fused::kernels;

use ops::{Conv2dOp, ConvTranspose2dOp};

/// Whether ae's own kernels take this tensor: f32 on the CPU.
fn on_host(xs: &Tensor) -> bool {
    xs.device().is_cpu() && xs.dtype() == DType::F32
}

/// `Conv2d` as PyTorch computes it: input `(B, C, H, W)`, weight `(O, C, k, k)`, bias `(O)`,
/// then `activation` where given (in the same pass on the CPU).
pub fn conv2d(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    stride: usize,
    padding: usize,
    activation: Option<Activation>,
) -> Result<Tensor> {
    if on_host(xs) {
        let (fused, after) = split(activation);
        let op = Conv2dOp { stride, padding, activation: fused };
        let ys = xs.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?;
        return apply(ys, after);
    }
    let ys = xs.conv2d(weight, padding, stride, 1, 1)?.broadcast_add(&bias.reshape((1, (), 1, 1))?)?;
    apply(ys, activation)
}

/// The part of `activation` the kernels apply themselves, and the part left to candle.
fn split(activation: Option<Activation>) -> (Option<Activation>, Option<Activation>) {
    match activation {
        Some(a) if kernels::supports(a) => (Some(a), None),
        other => (None, other),
    }
}

fn apply(ys: Tensor, activation: Option<Activation>) -> Result<Tensor> {
    match activation {
        Some(a) => a.apply(&ys),
        None => Ok(ys),
    }
}

/// `ConvTranspose2d` as PyTorch computes it: input `(B, Cin, h, w)`, weight `(Cin, Cout, k, k)`,
/// bias `(Cout)`, to an output of `out` (height, width): PyTorch's `output_size` argument, which
/// picks the output padding of rows and columns separately. Then `activation` where given.
pub fn conv_transpose2d(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    stride: usize,
    padding: usize,
    out: (usize, usize),
    activation: Option<Activation>,
) -> Result<Tensor> {
    if on_host(xs) {
        let (fused, after) = split(activation);
        let op = ConvTranspose2dOp { stride, padding, out, activation: fused };
        let ys = xs.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?;
        return apply(ys, after);
    }
    // candle takes one output padding for both sides: the larger, then crop.
    let (_, _, h, w) = xs.dims4()?;
    let k = weight.dim(2)?;
    let grown = |i: usize| ((i.max(1) - 1) * stride + k).saturating_sub(2 * padding);
    let extra = out.0.saturating_sub(grown(h)).max(out.1.saturating_sub(grown(w)));
    let ys = xs.conv_transpose2d(weight, padding, extra, stride, 1)?;
    let ys = ys.narrow(2, 0, out.0)?.narrow(3, 0, out.1)?;
    apply(ys.broadcast_add(&bias.reshape((1, (), 1, 1))?)?, activation)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn values(shape: &[usize], seed: usize) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0) * 0.8).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn close(what: &str, got: &Tensor, want: &Tensor) {
        assert_eq!(got.dims(), want.dims(), "{what}: shapes");
        let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let w = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let scale = w.iter().fold(1f32, |m, v| m.max(v.abs()));
        let worst = g.iter().zip(&w).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 2e-5 * scale, "{what}: largest difference {worst} (scale {scale})");
    }

    /// A loss that weighs every output differently, so every gradient entry is tested.
    fn weighted_sum(ys: &Tensor) -> Tensor {
        let w = values(ys.dims(), 99);
        ys.mul(&w).unwrap().sum_all().unwrap()
    }

    /// (batch, channels in, height, width, channels out, kernel, stride, padding). candle's
    /// conv2d backward pass gives rows and columns the rows' output padding, so the reference
    /// is wrong where the two remainders differ: these cases keep them equal (the adjoint test
    /// in `patches` covers unequal ones).
    type Case = (usize, usize, usize, usize, usize, usize, usize, usize);
    const CASES: &[Case] = &[
        (2, 1, 7, 5, 4, 3, 1, 0),
        (3, 3, 9, 9, 2, 3, 2, 1),
        (2, 3, 8, 12, 3, 3, 2, 0),
        (1, 1, 6, 6, 1, 2, 2, 0),
        (2, 2, 13, 7, 5, 5, 2, 2),
        (4, 3, 28, 28, 8, 3, 2, 1),
    ];

    /// Fused in the kernels (all but GELU) and left to candle (GELU), cycled over the cases.
    const ACTIVATIONS: &[Option<Activation>] = &[
        None,
        Some(Activation::Relu),
        Some(Activation::Tanh),
        Some(Activation::Sigmoid),
        Some(Activation::Gelu),
        Some(Activation::LeakyRelu),
    ];

    #[test]
    fn conv2d_and_its_gradients_match_candle() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                for (i, &(b, c, h, w, o, k, s, p)) in CASES.iter().enumerate() {
                    let act = ACTIVATIONS[i % ACTIVATIONS.len()];
                    let what = format!("conv2d {b}x{c}x{h}x{w} -> {o}, k{k} s{s} p{p}, {act:?}, {threads} threads");
                    let x = Var::from_tensor(&values(&[b, c, h, w], 1)).unwrap();
                    let wt = Var::from_tensor(&values(&[o, c, k, k], 2)).unwrap();
                    let bias = Var::from_tensor(&values(&[o], 3)).unwrap();
                    let ours = conv2d(x.as_tensor(), wt.as_tensor(), bias.as_tensor(), s, p, act).unwrap();
                    let theirs =
                        x.conv2d(&wt, p, s, 1, 1).unwrap().broadcast_add(&bias.reshape((1, o, 1, 1)).unwrap()).unwrap();
                    let theirs = apply(theirs, act).unwrap();
                    close(&what, &ours, &theirs);
                    let (go, gt) = (weighted_sum(&ours).backward().unwrap(), weighted_sum(&theirs).backward().unwrap());
                    for (name, v) in [("input", &x), ("weight", &wt), ("bias", &bias)] {
                        close(&format!("{what}: {name} gradient"), go.get(v).unwrap(), gt.get(v).unwrap());
                    }
                }
            });
        }
    }

    #[test]
    fn conv_transpose2d_and_its_gradients_match_candle() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                for (i, &(b, cout, hh, ww, cin, k, s, p)) in CASES.iter().enumerate() {
                    let act = ACTIVATIONS[(i + 1) % ACTIVATIONS.len()];
                    // The transposed convolution grows the forward one's output back to hh x ww.
                    let g = patches::Geometry::new(cout, (hh, ww), k, s, p).unwrap();
                    let (h, w) = (g.out_h, g.out_w);
                    let grown = |i: usize| (i - 1) * s + k - 2 * p;
                    let (oph, opw) = (hh - grown(h), ww - grown(w));
                    let what = format!("conv_transpose2d {b}x{cin}x{h}x{w} -> {cout}x{hh}x{ww}, k{k} s{s} p{p} op({oph},{opw}), {act:?}, {threads} threads");
                    let x = Var::from_tensor(&values(&[b, cin, h, w], 4)).unwrap();
                    let wt = Var::from_tensor(&values(&[cin, cout, k, k], 5)).unwrap();
                    let bias = Var::from_tensor(&values(&[cout], 6)).unwrap();
                    let ours = conv_transpose2d(x.as_tensor(), wt.as_tensor(), bias.as_tensor(), s, p, (hh, ww), act).unwrap();
                    let op = oph.max(opw);
                    let theirs = x.conv_transpose2d(&wt, p, op, s, 1).unwrap();
                    let theirs = theirs.narrow(2, 0, hh).unwrap().narrow(3, 0, ww).unwrap();
                    let theirs = apply(theirs.broadcast_add(&bias.reshape((1, cout, 1, 1)).unwrap()).unwrap(), act).unwrap();
                    close(&what, &ours, &theirs);
                    let (go, gt) = (weighted_sum(&ours).backward().unwrap(), weighted_sum(&theirs).backward().unwrap());
                    for (name, v) in [("input", &x), ("weight", &wt), ("bias", &bias)] {
                        close(&format!("{what}: {name} gradient"), go.get(v).unwrap(), gt.get(v).unwrap());
                    }
                }
            });
        }
    }

    #[test]
    fn the_first_layer_computes_no_input_gradient() {
        let x = values(&[2, 1, 6, 6], 1);
        let wt = Var::from_tensor(&values(&[3, 1, 3, 3], 2)).unwrap();
        let bias = Var::from_tensor(&values(&[3], 3)).unwrap();
        let grads =
            conv2d(&x, wt.as_tensor(), bias.as_tensor(), 2, 1, None).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        assert!(grads.get(&wt).is_some());
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused_with_the_sizes() {
        let x = values(&[1, 2, 5, 5], 1);
        let err = conv2d(&x, &values(&[3, 1, 3, 3], 2), &values(&[3], 3), 1, 0, None).unwrap_err().to_string();
        assert!(err.contains("does not fit an input of 2 channels"), "{err}");
        let err = conv_transpose2d(&x, &values(&[2, 1, 3, 3], 2), &values(&[1], 3), 2, 1, (20, 20), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot grow to 20x20"), "{err}");
    }
}
