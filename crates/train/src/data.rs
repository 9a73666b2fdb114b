//! Data sets: a feature matrix with its targets ([`Dataset`], [`Targets`]), and loading one from
//! a CSV file ([`load_csv`]).
//!
//! A data set is plain data: features `[n, d]` and, per row, a class label or a row of target
//! values. Splitting lives in [`crate::split`](mod@crate::split), standardization in
//! [`crate::standardize`] and mini-batches in [`crate::batch`]; all of them build on
//! [`Dataset::select`].

use std::path::Path;

use chainrule_autodiff::{Float, Tensor};

use crate::csv_file::{CsvFile, DataError, Row};

/// What the target column of a CSV file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class labels: non-negative whole numbers `0, 1, …, k − 1`.
    Classification,
    /// Real-valued targets.
    Regression,
}

/// The targets of a data set, one per row.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// A class label per row (for softmax cross-entropy, accuracy, a confusion matrix).
    Classes(Vec<usize>),
    /// A row of `k` target values per row: a tensor `[n, k]` (for mean squared error).
    Values(Tensor<T>),
}

impl<T: Float> Targets<T> {
    /// The number of rows.
    ///
    /// ```
    /// use chainrule_train::Targets;
    /// assert_eq!(Targets::<f32>::Classes(vec![0, 1, 1]).len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(classes) => classes.len(),
            Targets::Values(values) => values.shape().first().copied().unwrap_or(0),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class labels, if these are class labels.
    pub fn classes(&self) -> Option<&[usize]> {
        match self {
            Targets::Classes(classes) => Some(classes),
            Targets::Values(_) => None,
        }
    }

    /// The target values `[n, k]`, if these are values.
    pub fn values(&self) -> Option<&Tensor<T>> {
        match self {
            Targets::Values(values) => Some(values),
            Targets::Classes(_) => None,
        }
    }

    /// The targets of the given rows, in that order (repeats allowed).
    ///
    /// # Panics
    /// When a row is out of range.
    ///
    /// ```
    /// use chainrule_train::Targets;
    /// let t = Targets::<f64>::Classes(vec![5, 6, 7]);
    /// assert_eq!(t.select(&[2, 0]), Targets::Classes(vec![7, 5]));
    /// ```
    #[track_caller]
    pub fn select(&self, rows: &[usize]) -> Targets<T> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.len()) {
            panic!(
                "Targets::select: row {bad} is out of range for {} rows (at {})",
                self.len(),
                std::panic::Location::caller()
            );
        }
        match self {
            Targets::Classes(classes) => {
                Targets::Classes(rows.iter().map(|&r| classes[r]).collect())
            }
            Targets::Values(values) => Targets::Values(values.index_select(0, rows)),
        }
    }
}

/// Features `[n, d]` and their targets, with the names of the columns.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{Dataset, Targets};
/// let features = Tensor::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2]);
/// let data = Dataset::new(features, Targets::Classes(vec![0, 1, 0]));
/// assert_eq!(data.len(), 3);
/// assert_eq!(data.num_features(), 2);
/// assert_eq!(data.feature_names(), ["x0", "x1"]);
/// let tail = data.select(&[2, 1]);
/// assert_eq!(tail.features().to_vec(), vec![4.0, 5.0, 2.0, 3.0]);
/// assert_eq!(tail.classes(), Some(&[0, 1][..]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    features: Tensor<T>,
    targets: Targets<T>,
    feature_names: Vec<String>,
    target_name: String,
}

impl<T: Float> Dataset<T> {
    /// A data set from features `[n, d]` and `n` targets; the columns are named `x0, x1, …` and
    /// the target `target` (see [`Dataset::with_names`]).
    ///
    /// # Panics
    /// When the features are not a matrix, the target values are not a matrix, or the number
    /// of targets differs from the number of feature rows.
    #[track_caller]
    pub fn new(features: Tensor<T>, targets: Targets<T>) -> Self {
        assert!(
            features.rank() == 2,
            "Dataset::new: features must be a matrix [rows, features], got shape {:?} (at {})",
            features.shape(),
            std::panic::Location::caller()
        );
        if let Targets::Values(values) = &targets {
            assert!(
                values.rank() == 2,
                "Dataset::new: target values must be a matrix [rows, outputs], got shape {:?} \
                 (at {})",
                values.shape(),
                std::panic::Location::caller()
            );
        }
        assert!(
            targets.len() == features.shape()[0],
            "Dataset::new: {} feature rows (shape {:?}) but {} targets (at {})",
            features.shape()[0],
            features.shape(),
            targets.len(),
            std::panic::Location::caller()
        );
        let feature_names = (0..features.shape()[1]).map(|i| format!("x{i}")).collect();
        Dataset {
            features,
            targets,
            feature_names,
            target_name: "target".to_string(),
        }
    }

    /// The same data with the given column names.
    ///
    /// # Panics
    /// When the number of feature names differs from the number of features.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_train::{Dataset, Targets};
    /// let data = Dataset::new(Tensor::<f32>::zeros(&[1, 2]), Targets::Classes(vec![0]))
    ///     .with_names(vec!["height".into(), "weight".into()], "label");
    /// assert_eq!(data.feature_names(), ["height", "weight"]);
    /// assert_eq!(data.target_name(), "label");
    /// ```
    #[track_caller]
    pub fn with_names(
        mut self,
        feature_names: Vec<String>,
        target_name: impl Into<String>,
    ) -> Self {
        assert!(
            feature_names.len() == self.num_features(),
            "Dataset::with_names: {} names for {} features (at {})",
            feature_names.len(),
            self.num_features(),
            std::panic::Location::caller()
        );
        self.feature_names = feature_names;
        self.target_name = target_name.into();
        self
    }

    /// The features `[n, d]`.
    pub fn features(&self) -> &Tensor<T> {
        &self.features
    }

    /// The targets, one per row.
    pub fn targets(&self) -> &Targets<T> {
        &self.targets
    }

    /// The class labels, if this is a classification data set.
    pub fn classes(&self) -> Option<&[usize]> {
        self.targets.classes()
    }

    /// The target values `[n, k]`, if this is a regression data set.
    pub fn values(&self) -> Option<&Tensor<T>> {
        self.targets.values()
    }

    /// The names of the feature columns, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The name of the target column.
    pub fn target_name(&self) -> &str {
        &self.target_name
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.features.shape()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features `d`.
    pub fn num_features(&self) -> usize {
        self.features.shape()[1]
    }

    /// For class labels, the number of classes: one more than the largest label (`None` for
    /// regression; 0 for an empty data set).
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_train::{Dataset, Targets};
    /// let data = Dataset::new(Tensor::<f64>::zeros(&[3, 1]), Targets::Classes(vec![0, 4, 2]));
    /// assert_eq!(data.num_classes(), Some(5));
    /// ```
    pub fn num_classes(&self) -> Option<usize> {
        self.classes()
            .map(|classes| classes.iter().max().map_or(0, |&max| max + 1))
    }

    /// The given rows, in that order (repeats allowed), with the same column names.
    ///
    /// # Panics
    /// When a row is out of range.
    #[track_caller]
    pub fn select(&self, rows: &[usize]) -> Dataset<T> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.len()) {
            panic!(
                "Dataset::select: row {bad} is out of range for {} rows (at {})",
                self.len(),
                std::panic::Location::caller()
            );
        }
        Dataset {
            features: self.features.index_select(0, rows),
            targets: self.targets.select(rows),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
        }
    }

    /// The same rows and targets with new features (standardized ones, say). The feature
    /// names are kept when the width is unchanged, and become `x0, x1, …` otherwise.
    ///
    /// # Panics
    /// When `features` is not a matrix with one row per target.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_train::{Dataset, Targets};
    /// let data = Dataset::new(Tensor::<f64>::ones(&[2, 1]), Targets::Classes(vec![0, 1]));
    /// let doubled = data.with_features(data.features() * 2.0);
    /// assert_eq!(doubled.features().to_vec(), vec![2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn with_features(&self, features: Tensor<T>) -> Dataset<T> {
        let same_width = features.rank() == 2 && features.shape()[1] == self.num_features();
        let mut data = Dataset::new(features, self.targets.clone());
        if same_width {
            data.feature_names = self.feature_names.clone();
        }
        data.target_name = self.target_name.clone();
        data
    }
}

/// Loads a CSV file with a header row: `target_column` holds the targets (class labels or
/// values, by `task`) and every other column is a feature, in file order. Each field is parsed
/// as an `f64` (surrounding spaces are ignored) and then converted to `T`.
///
/// # Errors
/// A [`DataError`] naming the file — and the line and column where there is one — when the
/// file is missing or unreadable, empty, has no data rows, has no (or more than one)
/// `target_column` (the message lists the columns), has a row with the wrong number of fields,
/// a cell that is not a finite number, or (for [`Task::Classification`]) a label that is not a
/// non-negative whole number.
///
/// ```
/// use chainrule_train::{load_csv, Task};
/// let path = std::env::temp_dir().join("chainrule-doc-load-csv.csv");
/// std::fs::write(&path, "a,b,label\n1,2,0\n3,4,2\n").unwrap();
/// let data = load_csv::<f32>(&path, "label", Task::Classification).unwrap();
/// assert_eq!(data.features().shape(), &[2, 2]);
/// assert_eq!(data.feature_names(), ["a", "b"]);
/// assert_eq!(data.classes(), Some(&[0, 2][..]));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_csv<T: Float>(
    path: impl AsRef<Path>,
    target_column: &str,
    task: Task,
) -> Result<Dataset<T>, DataError> {
    let mut classes = Vec::new();
    let mut values = Vec::new();
    let (features, feature_names) =
        read_features(path.as_ref(), None, target_column, |row, target| {
            match task {
                Task::Classification => classes.push(row.whole_number(target)?),
                Task::Regression => values.push(row.number(target)?),
            }
            Ok(())
        })?;
    let rows = features.shape()[0];
    let targets = match task {
        Task::Classification => Targets::Classes(classes),
        Task::Regression => Targets::Values(Tensor::from_vec(values, &[rows, 1])),
    };
    Ok(Dataset::new(features, targets).with_names(feature_names, target_column))
}

/// Reads every row of a CSV file: the features as numbers (rows × the columns other than
/// `target_column`, with their names), while `target` is handed each row and the target's
/// column index. Refuses a file with no data rows.
fn read_features<T: Float>(
    path: &Path,
    delimiter: Option<u8>,
    target_column: &str,
    mut target: impl FnMut(&Row<'_>, usize) -> Result<(), DataError>,
) -> Result<(Tensor<T>, Vec<String>), DataError> {
    let mut file = CsvFile::open_with(path, delimiter)?;
    let target_index = file.column(target_column)?;
    let feature_columns: Vec<usize> = (0..file.header().len())
        .filter(|&c| c != target_index)
        .collect();
    let feature_names: Vec<String> = feature_columns
        .iter()
        .map(|&c| file.header()[c].clone())
        .collect();
    let mut features = Vec::new();
    let mut rows = 0;
    while let Some(row) = file.next_row()? {
        for &column in &feature_columns {
            features.push(row.number(column)?);
        }
        target(&row, target_index)?;
        rows += 1;
    }
    if rows == 0 {
        return Err(DataError::NoRows {
            path: file.path().to_path_buf(),
        });
    }
    let features = Tensor::from_vec(features, &[rows, feature_columns.len()]);
    Ok((features, feature_names))
}

/// The most classes a target column may make: numeric labels up to 999, or 1000 different
/// class names. A column beyond it is far more likely a continuous target or an identifier
/// than a thousand-way classification.
pub const MAX_CLASSES: usize = 1000;

/// When the task is not given, a numeric target is taken as class labels only if every value
/// is a whole number from 0 to this…
pub const MAX_INFERRED_LABEL: usize = 99;

/// …and it holds at most this many different values; more is regression (a count, an age, a
/// score), as scikit-learn's `type_of_target` would not call it multiclass either.
pub const MAX_INFERRED_CLASSES: usize = 50;

/// What [`load_csv_inferring`] read: the data set, the class names when the target held
/// names, and whether the task was inferred from the cells.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedCsv<T> {
    /// The data set; for class names, the labels are indices into `class_names`.
    pub data: Dataset<T>,
    /// The classes in label order (sorted), when the target column held names.
    pub class_names: Option<Vec<String>>,
    /// The number of classes for a classification target: the class names, or one more than
    /// the largest label.
    pub num_classes: Option<usize>,
    /// Whether the task was decided from the target's cells rather than given.
    pub task_inferred: bool,
}

/// Loads a CSV file like [`load_csv`], but reads the target column as written and decides
/// from it what it holds when `task` is `None`:
///
/// - **Class names** (no cell reads as a number: `setosa`, `versicolor`, …): classification,
///   labels given to the names in sorted order. With `Some(Task::Regression)` the first name is
///   an error.
/// - **Whole numbers from 0 to [`MAX_INFERRED_LABEL`], at most [`MAX_INFERRED_CLASSES`]
///   different**: classification, the numbers themselves the labels.
/// - **Other numbers**: regression.
///
/// With `Some(Task::Classification)`, numeric labels must be whole numbers from 0; either way
/// a classifier has at most [`MAX_CLASSES`] classes.
///
/// # Errors
/// As [`load_csv`], and [`DataError::EmptyClassName`], [`DataError::MixedTarget`] (numbers and
/// names in one column), [`DataError::TooManyClasses`].
///
/// ```
/// use chainrule_train::{load_csv_inferring, Task};
/// let path = std::env::temp_dir().join("chainrule-doc-load-inferring.csv");
/// std::fs::write(&path, "a,species\n1,virginica\n2,setosa\n3,virginica\n").unwrap();
/// let loaded = load_csv_inferring::<f32>(&path, "species", None).unwrap();
/// assert_eq!(loaded.class_names.as_deref(), Some(&["setosa".to_string(), "virginica".into()][..]));
/// assert_eq!(loaded.data.classes(), Some(&[1, 0, 1][..]));
/// assert!(loaded.task_inferred);
/// // 0…k−1 labels stay labels; anything else numeric is a regression target.
/// std::fs::write(&path, "a,y\n1,0\n2,2\n3,1\n").unwrap();
/// let loaded = load_csv_inferring::<f32>(&path, "y", None).unwrap();
/// assert_eq!((loaded.data.classes(), loaded.num_classes), (Some(&[0, 2, 1][..]), Some(3)));
/// std::fs::write(&path, "a,y\n1,0.5\n2,2\n3,1\n").unwrap();
/// let loaded = load_csv_inferring::<f32>(&path, "y", None).unwrap();
/// assert!(loaded.data.values().is_some());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_csv_inferring<T: Float>(
    path: impl AsRef<Path>,
    target_column: &str,
    task: Option<Task>,
) -> Result<LoadedCsv<T>, DataError> {
    load_csv_inferring_with(path, target_column, task, None)
}

/// [`load_csv_inferring`] with the separator named (`Some(b';')`, `Some(b'\t')`, …) rather
/// than guessed from the header row (`None`).
///
/// # Errors
/// As [`load_csv_inferring`].
///
/// ```
/// use chainrule_train::load_csv_inferring_with;
/// let path = std::env::temp_dir().join("chainrule-doc-load-delimiter.csv");
/// std::fs::write(&path, "a;b;y\n1;5;0\n2;6;1\n").unwrap();
/// let loaded = load_csv_inferring_with::<f64>(&path, "y", None, Some(b';')).unwrap();
/// assert_eq!(loaded.data.feature_names(), ["a", "b"]);
/// assert_eq!(loaded.data.features().as_slice(), &[1.0, 5.0, 2.0, 6.0]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_csv_inferring_with<T: Float>(
    path: impl AsRef<Path>,
    target_column: &str,
    task: Option<Task>,
    delimiter: Option<u8>,
) -> Result<LoadedCsv<T>, DataError> {
    // Each target cell as written, its line, and its value where it reads as a number.
    let mut cells: Vec<(String, u64, Option<f64>)> = Vec::new();
    let mut target = 0;
    let (features, feature_names) =
        read_features(path.as_ref(), delimiter, target_column, |row, column| {
            target = column;
            let text = row.text(column);
            cells.push((text.to_string(), row.line(), text.parse::<f64>().ok()));
            Ok(())
        })?;
    let path = path.as_ref().to_path_buf();
    let rows = cells.len();
    let column_number = target + 1;
    let column = target_column.to_string();
    let first_number = cells.iter().find(|c| c.2.is_some());
    let first_word = cells.iter().find(|c| c.2.is_none());

    let too_many = |what: String| DataError::TooManyClasses {
        path: path.clone(),
        column: column.clone(),
        what,
        limit: MAX_CLASSES,
    };
    let (targets, class_names, num_classes, task_inferred) = match (first_word, first_number) {
        (Some(word), Some(number)) => {
            return Err(DataError::MixedTarget {
                path,
                line: word.1,
                column_number,
                column,
                text: word.0.clone(),
                number_line: number.1,
                number: number.0.clone(),
            })
        }
        (Some(word), None) if task == Some(Task::Regression) => {
            return Err(DataError::NotANumber {
                path,
                line: word.1,
                column_number,
                column,
                text: word.0.clone(),
            })
        }
        (Some(_), None) => {
            if let Some(empty) = cells.iter().find(|c| c.0.is_empty()) {
                return Err(DataError::EmptyClassName {
                    path,
                    line: empty.1,
                    column_number,
                    column,
                });
            }
            let names: Vec<String> = cells
                .iter()
                .map(|c| c.0.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect();
            if names.len() > MAX_CLASSES {
                return Err(too_many(format!("{} different class names", names.len())));
            }
            let labels = cells
                .iter()
                .map(|c| names.binary_search(&c.0).expect("every name is listed"))
                .collect();
            let count = names.len();
            (
                Targets::Classes(labels),
                Some(names),
                Some(count),
                task.is_none(),
            )
        }
        (None, _) => {
            let whole = |v: f64| v >= 0.0 && v < 2f64.powi(53) && v.fract() == 0.0;
            let values = || cells.iter().map(|c| c.2.expect("all numbers"));
            let classify = match task {
                Some(task) => task == Task::Classification,
                None => {
                    let labels: Option<std::collections::BTreeSet<u64>> = values()
                        .map(|v| (whole(v) && v <= MAX_INFERRED_LABEL as f64).then_some(v as u64))
                        .collect();
                    labels.is_some_and(|l| l.len() <= MAX_INFERRED_CLASSES)
                }
            };
            if classify {
                if let Some(bad) = cells.iter().find(|c| !whole(c.2.expect("a number"))) {
                    return Err(DataError::NotAWholeNumber {
                        path,
                        line: bad.1,
                        column_number,
                        column,
                        text: bad.0.clone(),
                    });
                }
                let labels: Vec<usize> = values().map(|v| v as usize).collect();
                let largest = labels.iter().copied().max().unwrap_or(0);
                if largest >= MAX_CLASSES {
                    return Err(too_many(format!(
                        "the largest label, {largest}, makes {} classes (class labels are 0, \
                         1, …, k−1)",
                        largest as u128 + 1
                    )));
                }
                (
                    Targets::Classes(labels),
                    None,
                    Some(largest + 1),
                    task.is_none(),
                )
            } else {
                let mut out = Vec::with_capacity(rows);
                for (text, line, value) in &cells {
                    let value = value.expect("a number");
                    let converted = T::of(value);
                    if !value.is_finite() {
                        return Err(DataError::NotANumber {
                            path,
                            line: *line,
                            column_number,
                            column,
                            text: text.clone(),
                        });
                    }
                    if !converted.is_finite() {
                        return Err(DataError::OutOfRange {
                            path,
                            line: *line,
                            column_number,
                            column,
                            text: text.clone(),
                            float: T::NAME,
                            max: T::max_value().to_f64_exact(),
                        });
                    }
                    out.push(converted);
                }
                let values = Targets::Values(Tensor::from_vec(out, &[rows, 1]));
                (values, None, None, task.is_none())
            }
        }
    };
    Ok(LoadedCsv {
        data: Dataset::new(features, targets).with_names(feature_names, target_column),
        class_names,
        num_classes,
        task_inferred,
    })
}
