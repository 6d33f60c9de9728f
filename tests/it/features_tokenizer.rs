//! The tokenizer against the ids the Python reference produced (`bert_short`, `roberta_short`),
//! and the vocab.json + merges.txt fallback against tokenizer.json.

use std::path::Path;

use atlop::features::{DocTokenizer, ModelType};
use safetensors::SafeTensors;

use crate::shared_inputs;
use shared_inputs::present;

/// `[rows, cols]` integer tensor (i64) as rows of ids with padding (mask 0) removed.
fn unpadded(file: &Path) -> Vec<Vec<u32>> {
    let bytes = std::fs::read(file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let read = |name: &str| -> (Vec<i64>, usize) {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), safetensors::Dtype::I64, "{name}");
        let cols = t.shape()[1];
        let values = t
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        (values, cols)
    };
    let (ids, cols) = read("input_ids");
    let (mask, _) = read("attention_mask");
    ids.chunks(cols)
        .zip(mask.chunks(cols))
        .map(|(row, m)| {
            row.iter()
                .zip(m)
                .filter(|(_, &m)| m == 1)
                .map(|(&id, _)| id as u32)
                .collect()
        })
        .collect()
}

/// The two texts both `*_short` fixtures encode (`ref_atlop.py`, `ref_roberta.py`).
const TEXTS: [&str; 2] = [
    "John Stanistreet was an Australian politician. He was born in Bendigo.",
    "Stanistreet died in Bendigo in 1971.",
];

#[test]
fn minilm_matches_bert_short() {
    let (Some(dir), Some(fixture)) = (
        present("models/all-MiniLM-L6-v2"),
        present("../shared/fixtures/bert_short.safetensors"),
    ) else {
        return;
    };
    let tok = DocTokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.model_type(), ModelType::Bert);
    assert_eq!((tok.cls_id(), tok.sep_id(), tok.pad_id()), (101, 102, 0));
    let expected = unpadded(&fixture);
    for (text, ids) in TEXTS.iter().zip(&expected) {
        assert_eq!(&tok.encode_text(text).unwrap(), ids, "{text}");
    }
    assert_eq!(tok.word_pieces("*").unwrap(), vec![tok.marker_id()]);
}

#[test]
fn minilm_vocab_txt_fallback_matches_tokenizer_json() {
    let Some(dir) = present("models/all-MiniLM-L6-v2") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for name in ["config.json", "vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(dir.join(name), tmp.path().join(name)).unwrap();
    }
    let full = DocTokenizer::from_dir(&dir).unwrap();
    let fallback = DocTokenizer::from_dir(tmp.path()).unwrap();
    for text in TEXTS
        .iter()
        .chain(&["Café NAÏVE [CLS] 1,000.5 km²", "", "   "])
    {
        assert_eq!(
            fallback.encode_text(text).unwrap(),
            full.encode_text(text).unwrap()
        );
    }
    assert_eq!(fallback.marker_id(), full.marker_id());
}

#[test]
fn tiny_roberta_matches_roberta_short_and_bpe_fallback() {
    let (Some(dir), Some(fixture)) = (
        present("../shared/fixtures/tiny-roberta"),
        present("../shared/fixtures/roberta_short.safetensors"),
    ) else {
        return;
    };
    let tok = DocTokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.model_type(), ModelType::Roberta);
    assert_eq!((tok.cls_id(), tok.sep_id(), tok.pad_id()), (0, 2, 1));
    let expected = unpadded(&fixture);
    for (text, ids) in TEXTS.iter().zip(&expected) {
        assert_eq!(&tok.encode_text(text).unwrap(), ids, "{text}");
    }

    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "config.json",
        "vocab.json",
        "merges.txt",
        "tokenizer_config.json",
    ] {
        std::fs::copy(dir.join(name), tmp.path().join(name)).unwrap();
    }
    let fallback = DocTokenizer::from_dir(tmp.path()).unwrap();
    let words = [
        "Stanistreet",
        "Bendigo",
        "naïve",
        "1971.",
        "*",
        "<s>",
        " spaced words",
    ];
    for text in TEXTS.iter().chain(&words) {
        assert_eq!(
            fallback.encode_text(text).unwrap(),
            tok.encode_text(text).unwrap(),
            "{text}"
        );
    }
}

#[test]
fn folder_without_tokenizer_files_says_what_it_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.json"), r#"{"model_type": "bert"}"#).unwrap();
    let msg = DocTokenizer::from_dir(tmp.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("tokenizer.json") && msg.contains("vocab.txt"),
        "{msg}"
    );
}
