//! `atlop evaluate`: a run folder's best model on a dataset file; prints the report.

use std::path::Path;

use atlop::config::DocSlice;
use atlop::evaluate::{evaluate_run, EvaluateOptions};

/// `START..END` -> slice.
fn parse_docs(text: &str) -> anyhow::Result<DocSlice> {
    text.parse().map_err(|e| anyhow::anyhow!("--docs: {e}"))
}

/// `<run>/evaluations/<data file stem>[-<start>-<end>].json`: every evaluation of a run is kept
/// beside it.
fn saved_report_path(run: &Path, data: &Path, docs: Option<&str>) -> std::path::PathBuf {
    let stem = data
        .file_stem()
        .map_or("data".into(), |s| s.to_string_lossy().into_owned());
    let slice = docs.map_or(String::new(), |d| format!("-{}", d.replace("..", "-")));
    run.join("evaluations").join(format!("{stem}{slice}.json"))
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
    let device = atlop::backend::default_device()?;
    let report = evaluate_run::<atlop::backend::Selected>(&options, &device)?;
    match report {
        Some(r) => {
            let (precision, recall) = match (&r.docred, &r.bio) {
                (Some(d), _) => (d.precision, d.recall),
                (None, Some(b)) => (b.precision, b.recall),
                (None, None) => (0.0, 0.0),
            };
            let ign = r
                .ign_f1
                .map_or(String::new(), |v| format!(" | Ign F1 {:.2}", v * 100.0));
            // The summary first, then the whole report (percent, `_pct` fields, as report.json).
            println!(
                "F1 {:.2}{ign} | precision {:.2} | recall {:.2} (percent; decision {})",
                r.f1 * 100.0,
                precision * 100.0,
                recall * 100.0,
                r.decision.strategy.label()
            );
            let json = serde_json::to_string_pretty(&r)?;
            let saved = saved_report_path(run, data, docs);
            if let Some(dir) = saved.parent() {
                std::fs::create_dir_all(dir)?;
            }
            atlop::atomic::write_bytes_atomically(&saved, json.as_bytes())?;
            println!("{json}");
            eprintln!("report saved to {}", saved.display());
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
