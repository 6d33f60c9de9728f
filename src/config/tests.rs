use super::*;

fn smoke_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/smoke.toml"))
        .unwrap_or_default()
}

fn smoke(overrides: &[&str]) -> Result<RunConfig> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    RunConfig::from_toml(&smoke_text(), "smoke.toml", &overrides)
}

#[test]
fn every_shipped_config_parses_and_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let config = RunConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let again = RunConfig::from_toml(&config.to_toml().unwrap(), "round trip", &[]).unwrap();
        assert_eq!(again, config, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 6, "expected the six shipped configs, found {seen}");
}

#[test]
fn overrides_set_nested_values_of_each_type() {
    let c = smoke(&[
        "training.epochs=5",
        "optimizer.encoder_lr=3e-5",
        "model.localized_context=false",
        "encoder.source=models/other",
        "decision.strategy.kind=global",
        "data.test=data/redocred/test_revised.json",
    ])
    .unwrap();
    assert_eq!(c.training.epochs, 5);
    assert_eq!(c.optimizer.encoder_lr, 3e-5);
    assert!(!c.model.localized_context);
    assert_eq!(c.encoder.source, "models/other");
    assert_eq!(c.decision.strategy, Strategy::Global { top_k: 4 });
    assert_eq!(
        c.data.test.as_deref(),
        Some(Path::new("data/redocred/test_revised.json"))
    );
}

#[test]
fn unknown_keys_are_named() {
    let err = smoke(&["training.epoch=5"]).unwrap_err().to_string();
    assert!(err.contains("training.epoch"), "{err}");
    let err = smoke(&["decision.strategy.top=1"]).unwrap_err().to_string();
    assert!(err.contains("decision.strategy.top"), "{err}");
    let text = smoke_text().replace("[model]", "[model]\nfoo = 1");
    let err = RunConfig::from_toml(&text, "f.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("foo"), "{err}");
}

#[test]
fn wrong_types_and_ranges_are_errors_naming_the_key() {
    let err = smoke(&["training.epochs=many"]).unwrap_err().to_string();
    assert!(err.contains("training.epochs"), "{err}");
    let err = smoke(&["model.loss=focal"]).unwrap_err().to_string();
    assert!(err.contains("model.loss"), "{err}");
    let err = smoke(&["training.batch_size=0"]).unwrap_err().to_string();
    assert!(err.contains("training.batch_size"), "{err}");
    let err = smoke(&["training.dropout=1.5"]).unwrap_err().to_string();
    assert!(err.contains("training.dropout"), "{err}");
    let err = smoke(&["data.test_docs={ start = 4, end = 4 }"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.test_docs"), "{err}");
    let ok = smoke(&["data.test_docs={ start = 250, end = 500 }"]).unwrap();
    assert_eq!(
        ok.data.test_docs,
        Some(DocSlice {
            start: 250,
            end: 500
        })
    );
    assert!(smoke(&["noequals"]).is_err());
    assert!(smoke(&["training..epochs=1"]).is_err());
}

#[test]
fn names_rates_and_sizes_are_checked_before_anything_is_created() {
    for (overrides, key) in [
        (&["name=\"../../escape\""][..], "`name`"),
        (&["name=\"a/b\""][..], "`name`"),
        (&["optimizer.encoder_lr=-1.0"][..], "optimizer.encoder_lr"),
        (&["optimizer.head_lr=nan"][..], "optimizer.head_lr"),
        (
            &["optimizer.warmup_ratio=1.5"][..],
            "optimizer.warmup_ratio",
        ),
        (&["model.block_size=48"][..], "model.block_size"),
        (&["model.block_size=0"][..], "model.block_size"),
    ] {
        let err = smoke(overrides).unwrap_err().to_string();
        assert!(err.contains(key), "{overrides:?}: {err}");
    }
}

#[test]
fn doc_slices_parse_from_the_command_line() {
    let s: DocSlice = "8..12".parse().unwrap();
    assert_eq!(s, DocSlice { start: 8, end: 12 });
    for bad in ["10..5", "5..5", "5", "a..b", "..3"] {
        let err = bad.parse::<DocSlice>().unwrap_err();
        assert!(err.contains("START..END"), "{bad}: {err}");
    }
}

#[test]
fn head_config_and_loss_follow_the_switches() {
    let c = smoke(&[
        "model.loss=bce",
        "model.bce_na_column=true",
        "model.pooling=mean",
    ])
    .unwrap();
    assert_eq!(
        c.loss(),
        LossKind::Bce {
            include_na_column: true
        }
    );
    let head = c.head_config(384, 97);
    assert_eq!(head.pooling, EntityPooling::Mean);
    assert_eq!((head.emb_size, head.block_size), (128, 32));
}
