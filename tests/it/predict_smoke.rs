//! `atlop predict` and [`atlop::Predictor`] on the smoke model (configs/smoke.toml, trained once
//! for this test binary): predictions equal `evaluate`'s for the same documents, bad documents
//! are reported and skipped (or fail with `--strict`), the JSON-lines format and the HTML
//! explanations work on a Figure-5-like paragraph.
//!
//! Skips (with a message) when the MiniLM folder or the Re-DocRED file is absent.

use crate::smoke_config;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use atlop::backend::{Cpu, CpuAutodiff};
use atlop::config::{DocSlice, RunConfig};
use atlop::evaluate::{evaluate_run, EvaluateOptions};
use atlop::inference::Score;
use atlop::train::run::{train, Dashboard, TrainTarget};
use atlop::Predictor;
use serde_json::Value;
use smoke_config::{copy_dir, dev_documents, dev_file, root};

/// The smoke config with a dev-fitted global threshold (two epochs put no logit above TH, so
/// the adaptive rule would predict nothing).
fn smoke_config() -> Option<RunConfig> {
    smoke_config::smoke_config(&["decision.strategy.kind=global"])
}

/// The run folder of the smoke model, trained on first use; `None` when skipping.
fn smoke_run() -> Option<&'static Path> {
    static RUN: OnceLock<Option<PathBuf>> = OnceLock::new();
    RUN.get_or_init(|| {
        let config = smoke_config()?;
        // One folder per build tree, replaced on every run (a static is never dropped, so a
        // temporary directory would be left behind).
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("predict_smoke_run");
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        let _serial = crate::serial::training();
        train::<CpuAutodiff>(
            TrainTarget::New {
                config: Box::new(config),
                out: Some(out.clone()),
            },
            Dashboard::Plain,
            Default::default(),
        )
        .unwrap();
        // Prediction reads `best/` only; the epoch checkpoints take hundreds of MB.
        std::fs::remove_dir_all(out.join("checkpoint")).unwrap();
        Some(out)
    })
    .as_deref()
}

fn atlop(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_atlop"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn predictions_equal_evaluate_on_the_same_documents() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let result_json = dir.path().join("result.json");
    evaluate_run::<Cpu>(
        &EvaluateOptions {
            run,
            data: &dev_file(),
            docs: Some(DocSlice { start: 8, end: 12 }),
            result_json: Some(&result_json),
        },
        &Default::default(),
    )
    .unwrap();
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&result_json).unwrap()).unwrap();
    let expected: BTreeSet<(String, u64, u64, String)> = entries
        .iter()
        .map(|e| {
            (
                e["title"].as_str().unwrap().to_string(),
                e["h_idx"].as_u64().unwrap(),
                e["t_idx"].as_u64().unwrap(),
                e["r"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!expected.is_empty(), "evaluate predicts nothing: vacuous");

    let predictor = Predictor::<Cpu>::open(run, &Default::default()).unwrap();
    let input = dir.path().join("docs.json");
    std::fs::write(
        &input,
        serde_json::to_string(&dev_documents(8..12)).unwrap(),
    )
    .unwrap();
    let vocab = predictor.vocab().clone();
    let docs: Vec<_> = atlop::data::read_docred(&input, &vocab).unwrap().documents;
    let predicted = predictor.predict(&docs).unwrap();
    let mut got = BTreeSet::new();
    for doc in &predicted {
        for p in &doc.predictions {
            got.insert((
                doc.title.clone(),
                p.head as u64,
                p.tail as u64,
                p.relation.clone(),
            ));
            assert_eq!(p.name, vocab.name(vocab.id(&p.relation).unwrap()));
            let source = docs.iter().find(|d| d.title == doc.title).unwrap();
            let first_mention = |e: usize| source.entities[e].mentions[0].name.clone();
            assert_eq!(
                (p.head_name.clone(), p.tail_name.clone()),
                (first_mention(p.head), first_mention(p.tail))
            );
            assert!(!p.head_name.is_empty() && !p.tail_name.is_empty(), "{p:?}");
            match p.score {
                Score::Probability {
                    probability,
                    threshold,
                } => assert!(probability > threshold, "{p:?}"),
                Score::Margin { .. } => panic!("a global-threshold run scores probabilities"),
            }
        }
    }
    assert_eq!(got, expected);

    // The command gives the same predictions.
    let output = dir.path().join("preds.json");
    let run_arg = run.to_str().unwrap();
    let out = atlop(&[
        "predict",
        "--run",
        run_arg,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<atlop::inference::DocumentPrediction> =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(written, predicted);
    assert!(String::from_utf8_lossy(&out.stderr).contains("documents/s"));
}

#[test]
fn bad_documents_are_reported_and_skipped_or_fail_with_strict() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let good = dev_documents(8..10);
    let mut missing_vertex_set = good[0].clone();
    missing_vertex_set
        .as_object_mut()
        .unwrap()
        .remove("vertexSet");
    missing_vertex_set["title"] = "no entities here".into();
    let mut empty = good[0].clone();
    empty["title"] = "empty".into();
    empty["sents"] = Value::Array(vec![]);
    let mut unknown_relation = good[1].clone();
    unknown_relation["title"] = "bad label".into();
    unknown_relation["labels"] =
        serde_json::json!([{"h": 0, "t": 1, "r": "P999999", "evidence": []}]);
    let docs = vec![
        good[0].clone(),
        missing_vertex_set,
        empty,
        unknown_relation,
        good[1].clone(),
    ];
    let input = dir.path().join("mixed.json");
    std::fs::write(&input, serde_json::to_string(&docs).unwrap()).unwrap();
    let output = dir.path().join("preds.json");
    let run_arg = run.to_str().unwrap();
    let args = [
        "predict",
        "--run",
        run_arg,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--batch-size",
        "1",
    ];
    let out = atlop(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for expected in [
        "document #1 (\"no entities here\"): field `vertexSet`",
        "document #2 (\"empty\"): field `sents`",
        "document #3 (\"bad label\"): field `labels[0].r`",
        "mixed.json",
        "2 of 5 documents predicted (3 skipped)",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
    let written: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let indices: Vec<u64> = written
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, vec![0, 4]);
    assert_eq!(written[1]["title"], good[1]["title"]);

    let mut strict = args.to_vec();
    strict.push("--strict");
    let out = atlop(&strict);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("document #1"));
}

/// A paragraph in the spirit of the paper's Figure 5, with character spans.
const STANISTREET: &str = "John Stanistreet was an Australian politician. He was born in \
Bendigo to legal manager John Jepson Stanistreet and Maria Suffolk. He attended Bendigo High \
School and became a solicitor in Victoria. In 1955 he was elected to the Victorian Legislative \
Assembly as the member for Bendigo.";

fn span(text: &str, needle: &str, nth: usize) -> [usize; 2] {
    let byte = text.match_indices(needle).nth(nth).unwrap().0;
    let start = text[..byte].chars().count();
    [start, start + needle.chars().count()]
}

/// A copy of the smoke run that needs nothing outside itself: its config points at data that
/// does not exist (the relation names come from `relations.json`), and its decision takes each
/// pair's most probable relation, so the Figure 5 paragraph surely has pairs to explain.
fn self_contained_copy(run: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join("run");
    for sub in ["encoder", "best"] {
        std::fs::create_dir_all(copy.join(sub)).unwrap();
        for entry in std::fs::read_dir(run.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(sub).join(entry.file_name())).unwrap();
        }
    }
    std::fs::copy(run.join("relations.json"), copy.join("relations.json")).unwrap();
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let data_dir = root().join("data").display().to_string();
    assert!(config.contains(&data_dir), "{config}");
    let moved = config.replace(&data_dir, "/nonexistent/atlop-data");
    std::fs::write(copy.join("config.toml"), moved).unwrap();
    let report_path = copy.join("best/report.json");
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    report["decision"]["strategy"] = serde_json::json!({"kind": "global", "top_k": 1});
    report["decision"]["thresholds"] = serde_json::json!({"kind": "global", "value": 0.0});
    std::fs::write(&report_path, report.to_string()).unwrap();
    copy
}

/// `atlop predict --explain --html` on the Figure 5 paragraph (JSON lines, character spans) and
/// one document with a span outside its text: the command's output and the page's path.
fn explain_stanistreet(run: &Path, dir: &Path) -> (std::process::Output, PathBuf) {
    let copy = self_contained_copy(run, dir);
    let t = STANISTREET;
    let doc = serde_json::json!({
        "title": "John Stanistreet",
        "text": t,
        "entities": [
            {"type": "PER", "mentions": [span(t, "John Stanistreet", 0), span(t, "He", 0)]},
            {"type": "LOC", "mentions": [span(t, "Bendigo", 0), span(t, "Bendigo", 2)]},
            {"type": "LOC", "mentions": [span(t, "Victoria", 0)]},
            {"type": "TIME", "mentions": [span(t, "1955", 0)]},
        ]
    });
    let bad = serde_json::json!({"title": "outside", "text": "Short text.",
        "entities": [{"mentions": [[0, 5]]}, {"mentions": [[6, 400]]}]});
    let input = dir.join("docs.jsonl");
    std::fs::write(&input, format!("{doc}\n{bad}\n")).unwrap();
    let html = dir.join("out.html");
    let out = atlop(&[
        "predict",
        "--run",
        copy.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--explain",
        "--html",
        html.to_str().unwrap(),
    ]);
    (out, html)
}

#[test]
fn json_lines_input_explains_in_text_and_html() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (out, html) = explain_stanistreet(run, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("document #1 (\"outside\"): field `entities[1].mentions[0]`"),
        "{stderr}"
    );
    // The predictions alone on stdout (one JSON document); the explanations on stderr. Not a
    // terminal: top words in brackets, evidence sentences listed.
    let predictions: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert!(predictions.is_array(), "{stdout}");
    assert!(
        stderr.contains("[[") && stderr.contains("evidence of"),
        "{stderr}"
    );
    assert!(stderr.contains("John Stanistreet -> Bendigo"), "{stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<style>"));
    assert!(!page.contains("<link") && !page.contains("<script"));
    let highlighted = page
        .matches("<span class=\"tok\" style=\"background:rgba(")
        .count();
    assert!(highlighted > 0, "no highlighted token");
    assert!(page.contains(
        "<span class=\"h\">John Stanistreet</span> &rarr; <span class=\"t\">Bendigo</span>"
    ));
    assert!(page.contains("<b>Legend</b>"), "{page}");
    // The framed evidence sentences are the ones listed.
    assert!(page.contains("<span class=\"sent ev\">"), "{page}");
}

/// Debian's Chromium, headless, with what a sandbox-less CI container needs.
fn chromium(profile: &Path, args: &[&str]) -> Option<std::process::Output> {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("skipping: chromium cannot be started ({e}); scripts/setup.sh installs it");
            None
        }
    }
}

/// Pixels of a screenshot drawn in the strong highlight colour (rgb(255,140,0) at opacity
/// above about 0.6 over white), and pixels of dark text.
fn highlight_and_text_pixels(png_path: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let (mut highlight, mut text) = (0, 0);
    for px in buf[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = (px[0] as i32, px[1] as i32, px[2] as i32);
        if r >= 235 && (120..=190).contains(&g) && b <= 100 {
            highlight += 1;
        }
        if r < 80 && g < 80 && b < 80 {
            text += 1;
        }
    }
    (highlight, text)
}

#[test]
fn explanation_page_shows_highlighted_tokens_in_headless_chromium() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (out, html) = explain_stanistreet(run, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("chromium-profile");

    // The DOM as Chromium parsed it: the pair heading and highlighted word spans.
    let Some(dom) = chromium(&profile, &["--dump-dom", &url]) else {
        return;
    };
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(
            "<span class=\"h\">John Stanistreet</span> → <span class=\"t\">Bendigo</span>"
        ),
        "{dom}"
    );
    let spans = dom.matches("class=\"tok\"").count();
    assert!(spans > 0, "no highlighted token in the rendered DOM: {dom}");

    // The page as drawn: the strongest tokens of the first pair are visibly orange on the
    // first screen, beside dark text.
    let shot = dir.path().join("page.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    let drawn = chromium(&profile, &[&shot_arg, "--window-size=1200,1600", &url]).unwrap();
    assert!(
        drawn.status.success() && shot.is_file(),
        "{}",
        String::from_utf8_lossy(&drawn.stderr)
    );
    let (highlight, text) = highlight_and_text_pixels(&shot);
    assert!(text > 1000, "no text drawn ({text} dark pixels)");
    // The legend shows the highlight colour too: the same page cut after the legend measures
    // its share, so that what is counted is the document's highlighted words.
    let page = std::fs::read_to_string(&html).unwrap();
    let legend_end = page.find("</div>").expect("a legend") + "</div>".len();
    let legend_page = dir.path().join("legend.html");
    std::fs::write(
        &legend_page,
        format!("{}</body></html>", &page[..legend_end]),
    )
    .unwrap();
    let legend_shot = dir.path().join("legend.png");
    let legend_arg = format!("--screenshot={}", legend_shot.display());
    let legend_url = format!("file://{}", legend_page.display());
    let drawn = chromium(
        &profile,
        &[&legend_arg, "--window-size=1200,1600", &legend_url],
    )
    .unwrap();
    assert!(drawn.status.success() && legend_shot.is_file());
    let (legend_highlight, _) = highlight_and_text_pixels(&legend_shot);
    assert!(legend_highlight > 0, "the legend shows no highlight colour");
    // One highlighted word of body text is about 30 x 18 pixels.
    assert!(
        highlight >= legend_highlight + 200,
        "highlighted tokens are not visible: {highlight} pixels in the highlight colour, \
         {legend_highlight} of them in the legend"
    );
}

#[test]
fn nothing_predicted_and_missing_output_folders_fail_before_any_work() {
    let Some(run) = smoke_run() else { return };
    let run = run.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A DocRED file named `.jsonl` is read as JSON lines: every line is skipped.
    let misnamed = dir.path().join("docs.jsonl");
    std::fs::write(
        &misnamed,
        serde_json::to_string_pretty(&dev_documents(8..10)).unwrap(),
    )
    .unwrap();
    let out = atlop(&[
        "predict",
        "--run",
        run,
        "--input",
        misnamed.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("none of the") && stderr.contains("--format"),
        "{stderr}"
    );

    let output = dir.path().join("missing/preds.json");
    let input = dev_file();
    let out = atlop(&[
        "predict",
        "--run",
        run,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(
        !stderr.contains("documents predicted"),
        "checked first: {stderr}"
    );

    // Document slices are never clamped or reversed silently.
    for docs in ["10..5", "5..5", "0..99999"] {
        let out = atlop(&[
            "evaluate",
            "--run",
            run,
            "--data",
            input.to_str().unwrap(),
            "--docs",
            docs,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--docs {docs}: {stderr}");
        assert!(
            stderr.contains("error:") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

/// `atlop evaluate` of a run folder on the smoke run's dev documents (8..12).
fn evaluate_dev_slice(run: &Path) -> std::process::Output {
    let input = dev_file();
    atlop(&[
        "evaluate",
        "--run",
        run.to_str().unwrap(),
        "--data",
        input.to_str().unwrap(),
        "--docs",
        "8..12",
    ])
}

#[test]
fn an_edited_run_folder_is_an_error_naming_what_disagrees() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let edits = [
        ("config.toml", "block_size = 32", "block_size = 16"),
        (
            "config.toml",
            "localized_context = true",
            "localized_context = false",
        ),
        (
            "encoder/config.json",
            "\"num_hidden_layers\": 6",
            "\"num_hidden_layers\": 5",
        ),
    ];
    for (i, (file, from, to)) in edits.iter().enumerate() {
        let edited = dir.path().join(format!("run-{i}"));
        copy_dir(run, &edited);
        let path = edited.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} lacks {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let out = evaluate_dev_slice(&edited);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{to}: {stderr}");
        assert!(stderr.contains("edited after training"), "{to}: {stderr}");
        assert!(!stderr.contains("panicked"), "{to}: {stderr}");
    }
}

#[test]
fn evaluate_prints_a_summary_first_and_keeps_the_report_in_the_run_folder() {
    let Some(run) = smoke_run() else { return };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("run");
    copy_dir(run, &copy);
    let out = evaluate_dev_slice(&copy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("F1 ") && first.contains("| Ign F1 ") && first.contains("recall"),
        "{first}"
    );
    let saved = copy.join("evaluations/dev_revised-8-12.json");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert!(report["f1_pct"].as_f64().is_some(), "{report}");
    // One unit: the summary's F1 (percent) is the report's `f1_pct`.
    let summary_f1: f64 = first["F1 ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((summary_f1 - report["f1_pct"].as_f64().unwrap()).abs() < 0.006);
    // Per relation: keyed by the data's code and rel_info.json's name, scores in percent.
    let relations = report["docred"]["per_relation"].as_array().unwrap();
    assert!(!relations.is_empty(), "{report}");
    for r in relations {
        let code = r["code"].as_str().unwrap();
        assert!(code.starts_with('P'), "{r}");
        assert!(!r["name"].as_str().unwrap().is_empty(), "{r}");
        assert!(r["scores"]["f1_pct"].as_f64().is_some(), "{r}");
    }
    assert!(
        relations
            .iter()
            .any(|r| r["code"] == "P17" && r["name"] == "country")
            || relations.iter().all(|r| r["code"] != "P17"),
        "{report}"
    );
}
