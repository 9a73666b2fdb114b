//! Splits: disjoint, covering every row, reproducible with a seed, faithful to the ratios.

mod common;

use std::collections::HashSet;

use chainrule_autodiff::Tensor;
use chainrule_train::{
    split, split_by_assignment, Dataset, Part, SplitError, SplitIndices, SplitRatios, Targets,
};

fn numbered(n: usize) -> Dataset<f64> {
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    Dataset::new(
        Tensor::from_vec(x, &[n, 1]),
        Targets::Classes((0..n).collect()),
    )
}

fn check_partition(parts: &SplitIndices, n: usize) {
    let all: Vec<usize> = [&parts.train, &parts.validation, &parts.test]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    assert_eq!(all.len(), n, "every row once");
    let unique: HashSet<usize> = all.iter().copied().collect();
    assert_eq!(unique.len(), n, "no row twice");
    assert!(all.iter().all(|&r| r < n));
}

#[test]
fn splits_are_disjoint_and_cover_every_row() {
    for n in [0, 1, 2, 3, 7, 10, 99, 1797] {
        for ratios in [
            SplitRatios::default(),
            SplitRatios::new(0.7, 0.15, 0.15).unwrap(),
            SplitRatios::new(1.0, 0.0, 0.0).unwrap(),
            SplitRatios::new(0.0, 0.5, 0.5).unwrap(),
            SplitRatios::new(1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0).unwrap(),
        ] {
            check_partition(&SplitIndices::shuffled(n, ratios, 3), n);
        }
    }
}

#[test]
fn the_default_is_60_20_20_and_counts_respect_the_ratios() {
    let ratios = SplitRatios::default();
    assert_eq!(
        (ratios.train(), ratios.validation(), ratios.test()),
        (0.6, 0.2, 0.2)
    );
    assert_eq!(ratios.counts(100), [60, 20, 20]);
    assert_eq!(ratios.counts(1797).iter().sum::<usize>(), 1797);
    for n in [1, 2, 5, 11, 1000, 1797] {
        for ratios in [
            SplitRatios::default(),
            SplitRatios::new(0.8, 0.1, 0.1).unwrap(),
            SplitRatios::new(0.5, 0.0, 0.5).unwrap(),
        ] {
            let counts = ratios.counts(n);
            assert_eq!(counts.iter().sum::<usize>(), n);
            let shares = [ratios.train(), ratios.validation(), ratios.test()];
            for (count, share) in counts.iter().zip(shares) {
                assert!(
                    (*count as f64 - share * n as f64).abs() < 1.0,
                    "{n} {ratios:?}"
                );
                if share == 0.0 {
                    assert_eq!(*count, 0);
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_split_and_another_seed_another() {
    let data = numbered(50);
    let a = split(&data, SplitRatios::default(), 11);
    let b = split(&data, SplitRatios::default(), 11);
    let c = split(&data, SplitRatios::default(), 12);
    assert_eq!(a, b);
    assert_ne!(a.train.classes(), c.train.classes());
    // The rows really are shuffled, not cut in file order.
    assert_ne!(a.train.classes().unwrap(), &(0..30).collect::<Vec<_>>()[..]);
    // Each part's features still match its targets (row i has feature i and label i).
    for part in [&a.train, &a.validation, &a.test] {
        let labels: Vec<f64> = part.classes().unwrap().iter().map(|&l| l as f64).collect();
        assert_eq!(part.features().to_vec(), labels);
    }
}

#[test]
fn bad_ratios_are_an_error() {
    for (t, v, s) in [
        (0.5, 0.5, 0.5),
        (0.6, 0.2, 0.1),
        (1.2, -0.1, -0.1),
        (f64::NAN, 0.5, 0.5),
        (f64::INFINITY, 0.0, 0.0),
    ] {
        let err = SplitRatios::new(t, v, s).unwrap_err();
        assert!(matches!(err, SplitError::BadRatios { .. }));
        assert!(err.to_string().contains("summing to 1"), "{err}");
    }
    // Within 1e-9 of 1 is fine.
    assert!(SplitRatios::new(0.6, 0.2, 0.2 + 5e-10).is_ok());
}

#[test]
fn an_assignment_splits_by_part_and_must_fit_the_data() {
    let data = numbered(4);
    let assignment = [Part::Test, Part::Train, Part::Validation, Part::Train];
    let parts = split_by_assignment(&data, &assignment).unwrap();
    assert_eq!(parts.train.classes(), Some(&[1, 3][..]));
    assert_eq!(parts.validation.classes(), Some(&[2][..]));
    assert_eq!(parts.test.classes(), Some(&[0][..]));

    let err = split_by_assignment(&data, &assignment[..3]).unwrap_err();
    assert_eq!(
        err,
        SplitError::LengthMismatch {
            assignment: 3,
            rows: 4
        }
    );
}
