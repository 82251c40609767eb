//! Normalisation is part of a run: statistics are fitted on the training rows once, saved with the
//! run and applied unchanged to every split and every later command, so each sees what training
//! saw. A value becomes `(x - offset) / scale`, per feature.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::split::Split;

/// Which normalisation a run applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// Values as read (images are already scaled to [0, 1]).
    None,
    /// Each feature to [0, 1] over the training rows: offset min, scale max - min.
    Minmax,
    /// Each feature to mean 0 and standard deviation 1 over the training rows (the population
    /// deviation, as scikit-learn's `StandardScaler`).
    Standard,
    /// Every feature divided by one factor, so that the training rows' mean L2 norm becomes
    /// `sqrt(features)` (Anthropic's April 2024 recipe, SAELens's `expected_average_only_in`):
    /// the scale of language-model activations differs by model and layer, and this makes one
    /// L1 weight or learning rate carry over. Offset 0.
    Norm,
}

impl std::str::FromStr for Normalize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Normalize::None),
            "minmax" => Ok(Normalize::Minmax),
            "standard" => Ok(Normalize::Standard),
            "norm" | "expected_average_only_in" => Ok(Normalize::Norm),
            _ => Err(format!("unknown normalisation {s:?}; expected none, minmax, standard or norm")),
        }
    }
}

impl std::fmt::Display for Normalize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Normalize::None => "none",
            Normalize::Minmax => "minmax",
            Normalize::Standard => "standard",
            Normalize::Norm => "norm",
        })
    }
}

/// Fitted statistics, as `normalization.json` in a run directory holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// How they were fitted.
    pub kind: Normalize,
    /// Per feature, subtracted first.
    pub offset: Vec<f32>,
    /// Per feature, divided by next (1 where a feature is constant over the training rows).
    pub scale: Vec<f32>,
    /// `--missing mean`: per feature, the training rows' mean, put first in place of a missing
    /// cell; empty when the data had none to fill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fill: Vec<f32>,
}

impl Normalization {
    /// Fits `kind` on the rows of `train`.
    pub fn fit(kind: Normalize, train: &Split) -> Result<Normalization, DataError> {
        let d = train.features();
        let rows = train.images.to_dtype(candle_core::DType::F64)?;
        let (offset, scale): (Tensor, Tensor) = match kind {
            Normalize::None => {
                return Ok(Normalization { kind, offset: vec![0.0; d], scale: vec![1.0; d], fill: Vec::new() });
            }
            Normalize::Minmax => {
                let lo = rows.min(0)?;
                (lo.clone(), rows.max(0)?.sub(&lo)?)
            }
            Normalize::Standard => {
                let mean = rows.mean(0)?;
                let var = rows.broadcast_sub(&mean)?.sqr()?.mean(0)?;
                (mean, var.sqrt()?)
            }
            Normalize::Norm => {
                let mean_norm = rows.sqr()?.sum(1)?.sqrt()?.mean_all()?.to_scalar::<f64>()?;
                let factor = norm_factor(mean_norm, d);
                return Ok(Normalization { kind, offset: vec![0.0; d], scale: vec![factor; d], fill: Vec::new() });
            }
        };
        let offset: Vec<f32> = offset.to_dtype(candle_core::DType::F32)?.to_vec1()?;
        let scale: Vec<f32> = scale
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?
            .into_iter()
            .map(|s| if s > f32::EPSILON && s.is_finite() { s } else { 1.0 })
            .collect();
        Ok(Normalization { kind, offset, scale, fill: Vec::new() })
    }

    /// Per feature, the mean of the finite values of `train` (missing cells are NaN), for
    /// `--missing mean`; `names` name a feature with none in the error.
    pub fn fill_of(train: &Split, names: &[String]) -> Result<Vec<f32>, DataError> {
        let x = &train.images;
        let present = x.eq(x)?.to_dtype(candle_core::DType::F64)?;
        let zeros = x.zeros_like()?;
        let sums = present.ne(0.0)?.where_cond(x, &zeros)?.to_dtype(candle_core::DType::F64)?.sum(0)?;
        let counts: Vec<f64> = present.sum(0)?.to_vec1()?;
        let sums: Vec<f64> = sums.to_vec1()?;
        sums.iter()
            .zip(&counts)
            .enumerate()
            .map(|(j, (s, &c))| {
                if c == 0.0 {
                    let name = names.get(j).cloned().unwrap_or_else(|| j.to_string());
                    return Err(DataError::Normalization {
                        why: format!(
                            "--missing mean: column {name:?} has no value in the training rows to take a mean of; \
                             expected at least one"
                        ),
                    });
                }
                Ok((s / c) as f32)
            })
            .collect()
    }

    /// `split` normalised; refuses statistics of another width.
    pub fn apply(&self, split: Split) -> Result<Split, DataError> {
        let images = self.apply_rows(&split.images)?;
        Ok(Split { images, labels: split.labels })
    }

    /// Rows of values normalised, missing cells (NaN) filled first; refuses statistics of
    /// another width, and missing cells where nothing was fitted to fill them.
    pub fn apply_rows(&self, rows: &Tensor) -> Result<Tensor, DataError> {
        let d = rows.dim(1)?;
        if self.offset.len() != d || self.scale.len() != d || !(self.fill.is_empty() || self.fill.len() == d) {
            return Err(DataError::Normalization {
                why: format!(
                    "statistics for {} features (offset) and {} (scale), but the data has {d}; expected the run's own data",
                    self.offset.len(),
                    self.scale.len()
                ),
            });
        }
        let rows = fill_missing(rows, &self.fill)?;
        if self.kind == Normalize::None {
            return Ok(rows);
        }
        let dev = rows.device();
        let offset = Tensor::from_slice(&self.offset, (1, d), dev)?;
        let scale = Tensor::from_slice(&self.scale, (1, d), dev)?;
        Ok(rows.broadcast_sub(&offset)?.broadcast_div(&scale)?)
    }

    /// Undoes [`apply`](Self::apply) on rows of values, for showing reconstructions in the
    /// data's own units.
    pub fn invert(&self, rows: &Tensor) -> Result<Tensor, DataError> {
        let d = self.offset.len();
        let dev = rows.device();
        let offset = Tensor::from_slice(&self.offset, (1, d), dev)?;
        let scale = Tensor::from_slice(&self.scale, (1, d), dev)?;
        Ok(rows.broadcast_mul(&scale)?.broadcast_add(&offset)?)
    }
}

/// The one scale of [`Normalize::Norm`]: the mean row norm over `sqrt(features)`, 1 for rows
/// that are all zero.
pub fn norm_factor(mean_norm: f64, features: usize) -> f32 {
    let f = (mean_norm / (features.max(1) as f64).sqrt()) as f32;
    if f > f32::EPSILON && f.is_finite() { f } else { 1.0 }
}

/// `rows` with each NaN replaced by its column's `fill`; an error when there is a NaN and no
/// fill (a run trained without `--missing mean` meeting a missing cell).
pub fn fill_missing(rows: &Tensor, fill: &[f32]) -> Result<Tensor, DataError> {
    let missing = rows.ne(rows)?;
    if missing.to_dtype(candle_core::DType::F32)?.sum_all()?.to_scalar::<f32>()? == 0.0 {
        return Ok(rows.clone());
    }
    if fill.is_empty() {
        return Err(DataError::Normalization {
            why: "missing cells, but the run was trained without --missing mean and has no values to fill them; \
                  expected complete rows, or a run trained with --missing mean"
                .into(),
        });
    }
    let fill = Tensor::from_slice(fill, (1, fill.len()), rows.device())?.broadcast_as(rows.shape())?;
    Ok(missing.where_cond(&fill, rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn split(rows: &[[f32; 2]]) -> Split {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Split::new(Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap(), None).unwrap()
    }

    #[test]
    fn norm_scales_rows_to_a_mean_norm_of_sqrt_features() {
        let train = split(&[[3.0, 4.0], [6.0, 8.0]]);
        let n = Normalization::fit(Normalize::Norm, &train).unwrap();
        let f = (7.5 / 2f64.sqrt()) as f32;
        assert_eq!((n.offset.clone(), n.scale.clone()), (vec![0.0, 0.0], vec![f, f]));
        let out = n.apply(train).unwrap().images;
        let mean_norm = out.sqr().unwrap().sum(1).unwrap().sqrt().unwrap().mean_all().unwrap();
        assert!((mean_norm.to_scalar::<f32>().unwrap() - 2f32.sqrt()).abs() < 1e-6);
        assert_eq!("expected_average_only_in".parse::<Normalize>(), Ok(Normalize::Norm), "SAELens's name");
        let zeros = Normalization::fit(Normalize::Norm, &split(&[[0.0, 0.0]])).unwrap();
        assert_eq!(zeros.scale, [1.0, 1.0], "all-zero rows keep scale 1");
    }

    #[test]
    fn standard_and_minmax_fit_on_train_and_apply_to_any_split() {
        let train = split(&[[1.0, 5.0], [3.0, 5.0]]);
        let std = Normalization::fit(Normalize::Standard, &train).unwrap();
        assert_eq!(
            (std.offset.clone(), std.scale.clone()),
            (vec![2.0, 5.0], vec![1.0, 1.0]),
            "a constant column keeps scale 1"
        );
        let test = std.apply(split(&[[4.0, 6.0]])).unwrap();
        assert_eq!(test.images.to_vec2::<f32>().unwrap(), [[2.0, 1.0]]);
        let mm = Normalization::fit(Normalize::Minmax, &split(&[[0.0, 2.0], [4.0, 3.0]])).unwrap();
        let out = mm.apply(split(&[[2.0, 3.0]])).unwrap();
        assert_eq!(out.images.to_vec2::<f32>().unwrap(), [[0.5, 1.0]]);
        assert_eq!(mm.invert(&out.images).unwrap().to_vec2::<f32>().unwrap(), [[2.0, 3.0]]);
        let json = serde_json::to_string(&mm).unwrap();
        assert_eq!(serde_json::from_str::<Normalization>(&json).unwrap(), mm);
    }

    #[test]
    fn statistics_of_another_width_are_refused() {
        let std = Normalization::fit(Normalize::Standard, &split(&[[1.0, 2.0]])).unwrap();
        let three = Split::new(Tensor::zeros((1, 3), candle_core::DType::F32, &Device::Cpu).unwrap(), None).unwrap();
        let err = std.apply(three).unwrap_err().to_string();
        assert!(err.starts_with("normalization: statistics for 2 features"), "{err}");
    }
}
