//! Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`: the L2 norm over every
//! gradient together; when it exceeds `max_norm`, every gradient is scaled by
//! `max_norm / (norm + 1e-6)`.

use ae_core::fused::FusedScratch;
use candle_core::backprop::GradStore;
use candle_core::{DType, Result, Var};

/// The global L2 norm of the gradients of `vars`.
pub fn global_norm(vars: &[(String, Var)], grads: &GradStore) -> Result<f64> {
    let mut sum = 0f64;
    for (_, var) in vars {
        if let Some(g) = grads.get(var.as_tensor()) {
            sum += g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        }
    }
    Ok(sum.sqrt())
}

/// Scales the gradients so their global norm is at most `max_norm`; returns the norm before.
pub fn clip_grad_norm(vars: &[(String, Var)], grads: &mut GradStore, max_norm: f64) -> Result<f64> {
    let norm = global_norm(vars, grads)?;
    if norm.is_finite() && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for (_, var) in vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                let scaled = g.affine(scale, 0.0)?;
                grads.insert(var.as_tensor(), scaled);
            }
        }
    }
    Ok(norm)
}

/// [`clip_grad_norm`] for gradients written by a fused step, scaled in place.
pub fn clip_fused_grad_norm(scratch: &mut FusedScratch, max_norm: f64) -> f64 {
    let sum: f64 = scratch.grads_mut().flat_map(|g| g.iter()).map(|&x| f64::from(x) * f64::from(x)).sum();
    let norm = sum.sqrt();
    if norm.is_finite() && norm > max_norm {
        let scale = (max_norm / (norm + 1e-6)) as f32;
        scratch.grads_mut().for_each(|g| g.iter_mut().for_each(|x| *x *= scale));
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    // PyTorch 2: a = torch.tensor([3., 0.], requires_grad=True); b = torch.tensor([4.], requires_grad=True)
    //   (a * a / 2).sum().backward(); (b * b / 2).sum().backward()   # grads [3, 0] and [4]
    //   clip_grad_norm_([a, b], 1.0) -> 5.0; a.grad = [0.59999988, 0.], b.grad = [0.79999984]
    #[test]
    fn clips_to_the_global_norm_as_pytorch() {
        let a = Var::from_tensor(&Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[4f32], &Device::Cpu).unwrap()).unwrap();
        let loss = (a.as_tensor().sqr().unwrap().sum_all().unwrap() + b.as_tensor().sqr().unwrap().sum_all().unwrap())
            .unwrap()
            .affine(0.5, 0.0)
            .unwrap();
        let mut grads = loss.backward().unwrap();
        let vars = vec![("a".to_string(), a.clone()), ("b".to_string(), b.clone())];
        let norm = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let ga = grads.get(a.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let gb = grads.get(b.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (ga[0] - 0.59999988).abs() < 1e-6 && ga[1] == 0.0 && (gb[0] - 0.79999984).abs() < 1e-6,
            "{ga:?} {gb:?}"
        );
        let again = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((again - 1.0).abs() < 1e-5, "already within the bound: {again}");
    }
}
