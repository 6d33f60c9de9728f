//! Parity of the burn BERT / RoBERTa encoders with the PyTorch reference fixtures
//! (`../shared/fixtures`, produced by `reference/ref_atlop.py` and `ref_roberta.py`).
//! Tolerance: max abs diff <= 1e-4 (f32), as the fixtures README states.

use crate::encoder_support;

use atlop::backend::Cpu;
use atlop::encoder::bert::key_bias;
use atlop::encoder::token_rows::TokenRows;
use atlop::encoder::BertModel;
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use encoder_support::{assert_close, fixtures, minilm, read_fixture, require, Fixture};

fn ids_tensor<B: Backend>(f: &Fixture, device: &B::Device) -> Tensor<B, 2, Int> {
    let shape = if f.shape.len() == 1 {
        vec![1, f.shape[0]]
    } else {
        f.shape.clone()
    };
    Tensor::from_data(TensorData::new(f.ints.clone(), shape), device)
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// Keeps, in `[batch, heads, L, L]` attention, only query rows of real tokens.
fn real_rows(att: &[f32], mask: &[i64], heads: usize, len: usize) -> Vec<f32> {
    let batch = mask.len() / len;
    let mut out = Vec::new();
    for b in 0..batch {
        for h in 0..heads {
            for q in 0..len {
                if mask[b * len + q] == 1 {
                    let start = ((b * heads + h) * len + q) * len;
                    out.extend_from_slice(&att[start..start + len]);
                }
            }
        }
    }
    out
}

/// The short fixture (a padded batch): embeddings, layer 0 (when `layer0`), last hidden state
/// and last-layer attention of `model` against the reference's. Any backend: the cubecl-path
/// tests run it on burn-wgpu.
pub fn check_short<B: Backend>(model: &BertModel<B>, fixture: &std::path::Path, layer0: bool) {
    let device = model.devices()[0].clone();
    let f = read_fixture(fixture);
    let ids = ids_tensor::<B>(&f["input_ids"], &device);
    let mask_fixture = &f["attention_mask"];
    let mask = ids_tensor::<B>(mask_fixture, &device);
    let [batch, len] = ids.dims();
    let heads = model.num_heads();

    let embedded = model.embeddings.forward(ids.clone(), mask.clone());
    assert_close(
        "embeddings",
        &values(embedded.clone()),
        &f["embeddings"].floats,
    );
    if layer0 {
        // On the padded grid, as the fixture's layer 0 ran; padded rows are unspecified (the
        // fused attention leaves padded queries at 0): compare real rows only.
        let rows = TokenRows::all(batch, len);
        let (h0, _) =
            model.encoder.layer[0].forward(embedded, key_bias(mask.clone()), &rows, false);
        let width = model.hidden_size();
        assert_close(
            "layer0",
            &real_positions(&values(h0), &mask_fixture.ints, width),
            &real_positions(&f["layer0"].floats, &mask_fixture.ints, width),
        );
    }

    let lengths: Vec<usize> = (0..batch)
        .map(|b| {
            mask_fixture.ints[b * len..(b + 1) * len]
                .iter()
                .sum::<i64>() as usize
        })
        .collect();
    let out = model.encode(ids, &lengths);
    let mask_rows = &mask_fixture.ints;
    let hidden = values(out.hidden);
    let want_hidden = &f["last_hidden_state"].floats;
    let width = hidden.len() / (batch * len);
    // Padded rows are unspecified: compare real rows only.
    assert_close(
        "last_hidden_state",
        &real_positions(&hidden, mask_rows, width),
        &real_positions(want_hidden, mask_rows, width),
    );
    let att = values(out.attention);
    assert_close(
        "last_attention",
        &real_rows(&att, mask_rows, heads, len),
        &real_rows(&f["last_attention"].floats, mask_rows, heads, len),
    );
}

/// The rows (`width` values each) of `[batch * len, width]` values whose mask entry is 1.
fn real_positions(values: &[f32], mask: &[i64], width: usize) -> Vec<f32> {
    values
        .chunks(width)
        .zip(mask)
        .filter(|(_, m)| **m == 1)
        .flat_map(|(row, _)| row.to_vec())
        .collect()
}

/// The long fixture (over 512 tokens: two overlapping windows) against the reference's.
pub fn check_long<B: Backend>(model: &BertModel<B>, fixture: &std::path::Path) {
    let device = model.devices()[0].clone();
    let f = read_fixture(fixture);
    let ids = ids_tensor::<B>(&f["input_ids"], &device);
    let len = ids.dims()[1];
    let out = model.encode(ids, &[len]);
    assert_close("long hidden", &values(out.hidden), &f["hidden"].floats);
    let heads = model.num_heads();
    let att = values(out.attention); // [1, heads, L, L]
    let rows = &f["attention_rows"].ints;
    let mut got = Vec::new();
    for h in 0..heads {
        for &r in rows {
            let start = (h * len + r as usize) * len;
            got.extend_from_slice(&att[start..start + len]);
        }
    }
    assert_close("long attention rows", &got, &f["attention_at_rows"].floats);
}

#[test]
fn bert_matches_reference_on_short_and_long_inputs() {
    let (Some(dir), Some(fx)) = (require(minilm()), require(fixtures())) else {
        return;
    };
    let (model, report) = BertModel::<Cpu>::load(&dir, &Default::default()).unwrap();
    assert!(
        report
            .ignored
            .iter()
            .all(|k| k.starts_with("pooler.") || k.ends_with("position_ids")),
        "{report}"
    );
    check_short(&model, &fx.join("bert_short.safetensors"), true);
    check_long(&model, &fx.join("bert_long.safetensors"));
}

#[test]
fn roberta_matches_reference_on_short_and_long_inputs() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let (model, _) = BertModel::<Cpu>::load(&fx.join("tiny-roberta"), &Default::default()).unwrap();
    let special = model.special_tokens();
    assert_eq!((special.cls, special.sep, special.pad), (0, 2, 1));
    check_short(&model, &fx.join("roberta_short.safetensors"), false);
    check_long(&model, &fx.join("roberta_long.safetensors"));
}
