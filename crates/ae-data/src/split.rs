//! Examples of one split: one row per example on the run's device, and optional labels.

use ae_core::rng::{self, Purpose};
use candle_core::Tensor;

use crate::error::DataError;

/// Examples of one split.
#[derive(Debug, Clone)]
pub struct Split {
    /// `(n, features)` f32 (pixels in [0, 1] for images), on the run's device.
    pub images: Tensor,
    /// One class index per example, when the data has labels (any number of classes; their
    /// names are the dataset's [`classes`](crate::Dataset::classes)).
    pub labels: Option<Vec<u32>>,
}

impl Split {
    /// Examples from a `(n, features)` tensor and, optionally, one label per row.
    ///
    /// ```
    /// use ae_core::candle::{Device, Tensor};
    /// use ae_data::Split;
    ///
    /// let rows = Tensor::zeros((4, 3), ae_core::candle::DType::F32, &Device::Cpu)?;
    /// let split = Split::new(rows.clone(), Some(vec![0, 1, 1, 0]))?;
    /// assert_eq!((split.len(), split.features()), (4, 3));
    /// assert!(Split::new(rows, Some(vec![0])).is_err(), "one label per row");
    /// # Ok::<(), ae_data::DataError>(())
    /// ```
    pub fn new(images: Tensor, labels: Option<Vec<u32>>) -> Result<Split, DataError> {
        let what = "Split::new";
        let dims = images.dims();
        if dims.len() != 2 {
            return Err(DataError::Shape {
                what,
                found: format!("a tensor of shape {dims:?}"),
                expected: "a (rows, features) tensor".into(),
            });
        }
        if let Some(labels) = &labels
            && labels.len() != dims[0]
        {
            return Err(DataError::Shape {
                what,
                found: format!("{} labels for {} rows", labels.len(), dims[0]),
                expected: "one label per row".into(),
            });
        }
        Ok(Split { images, labels })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.images.dims().first().copied().unwrap_or(0)
    }

    /// True when the split holds no example.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Features per example.
    pub fn features(&self) -> usize {
        self.images.dims().get(1).copied().unwrap_or(0)
    }

    /// The labels, or an error naming `what` needs them.
    pub fn require_labels(&self, what: &'static str) -> Result<&[u32], DataError> {
        self.labels.as_deref().ok_or(DataError::NoLabels { what })
    }

    /// The first `n` examples (all if fewer).
    pub fn head(&self, n: usize) -> Result<Split, DataError> {
        self.range(0, n.min(self.len()))
    }

    /// The last `n` examples (all of them if there are fewer).
    pub fn tail(&self, n: usize) -> Result<Split, DataError> {
        let n = n.min(self.len());
        self.range(self.len() - n, n)
    }

    /// `n` examples from `start`.
    fn range(&self, start: usize, n: usize) -> Result<Split, DataError> {
        let labels = self.labels.as_ref().map(|l| l[start..start + n].to_vec());
        Ok(Split { images: self.images.narrow(0, start, n)?, labels })
    }

    /// The examples of class `c`, in their order.
    pub fn only_class(&self, c: u32) -> Result<Split, DataError> {
        let labels = self.require_labels("choosing one class")?;
        let idx: Vec<u32> = (0..self.len() as u32).filter(|&i| labels[i as usize] == c).collect();
        self.select(&idx)
    }

    /// The examples at `idx`, in that order.
    pub fn select(&self, idx: &[u32]) -> Result<Split, DataError> {
        let t = Tensor::from_slice(idx, idx.len(), self.images.device())?;
        let labels = self.labels.as_ref().map(|l| idx.iter().map(|&i| l[i as usize]).collect());
        Ok(Split { images: self.images.index_select(&t, 0)?, labels })
    }

    /// Moves a seeded random `fraction` of the examples into a second split (both keep their
    /// order), as `ae` carves validation out of training; `None` when that rounds to no example.
    pub fn carve(self, fraction: f64, seed: u64) -> Result<(Split, Option<Split>), DataError> {
        self.carve_stream(fraction, seed, 0, "val_fraction")
    }

    /// As [`carve`](Self::carve), for the test split of data that comes without one: another
    /// seeded stream, so the validation carve that follows is drawn independently.
    pub fn carve_test(self, fraction: f64, seed: u64) -> Result<(Split, Option<Split>), DataError> {
        self.carve_stream(fraction, seed, 1, "test_fraction")
    }

    fn carve_stream(
        self,
        fraction: f64,
        seed: u64,
        stream: u64,
        field: &'static str,
    ) -> Result<(Split, Option<Split>), DataError> {
        if !(fraction.is_finite() && (0.0..1.0).contains(&fraction)) {
            return Err(DataError::InvalidConfig {
                field,
                value: fraction.to_string(),
                expected: "a number in [0, 1)".into(),
            });
        }
        let (kept, carved) = carve_indices(self.len(), fraction, seed, stream);
        if carved.is_empty() {
            return Ok((self, None));
        }
        Ok((self.select(&kept)?, Some(self.select(&carved)?)))
    }
}

/// The rows kept and the rows carved (each in order) when a seeded `fraction` of `n` rows is
/// carved with stream `stream`: what [`Split::carve`] (stream 0) and [`Split::carve_test`]
/// (stream 1) select, for data that travels beside a split (row names).
pub fn carve_indices(n: usize, fraction: f64, seed: u64, stream: u64) -> (Vec<u32>, Vec<u32>) {
    let n_carved = (n as f64 * fraction).round() as usize;
    if n_carved == 0 {
        return ((0..n as u32).collect(), Vec::new());
    }
    let order = rng::permutation(&mut rng::stream(seed, Purpose::Split, stream), n);
    let mut carved = order[..n_carved].to_vec();
    let mut kept = order[n_carved..].to_vec();
    carved.sort_unstable();
    kept.sort_unstable();
    (kept, carved)
}
