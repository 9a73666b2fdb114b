//! Loading CSV data: every kind of bad input is an error naming the file, the line and the
//! column; good input (including the bundled digits data) loads whole.

mod common;

use chainrule_train::{
    load_assignment, load_csv, split_by_assignment, DataError, Dataset, Part, Targets, Task,
};
use common::{repo_data, Scratch};

fn load(path: &std::path::Path, task: Task) -> Result<Dataset<f64>, DataError> {
    load_csv::<f64>(path, "y", task)
}

#[test]
fn loads_features_targets_and_names() {
    let dir = Scratch::new("data-good");
    let path = dir.write("good.csv", "a, y ,b\n1,0,2\n 3.5 ,2, -4e1\n\n5,1,6\n");
    let data = load(&path, Task::Classification).unwrap();
    assert_eq!(data.features().shape(), &[3, 2]);
    assert_eq!(
        data.features().to_vec(),
        vec![1.0, 2.0, 3.5, -40.0, 5.0, 6.0]
    );
    assert_eq!(data.feature_names(), ["a", "b"]);
    assert_eq!(data.target_name(), "y");
    assert_eq!(data.classes(), Some(&[0, 2, 1][..]));
    assert_eq!(data.num_classes(), Some(3));

    let data = load(&path, Task::Regression).unwrap();
    assert_eq!(
        data.targets(),
        &Targets::Values(chainrule_autodiff::Tensor::from_vec(
            vec![0.0, 2.0, 1.0],
            &[3, 1]
        ))
    );
}

#[test]
fn a_missing_file_names_the_file() {
    let dir = Scratch::new("data-missing");
    let path = dir.path("nowhere.csv");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_an_error() {
    let dir = Scratch::new("data-empty");
    let path = dir.write("empty.csv", "");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );

    let path = dir.write("header.csv", "a,y\n");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(matches!(err, DataError::NoRows { .. }), "{err:?}");
}

#[test]
fn an_unknown_target_column_lists_the_columns() {
    let dir = Scratch::new("data-column");
    let path = dir.write("cols.csv", "alpha,beta,gamma\n1,2,3\n");
    let err = load(&path, Task::Regression).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DataError::UnknownColumn { .. }), "{err:?}");
    assert!(
        text.contains("\"y\"") && text.contains("alpha, beta, gamma"),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("{}:1:", path.display())),
        "{text}"
    );

    let path = dir.write("twice.csv", "y,x,y\n1,2,3\n");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(
        matches!(err, DataError::DuplicateColumn { count: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn a_non_numeric_cell_names_file_line_and_column() {
    let dir = Scratch::new("data-number");
    let path = dir.write("bad.csv", "x1,x2,y\n1,2,3\n4,five,6\n");
    let err = load(&path, Task::Regression).unwrap_err();
    match &err {
        DataError::NotANumber {
            line,
            column_number,
            column,
            text,
            ..
        } => {
            assert_eq!((*line, *column_number), (3, 2));
            assert_eq!(column, "x2");
            assert_eq!(text, "five");
        }
        other => panic!("expected NotANumber, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:2: column \"x2\": \"five\" is not a finite number",
            path.display()
        )
    );
}

#[test]
fn empty_and_non_finite_cells_are_not_numbers() {
    let dir = Scratch::new("data-finite");
    for (name, row, column) in [
        ("blank.csv", "1,,3", "x2"),
        ("nan.csv", "1,NaN,3", "x2"),
        ("inf.csv", "1,2,inf", "y"),
    ] {
        let path = dir.write(name, format!("x1,x2,y\n{row}\n"));
        let err = load(&path, Task::Regression).unwrap_err();
        assert!(
            matches!(&err, DataError::NotANumber { line: 2, column: c, .. } if c == column),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn a_ragged_row_names_its_line() {
    let dir = Scratch::new("data-ragged");
    let path = dir.write("ragged.csv", "a,b,y\n1,2,3\n4,5,6\n7,8\n");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::RaggedRow {
                line: 4,
                found: 2,
                expected: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}:4:", path.display())));

    let path = dir.write("long.csv", "a,y\n1,2,3\n");
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::RaggedRow {
                line: 2,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_class_label_must_be_a_non_negative_whole_number() {
    let dir = Scratch::new("data-label");
    for label in ["1.5", "-1", "two", "1e300"] {
        let path = dir.write("label.csv", format!("x,y\n0,1\n0,{label}\n"));
        let err = load(&path, Task::Classification).unwrap_err();
        match &err {
            DataError::NotAWholeNumber {
                line,
                column_number,
                column,
                text,
                ..
            } => {
                assert_eq!((*line, *column_number), (3, 2), "{label}");
                assert_eq!((column.as_str(), text.as_str()), ("y", label));
            }
            other => panic!("{label}: expected NotAWholeNumber, got {other:?}"),
        }
        assert!(err.to_string().contains(":3:2: column \"y\""), "{err}");
    }
    // A label written as a float with no fraction is fine.
    let path = dir.write("label.csv", "x,y\n0,3.0\n");
    assert_eq!(
        load(&path, Task::Classification).unwrap().classes(),
        Some(&[3][..])
    );
}

#[test]
fn invalid_utf8_names_the_file() {
    let dir = Scratch::new("data-utf8");
    let path = dir.write("latin1.csv", b"x,y\n1,\xff\xfe\n".as_slice());
    let err = load(&path, Task::Regression).unwrap_err();
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn select_keeps_names_and_order() {
    let dir = Scratch::new("data-select");
    let path = dir.write("s.csv", "p,q,y\n1,2,0\n3,4,1\n5,6,2\n");
    let data = load(&path, Task::Classification).unwrap();
    let picked = data.select(&[2, 0, 2]);
    assert_eq!(
        picked.features().to_vec(),
        vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]
    );
    assert_eq!(picked.classes(), Some(&[2, 0, 2][..]));
    assert_eq!(picked.feature_names(), ["p", "q"]);
}

#[test]
fn split_file_errors_name_file_line_and_column() {
    let dir = Scratch::new("data-splitfile");
    let cases = [
        ("row,split\n0,train\n1,holdout\n", ":3:2: column \"split\""),
        ("row,split\n0,train\nx,test\n", ":3:1: column \"row\""),
        (
            "row,split\n0,train\n1,test\n0,val\n",
            ":4: row 0 is assigned a second time",
        ),
        ("row,split\n0,train\n5,test\n", ":3: row 5 is out of range"),
        ("idx,split\n0,train\n", "no column named \"row\""),
        ("row,split\n", "no data rows"),
    ];
    for (contents, expected) in cases {
        let path = dir.write("split.csv", contents);
        let err = load_assignment(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains(expected), "expected {expected:?} in {text:?}");
    }
}

#[test]
fn the_bundled_digits_load_with_their_fixed_split() {
    let data = load_csv::<f32>(repo_data("digits.csv"), "target", Task::Classification).unwrap();
    assert_eq!(data.features().shape(), &[1797, 64]);
    assert_eq!(data.num_classes(), Some(10));
    assert_eq!(data.feature_names()[0], "pixel_0_0");
    assert_eq!(data.feature_names()[63], "pixel_7_7");
    assert!(data
        .features()
        .as_slice()
        .iter()
        .all(|&v| (0.0..=16.0).contains(&v)));

    let assignment = load_assignment(repo_data("digits_split.csv")).unwrap();
    assert_eq!(assignment.len(), 1797);
    let count = |part| assignment.iter().filter(|&&p| p == part).count();
    assert_eq!(
        (
            count(Part::Train),
            count(Part::Validation),
            count(Part::Test)
        ),
        (1077, 360, 360)
    );
    let split = split_by_assignment(&data, &assignment).unwrap();
    assert_eq!(
        (split.train.len(), split.validation.len(), split.test.len()),
        (1077, 360, 360)
    );
    assert_eq!(split.test.num_features(), 64);
}
