//! Every model variant of the paper's Tables 3-6 (`experiments/variants.toml`) is one set of
//! overrides of a base config: each must apply to every shipped base config and switch exactly
//! the components its name says (Table 5's rows).

use std::path::Path;

use atlop::config::RunConfig;
use atlop::experiment::Definitions;
use atlop::model::{BilinearKind, EntityPooling, LossKind};

const BASES: [&str; 4] = [
    "configs/smoke.toml",
    "configs/docred_bert.toml",
    "configs/cdr_local.toml",
    "configs/cdr_scibert.toml",
];

fn variant(base: &str, name: &str, defs: &Definitions) -> RunConfig {
    let set = &defs.variants[name].set;
    RunConfig::load(Path::new(base), set).unwrap_or_else(|e| panic!("{name} on {base}: {e}"))
}

#[test]
fn every_variant_applies_to_every_base_config() {
    let defs = Definitions::load(Path::new("experiments")).expect("experiments/ loads");
    for base in BASES {
        for name in defs.variants.keys() {
            variant(base, name, &defs);
        }
    }
}

#[test]
fn variants_switch_the_components_their_rows_name() {
    let defs = Definitions::load(Path::new("experiments")).expect("experiments/ loads");
    let base = "configs/docred_bert.toml";
    let switches = |name: &str| {
        let cfg = variant(base, name, &defs);
        let head = cfg.head_config(768, 97);
        (
            cfg.data.entity_markers,
            head.pooling,
            head.bilinear,
            head.localized_context,
            cfg.loss(),
        )
    };
    use BilinearKind::{Group, Plain};
    use EntityPooling::{Logsumexp, Mean};
    let at = LossKind::AdaptiveThresholding;
    let bce = LossKind::Bce {
        include_na_column: true,
    };
    let expected = [
        ("atlop", (true, Logsumexp, Group, true, at)),
        ("atlop_bce", (true, Logsumexp, Group, true, bce)),
        ("atlop_no_lop", (true, Logsumexp, Group, false, at)),
        ("bert_e", (true, Logsumexp, Group, false, bce)),
        ("bert_e_no_markers", (false, Logsumexp, Group, false, bce)),
        (
            "bert_e_plain_bilinear",
            (true, Logsumexp, Plain, false, bce),
        ),
        ("bert_e_mean_pooling", (true, Mean, Group, false, bce)),
        ("baseline", (false, Mean, Plain, false, bce)),
    ];
    assert_eq!(
        defs.variants.len(),
        expected.len(),
        "a variant without an expectation"
    );
    for (name, want) in expected {
        assert_eq!(switches(name), want, "{name}");
    }
}
