//! `docs/errors.md` stays true: every case it lists names a test, and that test exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn every_case_in_the_errors_doc_names_a_test_that_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/errors.md")).unwrap();
    let mut cases = 0;
    // Rows of the tables whose header starts with "| case" (other tables, such as the fuzzing
    // figures, are not cases).
    let mut in_cases = false;
    for line in doc.lines() {
        if !line.starts_with('|') {
            in_cases = false;
            continue;
        }
        if line.starts_with("| case") {
            in_cases = true;
            continue;
        }
        if !in_cases || line.starts_with("| ---") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let test = cells[cells.len() - 1].trim_matches('`');
        let (file, name) = test.split_once("::").unwrap_or_else(|| panic!("no `file::test` in: {line}"));
        let source = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file} ({line}): {e}"));
        assert!(source.contains(&format!("fn {name}(")), "{file} has no test {name} ({line})");
        let exit = cells[1];
        assert!(["0", "1", "2", "130", "—"].contains(&exit), "exit code {exit:?} ({line})");
        cases += 1;
    }
    assert!(cases >= 40, "only {cases} cases found in docs/errors.md");
}
