//! `atlop bench ...`: benchmarks of the model's parts, with the settings printed beside the times.

use clap::Subcommand;

use atlop::bench::head::{bench_head, HeadBenchConfig};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Forward + backward of the ATLOP head (AT loss included) for a DocRED-sized document.
    Head {
        /// Entities in the document (all ordered pairs are classified).
        #[arg(long, default_value_t = 19)]
        entities: usize,
        /// Encoder hidden size (768 for BERT-base).
        #[arg(long, default_value_t = 768)]
        hidden: usize,
        /// Extractor output size (the paper's 768).
        #[arg(long, default_value_t = 768)]
        emb: usize,
        #[arg(long, default_value_t = 64)]
        block: usize,
        #[arg(long, default_value_t = 7)]
        iterations: usize,
    },
}

pub fn run(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Head {
            entities,
            hidden,
            emb,
            block,
            iterations,
        } => {
            let config = HeadBenchConfig::new()
                .with_entities(entities)
                .with_hidden_size(hidden)
                .with_emb_size(emb)
                .with_block_size(block)
                .with_iterations(iterations);
            let report = bench_head(config)?;
            println!("{report}");
        }
    }
    Ok(())
}
