//! The live terminal dashboard of `atlop train`, drawn with ratatui. burn-train's own TUI was
//! replaced because what a user of this field watches was hard to see in it: the dev F1 was one
//! line in a history view, invisible at 80x24, with no best-so-far, no run folder, unlabelled
//! progress bars and no ETA for the first minute. This one shows, at 80x24 and larger:
//!
//! ```text
//!  atlop train  run ~/.cache/atlop/runs/local/docred/atlop-seed66
//!  epoch 5/30 · best dev F1 57.17 at epoch 4 (adaptive (top 4)) · last 56.50
//!  [train epoch 5   123/250 docs   ETA 1m10s ]
//!  [run   4.5/30 epochs   ETA 1h40m + dev passes ]
//!  [dev   waits for the end of the epoch ]
//!  ┌Dev F1 (%) by epoch──────────────┐┌Train loss by epoch──────────────┐
//!  │        charts                   ││                                 │
//!  train Loss 0.1234 | LR encoder 4.90e-5 | ... | Docs per s 2.1
//!  dev   Dev F1 56.50 | Dev Ign F1 54.10 | Loss 0.2100
//!  q, Esc or Ctrl-C: stop (resume from the last epoch checkpoint)
//! ```
//!
//! [`DashboardState`] holds what the events said and draws on any ratatui backend (tests draw
//! it on `TestBackend` at 80x24); [`TerminalDashboard`] owns the real terminal: raw mode and the
//! alternate screen while training, restored on every way out (end, stop, error, panic), and
//! the keys that stop the run through burn's `Interrupter`.
//!
//! - [`state`]: [`DashboardState`], the events and the drawing;
//! - [`terminal`]: [`TerminalDashboard`], the terminal, the keys and burn-train's renderer traits.

pub mod state;
pub mod terminal;

pub use state::{DashboardInfo, DashboardState};
pub use terminal::{TerminalDashboard, KEY_STOP};

#[cfg(test)]
mod tests;
