//! `atlop predict`: a trained run on new documents. Bad documents are reported on stderr (file,
//! document, field) and skipped, or stop the command with `--strict`; none is dropped silently.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use atlop::data::Document;
use atlop::inference::explanation::{entity_name, render_pair};
use atlop::inference::html::render_page;
use atlop::inference::input::{read_input, InputFormat};
use atlop::inference::{ExplainedPrediction, Predictor, Score};
use burn::tensor::backend::Backend;
use indicatif::{ProgressBar, ProgressStyle};

/// What `atlop predict` was asked to do.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The run folder (`atlop train` output).
    #[arg(long)]
    pub run: PathBuf,
    /// Documents: DocRED JSON (labels optional) or JSON lines (`.jsonl`).
    #[arg(long)]
    pub input: PathBuf,
    /// Input format (default: from the extension, `.jsonl` = JSON lines).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Write the predictions here (default: stdout). `--out` is the same flag.
    #[arg(long, visible_alias = "out")]
    pub output: Option<PathBuf>,
    /// Fail on the first bad document instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Documents per forward pass (default: the run's `eval_batch_size`).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Print each predicted pair's evidence sentences and most-attended words.
    #[arg(long)]
    pub explain: bool,
    /// Write a standalone HTML page highlighting each predicted pair's context weights.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Only documents START..END of the input (as `evaluate --docs`).
    #[arg(long, value_name = "START..END")]
    pub docs: Option<atlop::config::DocSlice>,
}

/// Fails before any work when an output file cannot be created where it was asked for.
fn check_output_folder(path: &std::path::Path) -> anyhow::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent.filter(|d| !d.is_dir()) {
        anyhow::bail!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let device = atlop::backend::default_device()?;
    predict::<atlop::backend::Selected>(args, &device)
}

fn predict<B: Backend>(args: &PredictArgs, device: &B::Device) -> anyhow::Result<()> {
    for path in [&args.output, &args.html].into_iter().flatten() {
        check_output_folder(path)?;
    }
    let mut predictor = Predictor::<B>::open(&args.run, device)?;
    if let Some(n) = args.batch_size {
        predictor = predictor.with_batch_size(n);
    }
    let format = args
        .format
        .unwrap_or_else(|| InputFormat::detect(&args.input));
    let mut parsed = read_input(&args.input, format, predictor.vocab())?;
    if let Some(s) = args.docs {
        if s.end > parsed.len() {
            anyhow::bail!(
                "--docs {}..{}: {} has {} documents",
                s.start,
                s.end,
                args.input.display(),
                parsed.len()
            );
        }
        parsed = parsed.drain(s.start..s.end).collect();
    }
    let total = parsed.len();
    let mut skipped = 0;
    let mut docs: Vec<(usize, Document)> = Vec::with_capacity(total);
    let mut lengths: Vec<usize> = Vec::with_capacity(total);
    for (index, result) in parsed.into_iter().enumerate() {
        let checked = result.and_then(|doc| {
            let feature = predictor.featurize(&doc, index)?;
            Ok((feature.len(), doc))
        });
        match checked {
            Ok((tokens, doc)) => {
                lengths.push(tokens);
                docs.push((index, doc));
            }
            Err(e) if args.strict => return Err(e).context("--strict: stopping at a bad document"),
            Err(e) => {
                skipped += 1;
                eprintln!("skipped: {e}");
            }
        }
    }

    if docs.is_empty() {
        anyhow::bail!(
            "none of the {total} documents of {} could be predicted ({skipped} skipped; see \
             above){}",
            args.input.display(),
            if format == InputFormat::Jsonl {
                " - read as JSON lines: give --format for another format"
            } else {
                ""
            }
        );
    }
    let explain = args.explain || args.html.is_some();
    // Batches of similar length pad little (as `evaluate` batches them); explanations printed
    // as they come keep file order instead. The output is in file order either way.
    if !args.explain {
        let mut by_length: Vec<(usize, (usize, Document))> =
            lengths.into_iter().zip(docs).collect();
        by_length.sort_by_key(|(tokens, _)| *tokens);
        docs = by_length.into_iter().map(|(_, doc)| doc).collect();
    }
    // Explanations go to stdout when the predictions go to a file, else to stderr, so that
    // stdout stays one JSON document.
    let to_stdout = args.output.is_some();
    let color = if to_stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    let bar = ProgressBar::new(docs.len() as u64).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} documents {per_sec} eta {eta}",
    )?);
    let started = Instant::now();
    let mut results: Vec<ExplainedPrediction> = Vec::with_capacity(docs.len());
    for chunk in docs.chunks(predictor.batch_size()) {
        let refs: Vec<(usize, &Document)> = chunk.iter().map(|(i, d)| (*i, d)).collect();
        let batch = predictor.predict_batch(&refs, explain)?;
        if args.explain {
            bar.suspend(|| {
                let text = explanations(&refs, &batch, color);
                if to_stdout {
                    print!("{text}");
                } else {
                    eprint!("{text}");
                }
            });
        }
        bar.inc(chunk.len() as u64);
        results.extend(batch);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    results.sort_by_key(|r| r.prediction.index);
    docs.sort_by_key(|(index, _)| *index);

    let predictions: Vec<_> = results.iter().map(|r| &r.prediction).collect();
    let json = serde_json::to_string_pretty(&predictions)?;
    match &args.output {
        Some(path) => atlop::atomic::write_bytes_atomically(path, (json + "\n").as_bytes())?,
        None => println!("{json}"),
    }
    if let Some(path) = &args.html {
        let refs: Vec<(usize, &Document)> = docs.iter().map(|(i, d)| (*i, d)).collect();
        atlop::atomic::write_bytes_atomically(
            path,
            render_page(&refs, &results, predictor.vocab()).as_bytes(),
        )?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!(
        "{} of {total} documents predicted ({skipped} skipped) in {seconds:.2} s: {:.2} documents/s",
        docs.len(),
        docs.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// Each predicted pair's relations, evidence sentences and most-attended words, as text.
fn explanations(docs: &[(usize, &Document)], batch: &[ExplainedPrediction], color: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for e in batch {
        let Some(&(_, doc)) = docs.iter().find(|(i, _)| *i == e.prediction.index) else {
            continue;
        };
        let _ = writeln!(out, "#{} {}", e.prediction.index, e.prediction.title);
        if e.pairs.is_empty() {
            let _ = writeln!(out, "  no relation predicted");
        }
        for pair in &e.pairs {
            let relations: Vec<String> = e
                .prediction
                .predictions
                .iter()
                .filter(|p| (p.head, p.tail) == (pair.head, pair.tail))
                .map(|p| match p.score {
                    Score::Margin { margin } => format!("{} {} ({margin:+.3})", p.relation, p.name),
                    Score::Probability { probability, .. } => {
                        format!("{} {} (p {probability:.3})", p.relation, p.name)
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{} -> {}: {}",
                entity_name(doc, pair.head),
                entity_name(doc, pair.tail),
                relations.join(", ")
            );
            out.push_str(&render_pair(doc, pair, color));
        }
    }
    out
}
