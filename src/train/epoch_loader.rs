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

    /// Documents `start..end` (burn's multi-device strategy gives each device one contiguous
    /// part). The part counts its epochs itself: with a shared counter, N parts would advance
    /// it N times per epoch and a resumed run would see other orders.
    fn part(&self, start: usize, end: usize) -> Self {
        let end = end.min(self.features.len());
        let start = start.min(end);
        Self {
            features: Arc::new(self.features[start..end].to_vec()),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            next_epoch: Arc::new(AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst))),
            device: self.device.clone(),
        }
    }

    /// Learner iterations per epoch when burn splits this loader over `devices` devices
    /// (`burn::data::dataloader::split::split_dataloader`: equal contiguous parts, the last one
    /// takes the remainder): one iteration takes a batch from every part that has one left.
    pub fn iterations_on(&self, devices: usize) -> usize {
        let n = self.features.len();
        if devices <= 1 {
            return self.num_batches();
        }
        let part = n / devices;
        let last = n - part * (devices - 1);
        part.max(last).div_ceil(self.batch_size)
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
        Arc::new(self.part(start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loader(n: usize, batch_size: usize, first_epoch: usize) -> EpochLoader<crate::backend::Cpu> {
        let feature = |i: usize| Feature {
            doc_index: i,
            title: format!("d{i}"),
            input_ids: vec![101, 102],
            entity_pos: vec![],
            hts: vec![],
            labels: vec![],
        };
        let batcher = AtlopBatcher {
            num_classes: 2,
            pad_id: 0,
        };
        EpochLoader::new(
            Arc::new((0..n).map(feature).collect()),
            batcher,
            batch_size,
            Some(66),
            first_epoch,
            Default::default(),
        )
    }

    #[test]
    fn iterations_over_devices_follow_burns_split() {
        let l = loader(10, 2, 0);
        assert_eq!(l.iterations_on(1), 5);
        // Parts of 5 and 5 documents: 3 batches each.
        assert_eq!(l.iterations_on(2), 3);
        // Parts of 3, 3 and 4: the last needs 2 batches.
        assert_eq!(l.iterations_on(3), 2);
    }

    #[test]
    fn parts_count_their_own_epochs_from_the_loaders() {
        // A run resumed after 3 epochs, split over two devices.
        let l = loader(8, 2, 3);
        let parts = [l.part(0, 4), l.part(4, 8)];
        for _ in 0..2 {
            for part in &parts {
                drop(part.iter());
            }
        }
        // Two epochs each, whatever the other part did; the parent is untouched.
        for part in &parts {
            assert_eq!(part.next_epoch.load(Ordering::SeqCst), 5);
        }
        assert_eq!(l.next_epoch.load(Ordering::SeqCst), 3);
        assert_eq!(parts[1].features[0].doc_index, 4);
    }

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
