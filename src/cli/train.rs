//! `atlop train`: picks the backend (CPU, or CUDA with `--features cuda`) and runs.

use std::path::PathBuf;

use atlop::config::RunConfig;
use atlop::train::run::{train, Dashboard, TrainTarget};

pub fn run(
    config: Option<PathBuf>,
    overrides: &[String],
    resume: Option<PathBuf>,
    out: Option<PathBuf>,
    plain: bool,
) -> anyhow::Result<()> {
    let target = match (resume, config) {
        (Some(dir), _) => {
            if !overrides.is_empty() {
                anyhow::bail!("--set cannot change a resumed run: it continues its config.toml");
            }
            TrainTarget::Resume(dir)
        }
        (None, Some(path)) => TrainTarget::New {
            config: Box::new(RunConfig::load(&path, overrides)?),
            out,
        },
        (None, None) => anyhow::bail!("give --config FILE or --resume RUN_DIR"),
    };
    let dashboard = if plain {
        Dashboard::Plain
    } else {
        Dashboard::Auto
    };
    #[cfg(feature = "cuda")]
    let summary = train::<atlop::backend::CudaAutodiff>(target, dashboard, Default::default())?;
    #[cfg(not(feature = "cuda"))]
    let summary = train::<atlop::backend::CpuAutodiff>(target, dashboard, Default::default())?;
    println!(
        "finished in {:.1} s ({} iterations per epoch)",
        summary.seconds, summary.iterations_per_epoch
    );
    Ok(())
}
