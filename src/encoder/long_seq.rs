//! The two windows for documents longer than the encoder's 512 positions (Zhou et al. 2021,
//! Appendix; `long_seq.py` of the reference): the first window is the document's first tokens plus
//! the end token(s), the second is the start token plus the document's last tokens. Hidden states
//! are averaged where the windows overlap; attention rows and columns are placed, summed and each
//! row renormalised.
//!
//! A batch may mix short and long documents: all segments (short documents whole, two windows per
//! long one) go through ONE encoder call over a padded batch and are reassembled afterwards.

use burn::tensor::backend::Backend;
use burn::tensor::ops::PadMode;
use burn::tensor::{Int, Tensor, TensorData};

use crate::encoder::bert::{BertModel, EncoderOutput};
use crate::encoder::config::ModelType;
use crate::encoder::special_tokens::SpecialTokens;

/// Added to the coverage count and to attention row sums, as the reference does.
const EPS: f64 = 1e-10;

/// Where a document's output comes from in the batch of segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The document is segment `segment`, whole.
    Whole { segment: usize },
    /// The document (length `len`) is split: segment `first` keeps its outputs `0..keep_first`
    /// at positions `0..keep_first`; segment `second` drops its start token and puts its other
    /// `keep_second` outputs at positions `len - keep_second..len`.
    Windows {
        first: usize,
        second: usize,
        len: usize,
        keep_first: usize,
        keep_second: usize,
    },
}

/// The segments to encode and how to reassemble them, computed on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan {
    /// Token ids of each segment (no padding), each at most `max_len` long.
    pub segments: Vec<Vec<i64>>,
    /// One entry per document, in batch order.
    pub placements: Vec<Placement>,
}

impl SegmentPlan {
    /// `docs`: each document's real token ids (start and end tokens included).
    /// BERT: window 1 = first `max_len - 1` tokens + `[SEP]`; RoBERTa: first `max_len - 2` +
    /// `</s></s>`; window 2 = start token + last `max_len - 1` tokens, for both.
    pub fn new(
        docs: &[&[i64]],
        max_len: usize,
        special: SpecialTokens,
        model_type: ModelType,
    ) -> Self {
        let end_tokens = match model_type {
            ModelType::Bert => 1,
            ModelType::Roberta => 2,
        };
        let keep_first = max_len - end_tokens;
        let keep_second = max_len - 1;
        let mut segments = Vec::new();
        let mut placements = Vec::new();
        for ids in docs {
            let len = ids.len();
            if len <= max_len {
                placements.push(Placement::Whole {
                    segment: segments.len(),
                });
                segments.push(ids.to_vec());
                continue;
            }
            let mut first = ids[..keep_first].to_vec();
            first.extend(std::iter::repeat_n(i64::from(special.sep), end_tokens));
            let mut second = vec![i64::from(special.cls)];
            second.extend_from_slice(&ids[len - keep_second..]);
            placements.push(Placement::Windows {
                first: segments.len(),
                second: segments.len() + 1,
                len,
                keep_first,
                keep_second,
            });
            segments.push(first);
            segments.push(second);
        }
        SegmentPlan {
            segments,
            placements,
        }
    }
}

impl<B: Backend> BertModel<B> {
    /// Encodes documents of any length.
    ///
    /// `input_ids`: [batch, max_len] padded with the pad id; `lengths`: the real length of each
    /// row (a missing or too large length counts as the full row). Rows longer than
    /// [`crate::encoder::EncoderConfig::max_len`] go through the two windows.
    /// Returns hidden [batch, max_len, hidden] and last-layer attention
    /// [batch, heads, max_len, max_len]; padded rows are unspecified, padded columns are 0.
    pub fn encode(&self, input_ids: Tensor<B, 2, Int>, lengths: &[usize]) -> EncoderOutput<B> {
        let [batch, out_len] = input_ids.dims();
        let device = input_ids.device();
        let lengths: Vec<usize> = (0..batch)
            .map(|i| lengths.get(i).map_or(out_len, |&l| l.min(out_len)))
            .collect();
        let max_len = self.config().max_len();
        if out_len <= max_len {
            return self.forward(input_ids, mask(&lengths, out_len, &device));
        }

        let data = input_ids.into_data();
        let ids: Vec<i64> = data.iter::<i64>().collect();
        let docs: Vec<&[i64]> = (0..batch)
            .map(|i| &ids[i * out_len..i * out_len + lengths[i]])
            .collect();
        let plan = SegmentPlan::new(&docs, max_len, self.special_tokens(), self.model_type());
        let seg_len = plan.segments.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let pad = i64::from(self.special_tokens().pad);
        let mut flat = Vec::with_capacity(plan.segments.len() * seg_len);
        for segment in &plan.segments {
            flat.extend_from_slice(segment);
            flat.extend(std::iter::repeat_n(pad, seg_len - segment.len()));
        }
        let seg_ids = Tensor::<B, 2, Int>::from_data(
            TensorData::new(flat, [plan.segments.len(), seg_len]),
            &device,
        );
        let seg_lengths: Vec<usize> = plan.segments.iter().map(Vec::len).collect();
        let out = self.forward(seg_ids, mask(&seg_lengths, seg_len, &device));

        let (hidden, attention): (Vec<_>, Vec<_>) = plan
            .placements
            .iter()
            .map(|placement| match *placement {
                Placement::Whole { segment } => whole(&out, segment, seg_len, out_len),
                Placement::Windows {
                    first,
                    second,
                    len,
                    keep_first,
                    keep_second,
                } => windows(
                    &out,
                    [first, second],
                    len,
                    [keep_first, keep_second],
                    out_len,
                ),
            })
            .unzip();
        EncoderOutput {
            hidden: Tensor::cat(hidden, 0),
            attention: Tensor::cat(attention, 0),
        }
    }
}

/// 1 for the first `length` positions of each row, 0 after: [rows, len].
fn mask<B: Backend>(lengths: &[usize], len: usize, device: &B::Device) -> Tensor<B, 2, Int> {
    let values: Vec<i64> = lengths
        .iter()
        .flat_map(|&l| (0..len).map(move |i| i64::from(i < l)))
        .collect();
    Tensor::from_data(TensorData::new(values, [lengths.len(), len]), device)
}

/// A short document's outputs, zero-padded to `out_len`: ([1, out_len, hidden],
/// [1, heads, out_len, out_len]).
fn whole<B: Backend>(
    out: &EncoderOutput<B>,
    segment: usize,
    seg_len: usize,
    out_len: usize,
) -> (Tensor<B, 3>, Tensor<B, 4>) {
    let [_, _, hidden_size] = out.hidden.dims();
    let [_, heads, _, _] = out.attention.dims();
    let extra = out_len - seg_len;
    let hidden = out
        .hidden
        .clone()
        .slice([segment..segment + 1, 0..seg_len, 0..hidden_size])
        .pad([(0, extra), (0, 0)], PadMode::Constant(0.0));
    let attention = out
        .attention
        .clone()
        .slice([segment..segment + 1, 0..heads, 0..seg_len, 0..seg_len])
        .pad([(0, extra), (0, extra)], PadMode::Constant(0.0));
    (hidden, attention)
}

/// A long document's outputs from its two windows, zero-padded to `out_len`.
fn windows<B: Backend>(
    out: &EncoderOutput<B>,
    [first, second]: [usize; 2],
    len: usize,
    [keep_first, keep_second]: [usize; 2],
    out_len: usize,
) -> (Tensor<B, 3>, Tensor<B, 4>) {
    let device = out.hidden.device();
    let [_, _, hidden_size] = out.hidden.dims();
    let [_, heads, _, _] = out.attention.dims();
    // Window 2's outputs (after its start token) cover `start..len`.
    let start = len - keep_second;
    let tail = out_len - len;

    let h1 = out
        .hidden
        .clone()
        .slice([first..first + 1, 0..keep_first, 0..hidden_size])
        .pad([(0, out_len - keep_first), (0, 0)], PadMode::Constant(0.0)); // [1, out_len, hidden]
    let h2 = out
        .hidden
        .clone()
        .slice([second..second + 1, 1..1 + keep_second, 0..hidden_size])
        .pad([(start, tail), (0, 0)], PadMode::Constant(0.0)); // [1, out_len, hidden]
    let count: Vec<f32> = (0..out_len)
        .map(|i| f32::from(u8::from(i < keep_first) + u8::from(i >= start && i < len)))
        .collect();
    let count = Tensor::<B, 3>::from_data(TensorData::new(count, [1, out_len, 1]), &device);
    let hidden = (h1 + h2) / count.add_scalar(EPS);

    let a1 = out
        .attention
        .clone()
        .slice([first..first + 1, 0..heads, 0..keep_first, 0..keep_first])
        .pad(
            [(0, out_len - keep_first), (0, out_len - keep_first)],
            PadMode::Constant(0.0),
        ); // [1, heads, out_len, out_len]
    let a2 = out
        .attention
        .clone()
        .slice([
            second..second + 1,
            0..heads,
            1..1 + keep_second,
            1..1 + keep_second,
        ])
        .pad([(start, tail), (start, tail)], PadMode::Constant(0.0));
    let summed = a1 + a2;
    let row_sums = summed.clone().sum_dim(3).add_scalar(EPS); // [1, heads, out_len, 1]
    (hidden, summed / row_sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIAL: SpecialTokens = SpecialTokens {
        cls: 101,
        sep: 102,
        pad: 0,
    };

    #[test]
    fn short_documents_stay_whole_and_long_ones_get_two_full_windows() {
        let short: Vec<i64> = (0..5).collect();
        let long: Vec<i64> = (0..12).collect();
        let plan = SegmentPlan::new(&[&short, &long], 8, SPECIAL, ModelType::Bert);
        assert_eq!(plan.segments[0], short);
        assert_eq!(plan.segments[1], vec![0, 1, 2, 3, 4, 5, 6, 102]);
        assert_eq!(plan.segments[2], vec![101, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(
            plan.placements[1],
            Placement::Windows {
                first: 1,
                second: 2,
                len: 12,
                keep_first: 7,
                keep_second: 7
            }
        );
    }

    #[test]
    fn roberta_first_window_ends_with_two_separators() {
        let long: Vec<i64> = (10..22).collect();
        let special = SpecialTokens {
            cls: 0,
            sep: 2,
            pad: 1,
        };
        let plan = SegmentPlan::new(&[&long], 8, special, ModelType::Roberta);
        assert_eq!(plan.segments[0], vec![10, 11, 12, 13, 14, 15, 2, 2]);
        assert_eq!(plan.segments[1], vec![0, 15, 16, 17, 18, 19, 20, 21]);
    }
}
