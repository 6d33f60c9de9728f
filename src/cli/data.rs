//! `atlop data <file>`: read and validate a dataset, then print its statistics (the paper's
//! Table 1). Reading is the validation: any malformed document stops with an error naming the
//! file, the document and the field.

use std::path::Path;

use anyhow::Context;

use atlop::data::{load_dataset, DatasetStats};
use atlop::features::{featurize_dataset, DocTokenizer, FeatureConfig};

pub fn run(file: &Path, vocab: Option<&Path>, tokenizer: &Path) -> anyhow::Result<()> {
    let (dataset, relations) = load_dataset(file, vocab)?;
    // Subword lengths need a tokenizer; without one the table still has every other row.
    let features = match DocTokenizer::from_dir(tokenizer) {
        Ok(tok) => Some(
            featurize_dataset(&dataset, &tok, &FeatureConfig::new())
                .with_context(|| format!("featurizing {}", file.display()))?,
        ),
        Err(err) => {
            eprintln!("note: no subword statistics ({err})");
            None
        }
    };
    let stats = DatasetStats::compute(&dataset, &relations, features.as_deref());
    println!("# {}\n", file.display());
    if features.is_some() {
        println!("Tokenizer: {}\n", tokenizer.display());
    }
    println!("{}", stats.render());
    Ok(())
}
