//! The train ticket: gradient descent must find the line through (100 km, 30 €) and
//! (500 km, 80 €), and the learning-rate demonstration must show divergence and crawling.

use chainrule_material::train_ticket;

#[test]
fn gradient_descent_finds_the_line_through_both_fares() {
    let outcome = train_ticket::run(&mut std::io::sink()).expect("the example runs");
    assert!(
        outcome.passed,
        "the example's own check failed: {}",
        outcome.learned
    );

    // The exact line, worked out here: slope = rise / run, then the intercept from one point.
    let (x1, y1, x2, y2) = (100.0, 30.0, 500.0, 80.0);
    let slope = (y2 - y1) / (x2 - x1);
    let intercept = y1 - slope * x1;
    assert_eq!(slope, 0.125);
    assert_eq!(intercept, 17.5);

    let json = &outcome.json;
    for key in [
        "w",
        "b",
        "cost",
        "iterations",
        "learning_rate",
        "too_large_learning_rate",
        "too_large_cost",
        "tiny_learning_rate",
        "tiny_cost",
        "initial_cost",
    ] {
        assert!(json.get(key).is_some(), "the JSON lacks {key:?}: {json}");
    }
    let number = |key: &str| json[key].as_f64().unwrap();
    assert!((number("w") - slope).abs() < 1e-3, "w = {}", number("w"));
    assert!(
        (number("b") - intercept).abs() < 1e-3,
        "b = {}",
        number("b")
    );
    assert!(number("cost") < 1e-6, "cost = {}", number("cost"));
    assert!(number("iterations") > 0.0);

    // At w = b = 0 the cost is (30² + 80²)/(2·2).
    let initial = (30.0f64.powi(2) + 80.0f64.powi(2)) / 4.0;
    assert!((number("initial_cost") - initial).abs() < 1e-9);
    // Too large a rate: the cost ends above where it started. Too small: it has barely moved.
    assert!(number("too_large_cost") > initial);
    assert!(number("tiny_cost") > 0.5 * initial && number("tiny_cost") < initial);
    assert_eq!(outcome.to_json()["name"], "train_ticket");
}
