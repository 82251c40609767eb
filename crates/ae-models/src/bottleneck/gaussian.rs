//! A Gaussian code (Kingma & Welling, 2014): mean and log-variance heads on the body's features
//! give a diagonal Gaussian `q(z | x)`; training decodes a reparameterised draw and adds
//! `β · KL(q || N(0, I))`; inference uses the mean. Parameters: `encoder.mean` and
//! `encoder.log_var`.

use ae_core::init::linear;
use ae_core::{Gaussian, Gradients, SeededRng, StepContext};
use candle_core::{Device, Module, Result, Tensor};
use candle_nn::Linear;

use super::{
    Bottleneck, DecoderView, Drawn, HeadWeights, HostCode, HostGrad, HostHead, HostOut, HostTerms, Terms, put_layer,
};
use crate::body::HeadSite;
use crate::config::GaussianSpec;

/// A diagonal Gaussian code with a standard normal prior.
#[derive(Debug)]
pub struct GaussianCode {
    mean: Linear,
    log_var: Linear,
    code_dim: usize,
    beta: f64,
}

impl GaussianCode {
    /// Creates (or loads) the two heads at `site`, the mean first.
    pub fn build(spec: &GaussianSpec, site: HeadSite<'_>) -> Result<Self> {
        let mean = linear(site.features, spec.code_dim, site.vb.pp("mean"))?;
        let log_var = linear(site.features, spec.code_dim, site.vb.pp("log_var"))?;
        Ok(Self { mean, log_var, code_dim: spec.code_dim, beta: spec.beta })
    }
}

impl Bottleneck for GaussianCode {
    fn code_dim(&self) -> usize {
        self.code_dim
    }

    /// The posterior mean.
    fn encode(&self, h: &Tensor) -> Result<Tensor> {
        self.mean.forward(h)
    }

    fn draw(&self, h: &Tensor, ctx: &mut StepContext<'_>) -> Result<Drawn> {
        let q = Gaussian { mean: self.mean.forward(h)?, log_var: self.log_var.forward(h)? };
        let code = q.sample(ctx.rng)?;
        Ok(Drawn { code, pre: q.mean.clone(), posterior: Some(q) })
    }

    fn terms(&self, drawn: &Drawn, _decoder: &DecoderView<'_>, _ctx: &StepContext<'_>) -> Result<Terms> {
        let kl = match &drawn.posterior {
            Some(q) => Some(q.kl_to_standard_normal()?.mean(0)?),
            None => None,
        };
        Ok(Terms { kl, kl_scale: self.beta, sparsity: None })
    }

    fn posterior(&self, h: &Tensor) -> Result<Option<Gaussian>> {
        Ok(Some(Gaussian { mean: self.mean.forward(h)?, log_var: self.log_var.forward(h)? }))
    }

    fn sample_prior(&self, n: usize, rng: &mut SeededRng, device: &Device) -> Result<Option<Tensor>> {
        Ok(Some(ae_core::rng::normal(rng, (n, self.code_dim), 0.0, 1.0, device)?))
    }

    fn host(&self) -> Option<&dyn HostCode> {
        Some(self)
    }

    fn export_code(&self, g: &mut ae_core::graph::Graph, h: &str) -> Result<Option<String>> {
        g.linear("encoder.mean", &self.mean, h).map(Some)
    }

    fn export_posterior(&self, g: &mut ae_core::graph::Graph, h: &str) -> Result<Option<(String, String)>> {
        Ok(Some((g.linear("encoder.mean", &self.mean, h)?, g.linear("encoder.log_var", &self.log_var, h)?)))
    }
}

/// The fused step runs both heads as one layer: the mean's rows, then the log-variance's.
impl HostCode for GaussianCode {
    fn train_head(&self) -> Option<HostHead<'_>> {
        let (m, lv) = (HeadWeights::of(&self.mean)?, HeadWeights::of(&self.log_var)?);
        let weight = [m.weight(), lv.weight()].concat();
        let bias = [m.bias(), lv.bias()].concat();
        Some(HostHead { weights: HeadWeights::Merged(weight, bias), activation: None })
    }

    fn infer_head(&self) -> Option<HostHead<'_>> {
        Some(HostHead { weights: HeadWeights::of(&self.mean)?, activation: None })
    }

    /// `z = mean + exp(log_var / 2) ε` with the draws [`Gaussian::sample`] makes (`ε` saved),
    /// and the KL.
    fn forward(&self, heads: &[f32], rows: usize, ctx: &mut StepContext<'_>, out: HostOut<'_>) -> Result<HostTerms> {
        let d = self.code_dim;
        let eps = ae_core::rng::normal(ctx.rng, (rows, d), 0.0, 1.0, &Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
        let z = out.code;
        z.clear();
        z.resize(rows * d, 0.0);
        let mut kl = 0f64;
        for i in 0..rows {
            let (m, lv) = (&heads[i * 2 * d..i * 2 * d + d], &heads[i * 2 * d + d..(i + 1) * 2 * d]);
            for j in 0..d {
                z[i * d + j] = m[j] + (0.5 * lv[j]).exp() * eps[i * d + j];
                kl += -0.5 * f64::from(1.0 + lv[j] - m[j] * m[j] - lv[j].exp());
            }
        }
        *out.saved = eps;
        Ok(HostTerms { kl: Some(kl / rows as f64), kl_scale: self.beta, sparsity: None })
    }

    /// `d/d(mean) = dz + c mean`, `d/d(log_var) = dz ε exp(log_var / 2) / 2 + c (exp(log_var) - 1) / 2`
    /// with `c = β · kl_weight / rows`, the KL term's weight in the batch mean.
    fn backward(&self, s: HostGrad<'_>, top: &mut [f32]) {
        let d = self.code_dim;
        let (heads, eps, dz) = (s.head_out, s.saved, s.dz);
        let c = (self.beta * s.kl_weight / s.rows as f64) as f32;
        for i in 0..s.rows {
            for j in 0..d {
                let (m, lv, e, g) = (heads[i * 2 * d + j], heads[i * 2 * d + d + j], eps[i * d + j], dz[i * d + j]);
                top[i * 2 * d + j] = g + c * m;
                top[i * 2 * d + d + j] = g * e * 0.5 * (0.5 * lv).exp() + c * 0.5 * (lv.exp() - 1.0);
            }
        }
    }

    fn take_grads(&self, _grads: &mut Gradients) -> [Vec<f32>; 2] {
        // No parameter is the merged head: its buffers are fresh each step.
        [Vec::new(), Vec::new()]
    }

    /// Splits the merged head's gradients between the mean and the log-variance.
    fn put_grads(&self, grads: &mut Gradients, weight: Vec<f32>, bias: Vec<f32>) {
        let (w_mean, w_lv) = weight.split_at(weight.len() / 2);
        let (b_mean, b_lv) = bias.split_at(self.code_dim);
        put_layer(grads, &self.mean, w_mean.to_vec(), b_mean.to_vec());
        put_layer(grads, &self.log_var, w_lv.to_vec(), b_lv.to_vec());
    }
}
