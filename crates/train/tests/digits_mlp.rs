//! The acceptance test of the training stack: the digits MLP (64→128→128→10, ReLU, softmax
//! cross-entropy from logits, Adam) trained with `fit` on the bundled digits data reaches at least
//! 96% accuracy on the held-out test split, and a saved model loaded into a fresh store predicts
//! bit-identically.

use std::collections::BTreeMap;

use chainrule_autodiff::{ParamStore, Tensor};
use chainrule_layers::{Activation, Dense, Sequential};
use chainrule_optim::{Adam, AdamConfig};
use chainrule_train::{
    accuracy, fit, load_assignment, load_csv, load_weights_into, predict, save_weights,
    split_by_assignment, Dataset, EarlyStopping, FitConfig, Progress, Standardizer, Task,
};
use rand::{rngs::StdRng, SeedableRng};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

fn mlp(params: &mut ParamStore<f32>, seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .with(Dense::new(
            params,
            "dense1",
            64,
            128,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            params,
            "dense2",
            128,
            128,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            params,
            "output",
            128,
            10,
            Activation::Linear,
            &mut rng,
        ))
}

/// The fixed 60/20/20 split of the bundled file, standardised on the training rows only.
fn digits() -> (Dataset<f32>, Dataset<f32>, Dataset<f32>) {
    let all = load_csv::<f32>(format!("{DATA}/digits.csv"), "target", Task::Classification)
        .expect("bundled digits.csv loads");
    let assignment = load_assignment(format!("{DATA}/digits_split.csv")).expect("split loads");
    let parts = split_by_assignment(&all, &assignment).expect("split applies");
    let scaler = Standardizer::fit_dataset(&parts.train);
    (
        scaler.transform_dataset(&parts.train),
        scaler.transform_dataset(&parts.validation),
        scaler.transform_dataset(&parts.test),
    )
}

#[test]
fn digits_mlp_reaches_96_percent_on_the_test_split_and_reloads_bit_identically() {
    let (train, validation, test) = digits();
    assert_eq!(
        (train.len(), validation.len(), test.len()),
        (1077, 360, 360)
    );

    let mut params = ParamStore::new();
    let mut model = mlp(&mut params, 0);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 1e-3,
        ..AdamConfig::default()
    });
    let config = FitConfig {
        epochs: 100,
        batch_size: 32,
        progress: Progress::Quiet,
        early_stopping: Some(EarlyStopping {
            patience: 10,
            ..EarlyStopping::default()
        }),
        ..FitConfig::default()
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut adam,
        |logits, batch| logits.softmax_cross_entropy(batch.classes()),
        &train,
        &validation,
        &config,
    )
    .expect("training runs");
    assert!(history.train_loss.last() < history.train_loss.first());

    let logits = predict(&mut model, &params, test.features(), 256);
    let test_accuracy = accuracy(&logits, test.classes().expect("classes"));
    assert!(test_accuracy >= 0.96, "test accuracy {test_accuracy}");

    // Save, then load into a freshly initialised model of the same shape.
    let path = std::env::temp_dir().join(format!(
        "chainrule-digits-{}.safetensors",
        std::process::id()
    ));
    let metadata = BTreeMap::from([("architecture".to_string(), "64-128-128-10 relu".to_string())]);
    save_weights(&path, &params, &metadata).expect("weights save");
    let mut fresh = ParamStore::new();
    let mut reloaded = mlp(&mut fresh, 12345);
    let read_back = load_weights_into(&path, &mut fresh).expect("weights load");
    std::fs::remove_file(&path).ok();
    assert_eq!(
        read_back.get("architecture").map(String::as_str),
        Some("64-128-128-10 relu")
    );

    let again: Tensor<f32> = predict(&mut reloaded, &fresh, test.features(), 256);
    assert_eq!(again.shape(), logits.shape());
    let same_bits = logits
        .as_slice()
        .iter()
        .zip(again.as_slice())
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same_bits, "reloaded predictions differ");
}
