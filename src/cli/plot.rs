//! Learning curves as an SVG picture: the training and validation loss per epoch, two lines on
//! one chart, with a vertical mark at the best epoch and, when early stopping ended the run, one
//! where it stopped, and a horizontal line at the baseline the diagnosis used (the simplest
//! model's training loss, a ceiling, or the reachable level given, a floor); drawn with plotters' SVG backend into a string (so the file can be written
//! atomically, and no font or system library is needed).
//!
//! When the losses span more than two decades (digits' training loss falls from 1 to 1e-4), or
//! when asked, the loss axis is logarithmic: the curves are drawn as log₁₀ of the loss on a
//! linear axis whose labels show the loss itself, so one chart type serves both.
//!
//! The two curves are the picture's only coloured `<polyline>` elements of stroke width 2 (one
//! point per epoch); the marks and the baseline are coloured polylines of width 1 (two points
//! each); the grid is
//! `<line>`s, the axes and ticks black `<polyline>`s, the legend's markers `<rect>`s.

use chainrule_train::History;
use plotters::prelude::*;

use super::error::CliError;

const TRAINING: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);
const BEST: RGBColor = RGBColor(44, 160, 44);
const STOPPED: RGBColor = RGBColor(127, 127, 127);
const BASELINE: RGBColor = RGBColor(148, 103, 189);

/// A horizontal line on the learning curves: its legend and its loss.
pub struct Level<'a> {
    /// What the line is, for the legend.
    pub name: &'a str,
    /// The loss it is drawn at.
    pub loss: f64,
}

/// The learning curves of `history` as an SVG document; `loss` names the loss on the y axis,
/// `baseline` is drawn as a horizontal line when given. The loss axis is logarithmic when
/// `log_y`, or when the losses span more than two decades.
pub fn learning_curves(
    history: &History,
    loss: &str,
    log_y: bool,
    baseline: Option<Level<'_>>,
) -> Result<String, CliError> {
    let mut svg = String::new();
    draw(&mut svg, history, loss, log_y, baseline).map_err(|reason| CliError::Plot { reason })?;
    Ok(svg)
}

/// Whether the positive losses span more than two decades (a ratio above 100).
fn spans_two_decades(history: &History) -> bool {
    let positive = || {
        history
            .train_loss
            .iter()
            .chain(&history.validation_loss)
            .copied()
            .filter(|&l| l > 0.0)
    };
    let lowest = positive().fold(f64::INFINITY, f64::min);
    let highest = positive().fold(0.0, f64::max);
    highest > 100.0 * lowest
}

fn draw(
    svg: &mut String,
    history: &History,
    loss: &str,
    log_y: bool,
    baseline: Option<Level<'_>>,
) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let epochs = history.epochs();
    let log = log_y || spans_two_decades(history);
    // The baseline is on the chart too, so the axis spans it (a reachable level of 0 sits at
    // the smallest positive loss on a log axis, as a loss of 0 does).
    let level = baseline.as_ref().map(|b| b.loss).filter(|l| l.is_finite());
    let losses = || {
        history
            .train_loss
            .iter()
            .chain(&history.validation_loss)
            .copied()
            .chain(level)
    };
    // A loss of 0 has no logarithm: it is drawn at the smallest positive loss's level.
    let smallest = losses().filter(|&l| l > 0.0).fold(f64::INFINITY, f64::min);
    let y = |l: f64| if log { l.max(smallest).log10() } else { l };
    let highest = losses().fold(0.0f64, f64::max);
    let (bottom, top) = if log && smallest.is_finite() {
        let (low, high) = (y(smallest), y(highest));
        let pad = ((high - low) * 0.05).max(0.05);
        (low - pad, high + pad)
    } else if highest > 0.0 {
        (0.0, highest * 1.05)
    } else {
        (0.0, 1.0)
    };
    let y_desc = if log {
        format!("loss ({loss}, log scale)")
    } else {
        format!("loss ({loss})")
    };
    // One epoch still gets a span on the x axis.
    let last = epochs.max(2) as f64;

    let root = SVGBackend::with_string(svg, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Learning curves", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(1.0..last, bottom..top)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|v| {
            if log {
                format!("{:.2e}", 10f64.powf(*v))
            } else {
                format!("{v:.2}")
            }
        })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(|e| fail(&e))?;

    for (name, losses, color) in [
        ("training", &history.train_loss, TRAINING),
        ("validation", &history.validation_loss, VALIDATION),
    ] {
        let points = losses
            .iter()
            .enumerate()
            .map(|(i, &l)| ((i + 1) as f64, y(l)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled()));
    }
    // The marks: the best epoch (whose weights were kept, when they were restored) and the
    // epoch early stopping stopped at.
    let best = history.best_epoch + 1;
    let kept = if history.restored_best { ", kept" } else { "" };
    let mut marks = vec![(format!("best epoch {best}{kept}"), best, BEST)];
    if history.stopped_early {
        marks.push((format!("stopped at epoch {epochs}"), epochs, STOPPED));
    }
    if let (Some(Level { name, .. }), Some(level)) = (&baseline, level) {
        chart
            .draw_series(LineSeries::new(
                [(1.0, y(level)), (last, y(level))],
                BASELINE.stroke_width(1),
            ))
            .map_err(|e| fail(&e))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 1), (x + 18, y + 1)], BASELINE.filled()));
    }
    for (name, epoch, color) in marks {
        let x = epoch as f64;
        chart
            .draw_series(LineSeries::new(
                [(x, bottom), (x, top)],
                color.stroke_width(1),
            ))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 1), (x + 18, y + 1)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_curves_and_a_legend() {
        let history = History {
            train_loss: vec![1.0, 0.5, 0.25],
            validation_loss: vec![1.1, 0.7, 0.6],
            ..History::default()
        };
        let svg = learning_curves(&history, "cross-entropy", false, None).unwrap();
        let curves: Vec<&str> = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
            .collect();
        assert_eq!(curves.len(), 2, "{svg}");
        for curve in curves {
            let points = curve
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert_eq!(points.split_whitespace().count(), 3, "{curve}");
        }
        for text in ["training", "validation", "epoch", "loss (cross-entropy)"] {
            assert!(svg.contains(text), "{text}");
        }
    }

    #[test]
    fn one_epoch_is_drawn_too() {
        let history = History {
            train_loss: vec![0.0],
            validation_loss: vec![0.0],
            ..History::default()
        };
        assert!(learning_curves(&history, "mse", false, None).is_ok());
        assert!(learning_curves(&history, "mse", true, None).is_ok());
    }

    #[test]
    fn the_best_epoch_and_the_stop_are_marked_and_wide_spans_are_logarithmic() {
        let history = History {
            train_loss: vec![1.0, 0.1, 0.001, 0.0001],
            validation_loss: vec![1.1, 0.5, 0.6, 0.7],
            best_epoch: 1,
            stopped_early: true,
            restored_best: true,
            ..History::default()
        };
        let svg = learning_curves(&history, "cross-entropy", false, None).unwrap();
        for text in ["best epoch 2, kept", "stopped at epoch 4", "log scale"] {
            assert!(svg.contains(text), "{text} not in the SVG");
        }
        let marks = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"1\""))
            .filter(|l| !l.contains("stroke=\"#000000\""))
            .count();
        assert_eq!(marks, 2, "{svg}");
        // Losses within two decades: a linear axis, unless asked.
        let close = History {
            train_loss: vec![1.0, 0.5],
            validation_loss: vec![1.1, 0.6],
            ..History::default()
        };
        assert!(!learning_curves(&close, "mse", false, None)
            .unwrap()
            .contains("log scale"));
        assert!(learning_curves(&close, "mse", true, None)
            .unwrap()
            .contains("log scale"));
    }

    #[test]
    fn a_baseline_is_a_labelled_level_line_within_the_axis() {
        let history = History {
            train_loss: vec![0.5, 0.3, 0.2],
            validation_loss: vec![0.6, 0.4, 0.35],
            ..History::default()
        };
        let baseline = Level {
            name: "simplest model 1.0986, a ceiling",
            loss: 1.0986,
        };
        let svg = learning_curves(&history, "cross-entropy", false, Some(baseline)).unwrap();
        assert!(svg.contains("simplest model 1.0986, a ceiling"), "{svg}");
        // The level line: horizontal, two points at the same height.
        let level: Vec<&str> = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("#9467BD"))
            .collect();
        assert_eq!(level.len(), 1, "{svg}");
        let points: Vec<(f64, f64)> = level[0]
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].1, points[1].1);
        assert!(points[1].0 > points[0].0);
    }
}
