//! The ablation switches of Table 5 (mean pooling, no localized context, plain bilinear, BCE
//! loss) each give finite logits of the right shape and a finite backward pass.

use atlop::backend::CpuAutodiff;
use atlop::batch::AtlopBatch;
use atlop::features::Feature;
use atlop::model::{AtlopHeadConfig, BilinearKind, BilinearLayout, EntityPooling, LossKind};
use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, Tensor};

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const CLASSES: usize = 5;

fn doc(len: usize, entity_pos: Vec<Vec<usize>>, labels: Vec<Vec<usize>>) -> Feature {
    let e = entity_pos.len();
    let hts: Vec<(usize, usize)> = (0..e)
        .flat_map(|h| (0..e).filter(move |&t| t != h).map(move |t| (h, t)))
        .collect();
    let mut labels = labels;
    labels.resize(hts.len(), Vec::new());
    Feature {
        doc_index: 0,
        title: String::new(),
        input_ids: vec![7; len],
        entity_pos,
        hts,
        labels,
    }
}

fn check(config: AtlopHeadConfig, loss: LossKind) {
    let device = Default::default();
    let features = [
        doc(
            20,
            vec![vec![0, 9], vec![4], vec![12, 15, 40]],
            vec![vec![1], vec![], vec![2, 4]],
        ),
        doc(12, vec![vec![3], vec![6, 8]], vec![vec![3]]),
    ];
    let n: usize = features.iter().map(|f| f.hts.len()).sum();
    let batch = AtlopBatch::<CpuAutodiff>::from_features(&features, CLASSES, 0, &device).unwrap();
    let head = config.init::<CpuAutodiff>(&device).unwrap();
    let hidden = Tensor::<CpuAutodiff, 3>::random([2, 20, HIDDEN], Distribution::Default, &device)
        .require_grad();
    let scores =
        Tensor::<CpuAutodiff, 4>::random([2, HEADS, 20, 20], Distribution::Default, &device);
    let out = head.forward(hidden.clone(), softmax(scores, 3), &batch.index);
    assert_eq!(out.logits.dims(), [n, CLASSES], "{config:?}");
    let finite = |t: Tensor<CpuAutodiff, 2>| {
        t.into_data()
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    };
    assert!(finite(out.logits.clone()), "{config:?}: logits");
    assert_eq!(out.pair_weights.is_some(), config.localized_context);
    let value = loss.compute(out.logits, batch.labels);
    let grads = value.clone().backward();
    assert!(value.into_scalar().is_finite());
    let g_hidden = hidden.grad(&grads).unwrap().abs().sum().into_scalar();
    let g_bilinear = head
        .bilinear
        .bilinear
        .weight
        .grad(&grads)
        .unwrap()
        .abs()
        .sum()
        .into_scalar();
    assert!(
        g_hidden.is_finite() && g_hidden > 0.0,
        "{config:?}: hidden grad {g_hidden}"
    );
    assert!(
        g_bilinear.is_finite() && g_bilinear > 0.0,
        "{config:?}: bilinear grad {g_bilinear}"
    );
}

fn base() -> AtlopHeadConfig {
    AtlopHeadConfig::new(HIDDEN, CLASSES)
        .with_emb_size(16)
        .with_block_size(4)
}

#[test]
fn full_model() {
    check(base(), LossKind::AdaptiveThresholding);
    check(
        base().with_bilinear_layout(BilinearLayout::Factored),
        LossKind::AdaptiveThresholding,
    );
}

#[test]
fn mean_pooling() {
    check(
        base().with_pooling(EntityPooling::Mean),
        LossKind::AdaptiveThresholding,
    );
}

#[test]
fn without_localized_context() {
    check(
        base().with_localized_context(false),
        LossKind::AdaptiveThresholding,
    );
}

#[test]
fn plain_bilinear() {
    check(
        base().with_bilinear(BilinearKind::Plain),
        LossKind::AdaptiveThresholding,
    );
    check(
        base()
            .with_bilinear(BilinearKind::Plain)
            .with_bilinear_layout(BilinearLayout::Factored),
        LossKind::AdaptiveThresholding,
    );
}

#[test]
fn bce_loss_with_and_without_the_na_column() {
    check(
        base(),
        LossKind::Bce {
            include_na_column: false,
        },
    );
    check(
        base(),
        LossKind::Bce {
            include_na_column: true,
        },
    );
}

#[test]
fn rejects_a_block_size_that_does_not_divide_emb_size() {
    let err = base()
        .with_block_size(5)
        .init::<CpuAutodiff>(&Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("block_size"), "{err}");
}
