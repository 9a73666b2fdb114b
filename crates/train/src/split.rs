//! Splitting a data set into training, cross-validation and test sets: seeded and shuffled
//! with any ratios ([`split`], 60/20/20 by default), or by an explicit assignment of each row
//! ([`split_by_assignment`]), such as a fixed split file read with [`load_assignment`].

use std::path::Path;

use chainrule_autodiff::Float;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use thiserror::Error;

use crate::csv_file::{CsvFile, DataError};
use crate::Dataset;

/// A split that cannot be made.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SplitError {
    /// The ratios are not three non-negative finite numbers summing to 1.
    #[error(
        "split ratios must be three non-negative numbers summing to 1 (within 1e-9); got train \
         {train}, validation {validation}, test {test}, which sum to {}",
        train + validation + test
    )]
    BadRatios {
        /// The training ratio given.
        train: f64,
        /// The validation ratio given.
        validation: f64,
        /// The test ratio given.
        test: f64,
    },
    /// An assignment does not have one entry per row of the data set.
    #[error("the split assignment covers {assignment} rows, but the data set has {rows}")]
    LengthMismatch {
        /// Entries in the assignment.
        assignment: usize,
        /// Rows in the data set.
        rows: usize,
    },
}

/// The fractions of rows for training, cross-validation and test: three non-negative numbers
/// summing to 1. The default is the material's 60/20/20.
///
/// ```
/// use chainrule_train::SplitRatios;
/// assert_eq!(SplitRatios::default().counts(10), [6, 2, 2]);
/// let ratios = SplitRatios::new(0.8, 0.0, 0.2).unwrap();
/// assert_eq!(ratios.counts(5), [4, 0, 1]);
/// assert!(SplitRatios::new(0.5, 0.5, 0.5).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitRatios {
    train: f64,
    validation: f64,
    test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        SplitRatios {
            train: 0.6,
            validation: 0.2,
            test: 0.2,
        }
    }
}

impl SplitRatios {
    /// Checks and keeps three ratios.
    ///
    /// # Errors
    /// [`SplitError::BadRatios`] when a ratio is negative or not finite, or the three do not
    /// sum to 1 within 1e-9.
    pub fn new(train: f64, validation: f64, test: f64) -> Result<Self, SplitError> {
        let each_ok = [train, validation, test]
            .iter()
            .all(|r| r.is_finite() && *r >= 0.0);
        if !each_ok || (train + validation + test - 1.0).abs() > 1e-9 {
            return Err(SplitError::BadRatios {
                train,
                validation,
                test,
            });
        }
        Ok(SplitRatios {
            train,
            validation,
            test,
        })
    }

    /// The training fraction.
    pub fn train(&self) -> f64 {
        self.train
    }

    /// The cross-validation fraction.
    pub fn validation(&self) -> f64 {
        self.validation
    }

    /// The test fraction.
    pub fn test(&self) -> f64 {
        self.test
    }

    /// How many of `n` rows go to training, validation and test: each part gets the whole
    /// part of its share, and the rows left over go to the parts with the largest fractional
    /// remainders (ties to the earlier part), so the counts sum to `n` and each is within one
    /// row of its exact share.
    pub fn counts(&self, n: usize) -> [usize; 3] {
        let exact = [self.train, self.validation, self.test].map(|r| r * n as f64);
        let mut counts = exact.map(|e| (e.floor() as usize).min(n));
        // The remainders sum to the rows left over (fewer than 3), each below 1, so the parts
        // that take one all have a positive remainder: a part with a zero share never does.
        let left = n.saturating_sub(counts.iter().sum());
        let mut order = [0, 1, 2];
        order.sort_by(|&a, &b| {
            let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        for &part in order.iter().take(left) {
            counts[part] += 1;
        }
        counts
    }
}

/// Which part of a split a row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The training set: what the parameters are fitted on.
    Train,
    /// The cross-validation (dev) set: for choosing models, early stopping, diagnosis.
    Validation,
    /// The test set: for the final, unbiased estimate of the error.
    Test,
}

impl Part {
    /// The name a split file uses: `train`, `val`, `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Validation => "val",
            Part::Test => "test",
        }
    }

    /// Parses `train`, `val` (or `validation`, `cv`) and `test`.
    ///
    /// ```
    /// use chainrule_train::Part;
    /// assert_eq!(Part::parse("val"), Some(Part::Validation));
    /// assert_eq!(Part::parse("dev"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Part> {
        match text {
            "train" => Some(Part::Train),
            "val" | "validation" | "cv" => Some(Part::Validation),
            "test" => Some(Part::Test),
            _ => None,
        }
    }
}

/// The rows of each part of a split, by position in the data set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitIndices {
    /// Training rows.
    pub train: Vec<usize>,
    /// Cross-validation rows.
    pub validation: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

impl SplitIndices {
    /// Shuffles `0..n` with a generator seeded by `seed` and cuts it into consecutive parts of
    /// [`SplitRatios::counts`] rows. The same `n`, ratios and seed always give the same split.
    ///
    /// ```
    /// use chainrule_train::{SplitIndices, SplitRatios};
    /// let parts = SplitIndices::shuffled(10, SplitRatios::default(), 7);
    /// assert_eq!((parts.train.len(), parts.validation.len(), parts.test.len()), (6, 2, 2));
    /// assert_eq!(parts, SplitIndices::shuffled(10, SplitRatios::default(), 7));
    /// ```
    pub fn shuffled(n: usize, ratios: SplitRatios, seed: u64) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        let [train, validation, _] = ratios.counts(n);
        let test = order.split_off(train + validation);
        let validation = order.split_off(train);
        SplitIndices {
            train: order,
            validation,
            test,
        }
    }

    /// Like [`SplitIndices::shuffled`], but each class keeps its share in every part: the rows
    /// of each class are shuffled and cut by [`SplitRatios::counts`] of that class's size, as
    /// scikit-learn's `train_test_split(…, stratify=y)` does. On a small data set (iris: 30
    /// test rows) a plain shuffle can leave one class with twice the test rows of another,
    /// and the test accuracy then says more about the draw than about the model.
    ///
    /// ```
    /// use chainrule_train::{SplitIndices, SplitRatios};
    /// let labels: Vec<usize> = (0..30).map(|i| i / 10).collect(); // 10 rows of each class
    /// let parts = SplitIndices::stratified(&labels, SplitRatios::default(), 7);
    /// for class in 0..3 {
    ///     let test = parts.test.iter().filter(|&&r| labels[r] == class).count();
    ///     assert_eq!(test, 2);
    /// }
    /// assert_eq!(parts.train.len() + parts.validation.len() + parts.test.len(), 30);
    /// ```
    pub fn stratified(labels: &[usize], ratios: SplitRatios, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.shuffle(&mut rng);
        // A stable sort keeps each class's rows in their shuffled order.
        order.sort_by_key(|&row| labels[row]);
        let mut parts = SplitIndices::default();
        for class_rows in order.chunk_by(|&a, &b| labels[a] == labels[b]) {
            let [train, validation, _] = ratios.counts(class_rows.len());
            parts.train.extend_from_slice(&class_rows[..train]);
            parts
                .validation
                .extend_from_slice(&class_rows[train..train + validation]);
            parts
                .test
                .extend_from_slice(&class_rows[train + validation..]);
        }
        // Classes one after another would make the first batches of an unshuffled pass all
        // one class; shuffled within each part, the parts read like a plain shuffle.
        for part in [&mut parts.train, &mut parts.validation, &mut parts.test] {
            part.shuffle(&mut rng);
        }
        parts
    }

    /// The rows of each part, in row order, from one [`Part`] per row.
    ///
    /// ```
    /// use chainrule_train::{Part, SplitIndices};
    /// let parts = SplitIndices::from_assignment(&[Part::Test, Part::Train, Part::Train]);
    /// assert_eq!(parts.train, [1, 2]);
    /// assert_eq!(parts.test, [0]);
    /// ```
    pub fn from_assignment(assignment: &[Part]) -> Self {
        let mut parts = SplitIndices::default();
        for (row, part) in assignment.iter().enumerate() {
            match part {
                Part::Train => parts.train.push(row),
                Part::Validation => parts.validation.push(row),
                Part::Test => parts.test.push(row),
            }
        }
        parts
    }

    /// The three data sets these rows select.
    ///
    /// # Panics
    /// When a row is out of range for the data set.
    #[track_caller]
    pub fn apply<T: Float>(&self, dataset: &Dataset<T>) -> Split<T> {
        Split {
            train: dataset.select(&self.train),
            validation: dataset.select(&self.validation),
            test: dataset.select(&self.test),
        }
    }
}

/// A data set cut into training, cross-validation and test sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Split<T> {
    /// For fitting the parameters.
    pub train: Dataset<T>,
    /// For choosing among models, early stopping and diagnosis.
    pub validation: Dataset<T>,
    /// For the final estimate of the error; touch it last.
    pub test: Dataset<T>,
}

/// Shuffles the rows with a generator seeded by `seed` and splits them by `ratios`
/// (see [`SplitIndices::shuffled`]).
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{split, Dataset, SplitRatios, Targets};
/// let data = Dataset::new(Tensor::<f64>::zeros(&[20, 3]), Targets::Classes(vec![0; 20]));
/// let parts = split(&data, SplitRatios::default(), 42);
/// assert_eq!((parts.train.len(), parts.validation.len(), parts.test.len()), (12, 4, 4));
/// ```
pub fn split<T: Float>(dataset: &Dataset<T>, ratios: SplitRatios, seed: u64) -> Split<T> {
    SplitIndices::shuffled(dataset.len(), ratios, seed).apply(dataset)
}

/// [`split`] for class labels, keeping each class's share in every part (see
/// [`SplitIndices::stratified`]); for regression targets, the same as [`split`].
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{split_stratified, Dataset, SplitRatios, Targets};
/// let labels = (0..20).map(|i| usize::from(i < 5)).collect();
/// let data = Dataset::new(Tensor::<f64>::zeros(&[20, 1]), Targets::Classes(labels));
/// let parts = split_stratified(&data, SplitRatios::default(), 0);
/// assert_eq!(parts.test.classes().unwrap().iter().filter(|&&c| c == 1).count(), 1);
/// ```
pub fn split_stratified<T: Float>(
    dataset: &Dataset<T>,
    ratios: SplitRatios,
    seed: u64,
) -> Split<T> {
    match dataset.classes() {
        Some(labels) => SplitIndices::stratified(labels, ratios, seed).apply(dataset),
        None => split(dataset, ratios, seed),
    }
}

/// Splits by an explicit [`Part`] for each row (from [`load_assignment`], say).
///
/// # Errors
/// [`SplitError::LengthMismatch`] when the assignment does not have one entry per row.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{split_by_assignment, Dataset, Part, Targets};
/// let data = Dataset::new(Tensor::<f64>::zeros(&[3, 1]), Targets::Classes(vec![0, 1, 2]));
/// let parts = split_by_assignment(&data, &[Part::Train, Part::Test, Part::Validation]).unwrap();
/// assert_eq!(parts.test.classes(), Some(&[1][..]));
/// assert!(split_by_assignment(&data, &[Part::Train]).is_err());
/// ```
pub fn split_by_assignment<T: Float>(
    dataset: &Dataset<T>,
    assignment: &[Part],
) -> Result<Split<T>, SplitError> {
    if assignment.len() != dataset.len() {
        return Err(SplitError::LengthMismatch {
            assignment: assignment.len(),
            rows: dataset.len(),
        });
    }
    Ok(SplitIndices::from_assignment(assignment).apply(dataset))
}

/// Reads a split file: a CSV with columns `row` (the data row, from 0) and `split` (`train`,
/// `val` or `test`; see [`Part::parse`]), other columns ignored, every row `0..n` assigned
/// exactly once in any order. Returns the part of each row, indexed by row.
///
/// # Errors
/// A [`DataError`] naming the file, line and column for a missing or empty file, a missing
/// `row` or `split` column, a ragged line, a row that is not a whole number, an unknown split
/// name, a row assigned twice, or a row outside `0..n` (`n` being the number of entries).
///
/// ```
/// use chainrule_train::{load_assignment, Part};
/// let path = std::env::temp_dir().join("chainrule-doc-split.csv");
/// std::fs::write(&path, "row,split\n1,test\n0,train\n").unwrap();
/// assert_eq!(load_assignment(&path).unwrap(), [Part::Train, Part::Test]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_assignment(path: impl AsRef<Path>) -> Result<Vec<Part>, DataError> {
    let mut file = CsvFile::open(path.as_ref())?;
    let row_column = file.column("row")?;
    let split_column = file.column("split")?;
    let path = file.path().to_path_buf();

    // Read everything first: the number of entries is the number of rows, so each row must
    // be below it, and a row out of range is reported without allocating for it.
    let mut entries = Vec::new();
    while let Some(record) = file.next_row()? {
        let row = record.whole_number(row_column)?;
        let part = Part::parse(record.text(split_column))
            .ok_or_else(|| record.unknown_split(split_column))?;
        entries.push((row, part, record.line()));
    }
    if entries.is_empty() {
        return Err(DataError::NoRows { path });
    }
    let rows = entries.len();
    // With every row below `rows` and none twice, all of 0..rows are assigned.
    let mut assigned: Vec<Option<(Part, u64)>> = vec![None; rows];
    for (row, part, line) in entries {
        let Some(slot) = assigned.get_mut(row) else {
            return Err(DataError::RowOutOfRange {
                path,
                line,
                row,
                assigned: rows,
            });
        };
        if let Some((_, first_line)) = *slot {
            return Err(DataError::DuplicateRow {
                path,
                line,
                row,
                first_line,
            });
        }
        *slot = Some((part, line));
    }
    let parts: Option<Vec<Part>> = assigned
        .into_iter()
        .map(|entry| entry.map(|(part, _)| part))
        .collect();
    Ok(parts.expect("n entries, each below n and none twice, assign every row"))
}
