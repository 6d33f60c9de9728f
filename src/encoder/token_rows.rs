//! Where the real tokens of a padded batch sit, so that the encoder's position-wise work (the
//! query/key/value, output and feed-forward products, GELU, dropout, residuals, LayerNorm) runs on
//! those rows only.
//!
//! A training batch of 4 randomly drawn Re-DocRED documents is padded to its longest one: about
//! 27% of its positions are padding (measured over 20 000 draws of the campaign's training file),
//! and every dense layer used to multiply them. Each of those layers treats rows independently,
//! so running it on the packed real rows `[1, real, d]` gives the real rows the same values
//! (summation order aside) and skips the padding. Only self-attention mixes positions: the fused
//! CPU kernels read the packed rows directly (each document's rows are a prefix of its
//! positions); the composite ops get the rows back on the padded grid `[batch, len, d]` (zeros at
//! padded positions, which the key bias masks anyway) and their context packed again.
//!
//! Without padding (one document, or documents of one length) packing is the identity.

use burn::tensor::backend::Backend;
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

/// The real positions of a `[batch, len]` attention mask.
#[derive(Debug, Clone)]
pub struct TokenRows<B: Backend> {
    batch: usize,
    len: usize,
    /// Flat indices `row * len + position` of the real tokens, ascending; `None` when every
    /// position is real (packing is then the identity).
    index: Option<Tensor<B, 1, Int>>,
}

impl<B: Backend> TokenRows<B> {
    /// Reads the mask (1 = real token, 0 = padding) on the host: the number of real tokens fixes
    /// the packed shape, so it has to be known before the first product anyway.
    pub fn from_mask(attention_mask: &Tensor<B, 2, Int>) -> Self {
        let [batch, len] = attention_mask.dims();
        let data = attention_mask.clone().into_data().convert::<i64>();
        let real: Vec<i64> = data
            .iter::<i64>()
            .enumerate()
            .filter(|&(_, keep)| keep != 0)
            .map(|(at, _)| at as i64)
            .collect();
        let index = (real.len() < batch * len).then(|| {
            let count = real.len();
            Tensor::from_data(TensorData::new(real, [count]), &attention_mask.device())
        });
        Self { batch, len, index }
    }

    /// Every position of a `[batch, len]` grid counted as real: the layers then run on the
    /// padded grid itself (a layer compared position by position with a reference, say).
    pub fn all(batch: usize, len: usize) -> Self {
        Self {
            batch,
            len,
            index: None,
        }
    }

    /// Whether [`TokenRows::pack`] drops rows (the batch has padding).
    pub fn is_packed(&self) -> bool {
        self.index.is_some()
    }

    /// The number of rows a packed tensor has.
    pub fn count(&self) -> usize {
        self.index
            .as_ref()
            .map_or(self.batch * self.len, |index| index.dims()[0])
    }

    /// `[batch, len, d]` -> `[1, real, d]` (the real rows, in batch order).
    pub fn pack(&self, padded: Tensor<B, 3>) -> Tensor<B, 3> {
        let Some(index) = &self.index else {
            return padded;
        };
        let d = padded.dims()[2];
        padded
            .reshape([self.batch * self.len, d])
            .select(0, index.clone())
            .unsqueeze::<3>()
    }

    /// `[1, real, d]` -> `[batch, len, d]`, zeros at padded positions.
    pub fn unpack(&self, packed: Tensor<B, 3>) -> Tensor<B, 3> {
        let Some(index) = &self.index else {
            return packed;
        };
        let [_, count, d] = packed.dims();
        let device = packed.device();
        Tensor::<B, 2>::zeros([self.batch * self.len, d], &device)
            .select_assign(
                0,
                index.clone(),
                packed.reshape([count, d]),
                IndexingUpdateOp::Add,
            )
            .reshape([self.batch, self.len, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuAutodiff};

    fn mask(rows: &[&[i64]]) -> Tensor<Cpu, 2, Int> {
        let len = rows[0].len();
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(
            TensorData::new(flat, [rows.len(), len]),
            &Default::default(),
        )
    }

    #[test]
    fn packs_the_real_rows_and_unpacks_them_with_zeros_at_padding() {
        let rows = TokenRows::from_mask(&mask(&[&[1, 1, 1], &[1, 0, 0]]));
        assert_eq!(rows.count(), 4);
        let padded = Tensor::<Cpu, 1, Int>::arange(0..12, &Default::default())
            .float()
            .reshape([2, 3, 2]);
        let packed = rows.pack(padded);
        assert_eq!(packed.dims(), [1, 4, 2]);
        let values: Vec<f32> = packed.clone().into_data().to_vec().unwrap();
        assert_eq!(values, [0., 1., 2., 3., 4., 5., 6., 7.]);
        let back: Vec<f32> = rows.unpack(packed).into_data().to_vec().unwrap();
        assert_eq!(back, [0., 1., 2., 3., 4., 5., 6., 7., 0., 0., 0., 0.]);
    }

    #[test]
    fn without_padding_packing_is_the_identity() {
        let rows = TokenRows::from_mask(&mask(&[&[1, 1], &[1, 1]]));
        assert_eq!(rows.count(), 4);
        let x = Tensor::<Cpu, 3>::ones([2, 2, 3], &Default::default());
        assert_eq!(rows.pack(x.clone()).dims(), [2, 2, 3]);
        assert_eq!(rows.unpack(x).dims(), [2, 2, 3]);
    }

    #[test]
    fn gradients_flow_to_the_real_rows_only() {
        let device = Default::default();
        let m: Tensor<CpuAutodiff, 2, Int> =
            Tensor::from_data(TensorData::new(vec![1i64, 0, 1, 1], [2, 2]), &device);
        let rows = TokenRows::from_mask(&m);
        let x = Tensor::<CpuAutodiff, 3>::ones([2, 2, 1], &device).require_grad();
        // pack, scale, unpack, sum: d/dx is 2 at real positions and 0 at padding.
        let y = rows.unpack(rows.pack(x.clone()).mul_scalar(2.0)).sum();
        let grads = y.backward();
        let g: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
        assert_eq!(g, [2., 0., 2., 2.]);
    }
}
