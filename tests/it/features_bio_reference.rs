//! CDR/GDA features against the reference `read_cdr`/`read_gda`, id for id.
//!
//! The reference side comes from `scripts/ref_bio_features.py` (a transcription of the
//! reference readers using the Python `tokenizers` package), which needs Python, so this test
//! runs only when `ATLOP_BIO_REF_DIR` names a folder holding its outputs
//! `cdr_{train,dev,test}.jsonl` / `gda_test.jsonl` for the MiniLM tokenizer; it skips otherwise.

use std::path::{Path, PathBuf};

use atlop::data::load_dataset;
use atlop::features::{featurize_dataset, DocTokenizer, FeatureConfig};
use serde_json::{json, Value};

#[test]
fn bio_features_match_the_reference_dump() {
    let Some(ref_dir) = std::env::var_os("ATLOP_BIO_REF_DIR").map(PathBuf::from) else {
        eprintln!("skipped: ATLOP_BIO_REF_DIR is not set (see scripts/ref_bio_features.py)");
        return;
    };
    let model = Path::new("models/all-MiniLM-L6-v2");
    if !model.exists() {
        eprintln!("skipped: {} is absent", model.display());
        return;
    }
    let tok = DocTokenizer::from_dir(model).unwrap();
    let cases = [
        ("cdr/train_filter.data", "cdr_train.jsonl"),
        ("cdr/dev_filter.data", "cdr_dev.jsonl"),
        ("cdr/test_filter.data", "cdr_test.jsonl"),
        ("gda/test.data", "gda_test.jsonl"),
    ];
    for (data, dump) in cases {
        let (data, dump) = (Path::new("../shared/data").join(data), ref_dir.join(dump));
        if !data.exists() || !dump.exists() {
            eprintln!(
                "skipped: {} or {} is absent",
                data.display(),
                dump.display()
            );
            continue;
        }
        let (ds, _) = load_dataset(&data, None).unwrap();
        let feats = featurize_dataset(&ds, &tok, &FeatureConfig::new()).unwrap();
        let text = std::fs::read_to_string(&dump).unwrap();
        let reference: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(feats.len(), reference.len(), "{}", data.display());
        for (f, r) in feats.iter().zip(&reference) {
            assert_eq!(json!(f.title), r["title"]);
            assert_eq!(json!(f.input_ids), r["input_ids"], "{}", f.title);
            // The reference keeps only the included entities; extra ones follow them.
            let included = r["entity_pos"].as_array().unwrap().len();
            assert_eq!(
                json!(f.entity_pos[..included]),
                r["entity_pos"],
                "{}",
                f.title
            );
            let hts: Vec<[usize; 2]> = f.hts.iter().map(|&(h, t)| [h, t]).collect();
            assert_eq!(json!(hts), r["hts"], "{}", f.title);
            let labels: Vec<u8> = f.labels.iter().map(|l| u8::from(!l.is_empty())).collect();
            let ref_labels: Vec<u8> = r["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row[1].as_u64().unwrap() as u8)
                .collect();
            assert_eq!(labels, ref_labels, "{}", f.title);
        }
    }
}
