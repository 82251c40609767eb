//! SAELens's layout (v6): a folder with `cfg.json` and `sae_weights.safetensors` holding `W_enc`
//! `(d_in, d_sae)`, `b_enc` `(d_sae,)`, `W_dec` `(d_sae, d_in)` and `b_dec` `(d_in,)`, loaded by
//! `SAE.load_from_disk`. ae writes architecture `topk` (a ReLU on the k largest
//! pre-activations) or `standard` (a ReLU), with `apply_b_dec_to_input` false and
//! `normalize_activations` none, the run's normalisation folded into the weights. Reading also
//! folds `apply_b_dec_to_input` and `rescale_acts_by_decoder_norm` into the weights.

use std::path::{Path, PathBuf};

use ae_models::Sparsity;
use serde_json::json;

use super::{DictionaryFormat, count_field, read_json, read_tensor, write_folder};
use crate::dictionary::{Dictionary, transpose};
use crate::error::RunError;

/// The config file SAELens reads.
const CFG: &str = "cfg.json";
/// The weights file SAELens reads.
const WEIGHTS: &str = "sae_weights.safetensors";

/// SAELens.
pub struct SaeLens;

impl DictionaryFormat for SaeLens {
    fn name(&self) -> &'static str {
        "saelens"
    }

    fn describe(&self) -> &'static str {
        "SAELens (cfg.json, sae_weights.safetensors)"
    }

    fn write(&self, d: &Dictionary, out: &Path) -> Result<Vec<PathBuf>, RunError> {
        let mut cfg = json!({
            "d_in": d.d_in,
            "d_sae": d.d_sae,
            "dtype": "float32",
            "device": "cpu",
            "apply_b_dec_to_input": false,
            "normalize_activations": "none",
            "reshape_activations": "none",
            "metadata": {"exported_by": format!("ae {}", env!("CARGO_PKG_VERSION"))},
        });
        match d.sparsity {
            Sparsity::TopK { k } => {
                cfg["architecture"] = json!("topk");
                cfg["k"] = json!(k);
                cfg["rescale_acts_by_decoder_norm"] = json!(false);
            }
            Sparsity::L1 { weight } | Sparsity::L1DecoderNorm { weight } => {
                cfg["architecture"] = json!("standard");
                cfg["l1_coefficient"] = json!(weight);
            }
            other => {
                return Err(RunError::Inconsistent {
                    field: "model.bottleneck.sparsity",
                    reason: format!("{other} has no SAELens architecture; expected topk:K or l1[:WEIGHT]"),
                });
            }
        }
        let w_enc = transpose(&d.w_enc, d.d_sae, d.d_in);
        write_folder(
            out,
            WEIGHTS,
            &[
                ("W_enc", &w_enc, vec![d.d_in, d.d_sae]),
                ("b_enc", &d.b_enc, vec![d.d_sae]),
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
        let (d_in, d_sae) = (count_field(&cfg, "d_in", &cfg_path)?, count_field(&cfg, "d_sae", &cfg_path)?);
        let arch = cfg.get("architecture").and_then(|v| v.as_str()).unwrap_or("");
        let sparsity = match arch {
            "topk" => Sparsity::TopK { k: count_field(&cfg, "k", &cfg_path)? },
            "standard" => Sparsity::L1 {
                weight: cfg
                    .get("l1_coefficient")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(ae_models::sparsity::DEFAULT_L1_WEIGHT),
            },
            other => {
                return Err(RunError::file(
                    &cfg_path,
                    format!("architecture {other:?}; expected \"topk\" or \"standard\" (ae has no {other:?} code)"),
                ));
            }
        };
        let norm = cfg.get("normalize_activations").and_then(|v| v.as_str()).unwrap_or("none");
        if norm != "none" {
            return Err(RunError::file(
                &cfg_path,
                format!(
                    "normalize_activations {norm:?}; expected \"none\" (fold the scaling into the weights first, \
                     e.g. with SAELens's fold_activation_norm_scaling_factor)"
                ),
            ));
        }
        let weights = dir.join(WEIGHTS);
        let w_enc = read_tensor(&weights, "W_enc", &[d_in, d_sae])?;
        let mut dict = Dictionary {
            d_in,
            d_sae,
            w_enc: transpose(&w_enc, d_in, d_sae),
            b_enc: read_tensor(&weights, "b_enc", &[d_sae])?,
            w_dec: read_tensor(&weights, "W_dec", &[d_sae, d_in])?,
            b_dec: read_tensor(&weights, "b_dec", &[d_in])?,
            sparsity,
        };
        if cfg.get("rescale_acts_by_decoder_norm").and_then(|v| v.as_bool()) == Some(true) {
            dict.fold_decoder_norms();
        }
        if cfg.get("apply_b_dec_to_input").and_then(|v| v.as_bool()).unwrap_or(true) {
            let b_dec = dict.b_dec.clone();
            dict.fold_input_shift(&b_dec);
        }
        Ok(dict)
    }
}
