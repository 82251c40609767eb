//! Diagonal Gaussians over codes, as a variational encoder outputs them: reparameterised
//! sampling from a seeded stream, the KL divergence to the standard normal prior and log-densities,
//! all per example (summed over code dimensions), in nats.

use candle_core::{Result, Tensor};

use crate::rng::{self, SeededRng};

/// `log(2π)`.
const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// A batch of diagonal Gaussians: `mean` and `log_var`, both `(batch, code_dim)`.
#[derive(Debug, Clone)]
pub struct Gaussian {
    /// Means.
    pub mean: Tensor,
    /// Log-variances (`log σ²`).
    pub log_var: Tensor,
}

impl Gaussian {
    /// `mean + exp(log_var / 2) * eps` with `eps ~ N(0, I)` drawn from `rng`: gradients reach the
    /// mean and the log-variance through it (the reparameterisation trick).
    pub fn sample(&self, rng: &mut SeededRng) -> Result<Tensor> {
        let eps = rng::normal(rng, self.mean.shape().clone(), 0.0, 1.0, self.mean.device())?;
        &self.mean + (self.log_var.affine(0.5, 0.0)?.exp()? * eps)?
    }

    /// `KL(q || N(0, I))` per example: `-1/2 sum(1 + log_var - mean^2 - exp(log_var))`.
    pub fn kl_to_standard_normal(&self) -> Result<Tensor> {
        let inner = ((self.log_var.affine(1.0, 1.0)? - self.mean.sqr()?)? - self.log_var.exp()?)?;
        inner.sum(1)?.affine(-0.5, 0.0)
    }

    /// `log q(zs)` per example.
    pub fn log_density(&self, zs: &Tensor) -> Result<Tensor> {
        let sq = ((zs - &self.mean)?.sqr()? / self.log_var.exp()?)?;
        (sq + &self.log_var)?.affine(-0.5, -0.5 * LN_2PI)?.sum(1)
    }
}

/// `log N(zs; 0, I)` per example.
pub fn standard_normal_log_density(zs: &Tensor) -> Result<Tensor> {
    zs.sqr()?.affine(-0.5, -0.5 * LN_2PI)?.sum(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use candle_core::{Device, Var};

    fn close(got: &Tensor, want: &[f32]) {
        let got = got.to_vec1::<f32>().unwrap();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
    }

    // PyTorch 2:
    //   mu = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]])
    //   lv = torch.tensor([[0.0, -1.5, 1.2], [0.4, -0.2, -3.0]])
    //   z = torch.tensor([[0.1, -0.8, 1.5], [1.0, 0.0, -0.5]])
    //   -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), dim=1)           -> [1.54662359, 3.37017107]
    //   Normal(mu, torch.exp(0.5 * lv)).log_prob(z).sum(-1)              -> [-3.11529279, -2.14864922]
    //   Normal(torch.zeros(3), torch.ones(3)).log_prob(z).sum(-1)        -> [-4.20681572, -3.38181543]
    #[test]
    fn kl_and_log_densities_match_pytorch() {
        let dev = Device::Cpu;
        let q = Gaussian {
            mean: Tensor::new(&[[0.5f32, -1.0, 0.0], [2.0, 0.3, -0.7]], &dev).unwrap(),
            log_var: Tensor::new(&[[0.0f32, -1.5, 1.2], [0.4, -0.2, -3.0]], &dev).unwrap(),
        };
        let z = Tensor::new(&[[0.1f32, -0.8, 1.5], [1.0, 0.0, -0.5]], &dev).unwrap();
        close(&q.kl_to_standard_normal().unwrap(), &[1.54662359, 3.37017107]);
        close(&q.log_density(&z).unwrap(), &[-3.11529279, -2.14864922]);
        close(&standard_normal_log_density(&z).unwrap(), &[-4.20681572, -3.38181543]);
    }

    #[test]
    fn samples_repeat_with_the_seed_and_carry_gradients() {
        let dev = Device::Cpu;
        let mean = Var::from_tensor(&Tensor::new(&[[0.5f32, -1.0]], &dev).unwrap()).unwrap();
        let log_var = Var::from_tensor(&Tensor::new(&[[0.2f32, -0.4]], &dev).unwrap()).unwrap();
        let q = Gaussian { mean: mean.as_tensor().clone(), log_var: log_var.as_tensor().clone() };
        let a = q.sample(&mut stream(3, Purpose::Sampling, 0)).unwrap();
        let b = q.sample(&mut stream(3, Purpose::Sampling, 0)).unwrap();
        let c = q.sample(&mut stream(4, Purpose::Sampling, 0)).unwrap();
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        assert_ne!(a.to_vec2::<f32>().unwrap(), c.to_vec2::<f32>().unwrap());
        let grads = a.sum_all().unwrap().backward().unwrap();
        assert_eq!(grads.get(mean.as_tensor()).unwrap().to_vec2::<f32>().unwrap(), [[1.0, 1.0]]);
        // d/d log_var of exp(log_var / 2) * eps = exp(log_var / 2) * eps / 2 = (z - mean) / 2.
        let eps_half = ((&a - mean.as_tensor()).unwrap() * 0.5).unwrap().to_vec2::<f32>().unwrap();
        let g = grads.get(log_var.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        for (x, y) in g[0].iter().zip(&eps_half[0]) {
            assert!((x - y).abs() < 1e-6 && *x != 0.0);
        }
    }
}
