//! A trained sparse autoencoder as the interpretability tools hold one: a single linear encoder,
//! a sparsifying activation and a single linear decoder, in the data's own units. ae's sparse
//! runs with no hidden layers are exactly this, with the run's normalisation in front; turning
//! one into the other folds the normalisation into the weights, so the exported dictionary reads
//! raw activations and writes raw reconstructions, and the TopK selection is unchanged.

use std::path::Path;

use ae_data::{DataConfig, Normalization, Normalize};
use ae_models::{BodySpec, BottleneckSpec, DenseSpec, Likelihood, ModelConfig, SparseSpec, Sparsity};
use candle_core::{Device, Tensor};

use crate::config::{CONFIG_FORMAT, RunConfig};
use crate::error::RunError;
use crate::open::OpenRun;

/// `code = activation(W_enc x + b_enc)`, `x̂ = W_decᵀ code + b_dec`, row-major f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    /// Input width (SAELens's `d_in`).
    pub d_in: usize,
    /// Latents (`d_sae`, sparsify's `num_latents`).
    pub d_sae: usize,
    /// `(d_sae, d_in)`: row j reads latent j from the input.
    pub w_enc: Vec<f32>,
    /// `(d_sae,)`.
    pub b_enc: Vec<f32>,
    /// `(d_sae, d_in)`: row j is latent j's direction in input space.
    pub w_dec: Vec<f32>,
    /// `(d_in,)`.
    pub b_dec: Vec<f32>,
    /// TopK (ReLU on the k largest) or an L1 penalty, plain or weighted by decoder norms (a
    /// plain ReLU, the weight kept for fine-tuning).
    pub sparsity: Sparsity,
}

/// The parameter names of a one-layer sparse run.
const ENC_W: &str = "encoder.layers.0.weight";
const ENC_B: &str = "encoder.layers.0.bias";
const DEC_W: &str = "decoder.layers.0.weight";
const DEC_B: &str = "decoder.layers.0.bias";

impl Dictionary {
    /// The dictionary of an open run, in data units (`normalization` is what the run applies to
    /// its inputs, `None` for none). Refuses runs that are not one-layer sparse autoencoders with
    /// the squared-error likelihood and a ReLU or TopK code, naming what differs.
    pub fn from_run(run: &OpenRun, normalization: Option<&Normalization>) -> Result<Dictionary, RunError> {
        let sparsity = exportable(&run.config.model)?;
        let get = |name: &str| -> Result<(Vec<f32>, Vec<usize>), RunError> {
            let named = run.params.named();
            let var = named.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_tensor().clone());
            let t = var.ok_or_else(|| RunError::Inconsistent {
                field: "model",
                reason: format!("the weights hold no {name}; expected a one-layer sparse autoencoder"),
            })?;
            Ok((t.flatten_all()?.to_vec1::<f32>()?, t.dims().to_vec()))
        };
        let (w_enc, enc_dims) = get(ENC_W)?;
        let (b_enc, _) = get(ENC_B)?;
        let (dec_t, _) = get(DEC_W)?;
        let (b_dec, _) = get(DEC_B)?;
        let (d_sae, d_in) = (enc_dims[0], enc_dims[1]);
        // ae's decoder layer is (d_in, d_sae); the tools store its transpose.
        let w_dec = transpose(&dec_t, d_in, d_sae);
        let mut dict = Dictionary { d_in, d_sae, w_enc, b_enc, w_dec, b_dec, sparsity };
        if let Some(n) = normalization.filter(|n| n.kind != Normalize::None) {
            dict.fold_normalization(n)?;
        }
        Ok(dict)
    }

    /// Rewrites the weights so that raw inputs give the codes the normalised inputs gave, and
    /// the decoder writes raw reconstructions: with `x_n = (x - o) / s`, `W_enc' = W_enc / s`,
    /// `b_enc' = b_enc - W_enc (o / s)`, `W_dec' = W_dec · s`, `b_dec' = s · b_dec + o`.
    fn fold_normalization(&mut self, n: &Normalization) -> Result<(), RunError> {
        if n.offset.len() != self.d_in || n.scale.len() != self.d_in {
            return Err(RunError::Inconsistent {
                field: "normalization",
                reason: format!(
                    "{} offsets and {} scales for a dictionary of {} inputs; expected the run's own normalization.json",
                    n.offset.len(),
                    n.scale.len(),
                    self.d_in
                ),
            });
        }
        let d = self.d_in;
        for (row, b) in self.w_enc.chunks_mut(d).zip(&mut self.b_enc) {
            let mut shift = 0f64;
            for ((w, &o), &s) in row.iter_mut().zip(&n.offset).zip(&n.scale) {
                *w /= s;
                shift += f64::from(*w) * f64::from(o);
            }
            *b -= shift as f32;
        }
        for row in self.w_dec.chunks_mut(d) {
            row.iter_mut().zip(&n.scale).for_each(|(w, &s)| *w *= s);
        }
        for ((b, &o), &s) in self.b_dec.iter_mut().zip(&n.offset).zip(&n.scale) {
            *b = *b * s + o;
        }
        Ok(())
    }

    /// Folds an input centring `x - c` (SAELens's `apply_b_dec_to_input`, sparsify's
    /// subtraction of `b_dec`) into the encoder bias: `b_enc' = b_enc - W_enc c`.
    pub fn fold_input_shift(&mut self, c: &[f32]) {
        for (row, b) in self.w_enc.chunks(self.d_in).zip(&mut self.b_enc) {
            let dot: f64 = row.iter().zip(c).map(|(&w, &v)| f64::from(w) * f64::from(v)).sum();
            *b -= dot as f32;
        }
    }

    /// Folds SAELens's `rescale_acts_by_decoder_norm` (pre-activations times each decoder row's
    /// norm, codes divided by it before decoding) into the weights: encoder row and bias j times
    /// `n_j`, decoder row j over `n_j`. TopK picks the same latents and the output is unchanged.
    pub fn fold_decoder_norms(&mut self) {
        let d = self.d_in;
        for ((enc, b), dec) in self.w_enc.chunks_mut(d).zip(&mut self.b_enc).zip(self.w_dec.chunks_mut(d)) {
            let n = dec.iter().map(|&v| v * v).sum::<f32>().sqrt();
            if n > 0.0 {
                enc.iter_mut().for_each(|w| *w *= n);
                *b *= n;
                dec.iter_mut().for_each(|w| *w /= n);
            }
        }
    }

    /// Writes a run directory in `dir` (which must not hold a run already) that every ae
    /// command opens: `config.json` for `data`, `model.safetensors` with these weights,
    /// `normalization.json` saying none (the weights are in data units) and a fresh
    /// `state.json`. The model is ae's sparse preset with no hidden layers and MSE.
    pub fn write_run(&self, dir: &Path, data: DataConfig, seed: u64) -> Result<RunConfig, RunError> {
        let run = ae_train::RunDir::new(dir);
        if run.config().exists() {
            return Err(RunError::file(
                dir,
                "already holds a run (config.json); expected a new folder, so nothing saved is replaced",
            ));
        }
        let mut cfg = RunConfig { format: CONFIG_FORMAT, data, model: self.model_config(), ..RunConfig::default() };
        cfg.train.seed = seed;
        cfg.validate()?;
        run.create()?;
        let dev = Device::Cpu;
        let named = vec![
            (ENC_W.to_string(), Tensor::from_slice(&self.w_enc, (self.d_sae, self.d_in), &dev)?),
            (ENC_B.to_string(), Tensor::from_slice(&self.b_enc, self.d_sae, &dev)?),
            (
                DEC_W.to_string(),
                Tensor::from_vec(transpose(&self.w_dec, self.d_sae, self.d_in), (self.d_in, self.d_sae), &dev)?,
            ),
            (DEC_B.to_string(), Tensor::from_slice(&self.b_dec, self.d_in, &dev)?),
        ];
        let meta = [("step".to_string(), "0".to_string())].into_iter().collect();
        let bytes = ae_core::params::tensors_to_safetensors(&named, &meta)?;
        let none = Normalization {
            kind: Normalize::None,
            offset: vec![0.0; self.d_in],
            scale: vec![1.0; self.d_in],
            fill: Vec::new(),
        };
        let state = serde_json::to_string_pretty(&ae_train::TrainState::default()).unwrap_or_default() + "\n";
        ae_train::checkpoint::atomic_write(&run.model(), &bytes)?;
        ae_train::checkpoint::atomic_write(
            &run.file(crate::data::NORMALIZATION_FILE),
            crate::data::normalization_json(&none).as_bytes(),
        )?;
        ae_train::checkpoint::atomic_write(&run.state(), state.as_bytes())?;
        ae_train::checkpoint::atomic_write(&run.config(), cfg.to_json().as_bytes())?;
        Ok(cfg)
    }

    /// The model config of a run holding this dictionary.
    fn model_config(&self) -> ModelConfig {
        ModelConfig {
            preset: Some("sparse".into()),
            body: BodySpec::Dense(DenseSpec {
                input_dim: self.d_in,
                hidden: Vec::new(),
                decoder_hidden: None,
                activation: ae_core::Activation::Relu,
            }),
            bottleneck: BottleneckSpec::Sparse(SparseSpec {
                code_dim: self.d_sae,
                sparsity: self.sparsity,
                ..SparseSpec::default()
            }),
            likelihood: Likelihood::SquaredError,
        }
    }
}

/// The sparsity of a model that has a dictionary form, or why it has none.
fn exportable(m: &ModelConfig) -> Result<Sparsity, RunError> {
    let refuse = |field: &'static str, why: String| Err(RunError::Inconsistent { field, reason: why });
    let BodySpec::Dense(body) = &m.body else {
        return refuse("model.body", "a conv body; expected a dense body with no hidden layers".into());
    };
    if !body.hidden.is_empty() || body.decoder_hidden.as_ref().is_some_and(|h| !h.is_empty()) {
        return refuse(
            "model.body.hidden",
            format!("hidden layers {:?}; expected none (--hidden \"\"), a single-layer dictionary", body.hidden),
        );
    }
    let BottleneckSpec::Sparse(code) = &m.bottleneck else {
        return refuse("model.bottleneck", format!("{}; expected a sparse code", m.kind()));
    };
    if m.likelihood != Likelihood::SquaredError {
        return refuse("model.likelihood", format!("{}; expected mse, whose decoder is linear", m.likelihood));
    }
    match code.sparsity {
        s @ (Sparsity::TopK { .. } | Sparsity::L1 { .. } | Sparsity::L1DecoderNorm { .. }) => Ok(s),
        s => refuse("model.bottleneck.sparsity", format!("{s}; expected topk:K or l1[:WEIGHT] (a ReLU code)")),
    }
}

/// The transpose of a row-major `(rows, cols)` matrix, by the fused path's tiled kernel.
pub(crate) fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; m.len()];
    ae_core::fused::sparse::transpose_into(&mut out, m, rows, cols);
    out
}
