//! Table 1 statistics on the real files: the counts the data manifest gives, and a rendered
//! table that shows them.

use atlop::data::{load_dataset, DatasetStats};
use atlop::features::{featurize_dataset, DocTokenizer, FeatureConfig};

use crate::shared_inputs;
use shared_inputs::present;

#[test]
fn cdr_train_table() {
    let (Some(path), Some(model)) = (
        present("../shared/data/cdr/train_filter.data"),
        present("models/all-MiniLM-L6-v2"),
    ) else {
        return;
    };
    let (ds, vocab) = load_dataset(&path, None).unwrap();
    let tok = DocTokenizer::from_dir(&model).unwrap();
    let cfg = FeatureConfig::new();
    let feats = featurize_dataset(&ds, &tok, &cfg).unwrap();
    let stats = DatasetStats::compute(&ds, &vocab, Some(&feats));
    assert_eq!(
        (stats.documents, stats.positive_pairs, stats.facts),
        (500, 1038, 1038)
    );
    assert_eq!(stats.multi_label_pairs, 0);
    assert_eq!(stats.relations, vec![("CID".to_string(), 1038)]);
    let lengths = stats.lengths.as_ref().unwrap();
    assert!(lengths.min <= lengths.p95 && lengths.p95 <= lengths.max && lengths.max <= cfg.max_len);
    let over = feats.iter().filter(|f| f.len() > 512).count();
    assert_eq!(lengths.over_512, over);
    let table = stats.render();
    eprintln!("{table}");
    assert!(table.contains("| documents | 500 |"), "{table}");
    assert!(table.contains("| positive pairs | 1038 |"), "{table}");
    assert!(table.contains("| CID | 1038 |"), "{table}");
}

#[test]
fn redocred_dev_and_docred_test_tables() {
    let Some(path) = present("../shared/data/redocred/dev_revised.json") else {
        return;
    };
    let (ds, vocab) = load_dataset(&path, None).unwrap();
    let stats = DatasetStats::compute(&ds, &vocab, None);
    assert_eq!((stats.documents, stats.facts), (500, 17284));
    assert!(stats.positive_pairs <= stats.facts && stats.multi_label_pairs < stats.positive_pairs);
    assert_eq!(stats.relations.len(), 10);
    // Readable names from rel_info.json, most frequent first.
    assert!(stats
        .relations
        .iter()
        .all(|(name, _)| !name.starts_with('P')));
    assert!(stats.relations.windows(2).all(|w| w[0].1 >= w[1].1));
    assert!(stats.lengths.is_none());
    eprintln!("{}", stats.render());

    let Some(test) = present("../shared/data/docred/test.json") else {
        return;
    };
    let (ds, vocab) = load_dataset(&test, None).unwrap();
    let stats = DatasetStats::compute(&ds, &vocab, None);
    assert!(!stats.labelled && stats.relations.is_empty());
    assert!(stats.render().contains("| facts | - (unlabelled) |"));
}
