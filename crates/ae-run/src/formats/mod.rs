//! Files other tools read and write, one module per format, each registered once: `ae export`
//! looks formats up by name in [`EXPORTS`] and `ae import` in [`FORMATS`], so a new one is a new
//! file and a line in a list. Dictionary formats (one-layer sparse autoencoders) are export
//! formats too, through [`Dictionary::from_run`].

mod onnx;
mod saelens;
mod sparsify;

use std::path::{Path, PathBuf};

use ae_core::graph::Part;
use ae_data::{Normalization, Normalize};

use crate::dictionary::Dictionary;
use crate::error::RunError;
use crate::open::OpenRun;

/// A trained run, as an export format reads it.
pub struct ExportSource<'a> {
    /// The run, with the weights asked for.
    pub run: &'a OpenRun,
    /// What the run does to its inputs, `None` for nothing.
    pub normalization: Option<&'a Normalization>,
    /// The part of the model asked for.
    pub part: Part,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The files, the main one first.
    pub files: Vec<PathBuf>,
    /// One line on what they hold, for the user.
    pub summary: String,
}

/// A file format `ae export` writes a trained run in.
pub trait ExportFormat: Sync {
    /// The name `--format` takes.
    fn name(&self) -> &'static str;
    /// What the format is, for help and messages.
    fn describe(&self) -> &'static str;
    /// Writes `src` at `out` (a folder or a file, as the format keeps it).
    fn export(&self, src: &ExportSource<'_>, out: &Path) -> Result<Written, RunError>;
}

impl std::fmt::Debug for dyn ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A dictionary format exports the run's dictionary, in data units.
impl<T: DictionaryFormat> ExportFormat for T {
    fn name(&self) -> &'static str {
        DictionaryFormat::name(self)
    }

    fn describe(&self) -> &'static str {
        DictionaryFormat::describe(self)
    }

    fn export(&self, src: &ExportSource<'_>, out: &Path) -> Result<Written, RunError> {
        if src.part != Part::Autoencoder {
            return Err(RunError::Inconsistent {
                field: "--part",
                reason: format!(
                    "{} is not a part {} files hold; expected autoencoder (the whole dictionary)",
                    src.part,
                    DictionaryFormat::name(self)
                ),
            });
        }
        let dict = Dictionary::from_run(src.run, src.normalization)?;
        let files = self.write(&dict, out)?;
        let folded = match src.normalization {
            Some(n) if n.kind != Normalize::None => {
                format!("; the {} normalisation is folded into the weights", n.kind)
            }
            _ => String::new(),
        };
        let summary = format!("{} inputs, {} latents, {}{folded}", dict.d_in, dict.d_sae, dict.sparsity);
        Ok(Written { files, summary })
    }
}

/// Every export format, in the order help lists them.
pub const EXPORTS: &[&dyn ExportFormat] = &[&onnx::Onnx, &saelens::SaeLens, &sparsify::Sparsify];

/// The export format named `name`, or a message listing the known ones.
pub fn export_format(name: &str) -> Result<&'static dyn ExportFormat, String> {
    EXPORTS.iter().copied().find(|f| f.name() == name).ok_or_else(|| {
        let known: Vec<&str> = EXPORTS.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?}; expected one of {}", known.join(", "))
    })
}

/// A file layout for sparse-autoencoder dictionaries.
pub trait DictionaryFormat: Sync {
    /// The name `--format` takes.
    fn name(&self) -> &'static str;
    /// What the format is, for help and messages.
    fn describe(&self) -> &'static str;
    /// Writes `dict` into folder `out` (created if missing); the files written.
    fn write(&self, dict: &Dictionary, out: &Path) -> Result<Vec<PathBuf>, RunError>;
    /// Reads the dictionary in folder `dir`, in data units.
    fn read(&self, dir: &Path) -> Result<Dictionary, RunError>;
}

impl std::fmt::Debug for dyn DictionaryFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every format, in the order help lists them.
pub const FORMATS: &[&dyn DictionaryFormat] = &[&saelens::SaeLens, &sparsify::Sparsify];

/// The format named `name`, or a message listing the known ones.
pub fn dictionary_format(name: &str) -> Result<&'static dyn DictionaryFormat, String> {
    FORMATS.iter().copied().find(|f| f.name() == name).ok_or_else(|| {
        let known: Vec<&str> = FORMATS.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?}; expected one of {}", known.join(", "))
    })
}

/// One f32 tensor of safetensors file `path` (any float dtype is converted), checked to have
/// shape `dims` (the array reader refuses values that are not finite).
pub(crate) fn read_tensor(path: &Path, name: &str, dims: &[usize]) -> Result<Vec<f32>, RunError> {
    let (a, shape) = read_array(path, name)?;
    if shape != dims {
        return Err(RunError::file(path, format!("tensor {name} has shape {shape:?}; expected {dims:?}")));
    }
    if let Some(i) = a.values.iter().position(|v| !v.is_finite()) {
        return Err(RunError::file(
            path,
            format!("tensor {name} holds {} at flat index {i}; expected finite values", a.values[i]),
        ));
    }
    Ok(a.values)
}

/// The shape of tensor `name` in safetensors file `path`.
pub(crate) fn tensor_dims(path: &Path, name: &str) -> Result<Vec<usize>, RunError> {
    Ok(read_array(path, name)?.1)
}

/// Tensor `name` of `path` and its shape, `(n,)` where the array reader gives a vector as `n` rows
/// of one value (so a stored `(n, 1)` also reads as `(n,)`, harmless for the biases it is used
/// for).
fn read_array(path: &Path, name: &str) -> Result<(ae_data::array::Array, Vec<usize>), RunError> {
    let a = ae_data::array::read_array_file(path, Some(name))?;
    let mut shape = vec![a.n];
    if a.row_shape != [1] {
        shape.extend(&a.row_shape);
    }
    Ok((a, shape))
}

/// The JSON object in file `path`.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::file(path, format!("cannot read: {e}")))?;
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(RunError::file(path, "not a JSON object; expected the tool's config")),
        Err(e) => Err(RunError::file(path, format!("not valid JSON ({e}); expected the tool's config"))),
    }
}

/// Field `key` of config `cfg` (from `path`) as a whole number >= 1.
pub(crate) fn count_field(
    cfg: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    path: &Path,
) -> Result<usize, RunError> {
    match cfg.get(key).and_then(serde_json::Value::as_u64) {
        Some(n) if n >= 1 => Ok(n as usize),
        _ => Err(RunError::file(
            path,
            format!(
                "{key} is {}; expected a whole number >= 1",
                cfg.get(key).map_or("missing".into(), |v| v.to_string())
            ),
        )),
    }
}

/// Encodes named row-major f32 tensors as a safetensors file at `path`, written atomically.
pub(crate) fn write_tensors(path: &Path, named: &[(&str, &[f32], Vec<usize>)]) -> Result<(), RunError> {
    let dev = candle_core::Device::Cpu;
    let tensors = named
        .iter()
        .map(|(n, v, dims)| Ok((n.to_string(), candle_core::Tensor::from_slice(v, dims.as_slice(), &dev)?)))
        .collect::<Result<Vec<_>, RunError>>()?;
    let bytes = ae_core::params::tensors_to_safetensors(&tensors, &Default::default())?;
    ae_train::checkpoint::atomic_write(path, &bytes)?;
    Ok(())
}

/// Writes an export into folder `out` (created if missing): the tensors as `weights`, then the
/// config as `cfg` (last, so a folder with a config always has its weights); the files written.
pub(crate) fn write_folder(
    out: &Path,
    weights: &str,
    tensors: &[(&str, &[f32], Vec<usize>)],
    cfg: &str,
    config: &serde_json::Value,
) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(out).map_err(|e| RunError::file(out, format!("cannot create the folder: {e}")))?;
    let weights = out.join(weights);
    write_tensors(&weights, tensors)?;
    let cfg = out.join(cfg);
    let text = serde_json::to_string_pretty(config).unwrap_or_default() + "\n";
    ae_train::checkpoint::atomic_write(&cfg, text.as_bytes())?;
    Ok(vec![cfg, weights])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_of_the_wrong_shape_or_not_finite_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sae.safetensors");
        let w = vec![0.5f32; 64 * 24];
        let mut b = vec![0f32; 32];
        b[3] = f32::NAN;
        write_tensors(&path, &[("W_dec", &w, vec![64, 24]), ("b_enc", &b, vec![32])]).unwrap();
        assert_eq!(read_tensor(&path, "W_dec", &[64, 24]).unwrap(), w);
        let err = read_tensor(&path, "W_dec", &[32, 24]).unwrap_err().to_string();
        assert!(err.ends_with("sae.safetensors: tensor W_dec has shape [64, 24]; expected [32, 24]"), "{err}");
        let err = read_tensor(&path, "b_enc", &[32]).unwrap_err().to_string();
        assert!(err.ends_with("sae.safetensors: row 3 entry 0: NaN (as f32); expected finite values"), "{err}");
        let err = read_tensor(&path, "b_dec", &[24]).unwrap_err().to_string();
        assert!(err.contains("b_dec"), "a missing tensor is named: {err}");
        assert_eq!(dictionary_format("sparsify").unwrap().name(), "sparsify");
    }
}
