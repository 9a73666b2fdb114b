//! Small pictures of grids of numbers — an image, a filter, a feature map — side by side as one
//! SVG document, drawn with plotters' SVG backend into a string (so the caller can write the
//! file atomically).

use plotters::prelude::*;

/// Each grid as one square panel of cells with its title: values of one sign shaded from
/// white (0) to black (largest); grids with both signs from blue (negative) through white to
/// red (positive), so a filter's sign pattern shows. `side` is the grid's width in cells.
pub fn grids_svg(grids: &[(&str, &[f32], usize)]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        let root =
            SVGBackend::with_string(&mut svg, (300 * grids.len() as u32, 330)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((1, grids.len()));
        for (area, &(title, values, side)) in panels.iter().zip(grids) {
            let rows = values.len().div_ceil(side.max(1)) as i32;
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 20))
                .margin(14)
                .build_cartesian_2d(0..side as i32, 0..rows)
                .map_err(|e| fail(&e))?;
            let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let signed = values.iter().any(|&v| v < 0.0);
            let shade = |v: f32| -> RGBColor {
                let t = if largest > 0.0 { v / largest } else { 0.0 };
                let fade = |t: f32| (255.0 * (1.0 - t.abs())).round() as u8;
                match (signed, t >= 0.0) {
                    (false, _) => RGBColor(fade(t), fade(t), fade(t)),
                    (true, true) => RGBColor(255, fade(t), fade(t)),
                    (true, false) => RGBColor(fade(t), fade(t), 255),
                }
            };
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let (row, column) = ((i / side) as i32, (i % side) as i32);
                    // Row 0 at the top, as the numbers are printed.
                    let top = rows - row;
                    Rectangle::new([(column, top), (column + 1, top - 1)], shade(v).filled())
                }))
                .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cell_per_value_and_the_titles() {
        let image = [0.0, 0.5, 1.0, 0.25];
        let filter = [-1.0, 1.0, 0.0, 0.5];
        let svg = grids_svg(&[("image", &image, 2), ("filter", &filter, 2)]).unwrap();
        let cells = svg.lines().filter(|l| l.starts_with("<rect")).count();
        // The background, then one rectangle per value.
        assert!(cells >= 8, "{svg}");
        assert!(svg.contains("image") && svg.contains("filter"));
        // The largest positive value of a signed grid is pure red, the negative pure blue.
        assert!(svg.contains("#FF0000") && svg.contains("#0000FF"), "{svg}");
    }
}
