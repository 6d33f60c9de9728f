//! The dashboard on the real terminal: raw mode and the alternate screen while training,
//! restored on every way out, and the keys that stop the run.

use std::io::Stdout;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::{Interrupter, LearnerSummary};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{event, execute, terminal};
use ratatui::Terminal;

use super::state::{DashboardInfo, DashboardState};
use crate::train::renderer::is_last;

/// The dashboard at most this often, so drawing never slows a step.
const REDRAW_EVERY: Duration = Duration::from_millis(250);

/// The interrupter's message when a key of the dashboard stopped the run.
pub const KEY_STOP: &str = "stopped from the dashboard";

/// [`DashboardState`] on the real terminal (stdout).
pub struct TerminalDashboard {
    state: DashboardState,
    terminal: Option<Terminal<CrosstermBackend<Stdout>>>,
    interrupter: Interrupter,
    last_draw: Option<Instant>,
    /// The panic hook before the dashboard's, put back by [`TerminalDashboard::close`].
    previous_hook: Option<Arc<PanicHook>>,
}

/// A panic hook, as `std::panic::take_hook` returns it.
type PanicHook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static;

impl TerminalDashboard {
    /// Takes over the terminal (raw mode, alternate screen). `None` when it cannot, in which
    /// case the caller prints plain lines instead.
    pub fn open(info: DashboardInfo, interrupter: Interrupter) -> Option<Self> {
        terminal::enable_raw_mode().ok()?;
        let mut stdout = std::io::stdout();
        if execute!(stdout, terminal::EnterAlternateScreen).is_err() {
            let _ = terminal::disable_raw_mode();
            return None;
        }
        let Ok(terminal) = Terminal::new(CrosstermBackend::new(stdout)) else {
            restore_terminal();
            return None;
        };
        // A panic elsewhere must not leave the terminal raw and its message unseen; the hook
        // that was there comes back when the dashboard closes.
        let previous: Arc<PanicHook> = Arc::from(std::panic::take_hook());
        let chained = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            chained(info);
        }));
        Some(Self {
            state: DashboardState::new(info),
            terminal: Some(terminal),
            interrupter,
            last_draw: None,
            previous_hook: Some(previous),
        })
    }

    /// Reads the keys typed since the last call; a stop key stops the run after its step.
    fn read_keys(&mut self) {
        while event::poll(Duration::ZERO).unwrap_or(false) {
            let Ok(event::Event::Key(key)) = event::read() else {
                continue;
            };
            let ctrl_c = key.code == event::KeyCode::Char('c')
                && key.modifiers.contains(event::KeyModifiers::CONTROL);
            if ctrl_c || matches!(key.code, event::KeyCode::Char('q') | event::KeyCode::Esc) {
                self.state.stopping = true;
                self.interrupter.stop(Some(KEY_STOP));
                self.last_draw = None;
            }
        }
    }

    fn redraw(&mut self, force: bool) {
        self.read_keys();
        if !force && self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        if let Some(terminal) = &mut self.terminal {
            let state = &self.state;
            // A frame that cannot be drawn must not stop training.
            let _ = terminal.draw(|frame| state.draw(frame));
        }
        self.last_draw = Some(Instant::now());
    }

    fn close(&mut self) {
        if let Some(mut terminal) = self.terminal.take() {
            let _ = terminal.show_cursor();
            restore_terminal();
        }
        if let Some(previous) = self.previous_hook.take() {
            // `set_hook` panics while a panic is in progress: then the chained hook stays.
            if !std::thread::panicking() {
                let _ = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| previous(info)));
            }
        }
    }
}

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(std::io::stdout(), terminal::LeaveAlternateScreen);
}

impl Drop for TerminalDashboard {
    fn drop(&mut self) {
        self.close();
    }
}

impl MetricsRendererTraining for TerminalDashboard {
    fn update_train(&mut self, state: MetricState) {
        self.state.update_train(&state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.state.update_valid(&state);
    }

    fn render_train(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        self.state.on_train(&item);
        self.redraw(false);
    }

    fn render_valid(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        self.state.on_valid(&item);
        self.redraw(is_last(&item));
    }

    fn on_train_end(
        &mut self,
        _: Option<LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        self.close();
        Ok(())
    }
}

impl MetricsRendererEvaluation for TerminalDashboard {
    fn update_test(&mut self, _: EvaluationName, state: MetricState) {
        self.state.update_valid(&state);
    }

    fn render_test(&mut self, _: EvaluationProgress, _: Vec<ProgressType>) {}
}

impl MetricsRenderer for TerminalDashboard {
    fn manual_close(&mut self) {
        self.close();
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.state.register(&definition);
    }
}
