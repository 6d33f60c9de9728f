use super::*;
use crate::decision::{Strategy, Thresholds, Tuned};

fn report(f1: f64) -> SetReport {
    SetReport {
        f1,
        ign_f1: None,
        decision: Tuned {
            strategy: Strategy::Adaptive { top_k: 1 },
            thresholds: Thresholds::None,
            dev: None,
        },
        docred: None,
        bio: None,
    }
}

/// Writes epoch `e`'s dev report and the three checkpoint files, as a run does.
fn finish_epoch(folder: &RunFolder, epoch: usize, f1: f64) {
    let reports = DevReports {
        dir: folder.dev_reports(),
    };
    std::fs::create_dir_all(&reports.dir).unwrap();
    std::fs::write(
        reports.path(epoch),
        serde_json::to_string(&report(f1)).unwrap(),
    )
    .unwrap();
    for c in CHECKPOINT_COMPONENTS {
        let p = checkpoint_path(&folder.path, c, epoch);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{c} of epoch {epoch}")).unwrap();
    }
}

/// What burn's checkpointer does with the actions (model file saved first, then deletes).
fn apply(folder: &RunFolder, best: &BestModel, epoch: usize, actions: &[CheckpointingAction]) {
    for action in actions {
        match action {
            CheckpointingAction::Save => best
                .model_saved(&checkpoint_path(&folder.path, "model", epoch))
                .unwrap(),
            CheckpointingAction::Delete(e) => {
                for c in CHECKPOINT_COMPONENTS {
                    std::fs::remove_file(checkpoint_path(&folder.path, c, *e)).unwrap();
                }
            }
        }
    }
}

fn kept_epochs(folder: &RunFolder) -> Vec<usize> {
    let mut epochs: Vec<usize> = (1..=40)
        .filter(|&e| checkpoint_path(&folder.path, "model", e).is_file())
        .collect();
    epochs.sort_unstable();
    epochs
}

fn best_model_text(folder: &RunFolder) -> String {
    std::fs::read_to_string(folder.best_model().with_extension("mpk")).unwrap()
}

#[test]
fn keeps_the_best_and_the_last_across_resumes_and_publishes_best_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(Some(dir.path()), "x").unwrap();
    // Dev F1 per epoch: the best is epoch 3, then a tie at epoch 5 (the earliest wins).
    let f1 = [0.1, 0.3, 0.5, 0.4, 0.5, 0.2, 0.45];
    let run = |from: usize, to: usize| {
        let best = BestModel::open(&folder, from).unwrap();
        let mut strategy = KeepBestAndLast::new(best.clone(), from).unwrap();
        for epoch in from + 1..=to {
            finish_epoch(&folder, epoch, f1[epoch - 1]);
            let actions = strategy.decide(epoch);
            apply(&folder, &best, epoch, &actions);
            let best_epoch = best.best().unwrap().epoch;
            let mut expect = vec![best_epoch, epoch];
            expect.sort_unstable();
            expect.dedup();
            assert_eq!(kept_epochs(&folder), expect, "after epoch {epoch}");
            assert_eq!(
                best_model_text(&folder),
                format!("model of epoch {best_epoch}"),
                "best/ after epoch {epoch}"
            );
        }
    };
    run(0, 2);
    // A resume: the strategy remembers epoch 2 as the best from the reports.
    run(2, 4);
    // Epoch 5's report exists but its checkpoint never completed: it is not the best.
    finish_epoch(&folder, 5, 0.9);
    for c in CHECKPOINT_COMPONENTS {
        std::fs::remove_file(checkpoint_path(&folder.path, c, 5)).unwrap();
    }
    run(4, 7);
    let selected = read_selected(&folder).unwrap().unwrap();
    assert_eq!(
        selected,
        Selected {
            epoch: 3,
            dev_f1: 0.5
        }
    );
    assert_eq!(folder.read_best_report().unwrap().f1, 0.5);
}

#[test]
fn resume_prunes_checkpoints_left_by_older_runs() {
    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(Some(dir.path()), "x").unwrap();
    for (epoch, f1) in [(1, 0.2), (3, 0.6), (4, 0.1), (29, 0.3), (30, 0.4)] {
        finish_epoch(&folder, epoch, f1);
    }
    let best = BestModel::open(&folder, 30).unwrap();
    assert_eq!(best.best().unwrap().epoch, 3);
    KeepBestAndLast::new(best.clone(), 30).unwrap();
    assert_eq!(kept_epochs(&folder), vec![3, 30]);
    // An older folder without `best/`: published from the kept checkpoint.
    assert_eq!(best.ensure_published().unwrap().epoch, 3);
    assert_eq!(best_model_text(&folder), "model of epoch 3");
}

#[test]
fn an_interrupted_swap_of_best_is_finished_or_undone() {
    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(Some(dir.path()), "x").unwrap();
    finish_epoch(&folder, 1, 0.2);
    let best = BestModel::open(&folder, 1).unwrap();
    best.ensure_published().unwrap();
    // Killed after `best/` was renamed away and before `best.new/` took its place.
    std::fs::rename(folder.best_dir(), retired_dir(&folder)).unwrap();
    recover_best_dir(&folder).unwrap();
    assert_eq!(best_model_text(&folder), "model of epoch 1");
    // Killed while `best.new/` was half written: `best/` stays, the leftover goes.
    std::fs::create_dir_all(staging_dir(&folder)).unwrap();
    std::fs::write(staging_dir(&folder).join("model.mpk"), "").unwrap();
    recover_best_dir(&folder).unwrap();
    assert!(!staging_dir(&folder).exists());
    assert_eq!(best_model_text(&folder), "model of epoch 1");
}
