//! The CSV files ae writes (`scores.csv`, `column_errors.csv`, decompressed `rows.csv`) quote
//! their text fields one way: RFC 4180, so a name holding a comma, a quote or a line break reads
//! back as one field in pandas, numpy and spreadsheets.

/// `s` as one CSV field: as it is, or in double quotes with its quotes doubled where it holds a
/// comma, a quote or a line break.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_where_they_must_be() {
        assert_eq!(field("line 12"), "line 12");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
