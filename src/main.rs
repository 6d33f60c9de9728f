//! The `atlop` command line: a thin edge over the library. Errors become one readable message and
//! a non-zero exit status.

use clap::Parser;

mod cli;

fn main() -> std::process::ExitCode {
    // Before any tensor exists: large buffers are reused instead of faulted in every step.
    atlop::allocator::keep_freed_memory();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // A run the user stopped exits as an interrupted program does (128 + SIGINT).
            let by_user = err
                .downcast_ref::<atlop::AtlopError>()
                .is_some_and(|e| matches!(e, atlop::AtlopError::Stopped { by_user: true, .. }));
            std::process::ExitCode::from(if by_user { 130 } else { 1 })
        }
    }
}
