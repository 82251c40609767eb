//! Stacked ("sandwich") autoencoder: Hinton & Salakhutdinov, "Reducing the dimensionality of data
//! with neural networks", Science 2006 (trained end to end by backpropagation, as Keras and PyTorch
//! tutorials do). Architecture: fully-connected encoder input -> hidden... -> code and decoder
//! code -> hidden... -> input, mirrored by default. Latent: a deterministic code. Loss: BCE from
//! logits (inputs in [0, 1]) or squared error, summed over features.

use ae_core::fused::host::HostView;
use ae_core::fused::mlp::{Dense, HostBatch, train_step};
use ae_core::fused::{self, FusedScratch, kernels};
use ae_core::init::linear;
use ae_core::{Activation, Autoencoder, Batch, LossParts, LossValues, ReconLoss, StepContext};
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::body::{self, Body, BodyConfig};
use crate::error::{ModelError, check_width};
use crate::host::{put_grads, take_grads};
use crate::likelihood::Likelihood;

/// The shape and loss of a stacked autoencoder. The default is 784-512-256-64, ReLU, BCE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StackedConfig {
    /// Features per example (784 for 28x28 images).
    pub input_dim: usize,
    /// Encoder hidden widths, input side first.
    pub hidden: Vec<usize>,
    /// Code width.
    pub code_dim: usize,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Activation on the code itself; `None` leaves the code linear.
    pub code_activation: Option<Activation>,
    /// The likelihood, `bce` (Bernoulli) or `mse` as older configs name them, or any other
    /// (`gaussian:SIGMA`, `gaussian-learned`).
    #[serde(with = "crate::likelihood::loss_field")]
    pub loss: Likelihood,
}

impl Default for StackedConfig {
    fn default() -> Self {
        Self {
            input_dim: 784,
            hidden: vec![512, 256],
            code_dim: 64,
            decoder_hidden: None,
            activation: Activation::Relu,
            code_activation: None,
            loss: Likelihood::Bernoulli,
        }
    }
}

impl StackedConfig {
    /// `(inputs, outputs)` of every dense layer, encoder then decoder: what the parameters and
    /// activations will take before any is allocated.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        let widths: Vec<usize> = std::iter::once(self.input_dim)
            .chain(self.hidden.iter().copied())
            .chain([self.code_dim])
            .chain(self.decoder_widths())
            .chain([self.input_dim])
            .collect();
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Decoder hidden widths, code side first.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// The body these fields describe.
    pub fn body(&self) -> BodyConfig {
        BodyConfig::dense(self.input_dim, &self.hidden, self.decoder_widths(), self.activation)
    }

    /// Refuses sizes of zero or beyond reason, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        check_width("input_dim".into(), self.input_dim)?;
        check_width("code_dim".into(), self.code_dim)?;
        for (i, &w) in self.hidden.iter().enumerate() {
            check_width(format!("hidden[{i}]"), w)?;
        }
        for (i, &w) in self.decoder_widths().iter().enumerate() {
            check_width(format!("decoder_hidden[{i}]"), w)?;
        }
        const MAX_LAYERS: usize = 64;
        if self.hidden.len() > MAX_LAYERS {
            return Err(ModelError::InvalidConfig {
                field: "hidden".into(),
                value: format!("{} layers", self.hidden.len()),
                expected: format!("at most {MAX_LAYERS} hidden layers"),
            });
        }
        Ok(())
    }
}

/// A stacked autoencoder: a body and a plain code. Parameters: the body's
/// (`encoder.layers.<i>` and `decoder.layers.<i>` for the dense body, each `.weight` and
/// `.bias`) and the code layer, `encoder.layers.<n>` after the encoder's `n` hidden layers.
#[derive(Debug)]
pub struct StackedAe {
    body: Box<dyn Body>,
    code: Linear,
    code_activation: Option<Activation>,
    likelihood: Likelihood,
    log_sigma: Option<Tensor>,
    code_dim: usize,
}

impl StackedAe {
    /// Validates `cfg`, then creates (or loads, if `vb` holds them) the parameters.
    pub fn new(cfg: &StackedConfig, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        cfg.validate()?;
        let (body, code) = body::build(&cfg.body(), cfg.code_dim, vb.clone(), |site| {
            linear(site.features, cfg.code_dim, site.vb.pp("layers").pp(site.next_layer))
        })?;
        let log_sigma = cfg.loss.build_scale(vb.pp("decoder"))?;
        Ok(Self {
            body,
            code,
            code_activation: cfg.code_activation,
            likelihood: cfg.loss,
            log_sigma,
            code_dim: cfg.code_dim,
        })
    }
}

impl Autoencoder for StackedAe {
    fn input_dim(&self) -> usize {
        self.body.input_dim()
    }

    fn code_dim(&self) -> usize {
        self.code_dim
    }

    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        let zs = self.code.forward(&self.body.encode(xs)?)?;
        match self.code_activation {
            Some(act) => act.apply(&zs),
            None => Ok(zs),
        }
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim(), "decoder input (codes)")?;
        self.body.decode(zs)
    }

    fn recon_loss(&self) -> ReconLoss {
        self.likelihood.output_map()
    }

    fn loss(&self, batch: &Batch, _ctx: &mut StepContext<'_>) -> Result<LossParts> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        let logits = self.forward(&batch.input)?;
        let recon = self.likelihood.nll_per_example(&logits, &batch.target, self.log_sigma.as_ref())?.mean(0)?;
        Ok(LossParts::recon_only(recon))
    }

    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        let n_enc = self.body.dense().map_or(0, |d| d.encoder.len() + 1);
        match self.fused_forward(xs, 0..n_enc, None)? {
            Some(zs) => Ok(zs),
            None => Ok(self.encode(xs)?.detach()),
        }
    }

    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        let all = 0..self.dense_layers().map_or(0, |l| l.len());
        // The output map (sigmoid for BCE) runs as the last layer's activation, in the same
        // parallel blocks as the layers.
        let output = match self.recon_loss() {
            ReconLoss::Bce => Some(Activation::Sigmoid),
            ReconLoss::Mse => None,
        };
        match self.fused_forward(xs, all, output)? {
            Some(out) => Ok(out),
            None => self.recon_loss().to_output(&self.forward(xs)?.detach()),
        }
    }

    fn fused_step(
        &self,
        batch: &Batch,
        _ctx: &mut StepContext<'_>,
        scratch: &mut FusedScratch,
    ) -> Result<Option<LossValues>> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        let Some(loss) = self.likelihood.fused_loss() else { return Ok(None) };
        let Some(layers) = self.dense_layers() else { return Ok(None) };
        let (Some(x), Some(y)) = (HostView::of(&batch.input), HostView::of(&batch.target)) else { return Ok(None) };
        let Some(views) = host_views(&layers) else { return Ok(None) };
        let dense = dense_from(&layers, &views);
        let linears: Vec<&candle_nn::Linear> = layers.iter().map(|(l, _)| *l).collect();
        let rows = batch.input.dim(0)?;
        let mut grads = take_grads(&mut scratch.grads, &linears);
        let host = HostBatch { input: x.as_slice(), target: y.as_slice(), rows };
        let total = train_step(&dense, host, loss, &mut scratch.workspace, &mut grads, fused::threads());
        put_grads(&mut scratch.grads, &linears, grads);
        let mean = total / rows as f64;
        Ok(Some(LossValues { total: mean, recon: mean, kl: None, sparsity: None }))
    }
}

impl StackedAe {
    /// The output of dense layers `range` (indices into [`Self::dense_layers`]) for `xs` through
    /// the fused host path, with `output` applied after the last of them; `None` where the path
    /// does not apply (another device or dtype, GELU).
    fn fused_forward(
        &self,
        xs: &Tensor,
        range: std::ops::Range<usize>,
        output: Option<Activation>,
    ) -> Result<Option<Tensor>> {
        let Some(all) = self.dense_layers() else { return Ok(None) };
        let layers = &all[range];
        let Some(x) = HostView::of(xs) else { return Ok(None) };
        let Some(views) = host_views(layers) else { return Ok(None) };
        let mut dense = dense_from(layers, &views);
        if let (Some(last), Some(act)) = (dense.last_mut(), output) {
            last.activation = Some(act);
        }
        Ok(Some(crate::host::infer(&dense, &x, xs)?))
    }

    /// Every dense layer, input to output, with the activation after it: the body's encoder, the
    /// code layer, the body's decoder; `None` for a body with other layers.
    fn dense_layers(&self) -> Option<Vec<Layer<'_>>> {
        let d = self.body.dense()?;
        let mut out: Vec<Layer<'_>> = d.encoder.iter().map(|l| (l, Some(d.activation))).collect();
        out.push((&self.code, self.code_activation));
        for (i, l) in d.decoder.iter().enumerate() {
            out.push((l, if i + 1 < d.decoder.len() { Some(d.activation) } else { None }));
        }
        Some(out)
    }
}

/// A dense layer and the activation after it.
type Layer<'a> = (&'a candle_nn::Linear, Option<Activation>);

/// Host views of every layer's weight and bias, or `None` where the fused path does not apply
/// (parameters off the CPU or not f32, or an activation without a fused kernel).
fn host_views<'a>(layers: &[Layer<'a>]) -> Option<Vec<(HostView<'a>, HostView<'a>)>> {
    if layers.iter().any(|(_, act)| act.is_some_and(|a| !kernels::supports(a))) {
        return None;
    }
    layers.iter().map(|(l, _)| Some((HostView::of(l.weight())?, HostView::of(l.bias()?)?))).collect()
}

/// The fused path's description of `layers`, over their host views.
fn dense_from<'v>(layers: &[Layer<'_>], views: &'v [(HostView<'_>, HostView<'_>)]) -> Vec<Dense<'v>> {
    layers
        .iter()
        .zip(views)
        .map(|((_, act), (w, b))| {
            let (out_dim, in_dim) = (b.as_slice().len(), w.as_slice().len() / b.as_slice().len().max(1));
            Dense { weight: w.as_slice(), bias: b.as_slice(), in_dim, out_dim, activation: *act }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use candle_core::Device;

    fn model(cfg: &StackedConfig, params: &Params) -> std::result::Result<StackedAe, ModelError> {
        StackedAe::new(cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))
    }

    #[test]
    fn shapes_follow_the_config() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        let cfg = StackedConfig { input_dim: 20, hidden: vec![16, 8], code_dim: 3, ..Default::default() };
        let ae = model(&cfg, &params)?;
        let xs = Tensor::zeros((5, 20), candle_core::DType::F32, &Device::Cpu)?;
        assert_eq!(ae.encode(&xs)?.dims(), [5, 3]);
        assert_eq!(ae.forward(&xs)?.dims(), [5, 20]);
        let out = ae.reconstruct(&xs)?.flatten_all()?.to_vec1::<f32>()?;
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)), "BCE outputs are sigmoids");
        Ok(())
    }

    #[test]
    fn fused_inference_matches_candle() -> std::result::Result<(), Box<dyn std::error::Error>> {
        for (act, loss) in
            [(Activation::Relu, ReconLoss::Bce), (Activation::Tanh, ReconLoss::Mse), (Activation::Gelu, ReconLoss::Bce)]
        {
            let params = Params::new();
            let cfg = StackedConfig {
                input_dim: 30,
                hidden: vec![20, 10],
                code_dim: 4,
                activation: act,
                loss: loss.into(),
                ..Default::default()
            };
            let ae = model(&cfg, &params)?;
            let xs = ae_core::rng::uniform(&mut stream(9, Purpose::Eval, 0), (7, 30), 0.0, 1.0, &Device::Cpu)?;
            let pairs = [
                (ae.embed(&xs)?, ae.encode(&xs)?),
                (ae.reconstruct(&xs)?, loss.to_output(&ae.decode(&ae.encode(&xs)?)?)?),
            ];
            for (fast, reference) in pairs {
                assert_eq!(fast.dims(), reference.dims());
                let diff = (fast - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
                assert!(diff < 1e-5, "{act} {loss:?}: differs by {diff}");
            }
        }
        Ok(())
    }

    #[test]
    fn parameter_names_are_pinned() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        model(&StackedConfig::default(), &params)?;
        let names: Vec<(String, Vec<usize>)> =
            params.named().into_iter().map(|(n, v)| (n, v.dims().to_vec())).collect();
        let want = [
            ("decoder.layers.0.bias", vec![256]),
            ("decoder.layers.0.weight", vec![256, 64]),
            ("decoder.layers.1.bias", vec![512]),
            ("decoder.layers.1.weight", vec![512, 256]),
            ("decoder.layers.2.bias", vec![784]),
            ("decoder.layers.2.weight", vec![784, 512]),
            ("encoder.layers.0.bias", vec![512]),
            ("encoder.layers.0.weight", vec![512, 784]),
            ("encoder.layers.1.bias", vec![256]),
            ("encoder.layers.1.weight", vec![256, 512]),
            ("encoder.layers.2.bias", vec![64]),
            ("encoder.layers.2.weight", vec![64, 256]),
        ];
        let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
        assert_eq!(names, want);
        Ok(())
    }

    #[test]
    fn explicit_decoder_shape_is_honoured() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        let cfg = StackedConfig {
            input_dim: 10,
            hidden: vec![8],
            code_dim: 2,
            decoder_hidden: Some(vec![4, 6]),
            ..Default::default()
        };
        model(&cfg, &params)?;
        let dec: Vec<Vec<usize>> = params
            .named()
            .into_iter()
            .filter(|(n, _)| n.starts_with("decoder") && n.ends_with("weight"))
            .map(|(_, v)| v.dims().to_vec())
            .collect();
        assert_eq!(dec, [vec![4, 2], vec![6, 4], vec![10, 6]]);
        Ok(())
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let cases = [
            (StackedConfig { code_dim: 0, ..Default::default() }, "model.code_dim: 0"),
            (StackedConfig { hidden: vec![512, 0], ..Default::default() }, "model.hidden[1]: 0"),
            (
                StackedConfig { decoder_hidden: Some(vec![1 << 20]), ..Default::default() },
                "model.decoder_hidden[0]: 1048576",
            ),
            (StackedConfig { input_dim: 0, ..Default::default() }, "model.input_dim: 0"),
        ];
        for (cfg, want) in cases {
            let err = model(&cfg, &Params::new()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.starts_with(want) && err.contains("expected a width from 1 to 65536"), "{err}");
        }
    }

    #[test]
    fn config_json_rejects_unknown_fields() {
        // Format 2, the parts:
        let err = serde_json::from_str::<crate::ModelConfig>(r#"{"body":{"kind":"dense","hiden":[3]}}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `hiden`"), "{err}");
        let ok: crate::ModelConfig = serde_json::from_str(r#"{"bottleneck":{"kind":"plain","code_dim":2}}"#).unwrap();
        assert_eq!((ok.input_dim(), ok.bottleneck.code_dim(), ok.dense().hidden.clone()), (784, 2, vec![512, 256]));
        // and format 1, a kind with flat fields:
        let err = serde_json::from_str::<crate::ModelConfigV1>(r#"{"kind":"stacked","hiden":[3]}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `hiden`"), "{err}");
        let old: crate::ModelConfigV1 = serde_json::from_str(r#"{"kind":"stacked","code_dim":2}"#).unwrap();
        assert_eq!(crate::ModelConfig::from(old), ok);
    }
}
