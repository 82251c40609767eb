//! EleutherAI's sparsify layout: a folder with `cfg.json` (`d_in`, `num_latents`, `k`, ...) and
//! `sae.safetensors` holding `encoder.weight` `(num_latents, d_in)`, `encoder.bias`, `W_dec`
//! `(num_latents, d_in)` and `b_dec` `(d_in,)`, loaded by `Sae.load_from_disk`. Its encoder reads
//! `x - b_dec` and keeps the k largest of `relu(pre)`, which is TopK with a ReLU, so only TopK
//! dictionaries have this form; the subtraction is folded in and out of the encoder bias.

use std::path::{Path, PathBuf};

use ae_models::Sparsity;
use serde_json::json;

use super::{DictionaryFormat, count_field, read_json, read_tensor, tensor_dims, write_folder};
use crate::dictionary::Dictionary;
use crate::error::RunError;

const CFG: &str = "cfg.json";
const WEIGHTS: &str = "sae.safetensors";

/// sparsify.
pub struct Sparsify;

impl DictionaryFormat for Sparsify {
    fn name(&self) -> &'static str {
        "sparsify"
    }

    fn describe(&self) -> &'static str {
        "EleutherAI sparsify (cfg.json, sae.safetensors), TopK only"
    }

    fn write(&self, d: &Dictionary, out: &Path) -> Result<Vec<PathBuf>, RunError> {
        let Sparsity::TopK { k } = d.sparsity else {
            return Err(RunError::Inconsistent {
                field: "model.bottleneck.sparsity",
                reason: format!("{}; sparsify holds TopK dictionaries only, expected topk:K", d.sparsity),
            });
        };
        // sparsify subtracts b_dec before the encoder: add W_enc b_dec back to the bias.
        let mut shifted = d.clone();
        let minus: Vec<f32> = d.b_dec.iter().map(|v| -v).collect();
        shifted.fold_input_shift(&minus);
        let cfg = json!({
            "expansion_factor": d.d_sae.div_ceil(d.d_in),
            "normalize_decoder": true,
            "num_latents": d.d_sae,
            "k": k,
            "multi_topk": false,
            "skip_connection": false,
            "d_in": d.d_in,
        });
        write_folder(
            out,
            WEIGHTS,
            &[
                ("encoder.weight", &shifted.w_enc, vec![d.d_sae, d.d_in]),
                ("encoder.bias", &shifted.b_enc, vec![d.d_sae]),
                ("W_dec", &d.w_dec, vec![d.d_sae, d.d_in]),
                ("b_dec", &d.b_dec, vec![d.d_in]),
            ],
            CFG,
            &cfg,
        )
    }

    fn read(&self, dir: &Path) -> Result<Dictionary, RunError> {
        let cfg_path = dir.join(CFG);
        let cfg = read_json(&cfg_path)?;
        let d_in = count_field(&cfg, "d_in", &cfg_path)?;
        let k = count_field(&cfg, "k", &cfg_path)?;
        if cfg.get("skip_connection").and_then(|v| v.as_bool()) == Some(true) {
            return Err(RunError::file(&cfg_path, "skip_connection true; expected false (ae has no skip connection)"));
        }
        let weights = dir.join(WEIGHTS);
        let d_sae = match cfg.get("num_latents").and_then(serde_json::Value::as_u64) {
            Some(n) if n >= 1 => n as usize,
            _ => tensor_dims(&weights, "W_dec")?[0],
        };
        let mut dict = Dictionary {
            d_in,
            d_sae,
            w_enc: read_tensor(&weights, "encoder.weight", &[d_sae, d_in])?,
            b_enc: read_tensor(&weights, "encoder.bias", &[d_sae])?,
            w_dec: read_tensor(&weights, "W_dec", &[d_sae, d_in])?,
            b_dec: read_tensor(&weights, "b_dec", &[d_in])?,
            sparsity: Sparsity::TopK { k },
        };
        let b_dec = dict.b_dec.clone();
        dict.fold_input_shift(&b_dec);
        Ok(dict)
    }
}
