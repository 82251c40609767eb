//! Element-wise activations that a model's hidden layers can use, chosen by name in configs.

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// A hidden-layer non-linearity. Names match PyTorch's modules (`leaky_relu` uses slope 0.01 and
/// `gelu` the exact erf form, as `nn.LeakyReLU()` and `nn.GELU()` do by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0).
    #[default]
    Relu,
    /// x for x > 0, 0.01 x otherwise.
    LeakyRelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// x Φ(x) with the exact normal CDF.
    Gelu,
}

impl Activation {
    /// Every activation, for help texts and error messages.
    pub const ALL: [Activation; 5] =
        [Activation::Relu, Activation::LeakyRelu, Activation::Tanh, Activation::Sigmoid, Activation::Gelu];

    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
        }
    }

    /// Applies the activation.
    pub fn apply(self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => xs.relu(),
            Activation::LeakyRelu => candle_nn::ops::leaky_relu(xs, 0.01),
            Activation::Tanh => xs.tanh(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(xs),
            Activation::Gelu => xs.gelu_erf(),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let wanted = s.replace('-', "_");
        Activation::ALL.into_iter().find(|a| a.name() == wanted).ok_or_else(|| {
            let names: Vec<_> = Activation::ALL.iter().map(|a| a.name()).collect();
            format!("unknown activation {s:?}; expected one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn activations_match_pytorch() -> Result<()> {
        // torch: x = torch.tensor([-2., -0.5, 0., 1.5])
        // relu, F.leaky_relu(x), tanh, sigmoid, F.gelu(x)
        let xs = Tensor::new(&[-2f32, -0.5, 0.0, 1.5], &Device::Cpu)?;
        let expect: [(Activation, [f32; 4]); 5] = [
            (Activation::Relu, [0.0, 0.0, 0.0, 1.5]),
            (Activation::LeakyRelu, [-0.02, -0.005, 0.0, 1.5]),
            (Activation::Tanh, [-0.9640276, -0.46211717, 0.0, 0.90514827]),
            (Activation::Sigmoid, [0.11920292, 0.37754068, 0.5, 0.81757444]),
            (Activation::Gelu, [-0.04550028, -0.15426877, 0.0, 1.39978909]),
        ];
        for (act, want) in expect {
            let got = act.apply(&xs)?.to_vec1::<f32>()?;
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-5, "{act}: got {got:?}, want {want:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("leaky-relu".parse::<Activation>(), Ok(Activation::LeakyRelu));
        assert_eq!("gelu".parse::<Activation>(), Ok(Activation::Gelu));
        let err = "swish".parse::<Activation>().unwrap_err();
        assert!(err.contains("\"swish\"") && err.contains("relu, leaky_relu"), "{err}");
    }
}
