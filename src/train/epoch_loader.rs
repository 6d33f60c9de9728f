//! The data loader of a training run. burn's shuffling loader draws each epoch's order from
//! one RNG that starts over when a process starts, so a resumed run would see epoch 1's order
//! again. Here epoch `e`'s order is a pure function of `(seed, e)`, and the backend's RNG
//! (dropout) is reseeded from `(seed, e)` when the epoch starts: a run resumed after epoch `k`
//! sees exactly the batches and dropout masks of an uninterrupted one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::tensor::backend::Backend;

use crate::batch::{AtlopBatch, AtlopBatcher};
use crate::features::Feature;

/// Batches of features in a per-epoch order.
pub struct EpochLoader<B: Backend> {
    features: Arc<Vec<Feature>>,
    batcher: AtlopBatcher,
    batch_size: usize,
    /// `Some(seed)`: shuffle per epoch and reseed the backend; `None`: file order (evaluation).
    seed: Option<u64>,
    /// 0-based index of the epoch the next `iter()` serves.
    next_epoch: Arc<AtomicUsize>,
    device: B::Device,
}

impl<B: Backend> EpochLoader<B> {
    /// A loader whose first `iter()` serves 0-based epoch `first_epoch` (the number of epochs a
    /// resumed run has already done).
    pub fn new(
        features: Arc<Vec<Feature>>,
        batcher: AtlopBatcher,
        batch_size: usize,
        seed: Option<u64>,
        first_epoch: usize,
        device: B::Device,
    ) -> Self {
        Self {
            features,
            batcher,
            batch_size: batch_size.max(1),
            seed,
            next_epoch: Arc::new(AtomicUsize::new(first_epoch)),
            device,
        }
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.features.len().div_ceil(self.batch_size)
    }
}

/// splitmix64: a small, well-mixed generator, enough for a permutation.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of epoch `epoch` of a run seeded `seed`.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    let mut state = seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix(&mut state)
}

/// Fisher-Yates permutation of `0..n` drawn from `seed`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

struct EpochIter<'a, B: Backend> {
    loader: &'a EpochLoader<B>,
    order: Vec<usize>,
    position: usize,
}

impl<B: Backend> Iterator for EpochIter<'_, B> {
    type Item = AtlopBatch<B>;

    fn next(&mut self) -> Option<AtlopBatch<B>> {
        if self.position >= self.order.len() {
            return None;
        }
        let end = (self.position + self.loader.batch_size).min(self.order.len());
        let items: Vec<Feature> = self.order[self.position..end]
            .iter()
            .map(|&i| self.loader.features[i].clone())
            .collect();
        self.position = end;
        Some(self.loader.batcher.batch(items, &self.loader.device))
    }
}

impl<B: Backend> DataLoaderIterator<AtlopBatch<B>> for EpochIter<'_, B> {
    fn progress(&self) -> Progress {
        Progress::new(self.position, self.order.len())
    }
}

impl<B: Backend> DataLoader<B, AtlopBatch<B>> for EpochLoader<B> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<AtlopBatch<B>> + 'a> {
        let n = self.features.len();
        let order = match self.seed {
            Some(seed) => {
                let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
                let s = epoch_seed(seed, epoch);
                B::seed(&self.device, s);
                permutation(n, s)
            }
            None => (0..n).collect(),
        };
        Box::new(EpochIter {
            loader: self,
            order,
            position: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.features.len()
    }

    fn to_device(&self, device: &B::Device) -> Arc<dyn DataLoader<B, AtlopBatch<B>>> {
        Arc::new(Self {
            features: self.features.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            next_epoch: self.next_epoch.clone(),
            device: device.clone(),
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<B, AtlopBatch<B>>> {
        let end = end.min(self.features.len());
        let start = start.min(end);
        Arc::new(Self {
            features: Arc::new(self.features[start..end].to_vec()),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            next_epoch: self.next_epoch.clone(),
            device: self.device.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_deterministic_per_epoch_and_complete() {
        let a = permutation(50, epoch_seed(66, 3));
        assert_eq!(a, permutation(50, epoch_seed(66, 3)));
        assert_ne!(a, permutation(50, epoch_seed(66, 4)));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}
