//! Learning curves as an SVG picture: the training and validation loss per epoch, two lines on
//! one chart, drawn with plotters' SVG backend into a string (so the file can be written
//! atomically, and no font or system library is needed).
//!
//! The two curves are the picture's only coloured `<polyline>` elements (one point per epoch):
//! the grid is `<line>`s, the axes and ticks black `<polyline>`s, the legend's markers `<rect>`s.

use chainrule_train::History;
use plotters::prelude::*;

use super::error::CliError;

const TRAINING: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);

/// The learning curves of `history` as an SVG document; `loss` names the loss on the y axis.
pub fn learning_curves(history: &History, loss: &str) -> Result<String, CliError> {
    let mut svg = String::new();
    draw(&mut svg, history, loss).map_err(|reason| CliError::Plot { reason })?;
    Ok(svg)
}

fn draw(svg: &mut String, history: &History, loss: &str) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let epochs = history.epochs();
    let highest = history
        .train_loss
        .iter()
        .chain(&history.validation_loss)
        .fold(0.0f64, |a, &b| a.max(b));
    let top = if highest > 0.0 { highest * 1.05 } else { 1.0 };
    // One epoch still gets a span on the x axis.
    let last = epochs.max(2) as f64;

    let root = SVGBackend::with_string(svg, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Learning curves", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(1.0..last, 0.0..top)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(format!("loss ({loss})"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(|e| fail(&e))?;

    for (name, losses, color) in [
        ("training", &history.train_loss, TRAINING),
        ("validation", &history.validation_loss, VALIDATION),
    ] {
        let points = losses.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled()));
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
        let svg = learning_curves(&history, "cross-entropy").unwrap();
        let curves: Vec<&str> = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && !l.contains("stroke=\"#000000\""))
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
        assert!(learning_curves(&history, "mse").is_ok());
    }
}
