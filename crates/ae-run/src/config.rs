//! The run config, `config.json`: what a run directory records and `--config` reads. It is
//! parsed strictly (only known keys, in a format version this build reads) and validated once,
//! before anything runs.

use std::path::Path;

use ae_data::DataConfig;
use ae_models::{ModelConfig, ModelConfigV1};
use ae_train::TrainConfig;
use serde::{Deserialize, Serialize};

use crate::error::RunError;

/// The config format this build writes: the model as its parts (`body`, `bottleneck`,
/// `likelihood`) and the preset they came from.
pub const CONFIG_FORMAT: u32 = 2;

/// The first format, which named a model kind with flat fields; still read, and upgraded.
pub const CONFIG_FORMAT_V1: u32 = 1;

/// Everything that defines a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Format version of this file.
    pub format: u32,
    /// The data.
    pub data: DataConfig,
    /// The model.
    pub model: ModelConfig,
    /// The training.
    pub train: TrainConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            format: CONFIG_FORMAT,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            train: TrainConfig::default(),
        }
    }
}

impl RunConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<RunConfig, RunError> {
        let text = ae_core::bounded::read_text_bounded(path, ae_core::bounded::TEXT_LIMIT)
            .map_err(|e| config_error(path, format!("cannot read config: {e}")))?;
        Self::parse(&text, path)
    }

    /// Parses a config file's text (`path` names it in errors): JSON with only known keys, in a
    /// format version this build reads; a format-1 file is upgraded to the current format.
    /// (The fuzz target `config` feeds it arbitrary text.)
    pub fn parse(text: &str, path: &Path) -> Result<RunConfig, RunError> {
        let invalid = |e: String| config_error(path, format!("invalid config: {e}"));
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let Some(object) = value.as_object_mut() else {
            return Err(invalid(format!(
                "expected a JSON object with \"format\": {CONFIG_FORMAT}, found {}",
                kind_of(&value)
            )));
        };
        if !object.contains_key("format") {
            return Err(invalid(format!(
                "missing \"format\": {CONFIG_FORMAT} (the config format this build reads), which says the file is an ae config"
            )));
        }
        let format = object.get("format").and_then(serde_json::Value::as_u64);
        if format == Some(u64::from(CONFIG_FORMAT_V1)) {
            upgrade_v1(object).map_err(invalid)?;
        }
        let cfg: RunConfig = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if cfg.format != CONFIG_FORMAT {
            return Err(config_error(
                path,
                format!(
                    "config format {} is not one this build reads; expected \"format\": {CONFIG_FORMAT} (or \
                     {CONFIG_FORMAT_V1}, which is upgraded)",
                    cfg.format
                ),
            ));
        }
        Ok(cfg)
    }

    /// Checks every part; errors name the field.
    pub fn validate(&self) -> Result<(), RunError> {
        self.data.validate()?;
        self.train.validate()?;
        self.model.validate()?;
        // Corruption is a property of the training data, open to every model (a VAE with noise is
        // a denoising VAE); the "denoising" preset is the stacked model that always has one.
        match (self.model.kind(), self.train.noise) {
            ("denoising", None) => Err(RunError::Inconsistent {
                field: "train.noise",
                reason: "missing; model.preset \"denoising\" needs a noise such as \"gaussian:0.5\"".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Pretty JSON, as written to `config.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Lists the JSON paths where two configs differ (for refusing changes on `--resume`).
pub fn differences(a: &RunConfig, b: &RunConfig) -> Vec<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let null = serde_json::Value::Null;
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
                }
            }
            _ if a != b => out.push(format!("{path} ({a} -> {b})")),
            _ => {}
        }
    }
    let (Ok(x), Ok(y)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return vec!["config".into()];
    };
    let mut out = Vec::new();
    walk("", &x, &y, &mut out);
    out
}

/// What a JSON value is, for messages.
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Rewrites a format-1 file's object as the current format: its model section (a kind with flat
/// fields, the default kind's where `kind` is left out) read as it was and turned into parts.
fn upgrade_v1(object: &mut serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    if let Some(mut model) = object.remove("model") {
        if let Some(fields) = model.as_object_mut() {
            fields.entry("kind").or_insert_with(|| "stacked".into());
        }
        let old: ModelConfigV1 = serde_json::from_value(model).map_err(|e| format!("model: {e}"))?;
        let new = serde_json::to_value(ModelConfig::from(old)).map_err(|e| e.to_string())?;
        object.insert("model".into(), new);
    }
    object.insert("format".into(), CONFIG_FORMAT.into());
    Ok(())
}

fn config_error(path: &Path, reason: String) -> RunError {
    RunError::Config { path: path.to_path_buf(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_paths() {
        let a = RunConfig::default();
        let mut b = a.clone();
        b.train.batch_size = 64;
        assert_eq!(differences(&a, &b), ["train.batch_size (128 -> 64)"]);
    }

    #[test]
    fn the_default_config_round_trips() {
        let cfg = RunConfig::default();
        let back: RunConfig = serde_json::from_str(&cfg.to_json()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn format_1_files_are_upgraded_to_parts() {
        let old = r#"{"format": 1, "model": {"kind": "denoising", "hidden": [16], "code_dim": 4, "loss": "mse"},
                      "train": {"noise": "gaussian:0.3"}}"#;
        let cfg = RunConfig::parse(old, Path::new("old.json")).unwrap();
        assert_eq!((cfg.format, cfg.model.kind()), (CONFIG_FORMAT, "denoising"));
        assert_eq!(cfg.model.dense().unwrap().hidden, [16]);
        assert_eq!(cfg.model.bottleneck.code_dim(), 4);
        assert_eq!(cfg.model.likelihood, ae_models::Likelihood::SquaredError);
        // A format-1 model section without a kind named the stacked model's fields.
        let partial = RunConfig::parse(r#"{"format": 1, "model": {"code_dim": 3}}"#, Path::new("p.json")).unwrap();
        assert_eq!((partial.model.kind(), partial.model.bottleneck.code_dim()), ("stacked", 3));
        // The upgrade is what the current format reads back.
        assert_eq!(RunConfig::parse(&cfg.to_json(), Path::new("new.json")).unwrap(), cfg);
        let err = RunConfig::parse(r#"{"format": 1, "model": {"kind": "stacked", "hiden": []}}"#, Path::new("b.json"));
        assert!(err.unwrap_err().to_string().contains("unknown field `hiden`"));
    }

    #[test]
    fn bad_files_are_usage_errors_naming_the_file() {
        let path = Path::new("my.json");
        for (text, want) in [
            ("[1]", "my.json: invalid config: expected a JSON object"),
            ("{}", "my.json: invalid config: missing \"format\": 2"),
            ("{\"format\": 9}", "my.json: config format 9 is not one this build reads"),
        ] {
            let err = RunConfig::parse(text, path).unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
            assert!(err.is_usage());
        }
    }
}
