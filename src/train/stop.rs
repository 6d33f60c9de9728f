//! Ctrl-C and SIGTERM stop a training run cleanly: the first signal asks burn's `Interrupter` to
//! stop after the current step (the epoch in progress is dropped, the last epoch checkpoint stays
//! and `atlop train` prints how to resume); a second one exits at once with status 130.
//!
//! `ctrlc` installs one process-wide handler; it forwards to the interrupter of the run in
//! progress, registered by [`on_signal`] for as long as its guard lives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use burn::train::Interrupter;

use super::latest_checkpoint;
use crate::error::AtlopError;
use crate::run_folder::RunFolder;

/// The interrupter's message when a signal stopped the run.
pub const SIGNAL_STOP: &str = "interrupted by Ctrl-C or SIGTERM";

static CURRENT: Mutex<Option<Interrupter>> = Mutex::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Unregisters the run's interrupter when dropped.
#[must_use]
pub struct SignalGuard;

impl Drop for SignalGuard {
    fn drop(&mut self) {
        *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Routes Ctrl-C / SIGTERM to `interrupter` until the guard is dropped. Where no handler can be
/// installed (another library owns the signals), signals keep their default effect.
pub fn on_signal(interrupter: &Interrupter) -> SignalGuard {
    INSTALLED.get_or_init(|| ctrlc::set_handler(handle).is_ok());
    SIGNALLED.store(false, Ordering::SeqCst);
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some(interrupter.clone());
    SignalGuard
}

fn handle() {
    let current = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match current {
        Some(interrupter) if !SIGNALLED.swap(true, Ordering::SeqCst) => {
            eprintln!(
                "\nstopping: the epoch in progress is dropped, the last checkpoint is kept \
                 (press Ctrl-C again to quit at once)"
            );
            interrupter.stop(Some(SIGNAL_STOP));
        }
        _ => std::process::exit(130),
    }
}

/// Why training stopped early, as an error: a stop the user asked for names the checkpoint to
/// resume from; anything else (a checkpoint that could not be written, a non-finite loss) is the
/// failure itself, never reported as a finished run.
pub fn stopped(folder: &RunFolder, interrupter: &Interrupter) -> AtlopError {
    let message = interrupter
        .get_message()
        .unwrap_or_else(|| "stopped for an unknown reason".into());
    let last = latest_checkpoint(&folder.path).ok().flatten();
    let resume = match last {
        Some(epoch) => format!(
            "the last complete checkpoint is epoch {epoch}; resume with: atlop train --resume {}",
            folder.path.display()
        ),
        None => "no epoch was checkpointed yet; start the run again".into(),
    };
    let user = message == super::dashboard::KEY_STOP || message == SIGNAL_STOP;
    AtlopError::Stopped {
        path: folder.path.clone(),
        message: if user {
            format!("training stopped by the user; {resume}")
        } else {
            format!("training failed: {message}; {resume}")
        },
        by_user: user,
    }
}
