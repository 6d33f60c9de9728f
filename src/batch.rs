//! Features -> padded tensors for one batch of documents.
//!
//! Documents in a batch differ in length, entity count, mentions per entity and pair count. Every
//! one of these is padded to the batch maximum and paired with a mask, so the head runs as a few
//! batched tensor ops over the whole batch: no loop over documents or pairs.
//!
//! Row order of `labels` and of the head's logits: document-major, then the document's `hts`
//! order (padding pairs removed). Row `i` of the logits is therefore pair `i - offset(doc)` of
//! its document, with offsets from [`HeadIndex::num_pairs`].

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Bool, Int, Tensor, TensorData};

use crate::error::{AtlopError, Result};
use crate::features::Feature;

/// The order in which evaluation passes batch documents: by token count (stable, so equal lengths
/// keep file order). Documents of one batch then have similar lengths and, with them, similar
/// entity and pair counts, so little of the batch is padding: in file order, batches of 8
/// Re-DocRED documents padded the encoder to the longest of 8 random lengths and the head to the
/// largest pair count. Scores do not depend on the order (they are keyed by document).
pub fn evaluation_order(features: &[Feature]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..features.len()).collect();
    order.sort_by_key(|&i| features[i].len());
    order
}

/// The index tensors the head needs to find mentions, entities and pairs in the encoder output.
#[derive(Debug, Clone)]
pub struct HeadIndex<B: Backend> {
    /// Token position of every (entity, mention slot): the mention's offset + 1 (the start token
    /// comes first); 0 for padding slots. `[b, E, M]`
    pub mention_pos: Tensor<B, 3, Int>,
    /// True for real mentions that survived truncation (offset + 1 < length). `[b, E, M]`
    pub mention_mask: Tensor<B, 3, Bool>,
    /// Token positions of the surviving mentions of each document, entity-major, 0-padded.
    /// `[b, Mtot]`
    pub mention_tokens: Tensor<B, 2, Int>,
    /// Averaging matrix over `mention_tokens`: row e holds 1 / (mentions of e) at e's mentions,
    /// zeros elsewhere (all zeros for an entity with no surviving mention). `[b, E, Mtot]`
    pub mention_average: Tensor<B, 3>,
    /// Head and tail entity of each pair; 0 for padding. `[b, P]`
    pub pair_head: Tensor<B, 2, Int>,
    pub pair_tail: Tensor<B, 2, Int>,
    /// Positions of the real pairs in the flattened `[b * P]` pair grid, document-major. `[N]`
    pub pair_index: Tensor<B, 1, Int>,
    /// Real pairs per document (sums to N).
    pub num_pairs: Vec<usize>,
}

/// One batch of documents: encoder inputs, head index, multi-hot labels.
#[derive(Debug, Clone)]
pub struct AtlopBatch<B: Backend> {
    /// Token ids padded with the tokenizer's pad id. `[b, L]`
    pub input_ids: Tensor<B, 2, Int>,
    /// Real length of each row of `input_ids`.
    pub lengths: Vec<usize>,
    pub index: HeadIndex<B>,
    /// Multi-hot labels of the real pairs, column 0 (TH / `Na`) set for pairs without a
    /// relation. `[N, C]`
    pub labels: Tensor<B, 2>,
    /// `Feature::doc_index` of each document, to map rows back to documents.
    pub doc_indices: Vec<usize>,
}

impl<B: Backend> AtlopBatch<B> {
    /// Builds a batch, first checking every feature: entity ids of pairs in range, one label row
    /// per pair, relation ids below `num_classes`.
    pub fn from_features(
        features: &[Feature],
        num_classes: usize,
        pad_id: u32,
        device: &B::Device,
    ) -> Result<Self> {
        if features.is_empty() {
            return Err(AtlopError::Invalid(
                "a batch needs at least one document".into(),
            ));
        }
        for f in features {
            check_feature(f, num_classes)?;
        }
        Ok(build(features, num_classes, pad_id, device))
    }
}

/// Checks what the batch builder relies on; the message names the document and the field.
pub fn check_feature(f: &Feature, num_classes: usize) -> Result<()> {
    let fail = |field: &str, message: String| {
        Err(AtlopError::Invalid(format!(
            "document #{} ({:?}): field `{field}`: {message}",
            f.doc_index, f.title
        )))
    };
    let entities = f.entity_pos.len();
    if let Some((h, t)) = f.hts.iter().find(|(h, t)| *h >= entities || *t >= entities) {
        return fail(
            "hts",
            format!("pair ({h}, {t}) but only {entities} entities"),
        );
    }
    if f.labels.len() != f.hts.len() {
        return fail(
            "labels",
            format!("{} label rows for {} pairs", f.labels.len(), f.hts.len()),
        );
    }
    if let Some(r) = f.labels.iter().flatten().find(|&&r| r >= num_classes) {
        return fail(
            "labels",
            format!("relation id {r} but {num_classes} classes"),
        );
    }
    Ok(())
}

/// A feature with everything [`check_feature`] rejects removed, for the data loader, which
/// cannot report errors.
fn sanitized(f: &Feature, num_classes: usize) -> Feature {
    let entities = f.entity_pos.len();
    let mut out = f.clone();
    let keep: Vec<bool> = f
        .hts
        .iter()
        .map(|(h, t)| *h < entities && *t < entities)
        .collect();
    out.hts = f
        .hts
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect();
    out.labels = (0..f.hts.len())
        .filter(|&i| keep[i])
        .map(|i| {
            let row = f.labels.get(i).cloned().unwrap_or_default();
            row.into_iter().filter(|&r| r < num_classes).collect()
        })
        .collect();
    out
}

fn int_tensor<B: Backend, const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn bool_tensor<B: Backend, const D: usize>(
    values: Vec<bool>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Bool> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Builds the batch from features that pass [`check_feature`].
fn build<B: Backend>(
    features: &[Feature],
    num_classes: usize,
    pad_id: u32,
    device: &B::Device,
) -> AtlopBatch<B> {
    let b = features.len();
    let max_len = features.iter().map(Feature::len).max().unwrap_or(0).max(1);
    // Pad every size to at least 1 so no tensor has a zero dimension.
    let e_max = features
        .iter()
        .map(|f| f.entity_pos.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let m_max = features
        .iter()
        .flat_map(|f| f.entity_pos.iter().map(Vec::len))
        .max()
        .unwrap_or(0)
        .max(1);
    // Surviving mentions per document: offset + 1 inside the (truncated) sequence.
    let surviving: Vec<Vec<Vec<usize>>> = features
        .iter()
        .map(|f| {
            let len = f.len();
            f.entity_pos
                .iter()
                .map(|ms| ms.iter().map(|o| o + 1).filter(|&p| p < len).collect())
                .collect()
        })
        .collect();
    let mtot_max = surviving
        .iter()
        .map(|d| d.iter().map(Vec::len).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let p_max = features
        .iter()
        .map(|f| f.hts.len())
        .max()
        .unwrap_or(0)
        .max(1);

    let mut input_ids = vec![pad_id as i64; b * max_len];
    let mut mention_pos = vec![0i64; b * e_max * m_max];
    let mut mention_mask = vec![false; b * e_max * m_max];
    let mut mention_tokens = vec![0i64; b * mtot_max];
    let mut mention_average = vec![0f32; b * e_max * mtot_max];
    let mut pair_head = vec![0i64; b * p_max];
    let mut pair_tail = vec![0i64; b * p_max];
    let mut pair_index = Vec::new();
    let mut labels = Vec::new();

    for (i, (f, doc)) in features.iter().zip(&surviving).enumerate() {
        for (j, &id) in f.input_ids.iter().enumerate() {
            input_ids[i * max_len + j] = id as i64;
        }
        let mut flat = 0;
        for (e, positions) in doc.iter().enumerate() {
            let weight = 1.0 / positions.len().max(1) as f32;
            for (m, &p) in positions.iter().enumerate() {
                let slot = (i * e_max + e) * m_max + m;
                mention_pos[slot] = p as i64;
                mention_mask[slot] = true;
                mention_tokens[i * mtot_max + flat] = p as i64;
                mention_average[(i * e_max + e) * mtot_max + flat] = weight;
                flat += 1;
            }
        }
        for (k, &(h, t)) in f.hts.iter().enumerate() {
            pair_head[i * p_max + k] = h as i64;
            pair_tail[i * p_max + k] = t as i64;
            pair_index.push((i * p_max + k) as i64);
        }
        labels.extend(f.multi_hot(num_classes).into_iter().flatten());
    }
    let n = pair_index.len();

    AtlopBatch {
        input_ids: int_tensor(input_ids, [b, max_len], device),
        lengths: features.iter().map(Feature::len).collect(),
        index: HeadIndex {
            mention_pos: int_tensor(mention_pos, [b, e_max, m_max], device),
            mention_mask: bool_tensor(mention_mask, [b, e_max, m_max], device),
            mention_tokens: int_tensor(mention_tokens, [b, mtot_max], device),
            mention_average: Tensor::from_data(
                TensorData::new(mention_average, [b, e_max, mtot_max]),
                device,
            ),
            pair_head: int_tensor(pair_head, [b, p_max], device),
            pair_tail: int_tensor(pair_tail, [b, p_max], device),
            pair_index: int_tensor(pair_index, [n], device),
            num_pairs: features.iter().map(|f| f.hts.len()).collect(),
        },
        labels: Tensor::from_data(TensorData::new(labels, [n, num_classes]), device),
        doc_indices: features.iter().map(|f| f.doc_index).collect(),
    }
}

/// burn data-loader batcher for [`Feature`]s.
///
/// burn's `Batcher::batch` cannot return an error, so run [`check_feature`] over the dataset
/// once before training (the trainer does); a feature that still fails is batched without its
/// out-of-range pairs and relation ids rather than crashing the loader thread.
#[derive(Debug, Clone)]
pub struct AtlopBatcher {
    pub num_classes: usize,
    pub pad_id: u32,
}

impl<B: Backend> Batcher<B, Feature, AtlopBatch<B>> for AtlopBatcher {
    fn batch(&self, items: Vec<Feature>, device: &B::Device) -> AtlopBatch<B> {
        let items: Vec<Feature> = items
            .iter()
            .map(|f| match check_feature(f, self.num_classes) {
                Ok(()) => f.clone(),
                Err(_) => sanitized(f, self.num_classes),
            })
            .collect();
        build(&items, self.num_classes, self.pad_id, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    fn feature(len: usize, entity_pos: Vec<Vec<usize>>, hts: Vec<(usize, usize)>) -> Feature {
        let labels = vec![Vec::new(); hts.len()];
        Feature {
            doc_index: 0,
            title: "t".into(),
            input_ids: (0..len as u32).map(|i| i + 5).collect(),
            entity_pos,
            hts,
            labels,
        }
    }

    #[test]
    fn pads_and_masks_truncated_mentions() {
        let a = feature(6, vec![vec![0, 4], vec![2]], vec![(0, 1), (1, 0)]);
        // Entity 1's only mention (offset 7) lies past the truncated length.
        let b = feature(4, vec![vec![1], vec![7], vec![0]], vec![(0, 1)]);
        let batch = AtlopBatch::<Cpu>::from_features(&[a, b], 3, 0, &Default::default()).unwrap();
        assert_eq!(batch.input_ids.dims(), [2, 6]);
        let ids = batch
            .input_ids
            .to_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        assert_eq!(&ids[6..], &[5, 6, 7, 8, 0, 0]);
        let idx = &batch.index;
        assert_eq!(idx.mention_pos.dims(), [2, 3, 2]);
        let mask = idx.mention_mask.to_data().to_vec::<bool>().unwrap();
        assert_eq!(
            mask,
            vec![true, true, true, false, false, false, true, false, false, false, true, false]
        );
        let avg = idx.mention_average.to_data().to_vec::<f32>().unwrap();
        // [2, 3, Mtot=3]: doc 0 entity 0 averages mentions 0 and 1.
        assert_eq!(&avg[0..3], &[0.5, 0.5, 0.0]);
        assert_eq!(&avg[12..15], &[0.0, 0.0, 0.0]);
        let pairs = idx
            .pair_index
            .to_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        assert_eq!(pairs, vec![0, 1, 2]);
        assert_eq!(batch.labels.dims(), [3, 3]);
        assert_eq!(idx.num_pairs, vec![2, 1]);
    }

    #[test]
    fn rejects_bad_pairs_and_labels_with_the_document_named() {
        let mut f = feature(4, vec![vec![0]], vec![(0, 1)]);
        let err =
            AtlopBatch::<Cpu>::from_features(&[f.clone()], 3, 0, &Default::default()).unwrap_err();
        assert!(err.to_string().contains("field `hts`"), "{err}");
        f.entity_pos.push(vec![1]);
        f.labels = vec![vec![5]];
        let err = check_feature(&f, 3).unwrap_err();
        assert!(err.to_string().contains("relation id 5"), "{err}");
        // The loader's batcher drops the bad relation id instead of panicking.
        let batch: AtlopBatch<Cpu> = AtlopBatcher {
            num_classes: 3,
            pad_id: 0,
        }
        .batch(vec![f], &Default::default());
        assert_eq!(
            batch.labels.to_data().to_vec::<f32>().unwrap(),
            vec![1.0, 0.0, 0.0]
        );
    }
}
