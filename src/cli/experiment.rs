//! `atlop experiment <name>`: the rows of one of the paper's tables (or all), from the
//! definitions in `experiments/`.

use std::path::Path;

use atlop::experiment::{render, Definitions, TABLES};

use super::{ExperimentName, Profile};

pub fn run(
    name: ExperimentName,
    profile: Profile,
    seeds: usize,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<()> {
    let defs = Definitions::load(Path::new("experiments"))?;
    let names: Vec<&str> = match name {
        ExperimentName::All => TABLES.to_vec(),
        ExperimentName::Main => vec!["main"],
        ExperimentName::Bio => vec!["bio"],
        ExperimentName::Ablation => vec!["ablation"],
        ExperimentName::Thresholding => vec!["thresholding"],
    };
    let tables: Vec<_> = names.iter().filter_map(|n| defs.table(n)).collect();
    let profile = format!("{profile:?}").to_lowercase();
    println!("{}", render(&defs, &tables, &profile, seeds));
    if !dry_run {
        // The runner that trains the planned models and fills the tables is not part of this
        // version: say so rather than pretend (`force` will rerun finished rows once it is).
        let _ = force;
        anyhow::bail!(
            "this version prints the plan only: the experiment runner (training every planned \
             model, tables and figures in results/) is not built yet"
        );
    }
    Ok(())
}
