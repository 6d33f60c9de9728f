//! Checkpoint loading fails loudly: a deleted or mis-shaped tensor, an unexpected tensor, an
//! unreachable hub. Modified checkpoints are written into temporary folders from the tiny RoBERTa
//! fixture.

use crate::encoder_support;

use std::path::Path;

use atlop::backend::Cpu;
use atlop::encoder::source::HubCache;
use atlop::encoder::{BertModel, ModelSource};
use encoder_support::{fixtures, require};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

const QUERY: &str = "encoder.layer.0.attention.self.query.weight";

/// Copies the tiny RoBERTa folder into a temp dir, writing `model.safetensors` as `edit` makes it
/// from the original tensors (name, dtype, shape, bytes).
fn edited_checkpoint(
    source: &Path,
    edit: impl Fn(
        Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    ) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json", "vocab.json", "merges.txt"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    let bytes = std::fs::read(source.join("model.safetensors")).unwrap();
    let original = SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<_> = original
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let edited = edit(tensors);
    let views: Vec<(String, TensorView)> = edited
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    match BertModel::<Cpu>::load(dir, &Default::default()) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_deleted_tensor_is_named() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let dir = edited_checkpoint(&fx.join("tiny-roberta"), |t| {
        t.into_iter().filter(|(n, ..)| n != QUERY).collect()
    });
    let msg = load_error(dir.path());
    eprintln!("{msg}");
    assert!(msg.contains(QUERY) && msg.contains("missing"), "{msg}");
    assert!(msg.contains("[64, 64]"), "expected shape not named: {msg}");
}

#[test]
fn a_reshaped_tensor_is_named_with_both_shapes() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let dir = edited_checkpoint(&fx.join("tiny-roberta"), |t| {
        t.into_iter()
            .map(|(n, d, s, b)| {
                if n == QUERY {
                    let half = b.len() / 2;
                    (n, d, vec![32, 64], b[..half].to_vec())
                } else {
                    (n, d, s, b)
                }
            })
            .collect()
    });
    let msg = load_error(dir.path());
    eprintln!("{msg}");
    assert!(msg.contains(QUERY), "{msg}");
    assert!(
        msg.contains("[32, 64]") && msg.contains("[64, 64]"),
        "{msg}"
    );
}

#[test]
fn prefixed_keys_load_and_head_tensors_are_reported_unused() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let dir = edited_checkpoint(&fx.join("tiny-roberta"), |t| {
        let mut t: Vec<_> = t
            .into_iter()
            .map(|(n, d, s, b)| (format!("roberta.{n}"), d, s, b))
            .collect();
        t.push(("lm_head.bias".into(), Dtype::F32, vec![2], vec![0; 8]));
        t
    });
    let (_, report) = BertModel::<Cpu>::load(dir.path(), &Default::default()).unwrap();
    assert_eq!(report.ignored, vec!["lm_head.bias".to_string()]);
    assert_eq!(report.applied, 37);
}

#[test]
fn an_unexpected_tensor_is_named() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let dir = edited_checkpoint(&fx.join("tiny-roberta"), |mut t| {
        t.push((
            "encoder.layer.2.output.dense.bias".into(),
            Dtype::F32,
            vec![2],
            vec![0; 8],
        ));
        t
    });
    let msg = load_error(dir.path());
    assert!(msg.contains("encoder.layer.2.output.dense.bias"), "{msg}");
}

#[test]
fn a_hub_id_without_network_fails_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let hub = HubCache {
        dir: cache.path().to_path_buf(),
        // Nothing listens on the discard port: the same failure as having no network.
        endpoint: Some("http://127.0.0.1:9".into()),
    };
    let source = ModelSource::from("bert-base-cased".to_string());
    let msg = source.resolve(&hub).unwrap_err().to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains("bert-base-cased") && msg.contains("local path"),
        "{msg}"
    );
}

#[test]
fn a_local_folder_without_config_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let msg = ModelSource::Local(dir.path().to_path_buf())
        .resolve(&HubCache::from_env())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("config.json"), "{msg}");
}

#[test]
fn a_nan_in_a_checkpoint_is_refused_naming_the_tensor() {
    let Some(fx) = require(fixtures()) else {
        return;
    };
    let dir = edited_checkpoint(&fx.join("tiny-roberta"), |t| {
        t.into_iter()
            .map(|(n, d, s, mut b)| {
                if n == QUERY {
                    assert_eq!(d, Dtype::F32);
                    b[..4].copy_from_slice(&f32::NAN.to_le_bytes());
                }
                (n, d, s, b)
            })
            .collect()
    });
    let msg = load_error(dir.path());
    assert!(msg.contains("NaN") && msg.contains("corrupt"), "{msg}");
    assert!(msg.contains("query"), "the tensor is named: {msg}");
}
