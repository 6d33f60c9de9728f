//! `atlop train`: picks the backend (CPU; CUDA with `--features cuda`; burn-wgpu with `--features`
//! `wgpu`) and its devices, and runs.

use std::path::PathBuf;

use atlop::config::RunConfig;
use atlop::train::run::{train_on, Dashboard, TrainTarget};

/// What `atlop train` was asked to do.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The run's TOML config (e.g. `configs/local-docred.toml`).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// `key=value` overrides of the config, validated against it.
    #[arg(long = "set")]
    pub overrides: Vec<String>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Run folder (default: `runs/<name>-<timestamp>`). `--output` is the same flag.
    #[arg(long, visible_alias = "output", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Plain log lines even on a terminal (no TUI).
    #[arg(long)]
    pub plain: bool,
    /// Devices to train on, e.g. `0,1` (data parallel; the first runs the optimiser and the
    /// dev pass): CUDA devices with `--features cuda`; with `wgpu`, 0 is wgpu's default adapter
    /// and i > 0 the i-th discrete GPU. The CPU backend has one device, `0`.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub devices: Vec<usize>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let target = match (args.resume, args.config) {
        (Some(dir), _) => {
            if !args.overrides.is_empty() {
                anyhow::bail!("--set cannot change a resumed run: it continues its config.toml");
            }
            TrainTarget::Resume(dir)
        }
        (None, Some(path)) => TrainTarget::New {
            config: Box::new(RunConfig::load(&path, &args.overrides)?),
            out: args.out,
        },
        (None, None) => anyhow::bail!("give --config FILE or --resume RUN_DIR"),
    };
    let dashboard = if args.plain {
        Dashboard::Plain
    } else {
        Dashboard::Auto
    };
    if args.devices.is_empty() {
        anyhow::bail!("--devices lists no device");
    }
    let devices = args
        .devices
        .iter()
        .map(|&i| atlop::backend::device(i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--devices: {e}"))?;
    let summary = train_on::<atlop::backend::SelectedAutodiff>(target, dashboard, devices)?;
    println!(
        "finished in {:.1} s ({} iterations per epoch)",
        summary.seconds, summary.iterations_per_epoch
    );
    Ok(())
}
