//! Seeded random streams. candle's CPU randomness cannot be seeded, so everything random in ae
//! (initialisation, shuffling, splits, noise, sampling) draws from its own ChaCha8 stream derived
//! from the run seed, a purpose and an index (the epoch, say). Streams never share state, so adding
//! a draw for one purpose never changes another's numbers.

use candle_core::{Device, Result, Shape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator every stream uses; ChaCha8's output is fixed by its specification, unlike
/// `StdRng`, so seeds stay reproducible across versions.
pub type SeededRng = ChaCha8Rng;

/// What a stream is for. The discriminants are part of the reproducibility contract: never
/// renumber them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Parameter initialisation.
    Init = 1,
    /// The order of training examples, one stream per epoch.
    Shuffle = 2,
    /// Carving the validation split out of the training set.
    Split = 3,
    /// Input corruption (denoising), one stream per epoch.
    Noise = 4,
    /// Model-internal sampling (the VAE's reparameterisation), one stream per epoch.
    Sampling = 5,
    /// Anything drawn at evaluation or generation time.
    Eval = 6,
}

/// The stream for `purpose` and `index` under `seed`.
pub fn stream(seed: u64, purpose: Purpose, index: u64) -> SeededRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((purpose as u64) << 48) ^ index);
    rng
}

/// A random permutation of `0..n` (Fisher-Yates), as u32 indices for `index_select`.
pub fn permutation(rng: &mut SeededRng, n: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}

/// A tensor of independent uniform draws in `[lo, hi)`.
pub fn uniform(rng: &mut SeededRng, shape: impl Into<Shape>, lo: f32, hi: f32, dev: &Device) -> Result<Tensor> {
    let shape = shape.into();
    let data: Vec<f32> = (0..shape.elem_count()).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_vec(data, shape, dev)
}

/// A tensor of independent normal draws (Box-Muller on the stream's uniforms).
pub fn normal(rng: &mut SeededRng, shape: impl Into<Shape>, mean: f32, std: f32, dev: &Device) -> Result<Tensor> {
    let shape = shape.into();
    let n = shape.elem_count();
    let mut data = Vec::with_capacity(n + 1);
    while data.len() < n {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        data.push(mean + std * (r * theta.cos()) as f32);
        data.push(mean + std * (r * theta.sin()) as f32);
    }
    data.truncate(n);
    Tensor::from_vec(data, shape, dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_and_differ_by_seed_purpose_and_index() {
        let draw = |seed, p, i| stream(seed, p, i).random::<u64>();
        assert_eq!(draw(7, Purpose::Shuffle, 3), draw(7, Purpose::Shuffle, 3));
        assert_ne!(draw(7, Purpose::Shuffle, 3), draw(8, Purpose::Shuffle, 3));
        assert_ne!(draw(7, Purpose::Shuffle, 3), draw(7, Purpose::Noise, 3));
        assert_ne!(draw(7, Purpose::Shuffle, 3), draw(7, Purpose::Shuffle, 4));
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut order = permutation(&mut stream(1, Purpose::Shuffle, 0), 1000);
        assert_ne!(order, (0..1000).collect::<Vec<u32>>());
        order.sort_unstable();
        assert_eq!(order, (0..1000).collect::<Vec<u32>>());
    }

    #[test]
    fn normal_draws_have_the_asked_moments() -> Result<()> {
        let xs = normal(&mut stream(1, Purpose::Init, 0), 100_001, 2.0, 3.0, &Device::Cpu)?;
        assert_eq!(xs.dims(), [100_001]);
        let v = xs.to_vec1::<f32>()?;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((mean - 2.0).abs() < 0.03, "mean {mean}");
        assert!((var.sqrt() - 3.0).abs() < 0.03, "std {}", var.sqrt());
        Ok(())
    }

    #[test]
    fn uniform_draws_stay_in_range() -> Result<()> {
        let v = uniform(&mut stream(1, Purpose::Init, 0), 10_000, -0.5, 0.25, &Device::Cpu)?.to_vec1::<f32>()?;
        assert!(v.iter().all(|&x| (-0.5..0.25).contains(&x)));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean + 0.125).abs() < 0.01, "mean {mean}");
        Ok(())
    }
}
