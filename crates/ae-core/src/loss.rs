//! Reconstruction losses, written in numerically stable forms.
//!
//! The reduction is stated once, here, and every model follows it: **sum over features, one value
//! per example**. Callers average over the batch. So a loss is "per example" (nats for a Bernoulli
//! likelihood), and β or λ weights on other terms mean the same thing in every model. Divide by the
//! number of features to get the per-pixel figure Keras reports.

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// How a model's output is compared with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReconLoss {
    /// Binary cross-entropy on logits, for targets in [0, 1]; the output is `sigmoid(logits)`.
    #[default]
    Bce,
    /// Squared error; the output is the raw decoder output.
    Mse,
}

impl ReconLoss {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ReconLoss::Bce => "bce",
            ReconLoss::Mse => "mse",
        }
    }

    /// Per-example loss, shape `(batch,)`: summed over every non-batch dimension.
    pub fn per_example(self, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        match self {
            ReconLoss::Bce => bce_with_logits_per_example(logits, target),
            ReconLoss::Mse => squared_error_per_example(logits, target),
        }
    }

    /// Maps decoder logits into input space.
    pub fn to_output(self, logits: &Tensor) -> Result<Tensor> {
        match self {
            ReconLoss::Bce => candle_nn::ops::sigmoid(logits),
            ReconLoss::Mse => Ok(logits.clone()),
        }
    }
}

impl std::str::FromStr for ReconLoss {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "bce" => Ok(ReconLoss::Bce),
            "mse" => Ok(ReconLoss::Mse),
            other => Err(format!("unknown loss {other:?}; expected bce or mse")),
        }
    }
}

/// Sums every dimension but the first.
fn sum_features(xs: &Tensor) -> Result<Tensor> {
    let batch = xs.dim(0)?;
    xs.reshape((batch, ()))?.sum(1)
}

/// Binary cross-entropy from logits, per example:
/// `sum_j max(x, 0) - x y + log(1 + exp(-|x|))`, finite for any finite logit (unlike
/// `log(sigmoid(x))`, which overflows for large |x|).
pub fn bce_with_logits_per_example(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let elementwise = ((logits.relu()? - (logits * target)?)? + softplus_neg_abs)?;
    sum_features(&elementwise)
}

/// Squared error per example: `sum_j (x - y)^2`.
pub fn squared_error_per_example(output: &Tensor, target: &Tensor) -> Result<Tensor> {
    sum_features(&(output - target)?.sqr()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(v: &[f32], shape: (usize, usize)) -> Result<Tensor> {
        Tensor::from_slice(v, shape, &Device::Cpu)
    }

    // Reference values from PyTorch 2:
    //   x = torch.tensor([[-3., -0.5, 0., 2.], [100., -100., 7., 0.25]], requires_grad=True)
    //   y = torch.tensor([[0., 0.2, 1., 1.], [1., 0., 0.5, 0.]])
    //   l = F.binary_cross_entropy_with_logits(x, y, reduction='none').sum(1)
    //   l.mean().backward(); print(l, x.grad)
    //   m = ((x - y) ** 2).sum(1)
    const X: [f32; 8] = [-3., -0.5, 0., 2., 100., -100., 7., 0.25];
    const Y: [f32; 8] = [0., 0.2, 1., 1., 1., 0., 0.5, 0.];

    #[test]
    fn bce_matches_pytorch_and_survives_large_logits() -> Result<()> {
        let x = Var::from_tensor(&t(&X, (2, 4))?)?;
        let y = t(&Y, (2, 4))?;
        let l = bce_with_logits_per_example(x.as_tensor(), &y)?;
        let got = l.to_vec1::<f32>()?;
        let want = [1.44273949f32, 4.32685089];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
        let grads = l.mean_all()?.backward()?;
        let gx = grads.get(&x).expect("gradient").flatten_all()?.to_vec1::<f32>()?;
        let want_grad = [0.02371294f32, 0.08877034, -0.25, -0.05960149, 0.0, 0.0, 0.24954450, 0.28108826];
        for (g, w) in gx.iter().zip(want_grad) {
            assert!(g.is_finite() && (g - w).abs() < 1e-5, "grad {gx:?}, want {want_grad:?}");
        }
        Ok(())
    }

    #[test]
    fn mse_matches_pytorch() -> Result<()> {
        let l = squared_error_per_example(&t(&X, (2, 4))?, &t(&Y, (2, 4))?)?;
        let got = l.to_vec1::<f32>()?;
        let want = [11.49f32, 19843.3125];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() / w < 1e-6, "got {got:?}, want {want:?}");
        }
        Ok(())
    }

    #[test]
    fn outputs_map_logits_into_input_space() -> Result<()> {
        let x = t(&[0.0, 100.0], (1, 2))?;
        let out = ReconLoss::Bce.to_output(&x)?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(out, [0.5, 1.0]);
        let out = ReconLoss::Mse.to_output(&x)?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(out, [0.0, 100.0]);
        Ok(())
    }
}
