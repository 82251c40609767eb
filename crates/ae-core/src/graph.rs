//! A model's inference computation as a small graph of named values, for exporters (ONNX) to
//! write out: each model part says what it computes here, in its own terms (a dense layer, a
//! convolution, TopK selection), and an exporter decides how its format spells each step. Values
//! are named strings; parameters are constants named as in the checkpoint.

use candle_core::{Result, Tensor};
use candle_nn::Linear;

use crate::Activation;

/// Which part of a model a graph computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Part {
    /// Inputs to reconstructions (a Gaussian code decodes its mean), output `reconstruction`.
    #[default]
    Autoencoder,
    /// Inputs to codes: output `code`, or a Gaussian code's `mean` and `log_var`.
    Encoder,
    /// Codes (input `code`) to reconstructions (output `reconstruction`).
    Decoder,
}

impl Part {
    /// Every part, in the order help lists them.
    pub const ALL: [Part; 3] = [Part::Autoencoder, Part::Encoder, Part::Decoder];

    /// The name `--part` takes.
    pub fn name(self) -> &'static str {
        match self {
            Part::Autoencoder => "autoencoder",
            Part::Encoder => "encoder",
            Part::Decoder => "decoder",
        }
    }
}

impl std::str::FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Part::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown part {s:?}; expected autoencoder, encoder or decoder"))
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of the computation. Shapes are PyTorch's: rows `(n, features)` or maps
/// `(n, channels, height, width)`, the batch `n` free.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `x W^T + b`, inputs `x (n, in)`, `W (out, in)`, `b (out,)`.
    Linear,
    /// 2-D convolution, inputs `x`, `W (out, in, k, k)`, `b (out,)`.
    Conv {
        /// Stride in both directions.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
    },
    /// Transposed 2-D convolution, inputs `x`, `W (in, out, k, k)`, `b (out,)`.
    ConvTranspose {
        /// Stride in both directions.
        stride: usize,
        /// Padding removed from every side.
        padding: usize,
        /// Extra rows and columns at the bottom and right (PyTorch's `output_padding`).
        output_padding: [usize; 2],
    },
    /// Nearest-neighbour upsampling of maps by a whole factor in both directions.
    UpsampleNearest {
        /// The factor.
        factor: usize,
    },
    /// Each example's channels in `groups` groups, each normalised to mean 0 and variance 1 over
    /// its channels and positions (`GroupNorm` before its per-channel scale and shift).
    GroupNormalize {
        /// Groups of channels.
        groups: usize,
        /// Added to the variance.
        eps: f64,
    },
    /// An element-wise activation.
    Activation(Activation),
    /// Each example to this shape (the batch kept).
    Reshape(Vec<usize>),
    /// Each row's `k` largest values kept, ReLU applied to them, the rest set to 0 (ties to the
    /// lower index).
    TopKRelu {
        /// Values kept per row.
        k: usize,
    },
    /// `x` with every NaN (a missing cell) replaced by `fill`'s value at its place.
    FillNan,
    /// `a + b`, broadcasting.
    Add,
    /// `a - b`, broadcasting.
    Sub,
    /// `a * b`, broadcasting.
    Mul,
    /// `a / b`, broadcasting.
    Div,
}

/// A step and the values it reads and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// The values it reads, in the order [`Op`] lists them.
    pub inputs: Vec<String>,
    /// The value it writes.
    pub output: String,
}

/// A constant (a parameter, or a normalisation's statistics): row-major f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Its name, the checkpoint's for parameters.
    pub name: String,
    /// Its shape.
    pub dims: Vec<usize>,
    /// Its values.
    pub values: Vec<f32>,
}

/// A graph input or output: its name and the shape of one example.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    /// The value's name.
    pub name: String,
    /// Its shape without the batch axis.
    pub dims: Vec<usize>,
}

/// The computation: nodes in the order they run (each reads only inputs, constants and earlier
/// outputs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// The steps.
    pub nodes: Vec<Node>,
    /// The constants they read.
    pub constants: Vec<Constant>,
    /// The values fed in.
    pub inputs: Vec<Port>,
    /// The values read out.
    pub outputs: Vec<Port>,
    next: usize,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares input `name` of per-example shape `dims`; its value's name.
    pub fn input(&mut self, name: &str, dims: &[usize]) -> String {
        self.inputs.push(Port { name: name.into(), dims: dims.to_vec() });
        name.into()
    }

    /// Declares `value` an output, renamed `name`, of per-example shape `dims`.
    pub fn output(&mut self, value: &str, name: &str, dims: &[usize]) {
        self.rename(value, name);
        self.outputs.push(Port { name: name.into(), dims: dims.to_vec() });
    }

    /// Renames value `from` to `to` wherever it is written or read.
    pub fn rename(&mut self, from: &str, to: &str) {
        for node in &mut self.nodes {
            for v in node.inputs.iter_mut().chain([&mut node.output]) {
                if v == from {
                    *v = to.into();
                }
            }
        }
        for port in self.inputs.iter_mut().chain(&mut self.outputs) {
            if port.name == from {
                port.name = to.into();
            }
        }
    }

    /// Adds constant `name` with `values` of shape `dims`; its value's name.
    pub fn constant(&mut self, name: &str, dims: &[usize], values: Vec<f32>) -> String {
        self.constants.push(Constant { name: name.into(), dims: dims.to_vec(), values });
        name.into()
    }

    /// Adds parameter tensor `t` as constant `name` (its dtype converted to f32), reshaped to
    /// `dims` where given.
    pub fn tensor(&mut self, name: &str, t: &Tensor, dims: Option<&[usize]>) -> Result<String> {
        let values = t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let dims = dims.map_or_else(|| t.dims().to_vec(), <[usize]>::to_vec);
        Ok(self.constant(name, &dims, values))
    }

    /// Adds a step reading `inputs`; the name of the value it writes.
    pub fn node(&mut self, op: Op, inputs: &[&str]) -> String {
        self.next += 1;
        let output = format!("t{}", self.next);
        self.nodes.push(Node { op, inputs: inputs.iter().map(|s| s.to_string()).collect(), output: output.clone() });
        output
    }

    /// Dense layer `layer`, its parameters named `<prefix>.weight` and `<prefix>.bias`, on `x`.
    pub fn linear(&mut self, prefix: &str, layer: &Linear, x: &str) -> Result<String> {
        let w = self.tensor(&format!("{prefix}.weight"), layer.weight(), None)?;
        let b = match layer.bias() {
            Some(b) => self.tensor(&format!("{prefix}.bias"), b, None)?,
            None => {
                self.constant(&format!("{prefix}.bias"), &[layer.weight().dim(0)?], vec![0.0; layer.weight().dim(0)?])
            }
        };
        Ok(self.node(Op::Linear, &[x, &w, &b]))
    }

    /// `activation` on `x`, or `x` itself for none.
    pub fn activate(&mut self, activation: Option<Activation>, x: &str) -> String {
        match activation {
            Some(a) => self.node(Op::Activation(a), &[x]),
            None => x.into(),
        }
    }

    /// Puts `nodes` (reading values that exist before any node) ahead of every other node.
    pub fn prepend(&mut self, nodes: Vec<Node>) {
        self.nodes.splice(0..0, nodes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_renames_reach_every_reader() {
        let mut g = Graph::new();
        let x = g.input("input", &[3]);
        let c = g.constant("c", &[3], vec![1.0, 2.0, 3.0]);
        let y = g.node(Op::Sub, &[&x, &c]);
        let z = g.node(Op::Activation(Activation::Relu), &[&y]);
        g.output(&z, "code", &[3]);
        g.rename("input", "raw");
        assert_eq!(g.nodes[0].inputs, ["raw", "c"]);
        assert_eq!(g.nodes[1].inputs, [y.as_str()]);
        assert_eq!(g.nodes[1].output, "code");
        assert_eq!((g.inputs[0].name.as_str(), g.outputs[0].name.as_str()), ("raw", "code"));
    }
}
