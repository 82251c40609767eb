//! The gradients of one training step, keyed by parameter identity (the parameter tensor's id, as
//! candle's autograd keys its own): what autograd computes and what a model's fused CPU step
//! writes are the same type, so clipping and the optimizer handle one. Host buffers are kept
//! between steps, so a fused step allocates nothing.

use candle_core::backprop::GradStore;
use candle_core::{DType, Result, Tensor, TensorId, Var};

/// One parameter's gradient as a step left it.
#[derive(Debug, Clone, Copy)]
pub enum GradRef<'a> {
    /// Written on the host by a fused step, in the parameter's row-major order.
    Host(&'a [f32]),
    /// Computed by autograd, on the parameter's device.
    Tensor(&'a Tensor),
}

impl GradRef<'_> {
    /// The values, flattened in row-major order, on the host.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match self {
            GradRef::Host(g) => Ok(g.to_vec()),
            GradRef::Tensor(t) => t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    id: TensorId,
    host: Vec<f32>,
    tensor: Option<Tensor>,
    /// Written in the current step (stale buffers are kept only for their memory).
    fresh: bool,
}

/// The gradients of one step.
#[derive(Debug, Clone, Default)]
pub struct Gradients {
    entries: Vec<Entry>,
}

impl Gradients {
    /// Starts a step: every gradient held becomes stale (host buffers are kept for reuse).
    pub fn begin_step(&mut self) {
        for e in &mut self.entries {
            e.fresh = false;
            e.tensor = None;
        }
    }

    fn entry(&mut self, param: &Tensor) -> &mut Entry {
        let id = param.id();
        let at = match self.entries.iter().position(|e| e.id == id) {
            Some(i) => i,
            None => {
                self.entries.push(Entry { id, host: Vec::new(), tensor: None, fresh: false });
                self.entries.len() - 1
            }
        };
        &mut self.entries[at]
    }

    /// `param`'s host buffer, taken out to be overwritten (it keeps its capacity from the last
    /// step); give it back with [`Gradients::put_host`].
    pub fn take_host(&mut self, param: &Tensor) -> Vec<f32> {
        std::mem::take(&mut self.entry(param).host)
    }

    /// Records `grad` as `param`'s gradient for this step.
    pub fn put_host(&mut self, param: &Tensor, grad: Vec<f32>) {
        let e = self.entry(param);
        e.host = grad;
        e.tensor = None;
        e.fresh = true;
    }

    /// Records `grad`, a tensor on the parameter's device, as `param`'s gradient for this step.
    pub fn put_tensor(&mut self, param: &Tensor, grad: Tensor) {
        let e = self.entry(param);
        e.tensor = Some(grad);
        e.fresh = true;
    }

    /// Records autograd's gradient of each of `vars` that has one, as this step's gradients.
    pub fn set_from_autograd(&mut self, store: &GradStore, vars: &[(String, Var)]) {
        self.begin_step();
        for (_, var) in vars {
            if let Some(g) = store.get(var.as_tensor()) {
                let e = self.entry(var.as_tensor());
                e.tensor = Some(g.clone());
                e.fresh = true;
            }
        }
    }

    /// Autograd's gradients of `vars`.
    pub fn from_autograd(store: &GradStore, vars: &[(String, Var)]) -> Self {
        let mut grads = Gradients::default();
        grads.set_from_autograd(store, vars);
        grads
    }

    /// `param`'s gradient in this step, if it has one.
    pub fn get(&self, param: &Tensor) -> Option<GradRef<'_>> {
        let id = param.id();
        let e = self.entries.iter().find(|e| e.id == id && e.fresh)?;
        Some(match &e.tensor {
            Some(t) => GradRef::Tensor(t),
            None => GradRef::Host(&e.host),
        })
    }

    /// The global L2 norm of the gradients of `vars`, summed in their order (host gradients in
    /// f64, device ones in their dtype per tensor, as `torch.nn.utils.clip_grad_norm_` does).
    pub fn global_norm(&self, vars: &[(String, Var)]) -> Result<f64> {
        let mut sum = 0f64;
        for (_, var) in vars {
            sum += match self.get(var.as_tensor()) {
                Some(GradRef::Host(g)) => g.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>(),
                Some(GradRef::Tensor(t)) => t.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?,
                None => 0.0,
            };
        }
        Ok(sum.sqrt())
    }

    /// Multiplies every gradient of this step by `factor` (host ones in place).
    pub fn scale(&mut self, factor: f64) -> Result<()> {
        for e in self.entries.iter_mut().filter(|e| e.fresh) {
            match &e.tensor {
                Some(t) => e.tensor = Some(t.affine(factor, 0.0)?),
                None => {
                    let f = factor as f32;
                    e.host.iter_mut().for_each(|x| *x *= f);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn both_paths_key_by_parameter_and_stale_gradients_are_not_seen() {
        let a = Var::from_tensor(&Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[4f32], &Device::Cpu).unwrap()).unwrap();
        let vars = vec![("a".to_string(), a.clone()), ("b".to_string(), b.clone())];
        let loss = a.as_tensor().sqr().unwrap().sum_all().unwrap().affine(0.5, 0.0).unwrap();
        let mut grads = Gradients::from_autograd(&loss.backward().unwrap(), &vars);
        assert!(matches!(grads.get(a.as_tensor()), Some(GradRef::Tensor(_))));
        assert!(grads.get(b.as_tensor()).is_none(), "b took no part in the loss");
        assert_eq!(grads.global_norm(&vars).unwrap(), 3.0);

        grads.begin_step();
        assert!(grads.get(a.as_tensor()).is_none(), "last step's gradient is stale");
        let mut buf = grads.take_host(b.as_tensor());
        buf.clear();
        buf.push(4.0);
        grads.put_host(b.as_tensor(), buf);
        grads.put_host(a.as_tensor(), vec![3.0, 0.0]);
        assert_eq!(grads.global_norm(&vars).unwrap(), 5.0);
        grads.scale(0.5).unwrap();
        assert!(matches!(grads.get(b.as_tensor()), Some(GradRef::Host(&[2.0]))));
    }
}
