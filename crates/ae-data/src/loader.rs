//! Seeded mini-batches over a split: a fresh permutation per epoch drawn from the shuffle stream
//! (so epoch `e` of a resumed run sees the same order as in an uninterrupted one), gathered on the
//! device with one `index_select` per batch. The last, smaller batch is kept, as PyTorch's
//! `DataLoader` does by default. With noise (denoising models) each batch's input is a corrupted
//! copy of its clean target, drawn from the noise stream of `(epoch, batch)`, so a resumed run
//! corrupts exactly as an uninterrupted one.

use ae_core::Batch;
use ae_core::rng::{self, Purpose};
use candle_core::Tensor;

use crate::error::DataError;
use crate::noise::Noise;
use crate::split::Split;

/// Rows a loader batches: a [`Split`] in memory, or rows streamed from files on disk
/// ([`crate::stream::StreamedRows`]).
pub trait RowSource: Sync + std::fmt::Debug {
    /// Number of rows.
    fn len(&self) -> usize;

    /// True without rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per row.
    fn features(&self) -> usize;

    /// The device batches are made on.
    fn device(&self) -> &candle_core::Device;

    /// The rows at `idx`, in that order, as one `(idx.len(), features)` f32 tensor.
    fn gather(&self, idx: &[u32]) -> Result<Tensor, DataError>;

    /// `len` rows from `start`.
    fn range(&self, start: usize, len: usize) -> Result<Tensor, DataError>;
}

impl RowSource for Split {
    fn len(&self) -> usize {
        Split::len(self)
    }

    fn features(&self) -> usize {
        Split::features(self)
    }

    fn device(&self) -> &candle_core::Device {
        self.images.device()
    }

    fn gather(&self, idx: &[u32]) -> Result<Tensor, DataError> {
        let t = Tensor::from_slice(idx, idx.len(), self.images.device())?;
        Ok(self.images.index_select(&t, 0)?)
    }

    fn range(&self, start: usize, len: usize) -> Result<Tensor, DataError> {
        Ok(self.images.narrow(0, start, len)?)
    }
}

/// Batches of one split.
#[derive(Debug, Clone)]
pub struct Loader<'a> {
    split: &'a dyn RowSource,
    batch_size: usize,
    shuffle: Option<u64>,
    noise: Option<(Noise, u64, u64)>,
}

/// The first noise-stream index of evaluation batches, far from the training ones
/// (`epoch << 32 | batch`).
pub const EVAL_NOISE_STREAM: u64 = 1 << 63;

impl<'a> Loader<'a> {
    /// Batches of `batch_size` in file order (evaluation).
    pub fn sequential(split: &'a dyn RowSource, batch_size: usize) -> Self {
        Self { split, batch_size: batch_size.max(1), shuffle: None, noise: None }
    }

    /// Batches of `batch_size` in an order drawn anew each epoch from `seed` (training).
    pub fn shuffled(split: &'a dyn RowSource, batch_size: usize, seed: u64) -> Self {
        Self { split, batch_size: batch_size.max(1), shuffle: Some(seed), noise: None }
    }

    /// Corrupts each batch's input with `noise` (none: input and target are the same tensor),
    /// drawing from the noise streams of `seed` starting at index `base`: training uses 0,
    /// evaluation [`EVAL_NOISE_STREAM`].
    pub fn with_noise(mut self, noise: Option<Noise>, seed: u64, base: u64) -> Self {
        self.noise = noise.map(|n| (n, seed, base));
        self
    }

    /// Batches per epoch.
    pub fn len(&self) -> usize {
        self.split.len().div_ceil(self.batch_size)
    }

    /// True when there is no batch.
    pub fn is_empty(&self) -> bool {
        self.split.is_empty()
    }

    /// The batches of epoch `epoch` (0-based).
    pub fn epoch(&self, epoch: u64) -> impl Iterator<Item = Result<Batch, DataError>> + '_ {
        let order: Option<Vec<u32>> = self
            .shuffle
            .map(|seed| rng::permutation(&mut rng::stream(seed, Purpose::Shuffle, epoch), self.split.len()));
        let n = self.split.len();
        (0..self.len()).map(move |b| {
            let start = b * self.batch_size;
            let len = self.batch_size.min(n - start);
            let xs = match &order {
                None => self.split.range(start, len)?,
                Some(order) => self.split.gather(&order[start..start + len])?,
            };
            match &self.noise {
                None => Ok(Batch::plain(xs)),
                Some((noise, seed, base)) => {
                    let index = base.wrapping_add((epoch << 32) | b as u64);
                    let input = noise.corrupt(&xs, &mut rng::stream(*seed, Purpose::Noise, index))?;
                    Ok(Batch { input, target: xs })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn split(n: usize) -> Split {
        let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
        Split { images: Tensor::from_vec(data, (n, 1), &Device::Cpu).unwrap(), labels: None }
    }

    fn rows(b: &Batch) -> Vec<f32> {
        b.input.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn sequential_batches_cover_the_split_in_order() {
        let s = split(10);
        let l = Loader::sequential(&s, 4);
        assert_eq!(l.len(), 3);
        let got: Vec<Vec<f32>> = l.epoch(0).map(|b| rows(&b.unwrap())).collect();
        assert_eq!(got, [vec![0., 1., 2., 3.], vec![4., 5., 6., 7.], vec![8., 9.]]);
    }

    #[test]
    fn shuffled_batches_are_a_seeded_permutation_per_epoch() {
        let s = split(100);
        let l = Loader::shuffled(&s, 32, 7);
        let epoch = |e| -> Vec<f32> { l.epoch(e).flat_map(|b| rows(&b.unwrap())).collect() };
        let (a, again, next) = (epoch(0), epoch(0), epoch(1));
        assert_eq!(a, again);
        assert_ne!(a, next);
        let mut sorted = a.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, (0..100).map(|i| i as f32).collect::<Vec<_>>());
        let other_seed: Vec<f32> = Loader::shuffled(&s, 32, 8).epoch(0).flat_map(|b| rows(&b.unwrap())).collect();
        assert_ne!(a, other_seed);
    }

    #[test]
    fn noisy_batches_corrupt_the_input_and_keep_the_target_clean() {
        let data: Vec<f32> = (0..40).map(|i| (i % 10) as f32 / 10.0).collect();
        let s = Split { images: Tensor::from_vec(data, (10, 4), &Device::Cpu).unwrap(), labels: None };
        let noise = Some(Noise::Masking { p: 0.5 });
        let loader = Loader::shuffled(&s, 4, 3).with_noise(noise, 3, 0);
        let first: Vec<Batch> = loader.epoch(1).map(Result::unwrap).collect();
        let again: Vec<Batch> = loader.epoch(1).map(Result::unwrap).collect();
        let plain: Vec<Batch> = Loader::shuffled(&s, 4, 3).epoch(1).map(Result::unwrap).collect();
        for ((b, a), p) in first.iter().zip(&again).zip(&plain) {
            assert_eq!(rows(b), rows(a), "same epoch, same noise");
            assert_eq!(
                b.target.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                rows(p),
                "the target is the clean batch"
            );
            for (x, y) in rows(b).iter().zip(rows(p)) {
                assert!(*x == y || *x == 0.0, "masking only zeroes pixels");
            }
        }
        assert!(first.iter().zip(&plain).any(|(b, p)| rows(b) != rows(p)), "something was masked");
        let other: Vec<Batch> = loader.epoch(2).map(Result::unwrap).collect();
        assert_ne!(rows(&other[0]), rows(&first[0]));
    }
}
