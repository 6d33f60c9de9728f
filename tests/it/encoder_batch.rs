//! Batching and training behaviour of `BertModel::encode`: a batch mixing short and long
//! documents equals encoding each alone, and gradients flow back through the two windows.

use crate::encoder_support;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::encoder::BertModel;
use burn::tensor::{Int, Tensor, TensorData};
use encoder_support::{assert_close, fixtures, read_fixture, require};

fn ids<B: burn::tensor::backend::Backend>(rows: &[Vec<i64>], pad: i64) -> Tensor<B, 2, Int> {
    let width = rows.iter().map(Vec::len).max().unwrap();
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.iter().copied().chain(std::iter::repeat(pad)).take(width))
        .collect();
    Tensor::from_data(
        TensorData::new(flat, [rows.len(), width]),
        &Default::default(),
    )
}

fn values<const D: usize>(t: Tensor<Cpu, D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

#[test]
fn mixed_batch_equals_each_document_alone() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let (model, _) = BertModel::<Cpu>::load(&fx.join("tiny-roberta"), &Default::default()).unwrap();
    let long = read_fixture(&fx.join("roberta_long.safetensors"))["input_ids"]
        .ints
        .clone();
    let short: Vec<i64> = long[..40].iter().copied().chain([2]).collect();
    let pad = i64::from(model.special_tokens().pad);
    let (ls, ll) = (short.len(), long.len());

    let batch = model.encode(ids(&[short.clone(), long.clone()], pad), &[ls, ll]);
    let alone_short = model.encode(ids(&[short], pad), &[ls]);
    let alone_long = model.encode(ids(&[long], pad), &[ll]);

    let hidden = batch.hidden.dims()[2];
    let heads = model.num_heads();
    let b_short = batch.hidden.clone().slice([0..1, 0..ls, 0..hidden]);
    assert_close(
        "short hidden",
        &values(b_short),
        &values(alone_short.hidden),
    );
    let b_att = batch
        .attention
        .clone()
        .slice([0..1, 0..heads, 0..ls, 0..ls]);
    assert_close(
        "short attention",
        &values(b_att),
        &values(alone_short.attention),
    );
    // Padded key columns of the short document get nothing.
    let padded = batch
        .attention
        .clone()
        .slice([0..1, 0..heads, 0..ls, ls..ll]);
    assert_eq!(values(padded).iter().fold(0f32, |m, v| m.max(v.abs())), 0.0);

    let b_long = batch.hidden.slice([1..2, 0..ll, 0..hidden]);
    assert_close("long hidden", &values(b_long), &values(alone_long.hidden));
    let b_att = batch.attention.slice([1..2, 0..heads, 0..ll, 0..ll]);
    assert_close(
        "long attention",
        &values(b_att),
        &values(alone_long.attention),
    );
}

#[test]
fn gradients_flow_through_both_windows() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let (model, _) =
        BertModel::<CpuAutodiff>::load(&fx.join("tiny-roberta"), &Default::default()).unwrap();
    let long = read_fixture(&fx.join("roberta_long.safetensors"))["input_ids"]
        .ints
        .clone();
    let len = long.len();
    let out = model.encode(ids(&[long], 1), &[len]);
    let loss =
        out.hidden.powf_scalar(2.0).mean() + out.attention.slice([0..1, 0..1, 0..len, 0..1]).mean();
    let grads = loss.backward();
    let query = &model.encoder.layer[0].attention.self_attention.query.weight;
    let grad: Vec<f32> = query
        .grad(&grads)
        .unwrap()
        .into_data()
        .iter::<f32>()
        .collect();
    assert!(grad.iter().all(|g| g.is_finite()), "non-finite gradient");
    assert!(grad.iter().any(|g| *g != 0.0), "all-zero gradient");
    let word = &model.embeddings.word_embeddings.weight;
    let grad: Vec<f32> = word
        .grad(&grads)
        .unwrap()
        .into_data()
        .iter::<f32>()
        .collect();
    assert!(grad.iter().all(|g| g.is_finite()) && grad.iter().any(|g| *g != 0.0));
}
