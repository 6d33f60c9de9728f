//! `atlop evaluate`: a run folder's best model on a dataset file; prints the report.

use std::path::Path;

use atlop::config::DocSlice;
use atlop::evaluate::{evaluate_run, EvaluateOptions};

/// `START..END` -> slice.
fn parse_docs(text: &str) -> anyhow::Result<DocSlice> {
    text.parse().map_err(|e| anyhow::anyhow!("--docs: {e}"))
}

pub fn run(
    run: &Path,
    data: &Path,
    result_json: Option<&Path>,
    docs: Option<&str>,
) -> anyhow::Result<()> {
    let options = EvaluateOptions {
        run,
        data,
        docs: docs.map(parse_docs).transpose()?,
        result_json,
    };
    #[cfg(feature = "cuda")]
    let report = evaluate_run::<atlop::backend::Cuda>(&options, &Default::default())?;
    #[cfg(not(feature = "cuda"))]
    let report = evaluate_run::<atlop::backend::Cpu>(&options, &Default::default())?;
    match report {
        Some(r) => {
            println!("F1 {:.4}", r.f1 * 100.0);
            if let Some(ign) = r.ign_f1 {
                println!("Ign F1 {:.4}", ign * 100.0);
            }
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        None if result_json.is_some() => {
            println!("{} has no labels: nothing to score", data.display())
        }
        None => anyhow::bail!(
            "{} has no labels: nothing to score (give --result-json FILE to write CodaLab's \
             predictions instead)",
            data.display()
        ),
    }
    if let Some(path) = result_json {
        println!("wrote {}", path.display());
    }
    Ok(())
}
