//! Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`: the L2 norm over every
//! gradient together; when it exceeds `max_norm`, every gradient is scaled by
//! `max_norm / (norm + 1e-6)`.

use ae_core::Gradients;
use candle_core::{Result, Var};

/// Scales the gradients of `vars` so their global norm is at most `max_norm`; returns the norm
/// before. Gradients from autograd and from a fused step are the same [`Gradients`], so this is
/// the one clipping function.
pub fn clip_grad_norm(vars: &[(String, Var)], grads: &mut Gradients, max_norm: f64) -> Result<f64> {
    let norm = grads.global_norm(vars)?;
    if norm.is_finite() && norm > max_norm {
        grads.scale(max_norm / (norm + 1e-6))?;
    }
    Ok(norm)
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
        let vars = vec![("a".to_string(), a.clone()), ("b".to_string(), b.clone())];
        let mut grads = Gradients::from_autograd(&loss.backward().unwrap(), &vars);
        let norm = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let ga = grads.get(a.as_tensor()).unwrap().to_vec().unwrap();
        let gb = grads.get(b.as_tensor()).unwrap().to_vec().unwrap();
        assert!(
            (ga[0] - 0.59999988).abs() < 1e-6 && ga[1] == 0.0 && (gb[0] - 0.79999984).abs() < 1e-6,
            "{ga:?} {gb:?}"
        );
        let again = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((again - 1.0).abs() < 1e-5, "already within the bound: {again}");
        // The same gradients as a fused step writes them clip the same.
        let mut host = Gradients::default();
        host.put_host(a.as_tensor(), vec![3.0, 0.0]);
        host.put_host(b.as_tensor(), vec![4.0]);
        assert!((clip_grad_norm(&vars, &mut host, 1.0).unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(host.get(a.as_tensor()).unwrap().to_vec().unwrap(), ga);
    }
}
