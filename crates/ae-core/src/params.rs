//! A model's trainable parameters by name: sorted access (candle's `VarMap` is a hash map with no
//! stable order), seeded creation, and safetensors encoding and strict loading. Parameter names are
//! a file format: loading compares the name sets both ways, shapes, dtypes and finiteness, because
//! a checkpoint is untrusted input.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::error::{CoreError, Result};
use crate::init::SeededInit;
use crate::rng::SeededRng;

/// The trainable parameters of one model.
#[derive(Clone)]
pub struct Params {
    vars: VarMap,
}

impl Default for Params {
    fn default() -> Self {
        Self::new()
    }
}

impl Params {
    /// An empty set, to be filled by a model constructor through [`Params::var_builder`].
    pub fn new() -> Self {
        Self { vars: VarMap::new() }
    }

    /// A builder that creates missing parameters from `init` (a seeded stream) on `dev`.
    pub fn var_builder(&self, init: SeededRng, dev: &Device) -> VarBuilder<'static> {
        SeededInit::new(self.vars.clone(), init).into_var_builder(dev)
    }

    /// The underlying candle map.
    pub fn var_map(&self) -> &VarMap {
        &self.vars
    }

    /// Every parameter with its name, sorted by name.
    pub fn named(&self) -> Vec<(String, Var)> {
        let vars = match self.vars.data().lock() {
            Ok(vars) => vars,
            Err(poisoned) => poisoned.into_inner(),
        };
        let sorted: BTreeMap<_, _> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        sorted.into_iter().collect()
    }

    /// The number of scalar parameters.
    pub fn count(&self) -> usize {
        self.named().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The parameters as a safetensors file image, with string metadata.
    pub fn to_safetensors(&self, metadata: &HashMap<String, String>) -> Result<Vec<u8>> {
        let named: Vec<(String, Tensor)> = self.named().into_iter().map(|(k, v)| (k, v.as_tensor().clone())).collect();
        tensors_to_safetensors(&named, metadata)
    }

    /// Replaces every parameter's value with the tensor of the same name in the file at `path`,
    /// refusing a file whose names, shapes or dtypes differ or whose values are not finite.
    /// Returns the file's metadata.
    pub fn load(&self, path: &Path) -> Result<HashMap<String, String>> {
        let expected: BTreeMap<String, Vec<usize>> =
            self.named().into_iter().map(|(k, v)| (k, v.dims().to_vec())).collect();
        let (tensors, metadata) = read_safetensors(path, &expected, self.device().as_ref())?;
        for (name, var) in self.named() {
            if let Some(t) = tensors.get(&name) {
                var.set(t)?;
            }
        }
        Ok(metadata)
    }

    fn device(&self) -> Option<Device> {
        self.named().first().map(|(_, v)| v.device().clone())
    }
}

/// Encodes named f32 tensors and metadata as a safetensors file image.
pub fn tensors_to_safetensors(named: &[(String, Tensor)], metadata: &HashMap<String, String>) -> Result<Vec<u8>> {
    let mut host = Vec::with_capacity(named.len());
    for (name, t) in named {
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        host.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let views = host
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| candle_core::Error::Msg(format!("safetensors: {e}")))?;
    let metadata = if metadata.is_empty() { None } else { Some(metadata.clone()) };
    safetensors::serialize(views, metadata).map_err(|e| candle_core::Error::Msg(format!("safetensors: {e}")).into())
}

/// Reads a safetensors file holding exactly the f32 tensors named in `expected`, with those
/// shapes and finite values, onto `dev` (the CPU when `None`).
pub fn read_safetensors(
    path: &Path,
    expected: &BTreeMap<String, Vec<usize>>,
    dev: Option<&Device>,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bytes = crate::bounded::read_bounded(path, crate::bounded::DATA_LIMIT)
        .map_err(|source| CoreError::Io { path: path.to_path_buf(), source })?;
    parse_safetensors(&bytes, path, expected, dev)
}

/// [`read_safetensors`] on a file's bytes; `path` names it in errors. (The fuzz target
/// `checkpoint` feeds it arbitrary bytes.)
pub fn parse_safetensors(
    bytes: &[u8],
    path: &Path,
    expected: &BTreeMap<String, Vec<usize>>,
    dev: Option<&Device>,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bad = |reason: String| CoreError::BadParams { path: path.to_path_buf(), reason };
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let file =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let found: BTreeMap<String, ()> = file.names().into_iter().map(|n| (n.to_string(), ())).collect();
    let missing: Vec<&str> = expected.keys().filter(|k| !found.contains_key(*k)).map(String::as_str).collect();
    let extra: Vec<&str> = found.keys().filter(|k| !expected.contains_key(*k)).map(String::as_str).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(bad(format!(
            "tensor names do not match the model: missing [{}], unexpected [{}]",
            missing.join(", "),
            extra.join(", ")
        )));
    }
    let dev = dev.cloned().unwrap_or(Device::Cpu);
    let mut tensors = HashMap::with_capacity(expected.len());
    for (name, shape) in expected {
        let view = file.tensor(name).map_err(|e| bad(format!("tensor {name}: {e}")))?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("tensor {name}: dtype {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape.as_slice() {
            return Err(bad(format!("tensor {name}: shape {:?}, expected {:?}", view.shape(), shape)));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("tensor {name}: value {} at flat index {i} is not finite", values[i])));
        }
        tensors.insert(name.clone(), Tensor::from_vec(values, shape.as_slice(), &dev)?);
    }
    let metadata = header.metadata().clone().unwrap_or_default();
    Ok((tensors, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    fn model(seed: u64) -> candle_core::Result<Params> {
        let params = Params::new();
        let vb = params.var_builder(stream(seed, Purpose::Init, 0), &Device::Cpu);
        crate::init::linear(4, 3, vb.pp("enc"))?;
        crate::init::linear(3, 2, vb.pp("dec"))?;
        Ok(params)
    }

    #[test]
    fn round_trip_restores_values_and_metadata() -> Result<()> {
        let a = model(1)?;
        let b = model(2)?;
        let dir = std::env::temp_dir().join(format!("ae-core-params-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| CoreError::Io { path: dir.clone(), source })?;
        let path = dir.join("m.safetensors");
        let meta = HashMap::from([("step".to_string(), "12".to_string())]);
        std::fs::write(&path, a.to_safetensors(&meta)?)
            .map_err(|source| CoreError::Io { path: path.clone(), source })?;
        assert_eq!(b.load(&path)?.get("step").map(String::as_str), Some("12"));
        for ((na, va), (nb, vb)) in a.named().iter().zip(b.named()) {
            assert_eq!(na, &nb);
            assert_eq!(va.flatten_all()?.to_vec1::<f32>()?, vb.flatten_all()?.to_vec1::<f32>()?);
        }
        assert_eq!(a.count(), 4 * 3 + 3 + 3 * 2 + 2);
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }
}
