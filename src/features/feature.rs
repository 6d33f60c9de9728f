//! The model-ready form of one document.

/// One document as the model sees it, built by [`featurize`](super::featurize) exactly as the
/// reference's preprocessing does.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Index of the source document in its [`Dataset`](crate::data::Dataset).
    pub doc_index: usize,
    pub title: String,
    /// Token ids with the start and end special tokens (`[CLS] ... [SEP]` / `<s> ... </s>`),
    /// after truncation to the configured maximum length.
    pub input_ids: Vec<u32>,
    /// Per entity, per mention: offset of the mention's leading `*` marker (or of its first word
    /// piece when markers are off) in the word-piece list BEFORE the start token is added. The
    /// mention's vector is therefore the encoder output at `offset + 1`. Offsets past the
    /// truncated length are kept; the head skips them.
    pub entity_pos: Vec<Vec<usize>>,
    /// The ordered (head, tail) entity pairs to classify.
    pub hts: Vec<(usize, usize)>,
    /// Per pair, the positive relation ids (>= 1); empty means `Na`. The batcher turns these
    /// into multi-hot rows whose column 0 is set when a pair has no relation.
    pub labels: Vec<Vec<usize>>,
}

impl Feature {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// Multi-hot label rows `[pairs][num_classes]`, column 0 (`Na`) set for pairs without a
    /// relation.
    pub fn multi_hot(&self, num_classes: usize) -> Vec<Vec<f32>> {
        self.labels
            .iter()
            .map(|positives| {
                let mut row = vec![0.0; num_classes];
                for &r in positives {
                    row[r] = 1.0;
                }
                if positives.is_empty() {
                    row[0] = 1.0;
                }
                row
            })
            .collect()
    }
}
