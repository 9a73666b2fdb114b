//! What the digits tests read straight from the bundled files, with plain string handling, to
//! check the examples' reports from outside.

#![allow(dead_code)] // each test file uses its own subset

use chainrule_material::data_path;

/// The rows of `digits.csv` (pixels, label) of the test part of the fixed split, in row order.
pub fn test_rows() -> Vec<(Vec<f64>, usize)> {
    let data = std::fs::read_to_string(data_path("digits.csv")).unwrap();
    let rows: Vec<(Vec<f64>, usize)> = data
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            let label = cells.pop().unwrap().parse().unwrap();
            (cells.iter().map(|c| c.parse().unwrap()).collect(), label)
        })
        .collect();
    let split = std::fs::read_to_string(data_path("digits_split.csv")).unwrap();
    let mut part = vec![String::new(); rows.len()];
    for line in split.lines().skip(1).filter(|l| !l.is_empty()) {
        let (row, name) = line.split_once(',').unwrap();
        part[row.parse::<usize>().unwrap()] = name.to_string();
    }
    rows.into_iter()
        .zip(part)
        .filter(|(_, part)| part == "test")
        .map(|(row, _)| row)
        .collect()
}

/// The labels of the test rows, in row order, read with plain string handling.
pub fn test_labels() -> Vec<usize> {
    test_rows().into_iter().map(|(_, label)| label).collect()
}
