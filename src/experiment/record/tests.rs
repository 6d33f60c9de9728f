use super::*;

pub(crate) fn sample() -> ModelRecord {
    let scores = SplitScores {
        f1_pct: 50.0,
        precision_pct: 60.0,
        recall_pct: 42.857,
        ign_f1_pct: Some(48.0),
        intra_f1_pct: Some(55.0),
        inter_f1_pct: Some(40.0),
    };
    ModelRecord {
        format: RECORD_FORMAT,
        profile: "local".into(),
        dataset: "docred".into(),
        variant: "atlop".into(),
        encoder_override: None,
        seed: 66,
        config_hash: "abc".into(),
        best_epoch: 2,
        epochs: vec![EpochPoint {
            epoch: 1,
            train_loss: Some(0.5),
            dev_f1_pct: Some(40.0),
            seconds: Some(61.5),
        }],
        decisions: vec![DecisionScores {
            strategy: Strategy::PerClass { top_k: 0 },
            thresholds: Thresholds::PerClass(vec![0.0, 0.25, 0.125]),
            dev: scores,
            test: Some(SplitScores {
                f1_pct: 45.5,
                ..scores
            }),
            dev_by_entities: vec![BucketScore {
                min_entities: 31,
                max_entities: None,
                documents: 3,
                f1_pct: 33.3,
            }],
        }],
        provenance: RecordProvenance {
            git_commit: Some("0123".into()),
            encoder_source: "models/all-MiniLM-L6-v2".into(),
            data: vec![],
            backend: "CPU (burn-flex, f32)".into(),
            cpu: "test CPU".into(),
            threads: 2,
            training_seconds: 10.0,
            steps: 5,
            epochs: 1,
            finished_unix: 0,
            finished_utc: timestamp(0),
        },
    }
}

#[test]
fn records_round_trip_and_answer_columns() {
    let dir = tempfile::tempdir().unwrap();
    let key = RecordKey {
        profile: "local",
        dataset: "docred",
        variant: "atlop",
        encoder_override: None,
        seed: 66,
    };
    let path = record_path(dir.path(), &key);
    assert!(path.ends_with("local/docred/atlop-seed66.json"));
    assert_eq!(ModelRecord::read(&path).unwrap(), None);
    let record = sample();
    record.write(&path).unwrap();
    assert_eq!(ModelRecord::read(&path).unwrap(), Some(record.clone()));
    let per_class = Strategy::PerClass { top_k: 0 };
    assert_eq!(record.metric(&per_class, "test_f1"), Some(45.5));
    assert_eq!(record.metric(&per_class, "dev_ign_f1"), Some(48.0));
    assert_eq!(
        record.metric(&Strategy::Global { top_k: 0 }, "dev_f1"),
        None
    );

    let mut other = record;
    other.format = RECORD_FORMAT + 1;
    other.write(&path).unwrap();
    let err = ModelRecord::read(&path).unwrap_err().to_string();
    assert!(err.contains("record format"), "{err}");
}

#[test]
fn typical_time_is_the_fastest_epoch_when_most_epochs_are_timed() {
    let mut record = sample();
    let epoch = |epoch, seconds| EpochPoint {
        epoch,
        train_loss: None,
        dev_f1_pct: None,
        seconds,
    };
    // Four epochs, one of them paused for 10 minutes: the fastest epoch, not the sum.
    record.epochs = vec![
        epoch(1, Some(60.0)),
        epoch(2, Some(660.0)),
        epoch(3, Some(62.0)),
        epoch(4, Some(64.0)),
    ];
    record.provenance.training_seconds = 846.0;
    assert_eq!(record.typical_seconds(), 4.0 * 60.0);
    // Fewer than half timed (a run begun before the stamps): the measured time.
    record.epochs[1].seconds = None;
    record.epochs[2].seconds = None;
    record.epochs[3].seconds = None;
    assert_eq!(record.typical_seconds(), 846.0);
}
