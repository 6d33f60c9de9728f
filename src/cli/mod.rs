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
        /// The run folder (`atlop train` output); its best model and dev thresholds are used.
        #[arg(long)]
        run: PathBuf,
        /// A DocRED/Re-DocRED `.json` or CDR/GDA `.data` file of the run's dataset.
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every flag and argument of every subcommand, as `atlop <path> --<flag>`, with its help.
    fn arguments(command: &clap::Command, path: &str, out: &mut Vec<(String, bool)>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            out.push((format!("{path} {id}"), arg.get_help().is_some()));
        }
        for sub in command.get_subcommands() {
            arguments(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_help_text() {
        Cli::command().debug_assert();
        let mut all = Vec::new();
        arguments(&Cli::command(), "atlop", &mut all);
        assert!(all.len() > 40, "{all:?}");
        let missing: Vec<&String> = all
            .iter()
            .filter(|(_, help)| !help)
            .map(|(a, _)| a)
            .collect();
        assert!(missing.is_empty(), "flags without help text: {missing:?}");
    }

    #[test]
    fn output_flags_answer_to_both_spellings() {
        for line in [
            "atlop train --config c.toml --output runs/x",
            "atlop train --config c.toml --out runs/x",
            "atlop predict --run r --input i.json --out p.json",
            "atlop predict --run r --input i.json --output p.json",
        ] {
            let parsed = <Cli as clap::Parser>::try_parse_from(line.split(' '));
            assert!(parsed.is_ok(), "{line}: {:?}", parsed.err());
        }
    }
}
