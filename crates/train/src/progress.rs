//! How [`crate::fit()`] reports progress: a progress bar on a terminal, one Keras-style line
//! per epoch (or every k-th, [`crate::FitConfig::log_every`]) when the output is a file or a
//! pipe (CI logs), or nothing. All of it goes to stderr.
//!
//! The bar's fixed part (elapsed time, ETA, the bar itself) takes 41 columns; the
//! epoch, the losses and the validation metric follow, as many whole fields as the terminal's
//! width leaves room for (`bar_message`), the last ones dropped first. What is left is
//! indicatif's `wide_msg`, which indicatif cuts at the terminal's width, so the bar stays on
//! one line however narrow the terminal is.

use std::cell::Cell;
use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Metric;

/// Where and how training progress is shown.
///
/// ```
/// use chainrule_train::{FitConfig, Progress};
/// let config = FitConfig { progress: Progress::Quiet, ..FitConfig::default() };
/// assert_eq!(config.progress, Progress::Quiet);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// An indicatif progress bar on stderr (hidden by indicatif when stderr is not a terminal).
    Bar,
    /// One line per epoch on stderr.
    Lines,
    /// Nothing.
    Quiet,
}

/// The reporter for one run of `fit`.
pub(crate) struct Reporter {
    style: Style,
    epochs: usize,
    log_every: usize,
    /// When the current epoch started, for the time per epoch.
    epoch_started: Cell<Instant>,
}

enum Style {
    Bar(ProgressBar),
    Lines,
    Quiet,
}

impl Reporter {
    /// Starts reporting a run of `epochs` epochs of `batches` batches each.
    pub(crate) fn new(progress: Progress, epochs: usize, batches: usize, log_every: usize) -> Self {
        let bar = match progress {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Bar => true,
            Progress::Lines | Progress::Quiet => false,
        };
        let style = if bar {
            let bar = ProgressBar::with_draw_target(
                Some((epochs * batches) as u64),
                ProgressDrawTarget::stderr(),
            );
            let template = "[{elapsed_precise}<{eta_precise}] {bar:20.cyan/blue} {wide_msg}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            Style::Bar(bar)
        } else if progress == Progress::Quiet {
            Style::Quiet
        } else {
            Style::Lines
        };
        Reporter {
            style,
            epochs,
            log_every: log_every.max(1),
            epoch_started: Cell::new(Instant::now()),
        }
    }

    /// One training step is done.
    pub(crate) fn step(&self) {
        if let Style::Bar(bar) = &self.style {
            bar.inc(1);
        }
    }

    /// Epoch `epoch` (from 0) is done: on the bar, its number and losses; as a line (every
    /// `log_every`-th epoch, and the last), Keras-style with the time it took.
    pub(crate) fn epoch(
        &self,
        epoch: usize,
        train: f64,
        validation: f64,
        metric: Option<(Metric, f64)>,
        best: bool,
    ) {
        let seconds = self
            .epoch_started
            .replace(Instant::now())
            .elapsed()
            .as_secs_f64();
        let mark = if best { " (best)" } else { "" };
        let short = match metric {
            Some((Metric::Accuracy, a)) => format!(" acc {a:.4}"),
            Some((Metric::RSquared, r)) => format!(" R² {r:.4}"),
            None => String::new(),
        };
        let long = match metric {
            Some((name, value)) => format!(" - validation {} {value:.4}", name.name()),
            None => String::new(),
        };
        match &self.style {
            Style::Bar(bar) => {
                let fields = [
                    format!("epoch {}/{}", epoch + 1, self.epochs),
                    format!("loss {train:.4}"),
                    format!("val {validation:.4}"),
                    short.trim_start().to_string(),
                    mark.trim_start().to_string(),
                ];
                let columns = console::Term::stderr()
                    .size_checked()
                    .map(|(_, c)| c as usize);
                let room = columns.map_or(usize::MAX, |c| c.saturating_sub(BAR_COLUMNS));
                bar.set_message(bar_message(&fields, room));
            }
            Style::Lines
                if (epoch + 1).is_multiple_of(self.log_every) || epoch + 1 == self.epochs =>
            {
                print_line(&format!(
                    "epoch {}/{} - {seconds:.2}s - train loss {train:.6} - validation loss \
                     {validation:.6}{long}{mark}",
                    epoch + 1,
                    self.epochs
                ))
            }
            Style::Lines | Style::Quiet => {}
        }
    }

    /// The run is over: `summary` says how it ended.
    pub(crate) fn finish(&self, summary: &str) {
        match &self.style {
            Style::Bar(bar) => bar.finish_with_message(summary.to_string()),
            Style::Lines => print_line(summary),
            Style::Quiet => {}
        }
    }

    /// The run failed; leave the bar where it stopped.
    pub(crate) fn abandon(&self) {
        if let Style::Bar(bar) = &self.style {
            bar.abandon();
        }
    }
}

/// The columns of the bar's fixed part: `[00:00:01<00:00:05] `, the bar, a space.
pub(crate) const BAR_COLUMNS: usize = 41;

/// The bar's message: the fields, in order, separated by spaces, as many whole ones as fit in
/// `room` columns (the first always, cut by indicatif if even it does not fit); empty fields
/// are skipped.
pub(crate) fn bar_message(fields: &[String], room: usize) -> String {
    let mut message = String::new();
    for field in fields.iter().filter(|f| !f.is_empty()) {
        let width =
            message.chars().count() + usize::from(!message.is_empty()) + field.chars().count();
        if !message.is_empty() && width > room {
            break;
        }
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(field);
    }
    message
}

/// One line on stderr; a closed stderr is ignored (progress is for people, and `eprintln!`
/// would panic).
fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        [
            "epoch 12/200",
            "loss 0.1234",
            "val 0.2345",
            "acc 0.9667",
            "(best)",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn the_bar_message_keeps_whole_fields_and_drops_the_last_first() {
        let all = "epoch 12/200 loss 0.1234 val 0.2345 acc 0.9667 (best)";
        assert_eq!(bar_message(&fields(), usize::MAX), all);
        assert_eq!(bar_message(&fields(), all.len()), all);
        assert_eq!(
            bar_message(&fields(), all.len() - 1),
            "epoch 12/200 loss 0.1234 val 0.2345 acc 0.9667"
        );
        // 80 columns leave 39: the metric does not fit whole, so it goes.
        assert_eq!(
            bar_message(&fields(), 80 - BAR_COLUMNS),
            "epoch 12/200 loss 0.1234 val 0.2345"
        );
        assert_eq!(bar_message(&fields(), 20), "epoch 12/200");
        assert_eq!(bar_message(&fields(), 0), "epoch 12/200");
        for room in 12..60 {
            assert!(
                bar_message(&fields(), room).chars().count() <= room,
                "{room}"
            );
        }
    }

    #[test]
    fn empty_fields_take_no_space() {
        let fields = ["epoch 1/2", "", "val 1.0000", ""].map(String::from);
        assert_eq!(bar_message(&fields, usize::MAX), "epoch 1/2 val 1.0000");
    }
}
