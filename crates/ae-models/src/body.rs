//! The body of an autoencoder: the encoder network from inputs to the features its bottleneck
//! reads, and the decoder network from codes back to input space (logits). Every kind of model
//! (the bottlenecks: a plain code, a sparse code, a Gaussian code) is built over a [`Body`], so a
//! new body (such as the convolutional one, `conv.rs`) is one new file implementing the trait and
//! one line in [`build`].

use ae_core::Activation;
use ae_core::graph::Graph;
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::mlp::Mlp;

/// The encoder and decoder networks between the input and the bottleneck.
pub trait Body: std::fmt::Debug + Send + Sync {
    /// Features per example the encoder takes.
    fn input_dim(&self) -> usize;

    /// Features per example the encoder produces, which the bottleneck reads.
    fn features(&self) -> usize;

    /// The device the parameters live on.
    fn device(&self) -> candle_core::Device;

    /// `(batch, input_dim)` to `(batch, features)`.
    fn encode(&self, xs: &Tensor) -> Result<Tensor>;

    /// `(batch, code_dim)` to `(batch, input_dim)` logits.
    fn decode(&self, zs: &Tensor) -> Result<Tensor>;

    /// The weight of the decoder's first layer, `(outputs, code_dim)`: its columns are the code
    /// units' directions, which a sparse code may keep at unit norm.
    fn code_directions(&self) -> Option<&Tensor>;

    /// The dense layers of a body made only of them, for the fused CPU paths; `None` (the
    /// default) where the body has other layers, which then train through autograd.
    fn dense(&self) -> Option<DenseStacks<'_>> {
        None
    }

    /// One example's shape as the graph takes it: `[features]`, or `[channels, height, width]`.
    fn input_shape(&self) -> Vec<usize> {
        vec![self.input_dim()]
    }

    /// Writes the encoder into `g`, from value `x` (examples of [`Body::input_shape`]) to
    /// `(n, features)`; `Ok(None)` (the default) where the body cannot describe itself.
    fn export_encoder(&self, _g: &mut Graph, _x: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// Writes the decoder into `g`, from codes `z` to logits of [`Body::input_shape`].
    fn export_decoder(&self, _g: &mut Graph, _z: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

/// `layers` (parameters `<prefix>.<i>`) on `x` in `g`, `activation` after each but the last
/// unless `activate_last`.
fn export_stack(
    g: &mut Graph,
    prefix: &str,
    layers: &[Linear],
    activation: Activation,
    activate_last: bool,
    x: &str,
) -> Result<String> {
    let mut v = x.to_string();
    for (i, layer) in layers.iter().enumerate() {
        v = g.linear(&format!("{prefix}.{i}"), layer, &v)?;
        if i + 1 < layers.len() || activate_last {
            v = g.activate(Some(activation), &v);
        }
    }
    Ok(v)
}

/// A dense body's layers as the fused CPU paths read them.
#[derive(Debug, Clone, Copy)]
pub struct DenseStacks<'a> {
    /// Encoder layers, input side first; each is followed by `activation`.
    pub encoder: &'a [Linear],
    /// Decoder layers, code side first; all but the last are followed by `activation`.
    pub decoder: &'a [Linear],
    /// The hidden activation.
    pub activation: Activation,
}

/// Where a bottleneck creates its parameters: under the encoder's prefix, after the encoder's
/// own layers (today's parameter names, a file format: a plain code is `encoder.layers.<n>`, a
/// Gaussian one `encoder.mean` and `encoder.log_var`).
pub struct HeadSite<'a> {
    /// The encoder's `VarBuilder` (`encoder.`).
    pub vb: VarBuilder<'a>,
    /// The index the next `encoder.layers.<i>` takes.
    pub next_layer: usize,
    /// Features per example the head reads.
    pub features: usize,
}

/// The shape of a body.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyConfig {
    /// Fully-connected layers.
    Dense(DenseBodyConfig),
    /// Stages of strided convolutions.
    Conv(crate::conv::ConvSpec),
}

/// A fully-connected body: `input -> hidden... ` in the encoder, `code -> decoder_hidden... ->
/// input` in the decoder, one activation after every hidden layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseBodyConfig {
    /// Features per example.
    pub input_dim: usize,
    /// Encoder hidden widths, input side first.
    pub hidden: Vec<usize>,
    /// Decoder hidden widths, code side first.
    pub decoder_hidden: Vec<usize>,
    /// Activation after every hidden layer.
    pub activation: Activation,
}

/// Decoder hidden widths, code side first: `decoder_hidden` where given, else the encoder's
/// `hidden` mirrored (the default of every kind).
pub fn decoder_widths(hidden: &[usize], decoder_hidden: Option<&Vec<usize>>) -> Vec<usize> {
    decoder_hidden.cloned().unwrap_or_else(|| hidden.iter().rev().copied().collect())
}

impl BodyConfig {
    /// A dense body of these widths.
    pub fn dense(input_dim: usize, hidden: &[usize], decoder_hidden: Vec<usize>, activation: Activation) -> Self {
        BodyConfig::Dense(DenseBodyConfig { input_dim, hidden: hidden.to_vec(), decoder_hidden, activation })
    }
}

/// Builds the body `cfg` describes for codes of `code_dim`: first the encoder, then `head` (the
/// bottleneck's layers, at the [`HeadSite`] the body gives it), then the decoder. Parameters are
/// created in that order, which seeded initialisation depends on.
pub fn build<H>(
    cfg: &BodyConfig,
    code_dim: usize,
    vb: VarBuilder,
    head: impl FnOnce(HeadSite<'_>) -> Result<H>,
) -> Result<(Box<dyn Body>, H)> {
    match cfg {
        BodyConfig::Dense(c) => DenseBody::build(c, code_dim, vb, head).map(|(b, h)| (Box::new(b) as Box<dyn Body>, h)),
        BodyConfig::Conv(c) => {
            crate::conv::ConvBody::build(c, code_dim, vb, head).map(|(b, h)| (Box::new(b) as Box<dyn Body>, h))
        }
    }
}

/// The fully-connected body. Parameters: `encoder.layers.<i>` and `decoder.layers.<i>`.
#[derive(Debug, Clone)]
pub struct DenseBody {
    encoder: Mlp,
    decoder: Mlp,
    input_dim: usize,
    features: usize,
    activation: Activation,
}

impl DenseBody {
    /// See [`build`].
    pub fn build<H>(
        cfg: &DenseBodyConfig,
        code_dim: usize,
        vb: VarBuilder,
        head: impl FnOnce(HeadSite<'_>) -> Result<H>,
    ) -> Result<(Self, H)> {
        let enc: Vec<usize> = std::iter::once(cfg.input_dim).chain(cfg.hidden.iter().copied()).collect();
        let features = *enc.last().unwrap_or(&cfg.input_dim);
        let vbe = vb.pp("encoder");
        let encoder = Mlp::new(&enc, cfg.activation, true, vbe.clone())?;
        let head = head(HeadSite { vb: vbe, next_layer: cfg.hidden.len(), features })?;
        let dec: Vec<usize> =
            std::iter::once(code_dim).chain(cfg.decoder_hidden.iter().copied()).chain([cfg.input_dim]).collect();
        let decoder = Mlp::new(&dec, cfg.activation, false, vb.pp("decoder"))?;
        Ok((Self { encoder, decoder, input_dim: cfg.input_dim, features, activation: cfg.activation }, head))
    }
}

impl Body for DenseBody {
    fn input_dim(&self) -> usize {
        self.input_dim
    }

    fn features(&self) -> usize {
        self.features
    }

    fn device(&self) -> candle_core::Device {
        let first = self.decoder.layers().first().or(self.encoder.layers().first());
        first.map_or(candle_core::Device::Cpu, |l| l.weight().device().clone())
    }

    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        self.encoder.forward(xs)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        self.decoder.forward(zs)
    }

    fn code_directions(&self) -> Option<&Tensor> {
        self.decoder.layers().first().map(Linear::weight)
    }

    fn export_encoder(&self, g: &mut Graph, x: &str) -> Result<Option<String>> {
        export_stack(g, "encoder.layers", self.encoder.layers(), self.activation, true, x).map(Some)
    }

    fn export_decoder(&self, g: &mut Graph, z: &str) -> Result<Option<String>> {
        export_stack(g, "decoder.layers", self.decoder.layers(), self.activation, false, z).map(Some)
    }

    fn dense(&self) -> Option<DenseStacks<'_>> {
        Some(DenseStacks {
            encoder: self.encoder.layers(),
            decoder: self.decoder.layers(),
            activation: self.activation,
        })
    }
}
