//! Unit tests of [`super::TwoGroupAdamW`] on a toy model: an `encoder` Linear and a `head`
//! Linear, the two groups of the real model.

use super::*;
use crate::backend::{Cpu, CpuAutodiff};
use burn::module::{list_param_ids, Module};
use burn::nn::Linear;
use burn::optim::GradientsAccumulator;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;

type B = CpuAutodiff;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    encoder: Linear<B>,
    head: Linear<B>,
}

impl<B: Backend> ParamGroups for Toy<B> {
    fn encoder_param_ids(&self) -> Vec<ParamId> {
        list_param_ids(&self.encoder)
    }
}

impl<B: Backend> Toy<B> {
    /// Deterministic weights: burn initialises `LinearConfig` parameters lazily, so clones of
    /// a fresh module would each draw their own random values.
    fn new(device: &B::Device) -> Self {
        let linear = |d_in: usize, d_out: usize, offset: usize| {
            let values = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| (((i + offset) * 5 % 11) as f32 - 5.0) / 10.0)
                    .collect()
            };
            let weight = Tensor::<B, 1>::from_floats(values(d_in * d_out).as_slice(), device);
            let bias = Tensor::<B, 1>::from_floats(values(d_out).as_slice(), device);
            Linear {
                weight: Param::from_tensor(weight.reshape([d_in, d_out])),
                bias: Some(Param::from_tensor(bias)),
            }
        };
        Self {
            encoder: linear(4, 3, 0),
            head: linear(3, 2, 3),
        }
    }

    /// A loss with non-trivial gradients everywhere: mean of squared outputs.
    fn loss(&self, x: Tensor<B, 2>) -> Tensor<B, 1> {
        self.head
            .forward(self.encoder.forward(x))
            .powf_scalar(2.0)
            .mean()
    }
}

/// A deterministic [5, 4] batch (the backend's RNG is shared by tests running in parallel).
fn batch(seed: u64) -> Tensor<B, 2> {
    let values: Vec<f32> = (0..20u64)
        .map(|i| ((i * 7 + seed * 13) % 17) as f32 / 8.0 - 1.0)
        .collect();
    Tensor::<B, 1>::from_floats(values.as_slice(), &Default::default()).reshape([5, 4])
}

fn grads_of(model: &Toy<B>, loss: Tensor<B, 1>) -> GradientsParams {
    GradientsParams::from_grads(loss.backward(), model)
}

/// Every parameter as one flat vector, in visiting order.
fn flat(model: &Toy<B>) -> Vec<f32> {
    let inner = model.valid();
    [
        inner.encoder.weight.val().into_data(),
        inner.encoder.bias.as_ref().unwrap().val().into_data(),
        inner.head.weight.val().into_data(),
        inner.head.bias.as_ref().unwrap().val().into_data(),
    ]
    .into_iter()
    .flat_map(|data| data.to_vec::<f32>().unwrap())
    .collect()
}

fn assert_close(a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tolerance, "element {i}: {x} vs {y}");
    }
}

#[test]
fn each_group_moves_by_the_first_adamw_step_at_its_own_rate() {
    let config = OptimizerConfig::new()
        .with_encoder_lr(1e-3)
        .with_head_lr(1e-2)
        .with_max_grad_norm(0.0);
    let mut optim = config.init::<Toy<B>, B>().unwrap();
    let model = Toy::<B>::new(&Default::default());
    let before = flat(&model);
    let grads = grads_of(&model, model.loss(batch(1)));
    let g: Vec<f32> = {
        let inner: Toy<Cpu> = model.valid();
        let ids = list_param_ids(&inner);
        let read = |i: usize, d2: bool| -> Vec<f32> {
            if d2 {
                grads
                    .get::<Cpu, 2>(ids[i])
                    .unwrap()
                    .into_data()
                    .to_vec()
                    .unwrap()
            } else {
                grads
                    .get::<Cpu, 1>(ids[i])
                    .unwrap()
                    .into_data()
                    .to_vec()
                    .unwrap()
            }
        };
        [read(0, true), read(1, false), read(2, true), read(3, false)].concat()
    };
    // Schedule factor 0.5: encoder at 5e-4, head at 5e-3.
    let model = optim.step(0.5, model, grads);
    let after = flat(&model);
    let n_encoder = 4 * 3 + 3;
    for (i, ((b, a), g)) in before.iter().zip(&after).zip(&g).enumerate() {
        let lr = if i < n_encoder { 5e-4 } else { 5e-3 };
        // First step: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps).
        let expected = b - lr * g / (g.abs() + 1e-6);
        assert!((a - expected).abs() < 1e-7, "param {i}: {a} vs {expected}");
        // About lr * sign(g): tells the two rates (10x apart) apart.
        assert!(
            ((b - a).abs() - lr).abs() < lr * 1e-2,
            "param {i} moved by {}",
            b - a
        );
    }
}

#[test]
fn accumulating_two_batches_equals_one_step_on_the_mean_gradient() {
    // eps 1 makes the AdamW update depend on the gradient's scale; the small norm limit makes
    // clipping act, so averaging must come before clipping for the two paths to agree.
    let config = OptimizerConfig::new()
        .with_epsilon(1.0)
        .with_max_grad_norm(0.05);
    let model = Toy::<B>::new(&Default::default());
    let (x1, x2) = (batch(2), batch(3));

    let mut accumulated = config
        .clone()
        .with_grad_accumulation(2)
        .init::<Toy<B>, B>()
        .unwrap();
    let mut accumulator = GradientsAccumulator::new();
    accumulator.accumulate(&model, grads_of(&model, model.loss(x1.clone())));
    accumulator.accumulate(&model, grads_of(&model, model.loss(x2.clone())));
    let by_accumulation = accumulated.step(1.0, model.clone(), accumulator.grads());

    let mut single = config.init::<Toy<B>, B>().unwrap();
    let mean_loss = (model.loss(x1) + model.loss(x2)).div_scalar(2.0);
    let by_mean = single.step(1.0, model.clone(), grads_of(&model, mean_loss));

    let norm = accumulated.last_grad_norm().unwrap();
    assert!(norm > 0.05, "clipping should act, norm {norm}");
    assert!((norm - single.last_grad_norm().unwrap()).abs() < 1e-6 * norm);
    assert_close(&flat(&by_accumulation), &flat(&by_mean), 1e-6);
    assert_ne!(flat(&by_mean), flat(&model), "the step moved nothing");
}

#[test]
fn step_clips_the_global_norm_like_clip_grad_norm() {
    let model = Toy::<B>::new(&Default::default());
    let base = OptimizerConfig::new().with_epsilon(1.0);
    let loss = || model.loss(batch(4)).mul_scalar(100.0);

    let mut clipping = base
        .clone()
        .with_max_grad_norm(1.0)
        .init::<Toy<B>, B>()
        .unwrap();
    let clipped_inside = clipping.step(1.0, model.clone(), grads_of(&model, loss()));

    let mut plain = base.with_max_grad_norm(0.0).init::<Toy<B>, B>().unwrap();
    let (grads, norm) = crate::train::clip_global_norm(&model, grads_of(&model, loss()), 1.0);
    assert!(norm > 1.0, "norm {norm} should exceed the limit");
    let clipped_outside = plain.step(1.0, model.clone(), grads);

    assert_close(&flat(&clipped_inside), &flat(&clipped_outside), 1e-7);
}

#[test]
fn record_round_trip_gives_the_same_next_step() {
    let config = OptimizerConfig::new();
    let mut optim = config.init::<Toy<B>, B>().unwrap();
    let mut model = Toy::<B>::new(&Default::default());
    for seed in 5..7 {
        let grads = grads_of(&model, model.loss(batch(seed)));
        model = optim.step(1.0, model, grads);
    }

    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = Recorder::<B>::record(&recorder, optim.to_record(), ()).unwrap();
    let record = Recorder::<B>::load(&recorder, bytes, &Default::default()).unwrap();
    let mut resumed = config.init::<Toy<B>, B>().unwrap().load_record(record);

    let grads = grads_of(&model, model.loss(batch(7)));
    let next = optim.step(0.7, model.clone(), grads);
    let grads = grads_of(&model, model.loss(batch(7)));
    let next_resumed = resumed.step(0.7, model.clone(), grads);
    assert_eq!(flat(&next), flat(&next_resumed));

    let fresh = config.init::<Toy<B>, B>().unwrap().step(
        0.7,
        model.clone(),
        grads_of(&model, model.loss(batch(7))),
    );
    assert_ne!(
        flat(&fresh),
        flat(&next),
        "state should matter after two steps"
    );
}

#[test]
fn rejects_zero_accumulation() {
    let err = OptimizerConfig::new()
        .with_grad_accumulation(0)
        .init::<Toy<B>, B>()
        .err()
        .unwrap();
    assert!(err.to_string().contains("grad_accumulation"), "{err}");
}

#[test]
fn multi_device_gradients_are_summed_then_averaged_over_devices() {
    use burn::tensor::backend::DeviceOps;
    let config = OptimizerConfig::new()
        .with_epsilon(1.0)
        .with_max_grad_norm(0.05);
    let model = Toy::<B>::new(&Default::default());
    let (x1, x2) = (batch(8), batch(9));
    let device: burn::tensor::Device<B> = Default::default();
    let device_id = device.id();

    let mut two_devices = config
        .clone()
        .with_num_devices(2)
        .init::<Toy<B>, B>()
        .unwrap();
    let multi = MultiGradientsParams {
        grads: vec![
            (grads_of(&model, model.loss(x1.clone())), device_id),
            (grads_of(&model, model.loss(x2.clone())), device_id),
        ],
    };
    let by_devices = two_devices.step_multi(1.0, model.clone(), multi);

    let mut single = config.init::<Toy<B>, B>().unwrap();
    let mean_loss = (model.loss(x1) + model.loss(x2)).div_scalar(2.0);
    let by_mean = single.step(1.0, model.clone(), grads_of(&model, mean_loss));

    assert_close(&flat(&by_devices), &flat(&by_mean), 1e-6);
}

/// Three steps of the fused AdamW and of burn's `AdamW` on the same gradients.
fn three_steps<O: burn::optim::SimpleOptimizer<Cpu>>(
    optim: burn::optim::adaptor::OptimizerAdaptor<O, Toy<B>, B>,
) -> (Toy<B>, burn::optim::adaptor::OptimizerAdaptor<O, Toy<B>, B>) {
    let mut optim = optim;
    let mut model = Toy::<B>::new(&Default::default());
    for (seed, lr) in [(10, 1e-2), (11, 5e-3), (12, 2e-2)] {
        let grads = grads_of(&model, model.loss(batch(seed)));
        model = optim.step(lr, model, grads);
    }
    (model, optim)
}

#[test]
fn fused_adamw_equals_burns_adamw_bit_for_bit() {
    for weight_decay in [0.0, 0.1] {
        let burns = burn::optim::AdamWConfig::new()
            .with_epsilon(1e-6)
            .with_weight_decay(weight_decay)
            .init::<B, Toy<B>>();
        let fused = FusedAdamW::new(0.9, 0.999, 1e-6, weight_decay).init::<Toy<B>, B>();
        let (by_burn, _) = three_steps(burns);
        let (by_fused, _) = three_steps(fused);
        let bits = |m: &Toy<B>| flat(m).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&by_fused),
            bits(&by_burn),
            "weight decay {weight_decay}"
        );
        assert_ne!(flat(&by_fused), flat(&Toy::<B>::new(&Default::default())));
    }
}

#[test]
fn a_checkpoint_of_burns_adamw_resumes_in_the_fused_one() {
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::default();
    let (model, burns) = three_steps(
        burn::optim::AdamWConfig::new()
            .with_epsilon(1e-6)
            .with_weight_decay(0.0)
            .init::<B, Toy<B>>(),
    );
    let bytes = Recorder::<B>::record(&recorder, burns.to_record(), ()).unwrap();
    let record = Recorder::<B>::load(&recorder, bytes, &Default::default()).unwrap();
    let mut fused = FusedAdamW::new(0.9, 0.999, 1e-6, 0.0)
        .init::<Toy<B>, B>()
        .load_record(record);
    let mut burns = burns;
    let grads = || grads_of(&model, model.loss(batch(13)));
    let next_burn = burns.step(1e-2, model.clone(), grads());
    let next_fused = fused.step(1e-2, model.clone(), grads());
    assert_eq!(flat(&next_fused), flat(&next_burn));
}

#[test]
fn fused_adamw_scales_gradients_as_burns_mul_scalar_bit_for_bit() {
    let model = Toy::<B>::new(&Default::default());
    let grads = || grads_of(&model, model.loss(batch(21)));
    let fused = FusedAdamW::new(0.9, 0.999, 1e-6, 0.0);
    fused.scale_gradients_by(0.37);
    let mut optim = fused.init::<Toy<B>, B>();
    let by_fused = optim.step(1e-2, model.clone(), grads());
    let scaled = crate::train::clipping::scale_grads(&model, grads(), 0.37f32 as f64);
    let mut burns = burn::optim::AdamWConfig::new()
        .with_epsilon(1e-6)
        .with_weight_decay(0.0)
        .init::<B, Toy<B>>();
    let by_burn = burns.step(1e-2, model.clone(), scaled);
    let bits = |m: &Toy<B>| flat(m).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&by_fused), bits(&by_burn));
    let mut unscaled = FusedAdamW::new(0.9, 0.999, 1e-6, 0.0).init::<Toy<B>, B>();
    let by_unscaled = unscaled.step(1e-2, model.clone(), grads());
    assert_ne!(flat(&by_fused), flat(&by_unscaled));
}
