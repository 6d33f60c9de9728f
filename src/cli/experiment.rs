//! `atlop experiment <name>`: the rows of one of the paper's tables (or all), from the
//! definitions in `experiments/`: prints the plan and where each model stands, writes the tables
//! from the committed model records, and with `--train` continues the campaign (or, with
//! `--dry-run`, estimates the time left).

use std::path::PathBuf;

use atlop::experiment::{
    default_runs_dir, estimate, render, run_experiment, Definitions, ExperimentOptions, TABLES,
};

use super::{ExperimentName, Profile};

/// What `atlop experiment` was asked to do.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table: main (3), bio (4), ablation (5), thresholding (6), or all.
    #[arg(value_enum)]
    pub name: ExperimentName,
    /// `paper` (the paper's data and encoders), `local` (MiniLM, the data here) or `smoke`.
    #[arg(long, value_enum, default_value = "local")]
    pub profile: Profile,
    /// Seeds per model (the base seed, +1, ...); cells are mean ± std over them.
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// Train the models that are not finished, one after another (resumable: a stopped
    /// campaign continues where it stopped). Without it nothing is trained.
    #[arg(long)]
    pub train: bool,
    /// Print the plan and its estimated remaining time (may train a throw-away calibration
    /// model for a few steps), run nothing.
    #[arg(long, conflicts_with = "train")]
    pub dry_run: bool,
    /// Retrain models that are already finished.
    #[arg(long, requires = "train")]
    pub force: bool,
    /// Folder of the run folders (default: $ATLOP_RUNS, else ~/.cache/atlop/runs).
    #[arg(long)]
    pub runs_dir: Option<PathBuf>,
    /// Folder of the finished models' records.
    #[arg(long, default_value = "results/models")]
    pub records_dir: PathBuf,
    /// Folder the tables are written to.
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let defs = Definitions::load(std::path::Path::new("experiments"))?;
    let names: Vec<&str> = match args.name {
        ExperimentName::All => TABLES.to_vec(),
        ExperimentName::Main => vec!["main"],
        ExperimentName::Bio => vec!["bio"],
        ExperimentName::Ablation => vec!["ablation"],
        ExperimentName::Thresholding => vec!["thresholding"],
    };
    let tables: Vec<_> = names.iter().filter_map(|n| defs.table(n)).collect();
    let profile = match args.profile {
        Profile::Paper => atlop::experiment::Profile::Paper,
        Profile::Local => atlop::experiment::Profile::Local,
        Profile::Smoke => atlop::experiment::Profile::Smoke,
    };
    println!("{}", render(&defs, &tables, profile.name(), args.seeds));
    let options = ExperimentOptions {
        profile,
        seeds: args.seeds,
        train: args.train,
        force: args.force,
        runs_dir: args.runs_dir.unwrap_or_else(default_runs_dir),
        records_dir: args.records_dir,
        results_dir: args.results_dir,
        // The same for `all` and each table: the tables it writes are the same.
        command: format!(
            "cargo run --release -- experiment <table> --profile {} --seeds {}",
            profile.name(),
            args.seeds
        ),
    };
    let device = atlop::backend::default_device()?;
    type B = atlop::backend::SelectedAutodiff;
    if args.dry_run {
        println!("{}", estimate::<B>(&defs, &tables, &options, &device)?);
        return Ok(());
    }
    run_experiment::<B>(&defs, &tables, &options, &device)?;
    Ok(())
}
