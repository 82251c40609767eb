//! The convolutional body: stages of strided convolutions down to a small feature map, flattened
//! for the bottleneck, and the mirror image back up, by transposed convolutions or by
//! nearest-neighbour upsampling and a convolution. The layers and their parameter names are
//! PyTorch's (`Conv2d` weights `(out, in, kh, kw)`, `ConvTranspose2d` weights `(in, out, kh, kw)`,
//! `GroupNorm` weight and bias), so a checkpoint loads into the same network written in PyTorch.
//!
//! Parameters: `encoder.convs.<i>` and `encoder.norms.<i>` per stage, the bottleneck's head at
//! `encoder.layers.0` (or `encoder.mean` / `encoder.log_var`), `decoder.layers.0` (code to the
//! smallest feature map), then `decoder.convs.<i>` and `decoder.norms.<i>`, code side first.

use std::fmt;
use std::str::FromStr;

use ae_core::Activation;
use ae_core::conv;
use ae_core::graph::{Graph, Op};
use ae_core::init::linear;
use candle_core::{Module, Result, Tensor};
use candle_nn::{GroupNorm, Init, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::body::{Body, HeadSite};
use crate::error::check_width;

/// A convolutional body's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvSpec {
    /// One input image: `[channels, height, width]`.
    pub input: [usize; 3],
    /// Output channels of each encoder stage, input side first; the decoder mirrors them.
    pub channels: Vec<usize>,
    /// Square kernel side of every convolution.
    pub kernel: usize,
    /// Stride of every encoder convolution (and decoder upsampling factor).
    pub stride: usize,
    /// Zero padding of every convolution.
    pub padding: usize,
    /// Activation after every layer but the bottleneck's head and the decoder's last.
    pub activation: Activation,
    /// How the decoder grows its feature maps back.
    pub upsample: Upsample,
    /// Normalisation after every convolution but the decoder's last.
    pub norm: Norm,
}

impl Default for ConvSpec {
    /// The 28x28 grey body: 1 -> 32 -> 64 channels, 3x3 kernels, stride 2, padding 1.
    fn default() -> Self {
        ConvSpec {
            input: [1, 28, 28],
            channels: vec![32, 64],
            kernel: 3,
            stride: 2,
            padding: 1,
            activation: Activation::Relu,
            upsample: Upsample::Transposed,
            norm: Norm::None,
        }
    }
}

/// How the decoder upsamples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upsample {
    /// `ConvTranspose2d` with the encoder's kernel, stride and padding, and the output padding
    /// that restores each stage's size exactly.
    #[default]
    Transposed,
    /// Nearest-neighbour upsampling by the stride, then a stride-1 `Conv2d` that keeps the size
    /// (an odd kernel, padding `(kernel - 1) / 2`); free of checkerboard artefacts.
    Nearest,
}

/// Normalisation after a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Norm {
    /// None.
    #[default]
    None,
    /// `GroupNorm(groups, channels)` (eps 1e-5, learned per-channel scale and shift); the same
    /// in training and inference.
    Group {
        /// Groups of channels; must divide every stage's channels.
        groups: usize,
    },
}

/// What `--norm` accepts, for messages.
pub const NORM_SPECS: &str = "none or group:G (G >= 1 dividing every stage's channels)";

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Norm::None => write!(f, "none"),
            Norm::Group { groups } => write!(f, "group:{groups}"),
        }
    }
}

impl FromStr for Norm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("{s:?} is not a normalisation; expected {NORM_SPECS}");
        match s.split_once(':') {
            None if s == "none" => Ok(Norm::None),
            Some(("group", g)) => match g.parse::<usize>() {
                Ok(groups) if groups >= 1 => Ok(Norm::Group { groups }),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Norm {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<Norm> for String {
    fn from(n: Norm) -> String {
        n.to_string()
    }
}

impl fmt::Display for Upsample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Upsample::Transposed => "transposed",
            Upsample::Nearest => "nearest",
        })
    }
}

/// One encoder stage's sizes: a convolution from `in_size` to `out_size`, and what the decoder
/// needs to undo it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Channels in.
    pub in_channels: usize,
    /// Channels out.
    pub out_channels: usize,
    /// `(height, width)` in.
    pub in_size: (usize, usize),
    /// `(height, width)` out.
    pub out_size: (usize, usize),
    /// The transposed convolution's output padding `(rows, columns)` that gives `in_size` back.
    pub output_padding: (usize, usize),
}

/// The most stages a body may have, and the largest kernel, stride and padding.
const MAX_STAGES: usize = 16;
const MAX_KERNEL: usize = 15;

impl ConvSpec {
    /// Values per example.
    pub fn input_dim(&self) -> usize {
        self.input.iter().product()
    }

    /// Every stage's sizes, refusing a geometry that does not map back exactly, naming the
    /// layer and sizes.
    pub fn stages(&self) -> std::result::Result<Vec<Stage>, ModelError> {
        let invalid =
            |field: String, value: String, expected: String| ModelError::InvalidConfig { field, value, expected };
        let [c, h, w] = self.input;
        for (i, v) in self.input.iter().enumerate() {
            check_width(format!("body.input[{i}]"), *v)?;
        }
        if self.channels.is_empty() || self.channels.len() > MAX_STAGES {
            return Err(invalid(
                "body.channels".into(),
                format!("{} stages", self.channels.len()),
                format!("from 1 to {MAX_STAGES} stages"),
            ));
        }
        for (i, &ch) in self.channels.iter().enumerate() {
            check_width(format!("body.channels[{i}]"), ch)?;
        }
        for (field, v, max) in [
            ("kernel", self.kernel, MAX_KERNEL),
            ("stride", self.stride, MAX_KERNEL),
            ("padding", self.padding, MAX_KERNEL),
        ] {
            let lo = usize::from(field != "padding");
            if v < lo || v > max {
                return Err(invalid(format!("body.{field}"), v.to_string(), format!("from {lo} to {max}")));
            }
        }
        if self.padding >= self.kernel {
            return Err(invalid(
                "body.padding".into(),
                self.padding.to_string(),
                format!("less than the kernel ({})", self.kernel),
            ));
        }
        if self.upsample == Upsample::Nearest && self.kernel.is_multiple_of(2) {
            return Err(invalid(
                "body.kernel".into(),
                self.kernel.to_string(),
                "an odd kernel with --upsample nearest (its convolutions keep the size)".into(),
            ));
        }
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let mut stages = Vec::with_capacity(self.channels.len());
        let (mut in_ch, mut size) = (c, (h, w));
        for (i, &out_ch) in self.channels.iter().enumerate() {
            let side = |n: usize| (n + 2 * p >= k).then(|| (n + 2 * p - k) / s + 1);
            let (Some(oh), Some(ow)) = (side(size.0), side(size.1)) else {
                return Err(invalid(
                    format!("body.channels[{i}]"),
                    format!("a stage on {}x{} maps", size.0, size.1),
                    format!("maps of at least {k}x{k} less twice the padding; use fewer stages or a larger image"),
                ));
            };
            let back = |n: usize, o: usize| n - ((o - 1) * s + k - 2 * p).min(n);
            let output_padding = (back(size.0, oh), back(size.1, ow));
            if self.upsample == Upsample::Nearest && (oh * s, ow * s) != size {
                return Err(invalid(
                    format!("body.channels[{i}]"),
                    format!("a stage from {}x{} to {oh}x{ow}", size.0, size.1),
                    format!(
                        "sizes that upsampling by {s} maps back exactly ({}x{} comes back as {}x{}); use \
                         --upsample transposed or an image side divisible by {s} at every stage",
                        size.0,
                        size.1,
                        oh * s,
                        ow * s
                    ),
                ));
            }
            if let Norm::Group { groups } = self.norm
                && !out_ch.is_multiple_of(groups)
            {
                return Err(invalid(
                    "body.norm".into(),
                    self.norm.to_string(),
                    format!("groups dividing every stage's channels ({out_ch} at stage {i})"),
                ));
            }
            stages.push(Stage {
                in_channels: in_ch,
                out_channels: out_ch,
                in_size: size,
                out_size: (oh, ow),
                output_padding,
            });
            (in_ch, size) = (out_ch, (oh, ow));
        }
        Ok(stages)
    }

    /// Refuses a geometry the body cannot build, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        let stages = self.stages()?;
        let features = self.features(&stages);
        if features > 1 << 20 {
            return Err(ModelError::InvalidConfig {
                field: "body.channels".into(),
                value: format!("{features} features after the last stage"),
                expected: "at most 1048576; add a stage or use fewer channels".into(),
            });
        }
        Ok(())
    }

    /// Features the encoder hands the bottleneck: the last stage's map, flattened.
    pub fn features(&self, stages: &[Stage]) -> usize {
        stages.last().map_or(self.input_dim(), |s| s.out_channels * s.out_size.0 * s.out_size.1)
    }

    /// `(parameters, outputs per example)` of every layer but the bottleneck's head, for
    /// estimating memory: the encoder's, then the decoder's.
    pub fn layer_sizes(&self, code_dim: usize) -> Vec<(u128, u128)> {
        let Ok(stages) = self.stages() else { return Vec::new() };
        let k2 = (self.kernel * self.kernel) as u128;
        let norm = |ch: usize| if self.norm == Norm::None { 0 } else { 2 * ch as u128 };
        let map = |ch: usize, (h, w): (usize, usize)| (ch * h * w) as u128;
        let mut sizes: Vec<(u128, u128)> = stages
            .iter()
            .map(|s| {
                let (i, o) = (s.in_channels as u128, s.out_channels as u128);
                (i * o * k2 + o + norm(s.out_channels), map(s.out_channels, s.out_size))
            })
            .collect();
        let features = self.features(&stages) as u128;
        sizes.push((code_dim as u128 * features + features, features));
        for (j, s) in stages.iter().rev().enumerate() {
            let (i, o) = (s.out_channels as u128, s.in_channels as u128);
            let last = j + 1 == stages.len();
            let up = if self.upsample == Upsample::Nearest { map(s.out_channels, s.in_size) } else { 0 };
            sizes.push((
                i * o * k2 + o + if last { 0 } else { norm(s.in_channels) },
                map(s.in_channels, s.in_size) + up,
            ));
        }
        sizes
    }
}

/// A convolution with its optional normalisation, and whether an activation follows.
#[derive(Debug, Clone)]
struct ConvLayer {
    /// Parameter prefix, `encoder.convs.<i>` or `decoder.convs.<i>`.
    name: String,
    weight: Tensor,
    bias: Tensor,
    conv: ConvOp,
    norm: Option<GroupNormLayer>,
    activate: bool,
}

/// A `GroupNorm` and what a graph of it needs.
#[derive(Debug, Clone)]
struct GroupNormLayer {
    /// Parameter prefix, `encoder.norms.<i>` or `decoder.norms.<j>`.
    name: String,
    norm: GroupNorm,
    weight: Tensor,
    bias: Tensor,
    groups: usize,
}

/// What the layer's weight does; every convolution runs on ae's own CPU kernels
/// ([`ae_core::conv`]).
#[derive(Debug, Clone, Copy)]
enum ConvOp {
    /// A convolution.
    Conv { stride: usize, padding: usize },
    /// A transposed convolution growing the map to `size` (rows and columns may take different
    /// output paddings).
    Transposed { stride: usize, padding: usize, size: (usize, usize), output_padding: (usize, usize) },
    /// Nearest-neighbour upsampling to `size` (by `factor`), then a stride-1 convolution
    /// keeping it.
    Nearest { padding: usize, size: (usize, usize), factor: usize },
}

impl ConvLayer {
    fn forward(&self, xs: &Tensor, activation: Activation) -> Result<Tensor> {
        let (w, b) = (&self.weight, &self.bias);
        // Without a normalisation between them, the activation runs in the convolution's pass.
        let fused = (self.activate && self.norm.is_none()).then_some(activation);
        let ys = match self.conv {
            ConvOp::Conv { stride, padding } => conv::conv2d(xs, w, b, stride, padding, fused)?,
            ConvOp::Transposed { stride, padding, size, .. } => {
                conv::conv_transpose2d(xs, w, b, stride, padding, size, fused)?
            }
            ConvOp::Nearest { padding, size, .. } => {
                conv::conv2d(&xs.upsample_nearest2d(size.0, size.1)?, w, b, 1, padding, fused)?
            }
        };
        match &self.norm {
            Some(n) => {
                let ys = n.norm.forward(&ys)?;
                if self.activate { activation.apply(&ys) } else { Ok(ys) }
            }
            None => Ok(ys),
        }
    }
}

impl ConvLayer {
    /// Writes the layer into `g` on maps `x`.
    fn export(&self, g: &mut Graph, x: &str, activation: Activation) -> Result<String> {
        let w = g.tensor(&format!("{}.weight", self.name), &self.weight, None)?;
        let b = g.tensor(&format!("{}.bias", self.name), &self.bias, None)?;
        let mut v = match self.conv {
            ConvOp::Conv { stride, padding } => g.node(Op::Conv { stride, padding }, &[x, &w, &b]),
            ConvOp::Transposed { stride, padding, output_padding: (rows, cols), .. } => {
                g.node(Op::ConvTranspose { stride, padding, output_padding: [rows, cols] }, &[x, &w, &b])
            }
            ConvOp::Nearest { padding, factor, .. } => {
                let up = g.node(Op::UpsampleNearest { factor }, &[x]);
                g.node(Op::Conv { stride: 1, padding }, &[&up, &w, &b])
            }
        };
        if let Some(n) = &self.norm {
            let c = n.weight.dim(0)?;
            v = g.node(Op::GroupNormalize { groups: n.groups, eps: GROUP_NORM_EPS }, &[&v]);
            let scale = g.tensor(&format!("{}.weight", n.name), &n.weight, Some(&[c, 1, 1]))?;
            let shift = g.tensor(&format!("{}.bias", n.name), &n.bias, Some(&[c, 1, 1]))?;
            v = g.node(Op::Mul, &[&v, &scale]);
            v = g.node(Op::Add, &[&v, &shift]);
        }
        Ok(if self.activate { g.activate(Some(activation), &v) } else { v })
    }
}

/// Initialised as PyTorch's layers are: weights and biases uniform in `±1/sqrt(fan_in)`, with
/// `fan_in` from the weight's second dimension times the kernel area (for a transposed
/// convolution that is its output channels, as PyTorch computes it).
fn conv_params(
    shape: (usize, usize, usize),
    fan_in_channels: usize,
    bias: usize,
    vb: &VarBuilder,
) -> Result<(Tensor, Tensor)> {
    let (a, b, k) = shape;
    let bound = 1.0 / ((fan_in_channels * k * k) as f64).sqrt();
    let init = Init::Uniform { lo: -bound, up: bound };
    Ok((vb.get_with_hints((a, b, k, k), "weight", init)?, vb.get_with_hints(bias, "bias", init)?))
}

/// `GroupNorm` as PyTorch starts it: scale 1, shift 0.
fn group_norm(norm: Norm, channels: usize, vb: VarBuilder, name: String) -> Result<Option<GroupNormLayer>> {
    let Norm::Group { groups } = norm else { return Ok(None) };
    let weight = vb.get_with_hints(channels, "weight", Init::Const(1.0))?;
    let bias = vb.get_with_hints(channels, "bias", Init::Const(0.0))?;
    let norm = GroupNorm::new(weight.clone(), bias.clone(), channels, groups, GROUP_NORM_EPS)?;
    Ok(Some(GroupNormLayer { name, norm, weight, bias, groups }))
}

/// `GroupNorm`'s eps, PyTorch's default.
const GROUP_NORM_EPS: f64 = 1e-5;

/// The convolutional body.
#[derive(Debug, Clone)]
pub struct ConvBody {
    encoder: Vec<ConvLayer>,
    from_code: Linear,
    decoder: Vec<ConvLayer>,
    input: [usize; 3],
    /// `(channels, height, width)` of the smallest map.
    bottom: (usize, usize, usize),
    activation: Activation,
}

impl ConvBody {
    /// Builds the body `spec` describes (checked by [`ConvSpec::validate`]): the encoder, then
    /// `head` at `encoder.layers.0`, then the decoder, in that order.
    pub fn build<H>(
        spec: &ConvSpec,
        code_dim: usize,
        vb: VarBuilder,
        head: impl FnOnce(HeadSite<'_>) -> Result<H>,
    ) -> Result<(Self, H)> {
        let stages = spec.stages().map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let (k, s, p) = (spec.kernel, spec.stride, spec.padding);
        let vbe = vb.pp("encoder");
        let mut encoder = Vec::with_capacity(stages.len());
        for (i, st) in stages.iter().enumerate() {
            let vc = vbe.pp("convs").pp(i);
            let (w, b) = conv_params((st.out_channels, st.in_channels, k), st.in_channels, st.out_channels, &vc)?;
            let norm = group_norm(spec.norm, st.out_channels, vbe.pp("norms").pp(i), format!("encoder.norms.{i}"))?;
            let conv = ConvOp::Conv { stride: s, padding: p };
            let name = format!("encoder.convs.{i}");
            encoder.push(ConvLayer { name, weight: w, bias: b, conv, norm, activate: true });
        }
        let features = spec.features(&stages);
        let head = head(HeadSite { vb: vbe, next_layer: 0, features })?;
        let vbd = vb.pp("decoder");
        let from_code = linear(code_dim, features, vbd.pp("layers").pp(0))?;
        let mut decoder = Vec::with_capacity(stages.len());
        for (j, st) in stages.iter().rev().enumerate() {
            let last = j + 1 == stages.len();
            let vc = vbd.pp("convs").pp(j);
            let (cin, cout) = (st.out_channels, st.in_channels);
            let ((weight, bias), conv) = match spec.upsample {
                Upsample::Transposed => (
                    conv_params((cin, cout, k), cout, cout, &vc)?,
                    ConvOp::Transposed { stride: s, padding: p, size: st.in_size, output_padding: st.output_padding },
                ),
                Upsample::Nearest => (
                    conv_params((cout, cin, k), cin, cout, &vc)?,
                    ConvOp::Nearest { padding: (k - 1) / 2, size: st.in_size, factor: s },
                ),
            };
            let norm = if last {
                None
            } else {
                group_norm(spec.norm, cout, vbd.pp("norms").pp(j), format!("decoder.norms.{j}"))?
            };
            let name = format!("decoder.convs.{j}");
            decoder.push(ConvLayer { name, weight, bias, conv, norm, activate: !last });
        }
        let bottom = stages
            .last()
            .map_or((spec.input[0], spec.input[1], spec.input[2]), |s| (s.out_channels, s.out_size.0, s.out_size.1));
        let body = Self { encoder, from_code, decoder, input: spec.input, bottom, activation: spec.activation };
        Ok((body, head))
    }
}

impl Body for ConvBody {
    fn input_dim(&self) -> usize {
        self.input.iter().product()
    }

    fn features(&self) -> usize {
        self.bottom.0 * self.bottom.1 * self.bottom.2
    }

    fn device(&self) -> candle_core::Device {
        self.from_code.weight().device().clone()
    }

    /// Rows of `channels * height * width` values (PyTorch's `(C, H, W)` order) to the last
    /// stage's map, flattened the same way.
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        let b = xs.dim(0)?;
        let [c, h, w] = self.input;
        let mut ys = xs.reshape((b, c, h, w))?;
        for layer in &self.encoder {
            ys = layer.forward(&ys, self.activation)?;
        }
        ys.flatten_from(1)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        let b = zs.dim(0)?;
        let ys = self.activation.apply(&self.from_code.forward(zs)?)?;
        let mut ys = ys.reshape((b, self.bottom.0, self.bottom.1, self.bottom.2))?;
        for layer in &self.decoder {
            ys = layer.forward(&ys, self.activation)?;
        }
        ys.flatten_from(1)
    }

    fn code_directions(&self) -> Option<&Tensor> {
        Some(self.from_code.weight())
    }

    fn input_shape(&self) -> Vec<usize> {
        self.input.to_vec()
    }

    fn export_encoder(&self, g: &mut Graph, x: &str) -> Result<Option<String>> {
        let mut v = x.to_string();
        for layer in &self.encoder {
            v = layer.export(g, &v, self.activation)?;
        }
        Ok(Some(g.node(Op::Reshape(vec![self.features()]), &[&v])))
    }

    fn export_decoder(&self, g: &mut Graph, z: &str) -> Result<Option<String>> {
        let v = g.linear("decoder.layers.0", &self.from_code, z)?;
        let v = g.activate(Some(self.activation), &v);
        let mut v = g.node(Op::Reshape(vec![self.bottom.0, self.bottom.1, self.bottom.2]), &[&v]);
        for layer in &self.decoder {
            v = layer.export(g, &v, self.activation)?;
        }
        Ok(Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use candle_core::{DType, Device};

    fn names_and_shapes(spec: &ConvSpec) -> Vec<(String, Vec<usize>)> {
        let params = Params::new();
        let vb = params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu);
        let (body, ()) = ConvBody::build(spec, 16, vb, |site| {
            linear(site.features, 16, site.vb.pp("layers").pp(site.next_layer)).map(|_| ())
        })
        .unwrap();
        let xs = Tensor::zeros((2, spec.input_dim()), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(body.encode(&xs).unwrap().dims(), [2, body.features()]);
        let zs = Tensor::zeros((3, 16), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(body.decode(&zs).unwrap().dims(), [3, spec.input_dim()]);
        let mut named: Vec<_> = params.named().into_iter().map(|(n, t)| (n, t.dims().to_vec())).collect();
        named.sort();
        named
    }

    #[test]
    fn the_default_body_has_the_pinned_names_and_pytorch_layouts() {
        let got = names_and_shapes(&ConvSpec::default());
        let want: Vec<(String, Vec<usize>)> = [
            ("decoder.convs.0.bias", vec![32]),
            ("decoder.convs.0.weight", vec![64, 32, 3, 3]),
            ("decoder.convs.1.bias", vec![1]),
            ("decoder.convs.1.weight", vec![32, 1, 3, 3]),
            ("decoder.layers.0.bias", vec![3136]),
            ("decoder.layers.0.weight", vec![3136, 16]),
            ("encoder.convs.0.bias", vec![32]),
            ("encoder.convs.0.weight", vec![32, 1, 3, 3]),
            ("encoder.convs.1.bias", vec![64]),
            ("encoder.convs.1.weight", vec![64, 32, 3, 3]),
            ("encoder.layers.0.bias", vec![16]),
            ("encoder.layers.0.weight", vec![16, 3136]),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
        assert_eq!(got, want);
        let sizes = ConvSpec::default().layer_sizes(16);
        let counted: u128 = sizes.iter().map(|s| s.0).sum::<u128>() + 3136 * 16 + 16;
        assert_eq!(counted, got.iter().map(|(_, s)| s.iter().product::<usize>() as u128).sum::<u128>());
    }

    #[test]
    fn odd_sizes_colour_and_nearest_upsampling_map_back_exactly() {
        for spec in [
            ConvSpec { input: [3, 31, 20], channels: vec![8, 8, 16], ..Default::default() },
            ConvSpec {
                input: [3, 32, 24],
                upsample: Upsample::Nearest,
                norm: Norm::Group { groups: 4 },
                ..Default::default()
            },
            ConvSpec { input: [1, 9, 9], channels: vec![4], kernel: 4, stride: 3, padding: 0, ..Default::default() },
        ] {
            let stages = spec.stages().unwrap();
            assert_eq!(stages[0].in_size, (spec.input[1], spec.input[2]), "{spec:?}");
            names_and_shapes(&spec);
        }
        let s = ConvSpec { input: [3, 31, 20], channels: vec![8], ..Default::default() }.stages().unwrap();
        assert_eq!((s[0].out_size, s[0].output_padding), ((16, 10), (0, 1)));
    }

    #[test]
    fn geometries_that_cannot_map_back_are_refused_naming_the_layer() {
        for (spec, want) in [
            (
                ConvSpec {
                    input: [1, 28, 28],
                    channels: vec![8, 8, 8],
                    upsample: Upsample::Nearest,
                    ..Default::default()
                },
                "model.body.channels[2]: a stage from 7x7 to 4x4 is invalid",
            ),
            (
                ConvSpec { input: [1, 2, 2], kernel: 5, padding: 1, ..Default::default() },
                "model.body.channels[0]: a stage on 2x2",
            ),
            (
                ConvSpec { padding: 3, ..Default::default() },
                "model.body.padding: 3 is invalid; expected less than the kernel (3)",
            ),
            (ConvSpec { norm: Norm::Group { groups: 5 }, ..Default::default() }, "model.body.norm: group:5 is invalid"),
            (ConvSpec { channels: vec![], ..Default::default() }, "model.body.channels: 0 stages"),
            (
                ConvSpec { kernel: 4, upsample: Upsample::Nearest, ..Default::default() },
                "model.body.kernel: 4 is invalid",
            ),
        ] {
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        assert_eq!("group:8".parse::<Norm>(), Ok(Norm::Group { groups: 8 }));
        assert!("group:0".parse::<Norm>().is_err() && "batch".parse::<Norm>().is_err());
    }
}
