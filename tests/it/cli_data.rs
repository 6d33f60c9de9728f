//! `atlop data <file>` as a user runs it: the statistics table for a real file, and a clear
//! error (non-zero exit, file/document/field named) for a malformed one.

use std::path::Path;
use std::process::Command;

const DEV: &str = "../shared/data/redocred/dev_revised.json";

fn atlop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_atlop"))
}

#[test]
fn prints_table_one_for_redocred_dev() {
    if !Path::new(DEV).exists() {
        eprintln!("skipped: {DEV} is absent (the shared data folder is not beside the repo)");
        return;
    }
    let out = atlop().args(["data", DEV]).output().expect("run atlop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| documents | 500 |",
        "| facts | 17284 |",
        "documents over 512 tokens",
    ] {
        assert!(stdout.contains(row), "missing `{row}` in:\n{stdout}");
    }
}

#[test]
fn malformed_file_fails_naming_document_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vocab = dir.path().join("rel2id.json");
    std::fs::write(&vocab, r#"{"Na": 0, "P17": 1}"#).expect("write vocab");
    let file = dir.path().join("bad.json");
    let doc = r#"[{"title": "Broken", "sents": [["A", "b", "."]],
        "vertexSet": [[{"name": "A", "pos": [0, 9], "sent_id": 0, "type": "LOC"}]], "labels": []}]"#;
    std::fs::write(&file, doc).expect("write doc");
    let out = atlop()
        .args([
            "data",
            file.to_str().unwrap(),
            "--vocab",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .expect("run atlop");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert!(stderr.contains("Broken"), "{stderr}");
    assert!(stderr.contains("pos"), "{stderr}");
}
