//! What the dashboard knows from burn-train's events, and how it draws on any ratatui backend.

use std::path::PathBuf;
use std::time::Instant;

use burn::train::metric::MetricDefinition;
use burn::train::renderer::{MetricState, TrainingProgress};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, Gauge, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use crate::plot_range::padded_range;
use crate::train::metrics::{DEV_F1, LOSS};
use crate::train::renderer::{duration, is_last, MetricBook, RunClock};

/// What the dashboard knows before the first event.
#[derive(Debug, Clone)]
pub struct DashboardInfo {
    pub run_dir: PathBuf,
    /// The decision rule the run selects its best epoch by (`Strategy::label`).
    pub rule: String,
    /// The best epoch and its dev F1 (percent) from before a resume.
    pub prior_best: Option<(usize, f64)>,
}

/// Where a progress bar stands.
#[derive(Debug, Clone, Copy, Default)]
struct Count {
    done: usize,
    total: usize,
}

impl Count {
    fn ratio(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
        }
    }
}

/// Past this many points the loss curve keeps every other one, so memory stays bounded.
pub(super) const MAX_LOSS_POINTS: usize = 4096;

/// Everything the dashboard draws, updated by the training events.
pub struct DashboardState {
    info: DashboardInfo,
    train: MetricBook,
    valid: MetricBook,
    epoch: usize,
    epochs: usize,
    batch: Count,
    /// The dev pass of the current epoch, once it started.
    dev: Option<Count>,
    clock: RunClock,
    epoch_started: Instant,
    /// (epoch + fraction done, loss) per training iteration, for the loss curve.
    pub(super) loss: Vec<(f64, f64)>,
    /// (epoch, dev F1 percent) of every finished dev pass of this session.
    dev_f1: Vec<(f64, f64)>,
    best: Option<(usize, f64)>,
    pub(super) stopping: bool,
}

impl DashboardState {
    pub fn new(info: DashboardInfo) -> Self {
        Self {
            best: info.prior_best,
            info,
            train: MetricBook::default(),
            valid: MetricBook::default(),
            epoch: 0,
            epochs: 0,
            batch: Count::default(),
            dev: None,
            clock: RunClock::new(),
            epoch_started: Instant::now(),
            loss: Vec::new(),
            dev_f1: Vec::new(),
            stopping: false,
        }
    }

    pub fn register(&mut self, definition: &MetricDefinition) {
        self.train.register(definition);
        self.valid.register(definition);
    }

    pub fn update_train(&mut self, state: &MetricState) {
        self.train.update(state);
    }

    pub fn update_valid(&mut self, state: &MetricState) {
        self.valid.update(state);
    }

    /// A training iteration finished (its metrics came first through `update_train`).
    pub fn on_train(&mut self, item: &TrainingProgress) {
        let epoch = item.global_progress.items_processed;
        if epoch != self.epoch {
            self.epoch = epoch;
            self.epoch_started = Instant::now();
            self.dev = None;
        }
        self.epochs = item.global_progress.items_total;
        if let Some(p) = &item.progress {
            self.batch = Count {
                done: p.items_processed,
                total: p.items_total,
            };
        }
        self.clock.observe(item);
        if let Some(&loss) = self.train.values.get(LOSS) {
            let x = epoch.saturating_sub(1) as f64 + self.batch.ratio();
            self.loss.push((x, loss));
            if self.loss.len() > MAX_LOSS_POINTS {
                self.loss = self.loss.iter().step_by(2).copied().collect();
            }
        }
    }

    /// A dev batch finished; the last one carries the epoch's dev F1.
    pub fn on_valid(&mut self, item: &TrainingProgress) {
        if let Some(p) = &item.progress {
            self.dev = Some(Count {
                done: p.items_processed,
                total: p.items_total,
            });
        }
        if !is_last(item) {
            return;
        }
        let epoch = item.global_progress.items_processed;
        if let Some(&f1) = self.valid.values.get(DEV_F1) {
            self.dev_f1.retain(|&(e, _)| e as usize != epoch);
            self.dev_f1.push((epoch as f64, f1));
            if self.best.is_none_or(|(_, b)| f1 > b) {
                self.best = Some((epoch, f1));
            }
        }
    }

    /// Draws the whole dashboard into `frame`.
    pub fn draw(&self, frame: &mut Frame) {
        let [head, status, train, run, dev, charts, values, keys] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(6),
            Constraint::Length(3),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let bold = Style::default().add_modifier(Modifier::BOLD);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("atlop train", bold),
                Span::raw(format!("  run {}", self.info.run_dir.display())),
            ])),
            head,
        );
        frame.render_widget(Paragraph::new(self.status_line()).style(bold), status);
        self.gauges(frame, train, run, dev);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(charts);
        self.dev_chart(frame, left);
        self.loss_chart(frame, right);
        let dev_values = if self.valid.values.is_empty() {
            "after the first dev pass".to_string()
        } else {
            self.valid.line()
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled("train ", bold),
                    Span::raw(self.train.line()),
                ]),
                Line::from(vec![Span::styled("dev   ", bold), Span::raw(dev_values)]),
            ])
            .wrap(Wrap { trim: true }),
            values,
        );
        let key_help = if self.stopping {
            "stopping after this step; the last epoch checkpoint is kept".to_string()
        } else {
            "q, Esc or Ctrl-C: stop (resume later from the last epoch checkpoint)".to_string()
        };
        frame.render_widget(
            Paragraph::new(key_help).style(Style::default().fg(Color::DarkGray)),
            keys,
        );
    }

    fn status_line(&self) -> String {
        let mut line = format!("epoch {}/{}", self.epoch, self.epochs);
        match self.best {
            Some((epoch, f1)) => line.push_str(&format!(
                " · best dev F1 {f1:.2} at epoch {epoch} ({})",
                self.info.rule
            )),
            None => line.push_str(&format!(" · no dev pass yet ({})", self.info.rule)),
        }
        if let Some(&(epoch, f1)) = self.dev_f1.last() {
            line.push_str(&format!(" · epoch {} {f1:.2}", epoch as usize));
        }
        line
    }

    fn gauges(&self, frame: &mut Frame, train: Rect, run: Rect, dev: Rect) {
        let gauge = |label: String, ratio: f64, color: Color| {
            Gauge::default()
                .gauge_style(Style::default().fg(color).bg(Color::Black))
                .ratio(ratio)
                .label(label)
        };
        let epoch_elapsed = self.epoch_started.elapsed().as_secs_f64();
        let epoch_eta = if self.batch.done > 0 && self.batch.done < self.batch.total {
            let left = epoch_elapsed * (self.batch.total - self.batch.done) as f64
                / self.batch.done as f64;
            format!("ETA {}", duration(left))
        } else {
            "ETA -".into()
        };
        frame.render_widget(
            gauge(
                format!(
                    "train  epoch {}  {}/{} docs  {epoch_eta}",
                    self.epoch, self.batch.done, self.batch.total
                ),
                self.batch.ratio(),
                Color::Green,
            ),
            train,
        );
        let fraction = self.clock.fraction();
        let run_eta = self.clock.seconds_left().map_or("ETA -".into(), |s| {
            format!("ETA {} + dev passes", duration(s))
        });
        frame.render_widget(
            gauge(
                format!(
                    "run    {:.1}/{} epochs  {run_eta}",
                    fraction * self.epochs as f64,
                    self.epochs
                ),
                fraction,
                Color::Blue,
            ),
            run,
        );
        let (label, ratio) = match self.dev {
            Some(c) => (format!("dev    {}/{} docs", c.done, c.total), c.ratio()),
            None => ("dev    runs at the end of the epoch".to_string(), 0.0),
        };
        frame.render_widget(gauge(label, ratio, Color::Magenta), dev);
    }

    fn dev_chart(&self, frame: &mut Frame, area: Rect) {
        let block = Block::default()
            .borders(Borders::ALL)
            .title("Dev F1 (%) by epoch");
        if self.dev_f1.is_empty() {
            frame.render_widget(
                Paragraph::new("no dev pass yet in this session")
                    .block(block)
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let (lo, hi) = bounds(self.dev_f1.iter().map(|p| p.1));
        let last_epoch = self.epochs.max(self.epoch).max(1) as f64;
        let chart = Chart::new(vec![Dataset::default()
            .marker(Marker::Braille)
            .graph_type(if self.dev_f1.len() > 1 {
                GraphType::Line
            } else {
                GraphType::Scatter
            })
            .style(Style::default().fg(Color::Magenta))
            .data(&self.dev_f1)])
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([0.0, last_epoch])
                .labels(["0".to_string(), format!("{} ep", last_epoch as usize)]),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([format!("{lo:.0}"), format!("{hi:.0}")]),
        );
        frame.render_widget(chart, area);
    }

    fn loss_chart(&self, frame: &mut Frame, area: Rect) {
        let block = Block::default()
            .borders(Borders::ALL)
            .title("Train loss by step");
        if self.loss.is_empty() {
            frame.render_widget(
                Paragraph::new("waiting for the first step")
                    .block(block)
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let (lo, hi) = bounds(self.loss.iter().map(|p| p.1));
        let first = self.loss[0].0.floor();
        let last = (self.epochs.max(self.epoch).max(1) as f64).max(first + 1.0);
        let chart = Chart::new(vec![Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Green))
            .data(&self.loss)])
        .block(block)
        .legend_position(None)
        .x_axis(Axis::default().bounds([first, last]).labels([
            format!("{}", first as usize),
            format!("{} ep", last as usize),
        ]))
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([format!("{lo:.2}"), format!("{hi:.2}")]),
        );
        frame.render_widget(chart, area);
    }
}

/// A y-range around `values` with a margin, never empty; scores and losses are never negative.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = padded_range(values, 0.1, 1e-3);
    (lo.max(0.0), hi)
}
