//! Mini-batches cover every row exactly once per pass, and keep the last partial batch.

use chainrule_autodiff::Tensor;
use chainrule_train::{batches, Dataset, Targets};
use rand::SeedableRng;

fn numbered(n: usize) -> Dataset<f32> {
    let x: Vec<f32> = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
    let y: Vec<f32> = (0..n).map(|i| 10.0 * i as f32).collect();
    Dataset::new(
        Tensor::from_vec(x, &[n, 2]),
        Targets::Values(Tensor::from_vec(y, &[n, 1])),
    )
}

#[test]
fn in_order_batches_are_consecutive_with_a_partial_last_batch() {
    let data = numbered(10);
    let all: Vec<_> = batches(&data, 4, None).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].rows, [0, 1, 2, 3]);
    assert_eq!(all[2].rows, [8, 9]);
    assert_eq!(all[2].features.shape(), &[2, 2]);
    assert_eq!(all[2].values().to_vec(), vec![80.0, 90.0]);
    assert_eq!(batches(&data, 4, None).len(), 3);
    assert_eq!(batches(&data, 4, None).num_batches(), 3);
    assert_eq!(batches(&data, 10, None).count(), 1);
    assert_eq!(batches(&data, 100, None).count(), 1);
}

#[test]
fn shuffled_batches_cover_every_row_once_and_keep_rows_together() {
    let data = numbered(23);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut seen = Vec::new();
    for batch in batches(&data, 5, Some(&mut rng)) {
        for (i, &row) in batch.rows.iter().enumerate() {
            // Features and targets belong to the same row.
            assert_eq!(batch.features.get(&[i, 0]), row as f32);
            assert_eq!(batch.features.get(&[i, 1]), -(row as f32));
            assert_eq!(batch.values().get(&[i, 0]), 10.0 * row as f32);
        }
        seen.extend(batch.rows);
    }
    assert_ne!(seen, (0..23).collect::<Vec<_>>(), "shuffled");
    seen.sort();
    assert_eq!(seen, (0..23).collect::<Vec<_>>());

    // The same seed, the same order.
    let order = |seed| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        batches(&data, 5, Some(&mut rng))
            .flat_map(|b| b.rows)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(9), order(9));
    assert_ne!(order(9), order(10));
}

#[test]
fn an_empty_data_set_has_no_batches() {
    let data = Dataset::new(Tensor::<f64>::zeros(&[0, 3]), Targets::Classes(vec![]));
    assert_eq!(batches(&data, 8, None).count(), 0);
}

#[test]
#[should_panic(expected = "batch size must be at least 1")]
fn a_zero_batch_size_panics() {
    let data = numbered(3);
    let _ = batches(&data, 0, None);
}

#[test]
#[should_panic(expected = "not class labels")]
fn asking_a_regression_batch_for_classes_panics() {
    let data = numbered(3);
    let batch = batches(&data, 3, None).next().unwrap();
    let _ = batch.classes();
}
