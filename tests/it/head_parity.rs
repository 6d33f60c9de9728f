//! Parity of the head and losses with the PyTorch reference on one real Re-DocRED document
//! (`../shared/fixtures/atlop_doc.*`). Tolerance: max abs difference 1e-4 (f32).

use crate::head_fixture;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::batch::AtlopBatch;
use atlop::model::{at_loss, bce_loss, BilinearLayout, LossKind};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use head_fixture::{max_abs_diff, Fixture, NUM_CLASSES};

const TOL: f32 = 1e-4;

#[test]
fn head_outputs_and_losses_match_the_reference() {
    let Some(fx) = Fixture::load() else { return };
    check_head::<Cpu>(&fx, &Default::default());
}

/// Entity embeddings, pair weights and context, logits and both losses of the fixture's head
/// on backend `B` (both bilinear layouts) against the reference's. The cubecl-path tests run
/// it on burn-wgpu.
pub fn check_head<B: Backend>(fx: &Fixture, device: &B::Device) {
    let device = device.clone();
    let batch =
        AtlopBatch::<B>::from_features(std::slice::from_ref(&fx.feature), NUM_CLASSES, 0, &device)
            .unwrap();
    let (labels, _) = fx.raw("labels");
    assert_eq!(
        max_abs_diff(batch.labels.clone(), &labels),
        0.0,
        "labels from the feature"
    );
    let (hidden, attention) = fx.encoder_outputs::<B>(&device);

    for layout in [BilinearLayout::OuterProduct, BilinearLayout::Factored] {
        let head = fx.head::<B>(Fixture::config().with_bilinear_layout(layout), &device);
        let out = head.forward(hidden.clone(), attention.clone(), &batch.index);
        let checks = [
            (
                "entity_embeddings",
                max_abs_diff(
                    out.entity_embeddings.clone(),
                    &fx.raw("entity_embeddings").0,
                ),
            ),
            (
                "pair_weights",
                max_abs_diff(out.pair_weights.clone().unwrap(), &fx.raw("pair_weights").0),
            ),
            (
                "pair_context",
                max_abs_diff(out.pair_context.clone().unwrap(), &fx.raw("pair_context").0),
            ),
            (
                "logits",
                max_abs_diff(out.logits.clone(), &fx.raw("logits").0),
            ),
        ];
        for (name, diff) in checks {
            eprintln!("{layout:?} {name}: max abs diff {diff:.2e}");
            assert!(diff <= TOL, "{layout:?} {name}: {diff}");
        }
        let at = at_loss(out.logits.clone(), batch.labels.clone());
        let bce = bce_loss(out.logits.clone(), batch.labels.clone(), false);
        let at_diff = max_abs_diff(at, &fx.raw("at_loss").0);
        let bce_diff = max_abs_diff(bce, &fx.raw("bce_loss").0);
        eprintln!("{layout:?} at_loss diff {at_diff:.2e}, bce_loss diff {bce_diff:.2e}");
        assert!(at_diff <= TOL && bce_diff <= TOL);
    }
}

#[test]
fn at_loss_gradient_matches_the_reference() {
    let Some(fx) = Fixture::load() else { return };
    check_at_loss_gradient::<CpuAutodiff>(&fx, &Default::default());
}

/// The adaptive-thresholding loss and its gradient on backend `B` against the reference's.
pub fn check_at_loss_gradient<B: AutodiffBackend>(fx: &Fixture, device: &B::Device) {
    let logits: Tensor<B, 2> = fx.tensor("logits", device);
    let logits = logits.require_grad();
    let labels: Tensor<B, 2> = fx.tensor("labels", device);
    let loss = LossKind::AdaptiveThresholding.compute(logits.clone(), labels.clone());
    assert!(max_abs_diff(loss.clone(), &fx.raw("at_loss").0) <= TOL);
    let grads = loss.backward();
    let grad = logits.grad(&grads).unwrap();
    let diff = max_abs_diff(grad, &fx.raw("at_loss_grad_logits").0);
    eprintln!("at_loss grad max abs diff {diff:.2e}");
    assert!(diff <= TOL, "{diff}");
    // The labels given to the loss are untouched (the reference clones before editing).
    assert_eq!(max_abs_diff(labels, &fx.raw("labels").0), 0.0);
}

#[test]
fn head_backward_reaches_every_parameter() {
    let Some(fx) = Fixture::load() else { return };
    let device = Default::default();
    let batch = AtlopBatch::<CpuAutodiff>::from_features(
        std::slice::from_ref(&fx.feature),
        NUM_CLASSES,
        0,
        &device,
    )
    .unwrap();
    let head = fx.head::<CpuAutodiff>(Fixture::config(), &device);
    let (hidden, attention) = fx.encoder_outputs::<CpuAutodiff>(&device);
    let hidden = hidden.require_grad();
    let out = head.forward(hidden.clone(), attention, &batch.index);
    let grads = at_loss(out.logits, batch.labels).backward();
    for (name, g) in [
        (
            "hidden",
            hidden.grad(&grads).map(|g| g.abs().sum().into_scalar()),
        ),
        (
            "head_extractor",
            head.head_extractor
                .weight
                .grad(&grads)
                .map(|g| g.abs().sum().into_scalar()),
        ),
        (
            "bilinear",
            head.bilinear
                .bilinear
                .weight
                .grad(&grads)
                .map(|g| g.abs().sum().into_scalar()),
        ),
    ] {
        let g = g.unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(g.is_finite() && g > 0.0, "{name}: {g}");
    }
}
