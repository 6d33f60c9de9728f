//! The `atlop_doc` parity fixture (`../shared/fixtures/atlop_doc.*`, see its README) loaded for
//! the head tests: encoder outputs, the document's feature, the reference head's weights.
#![allow(dead_code)]

use std::path::Path;

use atlop::features::Feature;
use atlop::model::{AtlopHead, AtlopHeadConfig};
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use safetensors::SafeTensors;

pub const DIR: &str = "../shared/fixtures";
pub const NUM_CLASSES: usize = 97;

pub struct Fixture {
    bytes: Vec<u8>,
    pub feature: Feature,
}

impl Fixture {
    /// `None` (with the reason printed) when the shared folder is absent.
    pub fn load() -> Option<Self> {
        let dir = Path::new(DIR);
        if !dir.join("atlop_doc.safetensors").exists() {
            eprintln!("skipping: {DIR}/atlop_doc.safetensors not found");
            return None;
        }
        let bytes = std::fs::read(dir.join("atlop_doc.safetensors")).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("atlop_doc.json")).unwrap()).unwrap();
        let ids = |v: &serde_json::Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        let input_ids = ids(&json["input_ids"])
            .into_iter()
            .map(|x| x as u32)
            .collect();
        let entity_pos = json["entity_pos"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let hts = json["hts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        let mut fixture = Fixture {
            bytes,
            feature: Feature {
                doc_index: 0,
                title: "Soccer Academy".into(),
                input_ids,
                entity_pos,
                hts,
                labels: Vec::new(),
            },
        };
        let (labels, shape) = fixture.raw("labels");
        fixture.feature.labels = labels
            .chunks(shape[1])
            .map(|row| (1..shape[1]).filter(|&r| row[r] > 0.5).collect())
            .collect();
        Some(fixture)
    }

    /// f32 values and shape of a tensor in the file.
    pub fn raw(&self, name: &str) -> (Vec<f32>, Vec<usize>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = st.tensor(name).unwrap();
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (values, view.shape().to_vec())
    }

    pub fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> Tensor<B, D> {
        let (values, shape) = self.raw(name);
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// `hidden [1, L, H]` and `attention [1, heads, L, L]`.
    pub fn encoder_outputs<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let hidden: Tensor<B, 2> = self.tensor("hidden", device);
        let attention: Tensor<B, 3> = self.tensor("attention", device);
        (hidden.unsqueeze(), attention.unsqueeze())
    }

    /// A PyTorch Linear (`[out, in]` weight) as a burn Linear (`[in, out]`).
    fn linear<B: Backend>(&self, key: &str, device: &B::Device) -> Linear<B> {
        let weight: Tensor<B, 2> = self.tensor(&format!("head.{key}.weight"), device);
        let bias: Tensor<B, 1> = self.tensor(&format!("head.{key}.bias"), device);
        Linear {
            weight: Param::from_tensor(weight.transpose()),
            bias: Some(Param::from_tensor(bias)),
        }
    }

    /// The reference head (emb 384, block 64) with the fixture's weights.
    pub fn head<B: Backend>(&self, config: AtlopHeadConfig, device: &B::Device) -> AtlopHead<B> {
        let mut head = config.init(device).unwrap();
        head.head_extractor = self.linear("head_extractor", device);
        head.tail_extractor = self.linear("tail_extractor", device);
        head.bilinear.bilinear = self.linear("bilinear", device);
        head
    }

    pub fn config() -> AtlopHeadConfig {
        AtlopHeadConfig::new(384, NUM_CLASSES)
            .with_emb_size(384)
            .with_block_size(64)
    }
}

/// Largest absolute difference between a tensor and expected values of the same size.
pub fn max_abs_diff<B: Backend, const D: usize>(got: Tensor<B, D>, expected: &[f32]) -> f32 {
    let got = got.into_data().convert::<f32>().to_vec::<f32>().unwrap();
    assert_eq!(got.len(), expected.len(), "element count");
    got.iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}
