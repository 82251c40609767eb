//! Tables of numbers (`.csv`, `.tsv`, `.txt`) read as rows of features and an optional label
//! column. The delimiter (comma, semicolon, tab, or runs of spaces), a header row and
//! scikit-learn's count line (`569,30,malignant,benign`) are detected unless the options fix
//! them; every cell is checked, and a bad one is named by its line and column.

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// How a table is read. The defaults detect everything and refuse missing cells.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableOptions {
    /// The field delimiter: `,`, `;`, a tab, or a space for runs of whitespace; detected when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Whether the first row (after skipped rows) names the columns; detected when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Lines skipped before the table starts.
    #[serde(skip_serializing_if = "is_zero")]
    pub skip_rows: usize,
    /// The column taken out as the label: a name from the header, or a 0-based index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// The feature columns (names or indices); every column but the label when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Columns left out of the features.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop_columns: Vec<String>,
    /// What to do with an empty or non-finite feature cell.
    #[serde(skip_serializing_if = "Missing::is_refuse")]
    pub missing: Missing,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TableOptions {
    /// True when nothing is set (the config then leaves the table section out).
    pub fn is_default(&self) -> bool {
        *self == TableOptions::default()
    }
}

/// The policy for missing cells: empty, `NA`, `NaN`, `?`, `null` or an infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// Refuse the table, naming the line and column.
    #[default]
    Refuse,
    /// Leave out every row with a missing cell.
    Drop,
    /// Replace a missing cell with its column's mean over the training rows' finite cells
    /// (kept as NaN by the reader; the fill is fitted with the normalisation and saved with it).
    Mean,
}

impl Missing {
    fn is_refuse(&self) -> bool {
        *self == Missing::Refuse
    }
}

impl std::str::FromStr for Missing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "refuse" => Ok(Missing::Refuse),
            "drop" => Ok(Missing::Drop),
            "mean" => Ok(Missing::Mean),
            _ => Err(format!("unknown policy {s:?}; expected refuse, drop or mean")),
        }
    }
}

/// A table read into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Row-major feature values, `rows x feature_names.len()`.
    pub values: Vec<f32>,
    /// Rows kept.
    pub rows: usize,
    /// The feature columns' names (their indices as text when the table has no header).
    pub feature_names: Vec<String>,
    /// The label cell of each row, when a label column was chosen.
    pub labels: Option<Vec<String>>,
    /// The line (1-based, in the file) each kept row came from.
    pub lines: Vec<usize>,
    /// Class names a scikit-learn count line gives for labels 0, 1, ... (empty without one).
    pub class_names: Vec<String>,
}

/// Reads the table at `path`.
pub fn read_table(path: &Path, opts: &TableOptions) -> Result<Table, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    parse_table(&bytes, path, opts)
}

/// Cells that count as missing, compared ignoring case.
const MISSING: [&str; 6] = ["", "na", "n/a", "nan", "null", "?"];

/// Parses a table held in memory; `path` only names it in errors.
pub fn parse_table(bytes: &[u8], path: &Path, opts: &TableOptions) -> Result<Table, DataError> {
    let err = |line: Option<usize>, why: String| DataError::Table { path: path.to_path_buf(), line, why };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        err(Some(line), format!("not UTF-8 text (byte {}); expected a text table", e.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Lines as (1-based number, text), skipped rows and blank lines left out.
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .skip(opts.skip_rows)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    if lines.is_empty() {
        return Err(err(None, "empty: no rows; expected a header and rows of numbers, or rows of numbers".into()));
    }
    let delimiter = match opts.delimiter {
        Some(d) => d,
        None => detect_delimiter(&lines),
    };
    let mut records = split_records(&lines, delimiter, path)?;
    let mut class_names = Vec::new();
    if opts.skip_rows == 0 && opts.header != Some(true) && is_count_line(&records) {
        let (_, counts) = records.remove(0);
        class_names = counts.iter().skip(2).map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    }
    let header = match opts.header {
        Some(h) => h,
        None => looks_like_header(&records),
    };
    let names: Vec<String> = if header {
        let (_, names) = records.remove(0);
        names
    } else {
        // Empty when a count line was all there was (found by fuzzing).
        let Some((_, first)) = records.first() else {
            return Err(err(None, "a count line and no rows; expected rows of numbers under it".into()));
        };
        (0..first.len()).map(|i| i.to_string()).collect()
    };
    if records.is_empty() {
        return Err(err(None, "a header and no rows; expected at least one row of numbers".into()));
    }
    for (i, a) in names.iter().enumerate() {
        if let Some(j) = names[i + 1..].iter().position(|b| b == a) {
            return Err(err(
                None,
                format!("duplicate column name {a:?} (columns {i} and {}); expected distinct names", i + 1 + j),
            ));
        }
    }
    let width = names.len();
    if let Some((line, cells)) = records.iter().find(|(_, c)| c.len() != width) {
        return Err(err(
            Some(*line),
            format!(
                "{} fields; expected {width} as the {} has (delimiter {:?})",
                cells.len(),
                if header { "header" } else { "first row" },
                delimiter
            ),
        ));
    }
    let label = opts.label_column.as_deref().map(|c| column_index("label column", c, &names, path)).transpose()?;
    let features: Vec<usize> = if opts.columns.is_empty() {
        let dropped: Vec<usize> = opts
            .drop_columns
            .iter()
            .map(|c| column_index("--drop-columns", c, &names, path))
            .collect::<Result<_, _>>()?;
        (0..width).filter(|i| Some(*i) != label && !dropped.contains(i)).collect()
    } else {
        opts.columns.iter().map(|c| column_index("--columns", c, &names, path)).collect::<Result<_, _>>()?
    };
    if features.is_empty() {
        return Err(err(None, "no feature columns left; expected at least one numeric column".into()));
    }
    // Cells parse in parallel: one pass per row, NaN marking a missing cell.
    let parsed: Vec<Result<Vec<f32>, DataError>> = records
        .par_iter()
        .map(|(line, cells)| {
            features
                .iter()
                .map(|&j| {
                    let cell = cells[j].trim();
                    // Finite as f32, the type training uses: 1e300 is as missing as inf.
                    match cell.parse::<f64>() {
                        Ok(v) if (v as f32).is_finite() => Ok(v as f32),
                        Ok(_) => Ok(f32::NAN),
                        Err(_) if MISSING.iter().any(|m| cell.eq_ignore_ascii_case(m)) => Ok(f32::NAN),
                        Err(_) => Err(err(
                            Some(*line),
                            format!(
                                "column {j} ({:?}): {cell:?} is not a number; expected a number (or --drop-columns {:?}, or --label-column {:?})",
                                names[j], names[j], names[j]
                            ),
                        )),
                    }
                })
                .collect()
        })
        .collect();
    let rows: Vec<Vec<f32>> = parsed.into_iter().collect::<Result<_, _>>()?;
    let mut kept: Vec<usize> = (0..rows.len()).collect();
    let missing_at = |row: &[f32]| row.iter().position(|v| v.is_nan());
    match opts.missing {
        Missing::Refuse => {
            if let Some((r, j)) = rows.iter().enumerate().find_map(|(r, row)| missing_at(row).map(|j| (r, j))) {
                let (line, cells) = &records[r];
                let col = features[j];
                return Err(err(
                    Some(*line),
                    format!(
                        "column {col} ({:?}): missing value {:?}; expected a finite number, or --missing drop|mean",
                        names[col],
                        cells[col].trim()
                    ),
                ));
            }
        }
        Missing::Drop => {
            kept.retain(|&r| missing_at(&rows[r]).is_none());
            if kept.is_empty() {
                return Err(err(None, "every row has a missing cell; --missing drop left no rows".into()));
            }
        }
        // Filled after the split, with the training rows' means (`Normalization::fill`), so
        // no test row's value leaks into training.
        Missing::Mean => {}
    }
    let labels = match label {
        None => None,
        Some(l) => {
            let mut out = Vec::with_capacity(kept.len());
            for &r in &kept {
                let (line, cells) = &records[r];
                let v = cells[l].trim();
                if v.is_empty() {
                    return Err(err(
                        Some(*line),
                        format!("column {l} ({:?}): empty label; expected a value", names[l]),
                    ));
                }
                out.push(v.to_string());
            }
            Some(out)
        }
    };
    let mut values = Vec::with_capacity(kept.len() * features.len());
    for &r in &kept {
        values.extend_from_slice(&rows[r]);
    }
    Ok(Table {
        values,
        rows: kept.len(),
        feature_names: features.iter().map(|&j| names[j].clone()).collect(),
        labels,
        lines: kept.iter().map(|&r| records[r].0).collect(),
        class_names,
    })
}

/// The delimiter that splits the first lines into the same number (above one) of fields most
/// often: comma, semicolon, tab, then runs of whitespace; a comma for a one-column table.
fn detect_delimiter(lines: &[(usize, &str)]) -> char {
    let sample = &lines[..lines.len().min(50)];
    let mut best = (',', 0usize);
    for d in [',', ';', '\t', ' '] {
        let counts: Vec<usize> = sample.iter().map(|(_, l)| fields_of(l, d).len()).collect();
        let Some(&first) = counts.last() else { continue };
        let agree = counts.iter().filter(|&&c| c == first).count();
        if first > 1 && agree * 10 >= sample.len() * 9 && agree > best.1 {
            best = (d, agree);
        }
    }
    best.0
}

/// The fields of one line split by `d` (a space means runs of whitespace). A field that opens
/// with `"` runs to its closing quote, `""` inside it standing for one quote (RFC 4180); an
/// unterminated quote runs to the end of the line.
fn fields_of(line: &str, d: char) -> Vec<String> {
    if d == ' ' {
        return line.split_whitespace().map(|s| s.trim_matches('"').to_string()).collect();
    }
    if !line.contains('"') {
        return line.split(d).map(str::to_string).collect();
    }
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            // Whatever follows the closing quote up to the delimiter belongs to the field.
            while let Some(&c) = chars.peek() {
                if c == d {
                    break;
                }
                field.push(c);
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == d {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        out.push(field);
        match chars.next() {
            Some(_) => continue,
            None => return out,
        }
    }
}

type Records = Vec<(usize, Vec<String>)>;

fn split_records(lines: &[(usize, &str)], d: char, path: &Path) -> Result<Records, DataError> {
    if !d.is_ascii() {
        return Err(DataError::Table {
            path: path.to_path_buf(),
            line: None,
            why: format!("delimiter {d:?} is not one ASCII character; expected , ; tab or space"),
        });
    }
    Ok(lines.par_iter().map(|(n, l)| (*n, fields_of(l, d))).collect())
}

/// scikit-learn's bundled tables open with `n_samples,n_features,class names...`: two counts
/// that match the table, then names or empty cells (or another width than the rows'), so that a
/// row of numbers is never taken for one.
fn is_count_line(records: &Records) -> bool {
    let (Some((_, first)), Some((_, last))) = (records.first(), records.last()) else { return false };
    let num = |i: usize| first.get(i).and_then(|c| c.trim().parse::<usize>().ok());
    let unlike_a_row = first.len() != last.len() || first.iter().skip(2).any(|c| c.trim().parse::<f64>().is_err());
    match (num(0), num(1)) {
        (Some(n), Some(f)) => (n + 1 == records.len() || n + 2 == records.len()) && f + 1 == last.len() && unlike_a_row,
        _ => false,
    }
}

/// A first row is a header when some column holds text there and numbers below it (missing
/// cells among them, so a header over a column with gaps is still found).
fn looks_like_header(records: &Records) -> bool {
    let Some((_, first)) = records.first() else { return false };
    let below = &records[1..records.len().min(21)];
    let number = |c: &str| c.trim().parse::<f64>().is_ok();
    if below.is_empty() {
        // A lone row of names is a header with no rows under it.
        return first.iter().all(|c| !c.trim().is_empty() && !number(c));
    }
    (0..first.len()).any(|j| {
        let cell = first[j].trim();
        let missing = |c: &str| MISSING.iter().any(|m| c.trim().eq_ignore_ascii_case(m));
        !cell.is_empty()
            && !number(cell)
            && !missing(cell)
            && below.iter().all(|(_, r)| r.get(j).is_some_and(|c| number(c) || missing(c)))
            && below.iter().any(|(_, r)| r.get(j).is_some_and(|c| number(c)))
    })
}

/// The index of column `c`: a header name, else a 0-based index.
fn column_index(what: &str, c: &str, names: &[String], path: &Path) -> Result<usize, DataError> {
    if let Some(i) = names.iter().position(|n| n == c) {
        return Ok(i);
    }
    if let Ok(i) = c.parse::<usize>()
        && i < names.len()
    {
        return Ok(i);
    }
    let shown: Vec<&str> = names.iter().take(40).map(String::as_str).collect();
    Err(DataError::Column {
        path: path.to_path_buf(),
        what: what.to_string(),
        column: c.to_string(),
        expected: format!(
            "a column name or an index from 0 to {} (columns: {}{})",
            names.len() - 1,
            shown.join(", "),
            if names.len() > 40 { ", ..." } else { "" }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, opts: &TableOptions) -> Result<Table, DataError> {
        parse_table(text.as_bytes(), Path::new("t.csv"), opts)
    }

    fn labelled(col: &str) -> TableOptions {
        TableOptions { label_column: Some(col.into()), ..Default::default() }
    }

    #[test]
    fn sklearn_count_line_is_skipped_and_labels_taken_out() {
        let t = parse("3,2,no,yes\n1.5,2,0\n3,4e1,1\n-1,0,0\n", &labelled("2")).unwrap();
        assert_eq!(t.rows, 3);
        assert_eq!(t.values, [1.5, 2.0, 3.0, 40.0, -1.0, 0.0]);
        assert_eq!(t.labels.unwrap(), ["0", "1", "0"]);
        assert_eq!(t.feature_names, ["0", "1"]);
        assert_eq!(t.lines, [2, 3, 4]);
        assert_eq!(t.class_names, ["no", "yes"]);
    }

    #[test]
    fn delimiters_headers_and_quotes_are_detected() {
        let t = parse("\"a\";\"b c\";kind\n1;2;x\n3;4;y\n", &labelled("kind")).unwrap();
        assert_eq!((t.feature_names.clone(), t.values.clone()), (vec!["a".into(), "b c".into()], vec![1., 2., 3., 4.]));
        assert_eq!(fields_of(r#""x ""y""",2,"a,b"#, ','), ["x \"y\"", "2", "a,b"]);
        assert_eq!(fields_of("1,,3,", ','), ["1", "", "3", ""]);
        let t = parse("1\t2\n3\t4\n", &TableOptions::default()).unwrap();
        assert_eq!((t.rows, t.feature_names.len()), (2, 2));
        let t = parse("1  2 3\n 4 5   6\n", &TableOptions::default()).unwrap();
        assert_eq!(t.values, [1., 2., 3., 4., 5., 6.]);
        // A header of numbers is only a header when asked for.
        let t = parse("10,20\n1,2\n", &TableOptions { header: Some(true), ..Default::default() }).unwrap();
        assert_eq!((t.feature_names, t.rows), (vec!["10".into(), "20".into()], 1));
        let t = parse("junk line\n1,2\n", &TableOptions { skip_rows: 1, ..Default::default() }).unwrap();
        assert_eq!(t.lines, [2]);
    }

    #[test]
    fn columns_are_chosen_by_name_or_index() {
        let text = "a,b,c,d\n1,2,3,4\n5,6,7,8\n";
        let t = parse(text, &TableOptions { columns: vec!["d".into(), "0".into()], ..Default::default() }).unwrap();
        assert_eq!(t.values, [4., 1., 8., 5.]);
        let t = parse(text, &TableOptions { drop_columns: vec!["b".into()], ..labelled("c") }).unwrap();
        assert_eq!((t.feature_names, t.labels.unwrap()), (vec!["a".into(), "d".into()], vec!["3".into(), "7".into()]));
    }

    #[test]
    fn missing_cells_are_refused_dropped_or_filled() {
        let text = "a,b\n1,2\n,4\n5,1e300\n3,6\n";
        let err = parse(text, &TableOptions::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.csv: line 3: column 0 (\"a\"): missing value \"\"; expected a finite number, or --missing drop|mean"
        );
        let t = parse(text, &TableOptions { missing: Missing::Drop, ..Default::default() }).unwrap();
        assert_eq!((t.values, t.lines), (vec![1., 2., 3., 6.], vec![2, 5]));
        // The header is found over a first column whose second row is missing.
        assert_eq!(t.feature_names, ["a", "b"]);
        // Left missing (NaN) for the training rows' means to fill after the split.
        let t = parse(text, &TableOptions { missing: Missing::Mean, ..Default::default() }).unwrap();
        let shown: Vec<String> = t.values.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["1", "2", "NaN", "4", "5", "NaN", "3", "6"]);
    }

    #[test]
    fn bad_tables_name_the_line_column_and_value() {
        for (text, opts, want) in [
            ("", TableOptions::default(), "t.csv: empty: no rows"),
            ("\n \n", TableOptions::default(), "t.csv: empty: no rows"),
            ("a,b\n", TableOptions::default(), "t.csv: a header and no rows"),
            ("0,2,2\u{1}\0\0 \0", TableOptions::default(), "t.csv: a count line and no rows"),
            ("a,b\n1,2\n3\n", TableOptions::default(), "t.csv: line 3: 1 fields; expected 2 as the header has"),
            ("a,b\n1,2\n3,x\n", TableOptions::default(), "t.csv: line 3: column 1 (\"b\"): \"x\" is not a number"),
            ("a,a\n1,2\n", TableOptions::default(), "t.csv: duplicate column name \"a\" (columns 0 and 1)"),
            (
                "a,b\n1,2\n",
                labelled("z"),
                "t.csv: label column z: no such column; expected a column name or an index from 0 to 1 (columns: a, b)",
            ),
            ("a,b\n1,2\n", labelled("1").clone(), ""),
        ] {
            let got = parse(text, &opts);
            match (want, got) {
                ("", Ok(_)) => {}
                (want, Err(e)) => assert!(e.to_string().starts_with(want), "{e} does not start with {want}"),
                (want, Ok(t)) => panic!("{text:?} parsed to {t:?}; expected {want}"),
            }
        }
    }
}
