//! Command-line definitions (clap derive) and their dispatch. Each subcommand's work lives in the
//! library; the handlers here only parse, call and print.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

mod bench;
mod data;
mod evaluate;
mod experiment;
mod predict;
mod train;

#[derive(Debug, Parser)]
#[command(
    name = "atlop",
    version,
    about = "ATLOP document-level relation extraction on burn"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a dataset file and print its statistics (the paper's Table 1).
    Data {
        /// A DocRED/Re-DocRED `.json` file or a CDR/GDA `.data` file.
        file: PathBuf,
        /// Folder with `rel2id.json`/`rel_info.json` (default: next to the file, or a sibling `docred/`).
        #[arg(long)]
        vocab: Option<PathBuf>,
        /// Encoder folder whose tokenizer measures subword lengths.
        #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
        tokenizer: PathBuf,
    },
    /// Train a model from a config file.
    Train(train::TrainArgs),
    /// Evaluate a trained run on a dataset file.
    Evaluate {
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// Also write CodaLab's `result.json` here.
        #[arg(long)]
        result_json: Option<PathBuf>,
        /// Only documents START..END of the file (as a run's `dev_docs`).
        #[arg(long, value_name = "START..END")]
        docs: Option<String>,
    },
    /// Predict relations on new documents with a trained run.
    Predict(predict::PredictArgs),
    /// Run the rows of one of the paper's tables.
    Experiment(experiment::Args),
    /// Time parts of the model (benchmarks, not tests).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExperimentName {
    Main,
    Bio,
    Ablation,
    Thresholding,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Profile {
    Paper,
    Local,
    Smoke,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data {
            file,
            vocab,
            tokenizer,
        } => data::run(&file, vocab.as_deref(), &tokenizer),
        Command::Experiment(args) => experiment::run(args),
        Command::Bench { what } => bench::run(what),
        Command::Train(args) => train::run(args),
        Command::Evaluate {
            run,
            data,
            result_json,
            docs,
        } => evaluate::run(&run, &data, result_json.as_deref(), docs.as_deref()),
        Command::Predict(args) => predict::run(&args),
    }
}
