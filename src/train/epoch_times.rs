//! The wall time of each epoch of a run folder, from the stamps in its `metrics.jsonl`, across
//! restarts.
//!
//! A run may be trained by several processes: an interrupted one resumes from its last epoch
//! checkpoint, and the epoch that was in progress is trained again. The time of the last process
//! alone undercounts such a run, and the span from the first stamp to the last counts the hours a
//! machine sat idle between two processes. So each process stamps its start (a `start` line with
//! the epoch it trains first, written by [`super::metrics_log::JsonlRenderer::new`]) and each epoch
//! ends with its dev pass's `valid` line: an epoch began at its own process's start stamp, else at
//! the previous epoch's `valid` stamp. An epoch's time then includes the set-up of a process that
//! began with it and the checkpoint writes before it, never idle time between processes, and
//! never an interrupted epoch (a resume drops its lines, start stamp included).

use std::collections::BTreeMap;

/// The `split` of a process's start stamp.
pub const START_SPLIT: &str = "start";

/// Seconds of each epoch that has both ends stamped, by epoch. An epoch whose start is unknown
/// (trained before the folder's first start stamp, by a binary that did not write them) is
/// absent.
pub fn epoch_seconds(metrics_jsonl: &str) -> BTreeMap<usize, f64> {
    let mut starts: BTreeMap<usize, f64> = BTreeMap::new();
    let mut ends: BTreeMap<usize, f64> = BTreeMap::new();
    for line in metrics_jsonl.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(epoch), Some(t)) = (v["epoch"].as_u64(), v["unix_seconds"].as_f64()) else {
            continue;
        };
        let epoch = epoch as usize;
        match v["split"].as_str() {
            // The latest wins: a later process supersedes one that left no line of this epoch.
            Some(START_SPLIT) => {
                starts
                    .entry(epoch)
                    .and_modify(|s| *s = s.max(t))
                    .or_insert(t);
            }
            Some("valid") => {
                ends.insert(epoch, t);
            }
            _ => {}
        }
    }
    // The previous dev pass marks an epoch's start only where processes stamped their starts
    // (a start stamp at or before that epoch): before that, a restart left no trace, and the
    // previous dev pass may belong to a process that ended hours earlier.
    let stamped_from = starts.keys().next().copied().unwrap_or(usize::MAX);
    ends.iter()
        .filter_map(|(&epoch, &end)| {
            let previous = ends
                .get(&(epoch.wrapping_sub(1)))
                .filter(|_| epoch > stamped_from);
            let begin = match (starts.get(&epoch), previous) {
                (Some(&s), Some(&previous)) => s.max(previous),
                (Some(&s), None) => s,
                (None, Some(&previous)) => previous,
                (None, None) => return None,
            };
            Some((epoch, (end - begin).max(0.0)))
        })
        .collect()
}

/// The summed time of epochs `1..=epochs` of [`epoch_seconds`]' `times`, or `None` when any of
/// them is not timed.
pub fn total_seconds(times: &BTreeMap<usize, f64>, epochs: usize) -> Option<f64> {
    (1..=epochs)
        .map(|e| times.get(&e).copied())
        .sum::<Option<f64>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(split: &str, epoch: usize, t: f64) -> String {
        format!(r#"{{"split":"{split}","epoch":{epoch},"unix_seconds":{t},"metrics":{{}}}}"#)
    }

    #[test]
    fn an_epoch_runs_from_the_previous_dev_pass_or_its_process_start() {
        // Process A: epochs 1-2, then killed in epoch 3 (its lines dropped on resume). The
        // machine sat idle for 10 000 s. Process B starts at epoch 3.
        let text = [
            line("start", 1, 100.0),
            line("train", 1, 105.0),
            line("valid", 1, 160.0),
            line("train", 2, 170.0),
            line("valid", 2, 230.0),
            line("start", 3, 10_000.0),
            line("train", 3, 10_010.0),
            line("valid", 3, 10_065.0),
        ]
        .join("\n");
        let times = epoch_seconds(&text);
        assert_eq!(times.get(&1), Some(&60.0));
        assert_eq!(times.get(&2), Some(&70.0));
        assert_eq!(times.get(&3), Some(&65.0));
        assert_eq!(total_seconds(&times, 3), Some(195.0));
        // An epoch without its dev pass is not timed, so neither is the whole run.
        assert_eq!(total_seconds(&times, 4), None);
    }

    #[test]
    fn epochs_before_the_first_start_stamp_are_not_timed() {
        // Epochs 1-2 by a binary that did not stamp starts (it may have restarted unseen), then
        // a stamping process from epoch 3.
        let text = [
            line("train", 1, 5.0),
            line("valid", 1, 60.0),
            line("valid", 2, 130.0),
            line("start", 3, 5_000.0),
            line("valid", 3, 5_070.0),
            line("valid", 4, 5_130.0),
        ]
        .join("\n");
        let times = epoch_seconds(&text);
        assert_eq!(times.get(&1), None);
        assert_eq!(times.get(&2), None);
        assert_eq!(times.get(&3), Some(&70.0));
        assert_eq!(times.get(&4), Some(&60.0));
        assert_eq!(total_seconds(&times, 4), None);
        assert!(epoch_seconds(&text[..text.find("start").unwrap()]).is_empty());
    }
}
