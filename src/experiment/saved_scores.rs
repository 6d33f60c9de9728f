//! A trained model's logits on dev and test, saved in its run folder so every decision rule of
//! Tables 3-6 can be applied later without the model (Table 6 re-decides Table 5's models).
//!
//! `scores/<split>.json` holds the shape, `scores/<split>.f32` the values as little-endian f32
//! (a DocRED dev set is ~10^7 logits: JSON would be ten times larger). Each file is written
//! atomically ([`crate::atomic`]), so a reader never sees half a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decision::ScoreMatrix;
use crate::error::{AtlopError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Shape {
    rows: usize,
    cols: usize,
}

fn paths(run_dir: &Path, split: &str) -> (PathBuf, PathBuf) {
    let dir = run_dir.join("scores");
    (
        dir.join(format!("{split}.json")),
        dir.join(format!("{split}.f32")),
    )
}

pub use crate::atomic::write_bytes_atomically as write_atomic;

/// Saves the logits of `split` (`dev` or `test`) of the run in `run_dir`.
pub fn save(run_dir: &Path, split: &str, scores: &ScoreMatrix) -> Result<()> {
    scores.check()?;
    let (meta, values) = paths(run_dir, split);
    let dir = run_dir.join("scores");
    std::fs::create_dir_all(&dir).map_err(|e| AtlopError::io(&dir, e))?;
    let bytes: Vec<u8> = scores.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_atomic(&values, &bytes)?;
    let shape = Shape {
        rows: scores.rows,
        cols: scores.cols,
    };
    let json = serde_json::to_string(&shape).map_err(|e| AtlopError::Json {
        path: meta.clone(),
        source: e,
    })?;
    write_atomic(&meta, json.as_bytes())
}

/// The saved logits of `split`, or `None` when the run has none (no test file).
pub fn load(run_dir: &Path, split: &str) -> Result<Option<ScoreMatrix>> {
    let (meta, values) = paths(run_dir, split);
    if !meta.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&meta).map_err(|e| AtlopError::io(&meta, e))?;
    let shape: Shape = serde_json::from_str(&text).map_err(|e| AtlopError::Json {
        path: meta.clone(),
        source: e,
    })?;
    let bytes = std::fs::read(&values).map_err(|e| AtlopError::io(&values, e))?;
    if bytes.len() % 4 != 0 {
        return Err(AtlopError::Run {
            path: values,
            message: "score file length is not a multiple of 4 bytes".into(),
        });
    }
    let data = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    ScoreMatrix::new(shape.rows, shape.cols, data).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_bit_exactly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let scores = ScoreMatrix::new(2, 3, vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0, 1e-7, -0.0])
            .expect("shape");
        save(dir.path(), "dev", &scores).expect("save");
        let back = load(dir.path(), "dev").expect("load").expect("present");
        assert_eq!(back, scores);
        assert!(load(dir.path(), "test").expect("load").is_none());
    }
}
