//! Class names from label values of any kind (numbers or words), and a class named on the
//! command line or in a config by its name or its index.

use serde::{Deserialize, Serialize};

/// The classes of `values` in order (numerically when every value is a number, else by text)
/// and each value's class index.
pub fn classes_of<S: AsRef<str>>(values: &[S]) -> (Vec<String>, Vec<u32>) {
    let mut classes: Vec<String> = values.iter().map(|v| v.as_ref().to_string()).collect();
    let numeric = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    if classes.iter().all(|c| numeric(c).is_some()) {
        classes.sort_by(|a, b| numeric(a).partial_cmp(&numeric(b)).unwrap_or(std::cmp::Ordering::Equal));
        classes.dedup_by(|a, b| numeric(a) == numeric(b));
    } else {
        classes.sort();
        classes.dedup();
    }
    let index = |v: &str| {
        classes.iter().position(|c| c == v || (numeric(c).is_some() && numeric(c) == numeric(v))).unwrap_or(0) as u32
    };
    let labels = values.iter().map(|v| index(v.as_ref())).collect();
    (classes, labels)
}

/// A class as a config or flag names it: by index (what configs before named classes held) or
/// by name (a label value from the data, such as `benign` or `4`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassRef {
    /// The class's index among the data's classes.
    Index(u32),
    /// A class name or label value; an index written as text when no class has that name.
    Name(String),
}

impl ClassRef {
    /// The class index among `classes`: a name first (ignoring case), then an index.
    pub fn resolve(&self, classes: &[String]) -> Option<u32> {
        match self {
            ClassRef::Index(i) => Some(*i).filter(|&i| (i as usize) < classes.len()),
            ClassRef::Name(s) => classes
                .iter()
                .position(|c| c == s)
                .or_else(|| classes.iter().position(|c| c.eq_ignore_ascii_case(s)))
                .map(|i| i as u32)
                .or_else(|| s.parse::<u32>().ok().filter(|&i| (i as usize) < classes.len())),
        }
    }

    /// What a user may write instead, for errors.
    pub fn expected(classes: &[String]) -> String {
        let named = classes.iter().enumerate().any(|(i, c)| *c != i.to_string());
        match classes.len() {
            0 => "no class: these examples have no labels".into(),
            n if named => format!("a class from 0 to {} or one of its names ({})", n - 1, classes.join(", ")),
            n => format!("a class from 0 to {}", n - 1),
        }
    }
}

impl std::fmt::Display for ClassRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassRef::Index(i) => write!(f, "{i}"),
            ClassRef::Name(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_numerically_and_words_by_text() {
        let (classes, labels) = classes_of(&["4", "2", "10", "2.0"]);
        assert_eq!((classes, labels), (vec!["2".into(), "4".into(), "10".into()], vec![1, 0, 2, 0]));
        let (classes, labels) = classes_of(&["malignant", "benign", "benign"]);
        assert_eq!((classes, labels), (vec!["benign".into(), "malignant".into()], vec![1, 0, 0]));
    }

    #[test]
    fn a_name_wins_over_an_index() {
        let classes: Vec<String> = ["2", "4"].map(String::from).to_vec();
        assert_eq!(ClassRef::Name("4".into()).resolve(&classes), Some(1));
        assert_eq!(ClassRef::Name("1".into()).resolve(&classes), Some(1));
        assert_eq!(ClassRef::Name("5".into()).resolve(&classes), None);
        assert_eq!(ClassRef::Index(1).resolve(&classes), Some(1));
        let fashion: Vec<String> = ["T-shirt/top", "Trouser"].map(String::from).to_vec();
        assert_eq!(ClassRef::Name("trouser".into()).resolve(&fashion), Some(1));
        assert_eq!(ClassRef::expected(&fashion), "a class from 0 to 1 or one of its names (T-shirt/top, Trouser)");
        let json: Vec<ClassRef> = serde_json::from_str(r#"[3, "benign"]"#).unwrap();
        assert_eq!(json, [ClassRef::Index(3), ClassRef::Name("benign".into())]);
    }
}
