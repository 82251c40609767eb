//! Seeded parameter initialisation. A [`candle_nn::VarBuilder`] over a [`SeededInit`] backend
//! creates each new parameter from the run's init stream, in the order the model asks for them,
//! so the same seed gives the same weights (candle's own initialisers use an unseeded RNG).

use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, Linear, VarBuilder, VarMap};

use crate::rng::{self, SeededRng};

/// A `VarBuilder` backend that stores parameters in a [`VarMap`] and draws new ones from a seeded
/// stream. Existing entries (loaded weights) are returned as they are, after a shape check.
pub struct SeededInit {
    vars: VarMap,
    rng: Mutex<SeededRng>,
}

impl SeededInit {
    /// A backend filling `vars` from `rng`.
    pub fn new(vars: VarMap, rng: SeededRng) -> Self {
        Self { vars, rng: Mutex::new(rng) }
    }

    /// A `VarBuilder` for f32 parameters on `dev` over this backend.
    pub fn into_var_builder(self, dev: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self), DType::F32, dev.clone())
    }

    fn draw(&self, shape: &Shape, init: Init, dev: &Device) -> Result<Tensor> {
        let mut rng = self.rng.lock().map_err(|_| candle_core::Error::Msg("init stream poisoned".into()))?;
        let fan_in = || shape.dims().get(1).copied().unwrap_or(1) as f32;
        let fan_out = || shape.dims().first().copied().unwrap_or(1) as f32;
        match init {
            Init::Const(v) => Tensor::full(v as f32, shape, dev),
            Init::Randn { mean, stdev } => rng::normal(&mut rng, shape.clone(), mean as f32, stdev as f32, dev),
            Init::Uniform { lo, up } => rng::uniform(&mut rng, shape.clone(), lo as f32, up as f32, dev),
            Init::Kaiming { dist, fan, non_linearity } => {
                let fan = match fan {
                    FanInOut::FanIn => fan_in(),
                    FanInOut::FanOut => fan_out(),
                };
                let std = non_linearity.gain() as f32 / fan.sqrt();
                match dist {
                    NormalOrUniform::Normal => rng::normal(&mut rng, shape.clone(), 0.0, std, dev),
                    NormalOrUniform::Uniform => {
                        let bound = 3f32.sqrt() * std;
                        rng::uniform(&mut rng, shape.clone(), -bound, bound, dev)
                    }
                }
            }
        }
    }
}

impl SimpleBackend for SeededInit {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut vars = self.vars.data().lock().map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?;
        if let Some(var) = vars.get(name) {
            if var.shape() != &s {
                candle_core::bail!("parameter {name}: shape {:?} where the model needs {:?}", var.shape(), s);
            }
            return Ok(var.as_tensor().clone());
        }
        let var = Var::from_tensor(&self.draw(&s, h, dev)?.to_dtype(dtype)?)?;
        let tensor = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        let vars = self.vars.data().lock().map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?;
        match vars.get(name) {
            Some(var) => Ok(var.as_tensor().clone()),
            None => candle_core::bail!("no parameter named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.vars.data().lock().map(|v| v.contains_key(name)).unwrap_or(false)
    }
}

/// A fully-connected layer initialised as PyTorch's `nn.Linear` is: weight and bias uniform in
/// `±1/sqrt(in_dim)`, so the same architecture starts from the same distribution in both.
pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let bound = 1.0 / (in_dim as f64).sqrt();
    let init = Init::Uniform { lo: -bound, up: bound };
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", init)?;
    let bias = vb.get_with_hints(out_dim, "bias", init)?;
    Ok(Linear::new(weight, Some(bias)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    fn build(seed: u64) -> Result<(VarMap, Linear)> {
        let vars = VarMap::new();
        let vb = SeededInit::new(vars.clone(), stream(seed, Purpose::Init, 0)).into_var_builder(&Device::Cpu);
        let layer = linear(100, 30, vb.pp("layer"))?;
        Ok((vars, layer))
    }

    #[test]
    fn same_seed_same_weights_and_torch_bounds() -> Result<()> {
        let (vars_a, a) = build(3)?;
        let (_, b) = build(3)?;
        let (_, c) = build(4)?;
        let wa = a.weight().flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(wa, b.weight().flatten_all()?.to_vec1::<f32>()?);
        assert_ne!(wa, c.weight().flatten_all()?.to_vec1::<f32>()?);
        assert!(wa.iter().all(|w| w.abs() <= 0.1), "outside ±1/sqrt(100)");
        let max = wa.iter().fold(0f32, |m, w| m.max(w.abs()));
        assert!(max > 0.09, "uniform over the whole range, got max {max}");
        let mut names: Vec<_> =
            vars_a.data().lock().map_err(|_| candle_core::Error::Msg("poisoned".into()))?.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["layer.bias", "layer.weight"]);
        Ok(())
    }

    #[test]
    fn existing_parameters_are_reused_and_shape_checked() -> Result<()> {
        let (vars, a) = build(3)?;
        let vb = SeededInit::new(vars.clone(), stream(99, Purpose::Init, 0)).into_var_builder(&Device::Cpu);
        let again = linear(100, 30, vb.pp("layer"))?;
        assert_eq!(a.weight().flatten_all()?.to_vec1::<f32>()?, again.weight().flatten_all()?.to_vec1::<f32>()?);
        let vb = SeededInit::new(vars, stream(99, Purpose::Init, 0)).into_var_builder(&Device::Cpu);
        let err = linear(50, 30, vb.pp("layer")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("layer.weight"), "{err}");
        Ok(())
    }
}
