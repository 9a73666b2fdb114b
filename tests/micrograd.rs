//! The micrograd example reproduces micrograd's demo: 100% training accuracy on the two moons
//! with every number a 0-d var, and a loss that falls.

use chainrule::material::micrograd;

#[test]
fn scalar_mlp_reaches_full_training_accuracy_on_the_two_moons() {
    let (points, labels) =
        micrograd::parse_moons(include_str!("../data/moons100.csv")).expect("bundled data parses");
    assert_eq!(points.len(), 100);
    assert_eq!(labels.iter().filter(|&&y| y > 0.0).count(), 50);
    let run = micrograd::train(&points, &labels, 100, 1337);
    assert_eq!(run.accuracy, 1.0, "final loss {:?}", run.losses.last());
    assert!(
        run.losses[99] < 0.1 * run.losses[0],
        "loss fell: {:?}",
        run.losses
    );
}

#[test]
fn a_bad_row_is_reported_with_its_line_and_column() {
    let error = micrograd::parse_moons("x1,x2,target\n0.5,0.1,1\n0.2,oops,-1\n").unwrap_err();
    assert!(error.contains("line 3"), "{error}");
    assert!(error.contains("column 2"), "{error}");
    assert!(error.contains("oops"), "{error}");
}
