//! The CNN example, checked from outside: its test predictions scored here against the labels
//! read straight from the files give the reported accuracy, at least 98%; the parameter counts
//! are the layer formulas'; and the feature map it shows is the convolution of the first test
//! image by the filter it shows, recomputed here with plain loops.

mod common;

use chainrule_material::cnn_digits;
use common::{test_labels, test_rows};

#[test]
fn cnn_beats_98_percent_with_a_quarter_of_the_mlps_parameters() {
    let outcome = cnn_digits::run(&mut std::io::sink()).unwrap();
    assert!(outcome.passed, "{}", outcome.check);
    let json = &outcome.json;

    let test_accuracy = json["test_accuracy"].as_f64().unwrap();
    assert!(test_accuracy >= 0.98, "test accuracy {test_accuracy}");
    let labels = test_labels();
    let predictions: Vec<usize> = serde_json::from_value(json["test_predictions"].clone()).unwrap();
    assert_eq!(predictions.len(), labels.len());
    let right = predictions
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    assert_eq!(right as f64 / labels.len() as f64, test_accuracy);

    // Weights and biases by the layer formulas: conv k·k·in·out + out, dense in·out + out.
    let conv = |k: usize, i: usize, o: usize| k * k * i * o + o;
    let dense = |i: usize, o: usize| i * o + o;
    let cnn = conv(3, 1, 16) + conv(3, 16, 32) + dense(32 * 2 * 2, 10);
    let mlp = dense(64, 128) + dense(128, 128) + dense(128, 10);
    assert_eq!(json["parameters"].as_u64().unwrap() as usize, cnn);
    assert_eq!(json["mlp_parameters"].as_u64().unwrap() as usize, mlp);
    assert!(4 * cnn <= mlp, "{cnn} parameters against the MLP's {mlp}");

    // The feature map: bias + Σ filter·patch over the zero-padded first test image (pixels
    // scaled to 0–1), then the ReLU.
    let filter: Vec<Vec<f64>> = serde_json::from_value(json["filter"].clone()).unwrap();
    let bias = json["filter_bias"].as_f64().unwrap();
    let map: Vec<Vec<f64>> = serde_json::from_value(json["feature_map"].clone()).unwrap();
    let (pixels, _) = &test_rows()[0];
    let pixel = |r: isize, c: isize| {
        if (0..8).contains(&r) && (0..8).contains(&c) {
            pixels[(r * 8 + c) as usize] / 16.0
        } else {
            0.0
        }
    };
    for (r, map_row) in map.iter().enumerate() {
        for (c, &shown) in map_row.iter().enumerate() {
            let mut sum = bias;
            for (i, row) in filter.iter().enumerate() {
                for (j, w) in row.iter().enumerate() {
                    sum += w * pixel(r as isize + i as isize - 1, c as isize + j as isize - 1);
                }
            }
            let expected = sum.max(0.0);
            assert!(
                (shown - expected).abs() < 1e-4,
                "feature map at ({r}, {c}): {shown} against {expected}"
            );
        }
    }
    assert_eq!((map.len(), map[0].len()), (8, 8));
}
