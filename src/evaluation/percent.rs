//! One unit for scores wherever a person reads them: percent, as the paper's tables, the
//! dashboard, `metrics.jsonl` and the committed records give them. In memory precision, recall
//! and F1 stay fractions (the math and the threshold search work on them); every file and
//! printed report says percent, with field names ending in `_pct`. Use as
//! `#[serde(rename = "f1_pct", with = "percent")]` (or `percent::option` for an `Option<f64>`).
//!
//! Files written before this (`report.json`, `dev/epoch-*.json`, `selected.json` with fraction
//! fields named `f1`, `precision`, ...) are still read: [`read_json`] renames and scales their
//! fields first, so a run trained by an older build resumes and evaluates unchanged.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

use crate::error::{AtlopError, Result};

/// A fraction as percent, exactly as the dashboard and `metrics.jsonl` compute it.
pub fn to_pct(fraction: f64) -> f64 {
    fraction * 100.0
}

/// The fraction whose percent is `pct`: `pct / 100`, or its neighbour when that one's `* 100`
/// is an ulp off, so that a score read and written again is the same number.
pub fn from_pct(pct: f64) -> f64 {
    let fraction = pct / 100.0;
    [fraction, fraction.next_down(), fraction.next_up()]
        .into_iter()
        .find(|f| to_pct(*f) == pct)
        .unwrap_or(fraction)
}

pub fn serialize<S: Serializer>(fraction: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(to_pct(*fraction))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    f64::deserialize(d).map(from_pct)
}

/// The same for an optional score (`null` when there is none).
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        fraction: &Option<f64>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match fraction {
            Some(f) => s.serialize_some(&super::to_pct(*f)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<f64>, D::Error> {
        Option::<f64>::deserialize(d).map(|v| v.map(super::from_pct))
    }
}

/// The score fields older builds wrote as fractions, without a unit in their names.
const FRACTION_FIELDS: [&str; 6] = [
    "precision",
    "recall",
    "f1",
    "ign_precision",
    "ign_f1",
    "dev_f1",
];

/// Rewrites the fraction fields of an older file as `_pct` fields, at every depth.
fn migrate_fractions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for name in FRACTION_FIELDS {
                if let Some(old) = map.remove(name) {
                    let pct = match old {
                        Value::Number(n) => n
                            .as_f64()
                            .and_then(|f| serde_json::Number::from_f64(to_pct(f)))
                            .map_or(Value::Null, Value::Number),
                        other => other,
                    };
                    map.insert(format!("{name}_pct"), pct);
                }
            }
            map.values_mut().for_each(migrate_fractions);
        }
        Value::Array(items) => items.iter_mut().for_each(migrate_fractions),
        _ => {}
    }
}

/// Reads a JSON file of scores, from this build or an older one.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| AtlopError::io(path, e))?;
    let json_error = |source| AtlopError::Json {
        path: path.to_path_buf(),
        source,
    };
    let mut value: Value = serde_json::from_str(&text).map_err(json_error)?;
    migrate_fractions(&mut value);
    serde_json::from_value(value).map_err(json_error)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Scores {
        #[serde(rename = "f1_pct", with = "super")]
        f1: f64,
        #[serde(rename = "ign_f1_pct", with = "super::option")]
        ign_f1: Option<f64>,
        inner: Vec<Inner>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        #[serde(rename = "recall_pct", with = "super")]
        recall: f64,
        gold: usize,
    }

    #[test]
    fn scores_are_fractions_in_memory_and_percent_on_disk() {
        let scores = Scores {
            f1: 0.5,
            ign_f1: Some(0.25),
            inner: vec![Inner {
                recall: 0.125,
                gold: 8,
            }],
        };
        let json = serde_json::to_value(&scores).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"f1_pct": 50.0, "ign_f1_pct": 25.0,
                               "inner": [{"recall_pct": 12.5, "gold": 8}]})
        );
        let back: Scores = serde_json::from_value(json).unwrap();
        assert_eq!(back, scores);
    }

    #[test]
    fn a_score_read_back_and_written_again_is_the_same_number() {
        // Every score on disk is `to_pct` of a fraction: the F1s of up to 2000 facts, say.
        for gold in 1..=2000u32 {
            for correct in [0, 1, gold / 3, gold / 2, gold.saturating_sub(1), gold] {
                let fraction = f64::from(correct) / f64::from(gold);
                let pct = to_pct(fraction);
                assert_eq!(to_pct(from_pct(pct)), pct, "{correct}/{gold}");
                let f1 = 2.0 * fraction / (1.0 + fraction);
                assert_eq!(to_pct(from_pct(to_pct(f1))), to_pct(f1), "{f1}");
            }
        }
    }

    #[test]
    fn files_of_older_builds_with_fractions_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.json");
        std::fs::write(
            &old,
            r#"{"f1": 0.5, "ign_f1": null, "inner": [{"recall": 0.125, "gold": 8}]}"#,
        )
        .unwrap();
        let new = dir.path().join("new.json");
        std::fs::write(
            &new,
            r#"{"f1_pct": 50.0, "ign_f1_pct": null, "inner": [{"recall_pct": 12.5, "gold": 8}]}"#,
        )
        .unwrap();
        let expected = Scores {
            f1: 0.5,
            ign_f1: None,
            inner: vec![Inner {
                recall: 0.125,
                gold: 8,
            }],
        };
        assert_eq!(read_json::<Scores>(&old).unwrap(), expected);
        assert_eq!(read_json::<Scores>(&new).unwrap(), expected);
        let err = read_json::<Scores>(&dir.path().join("absent.json")).unwrap_err();
        assert!(err.to_string().contains("absent.json"), "{err}");
    }
}
