//! Reading a CSV file with a header row, and [`DataError`], the error that names the file, line
//! and column of bad input.
//!
//! Both loaders of this crate — data sets ([`crate::load_csv`]) and split assignments
//! ([`crate::load_assignment`]) — read their files through [`CsvFile`], so every bad cell is
//! reported the same way: `path:line:column: column "name": what is wrong`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use chainrule_autodiff::Float;

use csv::StringRecord;
use thiserror::Error;

/// Bad input in a data file: which file, and where possible which line and column.
///
/// Lines are counted from 1 with the header on line 1, as an editor shows them; columns are
/// counted from 1 and also given by name.
///
/// ```
/// use chainrule_train::{load_csv, DataError, Task};
/// let path = std::env::temp_dir().join("chainrule-doc-data-error.csv");
/// std::fs::write(&path, "x,y\n1,2\n3,oops\n").unwrap();
/// let err = load_csv::<f64>(&path, "y", Task::Regression).unwrap_err();
/// assert!(matches!(err, DataError::NotANumber { line: 3, .. }));
/// assert!(err.to_string().ends_with(":3:2: column \"y\": \"oops\" is not a finite number"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file holds nothing, not even a header row.
    #[error("{}: the file is empty; expected a header row naming the columns", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file has a header row but no data rows.
    #[error("{}: the file has a header but no data rows", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// A column the caller asked for is not in the header: the message suggests the closest
    /// name when one is close (`Target` → `target`), and lists the columns otherwise.
    #[error("{}:1: no column named {column:?}; {}", path.display(), suggest(column, columns))]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// Every column of the header, in order.
        columns: Vec<String>,
    },
    /// A column the caller asked for appears more than once in the header.
    #[error(
        "{}:1: column {column:?} appears {count} times in the header, so it is ambiguous",
        path.display()
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// How many header fields carry that name.
        count: usize,
    },
    /// A row has more or fewer fields than the header.
    #[error(
        "{}:{line}: the row has {found} fields, but the header has {expected}",
        path.display()
    )]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The number of fields in the row.
        found: usize,
        /// The number of fields in the header.
        expected: usize,
    },
    /// A cell that should hold a number does not (NaN and infinity are refused too).
    #[error(
        "{}:{line}:{column_number}: column {column:?}: {text:?} is not a finite number",
        path.display()
    )]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
        /// The cell as written.
        text: String,
    },
    /// A number too large for the float type the model computes in (`1e39` in an `f32`
    /// model), which would become infinity there.
    #[error(
        "{}:{line}:{column_number}: column {column:?}: {text:?} is beyond the range of {float}, \
         the type the model computes in (at most about {max:.1e})",
        path.display()
    )]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
        /// The cell as written.
        text: String,
        /// The float type (`f32`).
        float: &'static str,
        /// Its largest finite value.
        max: f64,
    },
    /// A cell that should hold a class label or a row number is not a non-negative whole
    /// number.
    #[error(
        "{}:{line}:{column_number}: column {column:?}: {text:?} is not a non-negative whole number",
        path.display()
    )]
    NotAWholeNumber {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
        /// The cell as written.
        text: String,
    },
    /// A split-assignment cell names no known split.
    #[error(
        "{}:{line}:{column_number}: column {column:?}: {text:?} is not a split; expected train, \
         val (or validation) or test",
        path.display()
    )]
    UnknownSplit {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
        /// The cell as written.
        text: String,
    },
    /// A split-assignment file assigns one row twice.
    #[error(
        "{}:{line}: row {row} is assigned a second time (first on line {first_line})",
        path.display()
    )]
    DuplicateRow {
        /// The file.
        path: PathBuf,
        /// The line of the second assignment.
        line: u64,
        /// The data row assigned twice.
        row: usize,
        /// The line of the first assignment.
        first_line: u64,
    },
    /// A split-assignment file names a row outside `0..n`, where `n` is the number of rows it
    /// assigns (so some row in `0..n` is left out).
    #[error(
        "{}:{line}: row {row} is out of range: the file assigns {assigned} rows, which must be \
         exactly the rows 0 to {}, each once",
        path.display(),
        assigned.saturating_sub(1)
    )]
    RowOutOfRange {
        /// The file.
        path: PathBuf,
        /// The line of the assignment.
        line: u64,
        /// The row named.
        row: usize,
        /// How many rows the file assigns.
        assigned: usize,
    },
    /// A target column of class names has an empty cell.
    #[error(
        "{}:{line}:{column_number}: column {column:?}: the class name is empty; every row needs \
         its class",
        path.display()
    )]
    EmptyClassName {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
    },
    /// A target column holds class names and numbers both, so it is neither.
    #[error(
        "{}:{line}:{column_number}: column {column:?}: {text:?} is not a finite number, while \
         line {number_line} holds the number {number:?}: a target is all numbers or all class \
         names",
        path.display()
    )]
    MixedTarget {
        /// The file.
        path: PathBuf,
        /// The line of the first cell that is not a number.
        line: u64,
        /// The column's position, from 1.
        column_number: usize,
        /// The column's name.
        column: String,
        /// That cell as written.
        text: String,
        /// The line of the first cell that is a number.
        number_line: u64,
        /// That cell as written.
        number: String,
    },
    /// A target column makes more classes than a classifier is built for.
    #[error("{}: column {column:?}: {what}, more than the {limit} classes allowed", path.display())]
    TooManyClasses {
        /// The file.
        path: PathBuf,
        /// The target column's name.
        column: String,
        /// How the classes come about, in words (`the largest label, 346, makes 347 classes`).
        what: String,
        /// The most classes allowed.
        limit: usize,
    },
    /// The CSV reader itself failed (invalid UTF-8, say).
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line where reading failed (0 when unknown).
        line: u64,
        /// What the reader said.
        message: String,
    },
}

/// An open CSV file whose header has been read: what `load_csv`, `load_assignment` and the
/// `chainrule predict` command read their files through.
pub struct CsvFile {
    context: Context,
    reader: csv::Reader<LineCounter<std::io::Chain<std::io::Cursor<Vec<u8>>, File>>>,
}

/// What every error needs to say where it happened.
struct Context {
    path: PathBuf,
    header: Vec<String>,
}

/// One data row, with what is needed to report a bad cell in it.
pub struct Row<'f> {
    context: &'f Context,
    record: StringRecord,
    line: u64,
}

/// The bytes of a file passed through unchanged, noting where each line that is not blank
/// starts and ends, so that a record's byte offset gives its line as an editor counts them.
/// The csv crate's own line numbers are one too low per CRLF and point at the first of any
/// blank lines before a record.
struct LineCounter<R> {
    inner: R,
    /// Where the stream is.
    offset: u64,
    /// The line being read, from 1, and whether its first byte that is not `\r` is still to
    /// come.
    line: u64,
    at_line_start: bool,
    /// The lines that are not blank, from the oldest the reader may still ask about; older
    /// ones are dropped as records are read, so this stays as short as the csv reader's
    /// buffer.
    lines: Rc<RefCell<VecDeque<Line>>>,
}

/// A line that is not blank: its number, and the offset of its `\n` (`u64::MAX` until that
/// is read).
#[derive(Clone, Copy)]
struct Line {
    number: u64,
    end: u64,
}

type Lines = Rc<RefCell<VecDeque<Line>>>;

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut lines = self.lines.borrow_mut();
        for &byte in &buf[..n] {
            match byte {
                b'\n' => {
                    if !self.at_line_start {
                        if let Some(last) = lines.back_mut() {
                            last.end = self.offset;
                        }
                    }
                    self.line += 1;
                    self.at_line_start = true;
                }
                b'\r' => {}
                _ if self.at_line_start => {
                    lines.push_back(Line {
                        number: self.line,
                        end: u64::MAX,
                    });
                    self.at_line_start = false;
                }
                _ => {}
            }
            self.offset += 1;
        }
        Ok(n)
    }
}

/// The line of a record (or an error) at byte `offset`: the line holding that byte, or, when
/// it falls on line ends or blank lines, the next line that is not blank. Lines before it are
/// forgotten.
fn line_at(lines: &RefCell<VecDeque<Line>>, offset: u64) -> u64 {
    let mut lines = lines.borrow_mut();
    while lines.len() > 1 && lines[0].end <= offset {
        lines.pop_front();
    }
    lines.front().map_or(0, |line| line.number)
}

impl CsvFile {
    /// Opens the file and reads its header row.
    ///
    /// # Errors
    /// [`DataError::Io`] when it cannot be opened, [`DataError::Empty`] when it has no header,
    /// [`DataError::Csv`] when the header cannot be read.
    pub fn open(path: &Path) -> Result<CsvFile, DataError> {
        Self::open_with(path, None)
    }

    /// [`CsvFile::open`] with the separator named (`b','`, `b';'`, `b'\t'`) instead of
    /// guessed from the header; `None` guesses.
    ///
    /// # Errors
    /// As [`CsvFile::open`].
    pub fn open_with(path: &Path, delimiter: Option<u8>) -> Result<CsvFile, DataError> {
        let file = File::open(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (first_line, file) = read_first_line(file).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&first_line));
        let lines: Lines = Rc::new(RefCell::new(VecDeque::new()));
        let counter = LineCounter {
            inner: std::io::Cursor::new(first_line).chain(file),
            offset: 0,
            line: 1,
            at_line_start: true,
            lines: Rc::clone(&lines),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(counter);
        let header = match reader.headers() {
            Ok(header) => header.iter().map(str::to_string).collect::<Vec<_>>(),
            Err(e) => return Err(csv_error(path, &[], &lines, &e)),
        };
        if header.is_empty() || header == [""] {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(CsvFile {
            context: Context {
                path: path.to_path_buf(),
                header,
            },
            reader,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.context.path
    }

    /// The column names, in order.
    pub fn header(&self) -> &[String] {
        &self.context.header
    }

    /// The position of the column with this name; an error when it is missing or ambiguous.
    ///
    /// # Errors
    /// [`DataError::UnknownColumn`] or [`DataError::DuplicateColumn`].
    pub fn column(&self, name: &str) -> Result<usize, DataError> {
        let header = &self.context.header;
        let matches: Vec<usize> = (0..header.len()).filter(|&i| header[i] == name).collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(DataError::UnknownColumn {
                path: self.context.path.clone(),
                column: name.to_string(),
                columns: header.clone(),
            }),
            many => Err(DataError::DuplicateColumn {
                path: self.context.path.clone(),
                column: name.to_string(),
                count: many.len(),
            }),
        }
    }

    /// The next data row, checked to have as many fields as the header; `None` at the end.
    ///
    /// # Errors
    /// [`DataError::RaggedRow`], or [`DataError::Csv`] when the reader fails.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, DataError> {
        let mut record = StringRecord::new();
        let lines = Rc::clone(&self.reader.get_ref().lines);
        let more = self
            .reader
            .read_record(&mut record)
            .map_err(|e| csv_error(&self.context.path, &self.context.header, &lines, &e))?;
        if !more {
            return Ok(None);
        }
        let line = record.position().map_or(0, |p| line_at(&lines, p.byte()));
        if record.len() != self.context.header.len() {
            return Err(DataError::RaggedRow {
                path: self.context.path.clone(),
                line,
                found: record.len(),
                expected: self.context.header.len(),
            });
        }
        Ok(Some(Row {
            context: &self.context,
            record,
            line,
        }))
    }
}

impl Row<'_> {
    /// The line this row starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The cell in `column`, as written (trimmed).
    pub fn text(&self, column: usize) -> &str {
        &self.record[column]
    }

    /// The cell in `column` as a finite number of type `T` — finite in `T`, not only in `f64`:
    /// `1e39` is refused for an `f32` model, where it would be infinity.
    ///
    /// # Errors
    /// [`DataError::NotANumber`] or [`DataError::OutOfRange`], naming the line and column.
    pub fn number<T: Float>(&self, column: usize) -> Result<T, DataError> {
        let text = self.text(column);
        let value = match text.parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                return Err(DataError::NotANumber {
                    path: self.context.path.clone(),
                    line: self.line,
                    column_number: column + 1,
                    column: self.context.header[column].clone(),
                    text: text.to_string(),
                })
            }
        };
        let converted = T::of(value);
        if converted.is_finite() {
            Ok(converted)
        } else {
            Err(DataError::OutOfRange {
                path: self.context.path.clone(),
                line: self.line,
                column_number: column + 1,
                column: self.context.header[column].clone(),
                text: text.to_string(),
                float: T::NAME,
                max: T::max_value().to_f64_exact(),
            })
        }
    }

    /// The cell in `column` as a non-negative whole number (`3` and `3.0` both read as 3).
    pub fn whole_number(&self, column: usize) -> Result<usize, DataError> {
        let text = self.text(column);
        let exact_limit = 2f64.powi(53);
        match text.parse::<f64>() {
            Ok(value) if value >= 0.0 && value < exact_limit && value.fract() == 0.0 => {
                Ok(value as usize)
            }
            _ => Err(DataError::NotAWholeNumber {
                path: self.context.path.clone(),
                line: self.line,
                column_number: column + 1,
                column: self.context.header[column].clone(),
                text: text.to_string(),
            }),
        }
    }

    /// An [`DataError::UnknownSplit`] for the cell in `column`.
    pub fn unknown_split(&self, column: usize) -> DataError {
        DataError::UnknownSplit {
            path: self.context.path.clone(),
            line: self.line,
            column_number: column + 1,
            column: self.context.header[column].clone(),
            text: self.text(column).to_string(),
        }
    }
}

/// A [`DataError::Csv`] (or [`DataError::Io`]) from the csv crate's error, with the line
/// counted as [`LineCounter`] counts it and the field from 1 with its column's name.
fn csv_error(
    path: &Path,
    header: &[String],
    lines: &RefCell<VecDeque<Line>>,
    error: &csv::Error,
) -> DataError {
    if let csv::ErrorKind::Io(e) = error.kind() {
        return DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(e.kind(), e.to_string()),
        };
    }
    let line = error.position().map_or(0, |p| line_at(lines, p.byte()));
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            let field = err.field() + 1;
            match header.get(err.field()) {
                Some(name) => format!("column {field} ({name:?}) is not valid UTF-8"),
                None => format!("field {field} is not valid UTF-8"),
            }
        }
        _ => error.to_string(),
    };
    DataError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// The most of a file read to find the header's delimiter; a longer first line is judged by
/// its first megabyte.
const SNIFF_LIMIT: usize = 1 << 20;

/// The file's first line (with its `\n`, up to [`SNIFF_LIMIT`] bytes) and the file, to be read
/// on from there. Read byte by byte from the open file, not by opening it again, so a pipe or
/// FIFO works too.
fn read_first_line(mut file: File) -> std::io::Result<(Vec<u8>, File)> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while line.len() < SNIFF_LIMIT {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        line.extend_from_slice(&chunk[..n]);
        if chunk[..n].contains(&b'\n') {
            break;
        }
    }
    Ok((line, file))
}

/// The header's delimiter: whichever of comma, semicolon and tab it holds most of outside
/// double quotes (a comma on a tie or when it holds none), as spreadsheets export `;` where
/// the decimal mark is a comma.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &byte in header {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, count) in &mut counts {
                if byte == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, c)| if c > best.1 { (d, c) } else { best },
        )
        .0
}

/// The name among `names` that `name` most likely misspells: the same but for case, or the one
/// fewest edits away (insertions, deletions, substitutions; case ignored), at most one edit per
/// three characters of `name` and one more. `None` when nothing is that close. For the "did you
/// mean" of error messages: a column of a CSV file, a function of the expression language.
///
/// ```
/// use chainrule_train::closest_name;
/// let functions = ["sigmoid", "softplus", "sqrt"];
/// assert_eq!(closest_name("sigmod", functions), Some("sigmoid"));
/// assert_eq!(closest_name("SQRT", functions), Some("sqrt"));
/// assert_eq!(closest_name("banana", functions), None);
/// ```
pub fn closest_name<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let distance = |candidate: &str| {
        if candidate.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &candidate.to_lowercase()) + 1
        }
    };
    let allowed = 1 + name.chars().count() / 3;
    names
        .into_iter()
        .map(|candidate| (distance(candidate), candidate))
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, _)| d)
        .map(|(_, candidate)| candidate)
}

/// "did you mean "target"?" for a near miss, else the list of columns (the first 20).
fn suggest(column: &str, columns: &[String]) -> String {
    if let Some(name) = closest_name(column, columns.iter().map(String::as_str)) {
        return format!("did you mean {name:?}?");
    }
    const SHOWN: usize = 20;
    let mut list = columns
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if columns.len() > SHOWN {
        list += &format!(" and {} more", columns.len() - SHOWN);
    }
    format!("the columns are {list}")
}

/// The Levenshtein distance: the fewest insertions, deletions and substitutions of characters
/// that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested_and_far_ones_listed() {
        let columns: Vec<String> = ["age", "sex", "bmi", "target"].map(String::from).to_vec();
        assert_eq!(suggest("Target", &columns), "did you mean \"target\"?");
        assert_eq!(suggest("targte", &columns), "did you mean \"target\"?");
        assert_eq!(
            suggest("label", &columns),
            "the columns are age, sex, bmi, target"
        );
        let many: Vec<String> = (0..65).map(|i| format!("pixel_{i}")).collect();
        assert!(suggest("zzz", &many).ends_with("pixel_19 and 45 more"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_delimiter_is_the_commonest_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"x;y\",b\n"), b',');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
    }
}
