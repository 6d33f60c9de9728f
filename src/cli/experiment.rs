//! `atlop experiment <name>`: the rows of one of the paper's tables (or all), from the
//! definitions in `experiments/`: prints the plan, then trains what is missing and writes the
//! tables (or, with `--dry-run`, estimates the time).

use std::path::PathBuf;

use atlop::experiment::{estimate, render, run_experiment, Definitions, ExperimentOptions, TABLES};

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
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Print the plan and its estimated time, run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Retrain models that are already finished.
    #[arg(long)]
    pub force: bool,
    /// Folder of the experiments' run folders.
    #[arg(long, default_value = "runs/experiments")]
    pub runs_dir: PathBuf,
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
        force: args.force,
        runs_dir: args.runs_dir,
        results_dir: args.results_dir,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let device = Default::default();
    #[cfg(feature = "cuda")]
    type B = atlop::backend::CudaAutodiff;
    #[cfg(not(feature = "cuda"))]
    type B = atlop::backend::CpuAutodiff;
    if args.dry_run {
        println!("{}", estimate::<B>(&defs, &tables, &options, &device)?);
        return Ok(());
    }
    run_experiment::<B>(&defs, &tables, &options, &device)?;
    Ok(())
}
