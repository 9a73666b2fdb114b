//! Standardization uses the training split's statistics only.

use chainrule_autodiff::Tensor;
use chainrule_train::{split, Dataset, SplitRatios, Standardizer, Targets};
use rand::SeedableRng;

fn column_means(x: &Tensor<f64>) -> Vec<f64> {
    x.mean_axis(0, false).to_vec()
}

fn column_stds(x: &Tensor<f64>) -> Vec<f64> {
    let mean = x.mean_axis(0, true);
    x.sub(&mean).square().mean_axis(0, false).sqrt().to_vec()
}

#[test]
fn the_training_split_becomes_zero_mean_unit_variance() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let x = Tensor::<f64>::rand_normal(&[500, 3], 5.0, 3.0, &mut rng);
    let data = Dataset::new(x, Targets::Classes(vec![0; 500]));
    let parts = split(&data, SplitRatios::default(), 0);
    let scaler = Standardizer::fit_dataset(&parts.train);

    let train = scaler.transform_dataset(&parts.train);
    for (m, s) in column_means(train.features())
        .iter()
        .zip(column_stds(train.features()))
    {
        assert!(m.abs() < 1e-12, "train mean {m}");
        assert!((s - 1.0).abs() < 1e-12, "train std {s}");
    }

    // The test split is transformed with the training statistics: close to standard, but its
    // own mean is not forced to zero.
    let test = scaler.transform_dataset(&parts.test);
    let test_means = column_means(test.features());
    assert!(test_means.iter().all(|m| m.abs() < 0.3), "{test_means:?}");
    assert!(test_means.iter().all(|m| m.abs() > 1e-6), "{test_means:?}");
    let expected: Vec<f64> = column_means(parts.test.features())
        .iter()
        .zip(scaler.mean().iter().zip(scaler.std()))
        .map(|(raw, (mu, sigma))| (raw - mu) / sigma)
        .collect();
    for (got, want) in test_means.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12);
    }
    // Targets and names ride along.
    assert_eq!(test.classes(), parts.test.classes());
    assert_eq!(test.feature_names(), parts.test.feature_names());
}

#[test]
fn statistics_are_the_population_ones() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[4, 1]);
    let scaler = Standardizer::fit(&x);
    assert_eq!(scaler.mean(), [2.5]);
    assert!((scaler.std()[0] - 1.25f64.sqrt()).abs() < 1e-15);
}

#[test]
fn a_zero_variance_column_is_only_centred() {
    let train = Tensor::from_vec(vec![1.0f32, 7.0, 3.0, 7.0, 5.0, 7.0], &[3, 2]);
    let scaler = Standardizer::fit(&train);
    assert_eq!(scaler.std()[1], 0.0);
    let out = scaler.transform(&train);
    assert!(out.all_finite());
    assert_eq!(out.get(&[0, 1]), 0.0);
    let other = scaler.transform(&Tensor::from_vec(vec![3.0, 9.5], &[1, 2]));
    assert_eq!(other.to_vec(), vec![0.0, 2.5]);
}

#[test]
#[should_panic(expected = "fitted on 2 columns")]
fn transforming_the_wrong_width_panics() {
    let scaler = Standardizer::fit(&Tensor::<f64>::zeros(&[2, 2]));
    scaler.transform(&Tensor::zeros(&[2, 3]));
}
