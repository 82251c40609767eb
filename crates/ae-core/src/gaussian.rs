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

/// The standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1) (Acklam's rational approximation,
/// relative error below 1.2e-9), e.g. to lay a grid of codes over the prior. NaN outside (0, 1).
pub fn standard_normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const LOW: f64 = 0.02425;
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
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

    #[test]
    fn normal_quantiles_match_pytorch() {
        // torch.special.ndtri in float64
        for (p, want) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.05, -1.644_853_626_951_472_2),
            (0.001, -3.090_232_306_167_813_6),
            (0.999_9, 3.719_016_485_455_709),
        ] {
            let got = standard_normal_quantile(p);
            assert!((got - want).abs() < 1e-8 * want.abs().max(1.0), "p {p}: {got} vs {want}");
        }
        assert!(standard_normal_quantile(0.0).is_nan() && standard_normal_quantile(1.5).is_nan());
    }
}
