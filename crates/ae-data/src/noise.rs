//! Corruption for denoising autoencoders (Vincent et al., 2008 and 2010): additive Gaussian noise
//! clipped to [0, 1], masking noise (each pixel set to 0 with probability p) and salt-and-pepper
//! noise (each pixel, with probability p, set to 0 or 1 with equal chance). Written in configs and
//! on the command line as `gaussian:SIGMA`, `masking:P` and `salt-pepper:P`. Noise is drawn from
//! a seeded stream, so the same seed corrupts the same way.

use std::fmt;
use std::str::FromStr;

use ae_core::SeededRng;
use candle_core::{Result, Tensor};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// A noise model and its level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Noise {
    /// `x + sigma * N(0, 1)`, clipped to [0, 1].
    Gaussian {
        /// Standard deviation, in pixel units.
        sigma: f64,
    },
    /// Each pixel set to 0 with probability `p`.
    Masking {
        /// Probability of masking a pixel.
        p: f64,
    },
    /// Each pixel, with probability `p`, set to 0 or to 1 with equal chance.
    SaltPepper {
        /// Probability of corrupting a pixel.
        p: f64,
    },
}

/// The kinds of noise, for messages.
pub const NOISE_KINDS: &str = "gaussian:SIGMA (SIGMA >= 0), masking:P or salt-pepper:P (P in [0, 1])";

impl Noise {
    /// The kind's name as written in specs.
    pub fn kind(&self) -> &'static str {
        match self {
            Noise::Gaussian { .. } => "gaussian",
            Noise::Masking { .. } => "masking",
            Noise::SaltPepper { .. } => "salt-pepper",
        }
    }

    /// The level: sigma or p.
    pub fn level(&self) -> f64 {
        match *self {
            Noise::Gaussian { sigma } => sigma,
            Noise::Masking { p } | Noise::SaltPepper { p } => p,
        }
    }

    /// The same kind at another level.
    pub fn with_level(&self, level: f64) -> Noise {
        match self {
            Noise::Gaussian { .. } => Noise::Gaussian { sigma: level },
            Noise::Masking { .. } => Noise::Masking { p: level },
            Noise::SaltPepper { .. } => Noise::SaltPepper { p: level },
        }
    }

    /// Levels for a sweep of this kind: sigma 0.1..1.0 or p 0.1..0.9.
    pub fn sweep_levels(&self) -> Vec<f64> {
        match self {
            Noise::Gaussian { .. } => (1..=10).map(|i| f64::from(i) / 10.0).collect(),
            _ => (1..=9).map(|i| f64::from(i) / 10.0).collect(),
        }
    }

    /// A corrupted copy of `clean` (values in [0, 1]), with noise drawn from `rng`.
    pub fn corrupt(&self, clean: &Tensor, rng: &mut SeededRng) -> Result<Tensor> {
        let mut values = clean.flatten_all()?.to_vec1::<f32>()?;
        self.corrupt_in_place(&mut values, rng);
        Tensor::from_vec(values, clean.shape(), clean.device())
    }

    /// Corrupts `values` in place. The values are cut into chunks of 16,384, each corrupted on
    /// rayon's pool from its own stream (seeded by one draw from `rng`, indexed by the chunk), so
    /// the result does not depend on the thread count.
    pub fn corrupt_in_place(&self, values: &mut [f32], rng: &mut SeededRng) {
        use rand::SeedableRng;
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 14;
        let seed: u64 = rng.random();
        let noise = *self;
        values.par_chunks_mut(CHUNK).enumerate().for_each(|(i, chunk)| {
            let mut r = SeededRng::seed_from_u64(seed);
            r.set_stream(i as u64);
            noise.corrupt_chunk(chunk, &mut r);
        });
    }

    /// One chunk: a standard normal (ziggurat) per pixel for Gaussian noise, one 64-bit draw per
    /// pixel otherwise (53 bits for the uniform, the lowest bit for salt or pepper).
    fn corrupt_chunk(&self, values: &mut [f32], rng: &mut SeededRng) {
        let uniform = |u: u64| (u >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        match *self {
            Noise::Gaussian { sigma } => {
                let sigma = sigma as f32;
                for v in values.iter_mut() {
                    let z: f32 = rng.sample(StandardNormal);
                    *v = (*v + sigma * z).clamp(0.0, 1.0);
                }
            }
            Noise::Masking { p } => {
                for v in values.iter_mut() {
                    if uniform(rng.random()) < p {
                        *v = 0.0;
                    }
                }
            }
            Noise::SaltPepper { p } => {
                for v in values.iter_mut() {
                    let u: u64 = rng.random();
                    if uniform(u) < p {
                        *v = if u & 1 == 1 { 1.0 } else { 0.0 };
                    }
                }
            }
        }
    }
}

impl fmt::Display for Noise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.level())
    }
}

impl FromStr for Noise {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let Some((kind, level)) = s.split_once(':') else {
            return Err(format!("{s:?} has no level; expected {NOISE_KINDS}"));
        };
        let value: f64 =
            level.parse().map_err(|_| format!("{s:?}: the level {level:?} is not a number; expected {NOISE_KINDS}"))?;
        let probability = |p: f64| {
            if p.is_finite() && (0.0..=1.0).contains(&p) {
                Ok(p)
            } else {
                Err(format!("{s:?}: the probability {level} is outside [0, 1]; expected {NOISE_KINDS}"))
            }
        };
        match kind {
            "gaussian" if value.is_finite() && value >= 0.0 => Ok(Noise::Gaussian { sigma: value }),
            "gaussian" => Err(format!("{s:?}: sigma {level} is not a finite number >= 0; expected {NOISE_KINDS}")),
            "masking" => Ok(Noise::Masking { p: probability(value)? }),
            "salt-pepper" => Ok(Noise::SaltPepper { p: probability(value)? }),
            other => Err(format!("unknown noise kind {other:?}; expected {NOISE_KINDS}")),
        }
    }
}

ae_core::string_spec!(Noise);

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::rng::{Purpose, stream};

    fn grey(n: usize, v: f32) -> Vec<f32> {
        vec![v; n]
    }

    #[test]
    fn specs_round_trip_and_bad_ones_name_the_problem() {
        for s in ["gaussian:0.5", "masking:0.3", "salt-pepper:0.2", "gaussian:0"] {
            assert_eq!(s.parse::<Noise>().unwrap().to_string(), s);
        }
        for (bad, want) in [
            ("gaussian:-0.1", "sigma -0.1 is not a finite number >= 0"),
            ("gaussian:nan", "sigma nan is not a finite number >= 0"),
            ("gaussian:inf", "sigma inf is not a finite number >= 0"),
            ("masking:1.5", "the probability 1.5 is outside [0, 1]"),
            ("salt-pepper:-0.2", "the probability -0.2 is outside [0, 1]"),
            ("masking:x", "the level \"x\" is not a number"),
            ("speckle:0.1", "unknown noise kind \"speckle\""),
            ("gaussian", "has no level"),
        ] {
            let err = bad.parse::<Noise>().unwrap_err();
            assert!(err.contains(want) && err.contains("expected gaussian:SIGMA"), "{bad}: {err}");
        }
    }

    #[test]
    fn gaussian_noise_has_the_asked_deviation_and_stays_in_range() {
        // Mid-grey pixels, so clipping at 0 and 1 is rare for sigma 0.1.
        let mut v = grey(200_000, 0.5);
        Noise::Gaussian { sigma: 0.1 }.corrupt_in_place(&mut v, &mut stream(1, Purpose::Noise, 0));
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let sd = (v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 0.5).abs() < 0.002 && (sd - 0.1).abs() < 0.002, "mean {mean} sd {sd}");
        let mut v = grey(10_000, 0.9);
        Noise::Gaussian { sigma: 0.5 }.corrupt_in_place(&mut v, &mut stream(1, Purpose::Noise, 0));
        assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(v.iter().filter(|&&x| x == 1.0).count() > 3_000, "clipped at 1");
    }

    #[test]
    fn masking_and_salt_pepper_hit_the_asked_fraction() {
        let n = 100_000;
        let mut v = grey(n, 0.5);
        Noise::Masking { p: 0.3 }.corrupt_in_place(&mut v, &mut stream(2, Purpose::Noise, 0));
        let masked = v.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
        assert!((masked - 0.3).abs() < 0.01, "masked {masked}");
        assert!(v.iter().all(|&x| x == 0.0 || x == 0.5));

        let mut v = grey(n, 0.5);
        Noise::SaltPepper { p: 0.2 }.corrupt_in_place(&mut v, &mut stream(3, Purpose::Noise, 0));
        let salt = v.iter().filter(|&&x| x == 1.0).count() as f64 / n as f64;
        let pepper = v.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
        assert!((salt + pepper - 0.2).abs() < 0.01 && (salt - pepper).abs() < 0.01, "salt {salt} pepper {pepper}");
        assert!(v.iter().all(|&x| x == 0.0 || x == 0.5 || x == 1.0));
    }

    #[test]
    fn same_seed_same_noise_and_zero_level_is_identity() {
        let clean = Tensor::from_vec(grey(784, 0.25), (1, 784), &candle_core::Device::Cpu).unwrap();
        for noise in [Noise::Gaussian { sigma: 0.5 }, Noise::Masking { p: 0.4 }, Noise::SaltPepper { p: 0.4 }] {
            let draw = |seed| {
                noise
                    .corrupt(&clean, &mut stream(seed, Purpose::Noise, 7))
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            assert_eq!(draw(1), draw(1), "{noise}");
            assert_ne!(draw(1), draw(2), "{noise}");
            let none = noise.with_level(0.0).corrupt(&clean, &mut stream(1, Purpose::Noise, 0)).unwrap();
            assert_eq!(none.flatten_all().unwrap().to_vec1::<f32>().unwrap(), grey(784, 0.25), "{noise} at level 0");
        }
    }
}
