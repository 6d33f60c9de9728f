//! The whole model on the fixture document: MiniLM (loaded from `models/`) encodes the fixture's
//! `input_ids`, the head (fixture weights) classifies its 110 pairs, and the logits must equal the
//! PyTorch reference's within 1e-3 (the encoder and head are each checked to 1e-4 elsewhere; this
//! checks that they are wired together as the reference wires them).

use crate::head_fixture;

use std::path::Path;

use atlop::backend::Cpu;
use atlop::batch::AtlopBatch;
use atlop::encoder::bert::BertModel;
use burn::tensor::{Int, Tensor, TensorData};
use head_fixture::{max_abs_diff, Fixture, NUM_CLASSES};

const MODEL: &str = "models/all-MiniLM-L6-v2";

#[test]
fn encoder_and_head_reproduce_the_reference_logits() {
    let Some(fx) = Fixture::load() else { return };
    if !Path::new(MODEL).join("model.safetensors").exists() {
        eprintln!("skipped: {MODEL} is absent (run scripts/setup.sh)");
        return;
    }
    let device = Default::default();
    let (encoder, _report) =
        BertModel::<Cpu>::load(Path::new(MODEL), &device).expect("load MiniLM");
    let ids: Vec<i64> = fx.feature.input_ids.iter().map(|&i| i as i64).collect();
    let len = ids.len();
    let input_ids = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(ids, [1, len]), &device);
    let encoded = encoder.encode(input_ids, &[len]);

    let batch = AtlopBatch::<Cpu>::from_features(
        std::slice::from_ref(&fx.feature),
        NUM_CLASSES,
        0,
        &device,
    )
    .expect("batch");
    let head = fx.head::<Cpu>(Fixture::config(), &device);
    let out = head.forward(encoded.hidden, encoded.attention, &batch.index);
    let (logits, _) = fx.raw("logits");
    let diff = max_abs_diff(out.logits, &logits);
    eprintln!("whole model: max abs logit difference {diff:e}");
    assert!(diff <= 1e-3, "logits differ by {diff}");
}
