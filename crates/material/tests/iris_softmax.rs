//! The iris softmax-regression example, checked from outside: the reported weights, applied here
//! in plain f64 code to the same seeded split, give the reported test probabilities; each row of
//! them sums to 1; and the accuracy recomputed from them clears 90%.

use chainrule_material::{data_path, iris_softmax};
use chainrule_train::{load_csv, split, SplitRatios, Task};

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn iris_softmax_classifies_90_percent_of_test_flowers_with_probabilities_summing_to_1() {
    let outcome = iris_softmax::run(&mut std::io::sink()).unwrap();
    assert!(outcome.passed, "{}", outcome.check);
    let json = &outcome.json;
    for key in [
        "test_accuracy",
        "train_loss",
        "probabilities_sum_max_error",
        "weights",
    ] {
        assert!(json.get(key).is_some(), "missing key {key}");
    }
    let test_accuracy = json["test_accuracy"].as_f64().unwrap();
    assert!(test_accuracy >= 0.9, "test accuracy {test_accuracy}");
    let sum_error = json["probabilities_sum_max_error"].as_f64().unwrap();
    assert!(
        sum_error <= 1e-6,
        "probabilities sum to 1 within {sum_error}"
    );
    let train_loss = json["train_loss"].as_f64().unwrap();
    assert!(
        train_loss > 0.0 && train_loss < 3f64.ln(),
        "J_train {train_loss}"
    );

    // The learned softmax regression, from the JSON: W is [4][3], b is [3].
    let weights: Vec<Vec<f64>> = json["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(numbers)
        .collect();
    assert_eq!(weights.len(), 4);
    assert!(weights.iter().all(|row| row.len() == 3));
    let bias = numbers(&json["bias"]);
    assert_eq!(bias.len(), 3);

    // The same split, standardised here with the training rows' mean and population std.
    let data = load_csv::<f64>(data_path("iris.csv"), "target", Task::Classification).unwrap();
    let seed = json["split_seed"].as_u64().unwrap();
    let parts = split(&data, SplitRatios::default(), seed);
    let train: Vec<&[f64]> = parts.train.features().as_slice().chunks(4).collect();
    let n = train.len() as f64;
    let mean: Vec<f64> = (0..4)
        .map(|j| train.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let std: Vec<f64> = (0..4)
        .map(|j| (train.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt())
        .collect();
    let labels = parts.test.classes().unwrap();
    let reported_labels: Vec<usize> = serde_json::from_value(json["test_labels"].clone()).unwrap();
    assert_eq!(reported_labels, labels);
    let reported: Vec<Vec<f64>> = json["test_probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(numbers)
        .collect();
    assert_eq!(reported.len(), labels.len());

    let mut right = 0;
    for ((raw, &label), reported_row) in parts
        .test
        .features()
        .as_slice()
        .chunks(4)
        .zip(labels)
        .zip(&reported)
    {
        let x: Vec<f64> = (0..4).map(|j| (raw[j] - mean[j]) / std[j]).collect();
        let z: Vec<f64> = (0..3)
            .map(|k| bias[k] + (0..4).map(|j| x[j] * weights[j][k]).sum::<f64>())
            .collect();
        let largest = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = z.iter().map(|z| (z - largest).exp()).collect();
        let total: f64 = exps.iter().sum();
        for (k, e) in exps.iter().enumerate() {
            let p = e / total;
            assert!(
                (p - reported_row[k]).abs() < 1e-9,
                "p {p} vs {}",
                reported_row[k]
            );
        }
        let reported_sum: f64 = reported_row.iter().sum();
        assert!(
            (reported_sum - 1.0).abs() <= 1e-6,
            "a row sums to {reported_sum}"
        );
        let predicted = (0..3)
            .max_by(|&a, &b| reported_row[a].total_cmp(&reported_row[b]))
            .unwrap();
        if predicted == label {
            right += 1;
        }
    }
    let recomputed = right as f64 / labels.len() as f64;
    assert_eq!(recomputed, test_accuracy);
    assert!(recomputed >= 0.9);
}
