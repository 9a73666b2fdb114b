//! Mini-batches: a data set cut into consecutive groups of rows, in order or shuffled, each
//! row in exactly one batch per pass; the last batch keeps whatever rows are left.

use chainrule_autodiff::{Float, Tensor};
use rand::seq::SliceRandom;
use rand::RngCore;

use crate::{Dataset, Targets};

/// A group of rows: their features `[b, d]`, their targets, and where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch<T> {
    /// The features `[b, d]`.
    pub features: Tensor<T>,
    /// The targets of those rows.
    pub targets: Targets<T>,
    /// The rows' positions in the data set the batch was cut from.
    pub rows: Vec<usize>,
}

impl<T: Float> Batch<T> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The class labels, for a classification loss.
    ///
    /// # Panics
    /// When the targets are values, not class labels.
    #[track_caller]
    pub fn classes(&self) -> &[usize] {
        match self.targets.classes() {
            Some(classes) => classes,
            None => panic!(
                "Batch::classes: the data set has target values (regression), not class labels \
                 (at {})",
                std::panic::Location::caller()
            ),
        }
    }

    /// The target values `[b, k]`, for a regression loss.
    ///
    /// # Panics
    /// When the targets are class labels, not values.
    #[track_caller]
    pub fn values(&self) -> &Tensor<T> {
        match self.targets.values() {
            Some(values) => values,
            None => panic!(
                "Batch::values: the data set has class labels, not target values (at {})",
                std::panic::Location::caller()
            ),
        }
    }
}

/// The iterator [`batches`] returns.
#[derive(Debug)]
pub struct Batches<'a, T> {
    dataset: &'a Dataset<T>,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl<T> Batches<'_, T> {
    /// The number of batches one pass makes: `⌈n / batch_size⌉`.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
}

impl<T: Float> Iterator for Batches<'_, T> {
    type Item = Batch<T>;

    fn next(&mut self) -> Option<Batch<T>> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let rows = self.order[self.next..end].to_vec();
        self.next = end;
        let part = self.dataset.select(&rows);
        Some(Batch {
            features: part.features().clone(),
            targets: part.targets().clone(),
            rows,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<T: Float> ExactSizeIterator for Batches<'_, T> {}

/// One pass over `dataset` in batches of `batch_size` rows: in row order when `rng` is `None`,
/// in an order shuffled by `rng` otherwise. Every row is in exactly one batch; the last batch
/// holds the `n mod batch_size` rows left over, if any.
///
/// # Panics
/// When `batch_size` is 0.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{batches, Dataset, Targets};
/// use rand::SeedableRng;
/// let data = Dataset::new(Tensor::<f32>::zeros(&[5, 2]), Targets::Classes(vec![0; 5]));
/// let sizes: Vec<usize> = batches(&data, 2, None).map(|b| b.len()).collect();
/// assert_eq!(sizes, [2, 2, 1]);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut seen: Vec<usize> = batches(&data, 2, Some(&mut rng)).flat_map(|b| b.rows).collect();
/// seen.sort();
/// assert_eq!(seen, [0, 1, 2, 3, 4]);
/// ```
#[track_caller]
pub fn batches<'a, T: Float>(
    dataset: &'a Dataset<T>,
    batch_size: usize,
    rng: Option<&mut dyn RngCore>,
) -> Batches<'a, T> {
    assert!(
        batch_size > 0,
        "batches: the batch size must be at least 1 (at {})",
        std::panic::Location::caller()
    );
    let mut order: Vec<usize> = (0..dataset.len()).collect();
    if let Some(rng) = rng {
        order.shuffle(rng);
    }
    Batches {
        dataset,
        order,
        batch_size,
        next: 0,
    }
}
