//! The flags that choose the user's own data and how it is read, the same on every command
//! that reads data (`ae train`, `eval`, `encode`, `anomaly`, `probe`, `interpolate`,
//! `throughput`).

use std::path::PathBuf;

use ae_data::{DataConfig, ImageSize, Missing, Normalize};
use clap::Args;

/// `--data PATH` and its options.
#[derive(Debug, Args, Default, Clone)]
pub struct DataFlags {
    /// Your own data: a table (.csv, .tsv, .txt), an array (.npy, .npz, .safetensors, or a folder
    /// of such shards) or a folder of PNG/JPEG images (flat, or one subfolder per class).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// The test data for --data [default: a --test-fraction of --data, carved with the seed].
    #[arg(long, value_name = "PATH")]
    pub test_data: Option<PathBuf>,
    /// Fraction of --data held out for testing when there is no --test-data [default: 0.2].
    #[arg(long, value_name = "X", value_parser = crate::args::finite_f64, allow_negative_numbers = true)]
    pub test_fraction: Option<f64>,
    /// Tables: the delimiter, one of , ; tab space [default: detected].
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<char>,
    /// Tables: whether the first row names the columns [default: detected].
    #[arg(long, value_name = "yes|no", value_parser = parse_yes_no)]
    pub header: Option<bool>,
    /// Tables: lines to skip before the table starts (after them nothing is detected but the
    /// delimiter and the header).
    #[arg(long, value_name = "N")]
    pub skip_rows: Option<usize>,
    /// Tables: the column holding the label (a name, or a 0-based index).
    #[arg(long, value_name = "NAME|INDEX")]
    pub label_column: Option<String>,
    /// Tables: the feature columns, names or indices [default: every column but the label].
    #[arg(long, value_name = "C,C,...", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Tables: columns left out of the features.
    #[arg(long, value_name = "C,C,...", value_delimiter = ',')]
    pub drop_columns: Option<Vec<String>>,
    /// Tables: cells that are empty, NA, NaN, ? or infinite: refuse, drop (the row) or mean (of
    /// the column) [default: refuse].
    #[arg(long, value_name = "POLICY", value_parser = parse_from_str::<Missing>)]
    pub missing: Option<Missing>,
    /// Normalisation fitted on the training rows: none, minmax, standard or norm (one scale so
    /// the mean row norm is sqrt(features), for language-model activations) [default: standard
    /// for tables, none for images and arrays].
    #[arg(long, value_name = "KIND", value_parser = parse_from_str::<Normalize>)]
    pub normalize: Option<Normalize>,
    /// Arrays: the tensor to read from an .npz or .safetensors file that holds several.
    #[arg(long, value_name = "NAME")]
    pub tensor: Option<String>,
    /// Arrays: stream the training rows from disk (yes) or hold them in memory (no) [default:
    /// stream above 1 GiB].
    #[arg(long, value_name = "yes|no", value_parser = parse_yes_no)]
    pub stream: Option<bool>,
    /// Images: 1 (grey) or 3 (colour) [default: grey when every image is].
    #[arg(long, value_name = "1|3")]
    pub channels: Option<usize>,
    /// Images: crop each about its centre to this aspect ratio, then resize [default: refuse
    /// images of different sizes].
    #[arg(long, value_name = "HxW", value_parser = parse_from_str::<ImageSize>)]
    pub image_size: Option<ImageSize>,
}

impl DataFlags {
    /// Sets what the flags name on `cfg`; `--data` replaces a named dataset.
    pub fn apply(&self, cfg: &mut DataConfig) {
        if let Some(p) = &self.data {
            if cfg.path.as_ref() != Some(p) {
                cfg.test_path = None;
            }
            cfg.path = Some(p.clone());
        }
        set(&mut cfg.test_path, self.test_data.clone());
        set(&mut cfg.test_fraction, self.test_fraction);
        set(&mut cfg.table.delimiter, self.delimiter);
        set(&mut cfg.table.header, self.header);
        if let Some(n) = self.skip_rows {
            cfg.table.skip_rows = n;
        }
        set(&mut cfg.table.label_column, self.label_column.clone());
        if let Some(c) = &self.columns {
            cfg.table.columns = c.clone();
        }
        if let Some(c) = &self.drop_columns {
            cfg.table.drop_columns = c.clone();
        }
        if let Some(m) = self.missing {
            cfg.table.missing = m;
        }
        set(&mut cfg.normalize, self.normalize);
        set(&mut cfg.tensor, self.tensor.clone());
        set(&mut cfg.stream, self.stream);
        set(&mut cfg.channels, self.channels);
        set(&mut cfg.image_size, self.image_size);
    }
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if v.is_some() {
        *slot = v;
    }
}

fn parse_from_str<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

fn parse_delimiter(s: &str) -> Result<char, String> {
    match s {
        "," | "comma" => Ok(','),
        ";" | "semicolon" => Ok(';'),
        "\t" | "\\t" | "tab" => Ok('\t'),
        " " | "space" | "whitespace" => Ok(' '),
        _ => Err(format!("{s:?}: expected one of , ; tab space")),
    }
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("{s:?}: expected yes or no")),
    }
}
