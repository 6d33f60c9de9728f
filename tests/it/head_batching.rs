//! Batching and padding correctness: a document's logits do not depend on what else is in its
//! batch (the same document twice, next to a smaller synthetic one). Tolerance 1e-4.

use crate::head_fixture;

use atlop::backend::Cpu;
use atlop::batch::AtlopBatch;
use atlop::features::Feature;
use burn::tensor::{Distribution, Tensor, TensorData};
use head_fixture::{max_abs_diff, Fixture, NUM_CLASSES};

const TOL: f32 = 1e-4;
/// Value written into padded hidden rows: padding must not leak into real outputs.
const PAD_HIDDEN: f32 = 3.0;

/// A 40-token document with 4 entities (one mention truncated away) and 5 pairs.
fn synthetic(device: &burn::tensor::Device<Cpu>) -> (Feature, Vec<f32>, Vec<f32>) {
    let (len, hidden, heads) = (40, 384, 12);
    let feature = Feature {
        doc_index: 1,
        title: "synthetic".into(),
        input_ids: (0..len as u32).map(|i| 1000 + i).collect(),
        entity_pos: vec![vec![2, 20], vec![7], vec![11, 30, 60], vec![25]],
        hts: vec![(0, 1), (1, 0), (2, 3), (3, 0), (0, 2)],
        labels: vec![vec![3], vec![], vec![1, 5], vec![], vec![]],
    };
    let h = Tensor::<Cpu, 2>::random([len, hidden], Distribution::Default, device);
    let scores = Tensor::<Cpu, 3>::random([heads, len, len], Distribution::Default, device);
    let att = burn::tensor::activation::softmax(scores, 2);
    let to_vec = |d: TensorData| d.to_vec::<f32>().unwrap();
    (feature, to_vec(h.into_data()), to_vec(att.into_data()))
}

/// Places per-document `hidden [len, H]` and `attention [heads, len, len]` into padded batch
/// tensors, the way an encoder hands them over (padded keys 0, padded rows arbitrary).
fn pad(
    docs: &[(usize, &[f32], &[f32])],
    hidden: usize,
    heads: usize,
) -> (Tensor<Cpu, 3>, Tensor<Cpu, 4>) {
    let l = docs.iter().map(|d| d.0).max().unwrap();
    let b = docs.len();
    let mut hv = vec![PAD_HIDDEN; b * l * hidden];
    let mut av = vec![0f32; b * heads * l * l];
    for (i, (len, h, a)) in docs.iter().enumerate() {
        for t in 0..*len {
            hv[(i * l + t) * hidden..(i * l + t + 1) * hidden]
                .copy_from_slice(&h[t * hidden..(t + 1) * hidden]);
        }
        for k in 0..heads {
            for q in 0..l {
                for key in 0..*len {
                    let value = if q < *len {
                        a[(k * len + q) * len + key]
                    } else {
                        0.5
                    };
                    av[((i * heads + k) * l + q) * l + key] = value;
                }
            }
        }
    }
    let device = Default::default();
    (
        Tensor::from_data(TensorData::new(hv, [b, l, hidden]), &device),
        Tensor::from_data(TensorData::new(av, [b, heads, l, l]), &device),
    )
}

#[test]
fn logits_do_not_depend_on_batch_neighbours() {
    let Some(fx) = Fixture::load() else { return };
    let device = Default::default();
    let head = fx.head::<Cpu>(Fixture::config(), &device);
    let (fh, fa) = (fx.raw("hidden").0, fx.raw("attention").0);
    let (syn, sh, sa) = synthetic(&device);
    let flen = fx.feature.len();

    let logits_of = |features: &[Feature], docs: &[(usize, &[f32], &[f32])]| {
        let batch = AtlopBatch::<Cpu>::from_features(features, NUM_CLASSES, 0, &device).unwrap();
        let (hidden, attention) = pad(docs, 384, 12);
        let logits = head.forward(hidden, attention, &batch.index).logits;
        logits.into_data().to_vec::<f32>().unwrap()
    };
    let alone = logits_of(std::slice::from_ref(&fx.feature), &[(flen, &fh, &fa)]);
    let syn_alone = logits_of(std::slice::from_ref(&syn), &[(40, &sh, &sa)]);
    let mixed = logits_of(
        &[fx.feature.clone(), syn.clone(), fx.feature.clone()],
        &[(flen, &fh, &fa), (40, &sh, &sa), (flen, &fh, &fa)],
    );
    let row = NUM_CLASSES;
    let (n_fx, n_syn) = (fx.feature.hts.len(), syn.hts.len());
    assert_eq!(mixed.len(), (2 * n_fx + n_syn) * row);
    let diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    let first = diff(&mixed[..n_fx * row], &alone);
    let middle = diff(&mixed[n_fx * row..(n_fx + n_syn) * row], &syn_alone);
    let last = diff(&mixed[(n_fx + n_syn) * row..], &alone);
    eprintln!(
        "max abs diff vs alone: first {first:.2e}, synthetic {middle:.2e}, second copy {last:.2e}"
    );
    assert!(first <= TOL && middle <= TOL && last <= TOL);
    // Alone, the fixture document still matches the reference.
    assert!(
        max_abs_diff(
            Tensor::<Cpu, 1>::from_floats(alone.as_slice(), &device),
            &fx.raw("logits").0
        ) <= TOL
    );
}
