//! The run config, `config.json`: what a run directory records and `--config` reads. Resolution
//! is defaults, then the file, then flags; the result is validated once, here, before anything
//! runs.

use std::path::Path;

use ae_data::{DataConfig, Noise};
use ae_models::ModelConfig;
use ae_train::config::OptimizerConfig;
use ae_train::schedule::Decay;
use ae_train::{EarlyStopping, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::args::TrainArgs;
use crate::exit::usage;

/// The config format this build reads and writes.
pub const CONFIG_FORMAT: u32 = 1;

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
    pub fn load(path: &Path) -> anyhow::Result<RunConfig> {
        let text = ae_core::bounded::read_text_bounded(path, ae_core::bounded::TEXT_LIMIT)
            .map_err(|e| usage(format!("{}: cannot read config: {e}", path.display())))?;
        Self::parse(&text, path)
    }

    /// Parses a config file's text (`path` names it in errors): JSON with only known keys, in
    /// the format version this build reads. (The fuzz target `config` feeds it arbitrary text.)
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<RunConfig> {
        let invalid = |e: String| usage(format!("{}: invalid config: {e}", path.display()));
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
        // A partial model section names the default kind's fields: the kind is needed only to
        // choose another one.
        if let Some(model) = object.get_mut("model").and_then(serde_json::Value::as_object_mut) {
            model.entry("kind").or_insert_with(|| ModelConfig::default().kind().into());
        }
        let cfg: RunConfig = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if cfg.format != CONFIG_FORMAT {
            return Err(usage(format!(
                "{}: config format {} is not one this build reads; expected \"format\": {CONFIG_FORMAT}",
                path.display(),
                cfg.format
            )));
        }
        Ok(cfg)
    }

    /// Checks every part; errors name the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.data.validate()?;
        self.train.validate()?;
        self.model.validate()?;
        // Corruption is a property of the training data, open to every model (a VAE with noise is
        // a denoising VAE); the "denoising" preset is the stacked model that always has one.
        match (&self.model, self.train.noise) {
            (ModelConfig::Denoising(_), None) => {
                Err(usage("train.noise: missing; model.kind \"denoising\" needs a noise such as \"gaussian:0.5\""))
            }
            _ => Ok(()),
        }
    }

    /// Pretty JSON, as written to `config.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The noise a denoising model trains with when neither `--noise` nor the config names one.
pub const DEFAULT_NOISE_SIGMA: f64 = 0.5;

/// Applies the flags of `ae train` on top of `cfg`.
pub fn apply_flags(mut cfg: RunConfig, a: &TrainArgs) -> anyhow::Result<RunConfig> {
    if let Some(kind) = &a.model
        && kind != cfg.model.kind()
    {
        cfg.model = ModelConfig::default_for(kind).ok_or_else(|| {
            usage(format!("--model: unknown kind {kind:?}; expected one of {}", ModelConfig::KINDS.join(", ")))
        })?;
    }
    if let Some(d) = a.dataset {
        cfg.data.dataset = d;
    }
    if let Some(dir) = &a.data_dir {
        cfg.data.data_dir = Some(dir.clone());
    }
    if let Some(v) = a.val_fraction {
        cfg.data.val_fraction = v;
    }
    if a.train_limit.is_some() {
        cfg.data.train_limit = a.train_limit;
    }
    if a.test_limit.is_some() {
        cfg.data.test_limit = a.test_limit;
    }
    if a.train_class.is_some() {
        cfg.data.train_class = a.train_class;
    }
    let shape = |hidden: &mut Vec<usize>, code_dim: &mut usize, activation: &mut ae_core::Activation| {
        if let Some(h) = &a.hidden {
            *hidden = h.0.clone();
        }
        if let Some(c) = a.code_dim {
            *code_dim = c;
        }
        if let Some(act) = a.activation {
            *activation = act;
        }
    };
    let refuse = |pairs: &[(bool, &str)], kind: &str| -> anyhow::Result<()> {
        match pairs.iter().find(|(set, _)| *set) {
            Some((_, flag)) => Err(usage(format!("{flag} does not apply to --model {kind}"))),
            None => Ok(()),
        }
    };
    match &mut cfg.model {
        ModelConfig::Stacked(m) | ModelConfig::Denoising(m) => {
            shape(&mut m.hidden, &mut m.code_dim, &mut m.activation);
            if let Some(h) = &a.decoder_hidden {
                m.decoder_hidden = Some(h.0.clone());
            }
            if let Some(l) = a.loss {
                m.loss = l;
            }
            if a.beta.is_some() {
                return Err(usage("--beta applies to --model vae only"));
            }
            if a.likelihood.is_some() {
                return Err(usage("--likelihood applies to --model vae only; use --loss for --model stacked"));
            }
        }
        ModelConfig::Vae(m) => {
            shape(&mut m.hidden, &mut m.code_dim, &mut m.activation);
            if let Some(b) = a.beta {
                m.beta = b;
            }
            if let Some(l) = a.likelihood {
                m.likelihood = l;
            }
            if let Some(h) = &a.decoder_hidden {
                m.decoder_hidden = Some(h.0.clone());
            }
            if a.loss.is_some_and(|l| l != ae_core::ReconLoss::Bce) {
                return Err(usage("--loss does not apply to --model vae; choose its decoder with --likelihood"));
            }
        }
        ModelConfig::Sparse(m) => {
            shape(&mut m.hidden, &mut m.code_dim, &mut m.activation);
            if let Some(l) = a.loss {
                m.loss = l;
            }
            if let Some(sp) = a.sparsity {
                m.sparsity = sp;
            }
            if a.aux_k.is_some() {
                m.aux_k = a.aux_k;
            }
            if a.unit_norm_decoder {
                m.unit_norm_decoder = true;
            }
            if let Some(w) = a.dead_window {
                m.dead_window = w;
            }
            refuse(
                &[
                    (a.decoder_hidden.is_some(), "--decoder-hidden"),
                    (a.beta.is_some(), "--beta"),
                    (a.likelihood.is_some(), "--likelihood"),
                ],
                "sparse",
            )?;
        }
    }
    if !matches!(cfg.model, ModelConfig::Sparse(_)) {
        for (set, flag) in [
            (a.sparsity.is_some(), "--sparsity"),
            (a.aux_k.is_some(), "--aux-k"),
            (a.unit_norm_decoder, "--unit-norm-decoder"),
            (a.dead_window.is_some(), "--dead-window"),
        ] {
            if set {
                return Err(usage(format!(
                    "{flag} applies to --model sparse only (this run's model is {})",
                    cfg.model.kind()
                )));
            }
        }
    }
    if let Some(n) = a.noise {
        cfg.train.noise = Some(n);
    }
    if matches!(cfg.model, ModelConfig::Denoising(_)) {
        cfg.train.noise.get_or_insert(Noise::Gaussian { sigma: DEFAULT_NOISE_SIGMA });
    }
    let t = &mut cfg.train;
    if let Some(e) = a.epochs {
        t.epochs = e;
    }
    if let Some(b) = a.batch_size {
        t.batch_size = b;
    }
    if let Some(s) = a.seed {
        t.seed = s;
    }
    if a.autograd {
        t.fused = false;
    }
    if let Some(w) = a.kl_warmup_steps {
        t.kl_warmup_steps = w;
    }
    if let Some(name) = &a.optimizer {
        let hyper = t.optimizer.adam().clone();
        t.optimizer = match name.as_str() {
            "adam" => OptimizerConfig::Adam(hyper),
            "adamw" => OptimizerConfig::AdamW(hyper),
            other => {
                return Err(usage(format!("--optimizer: unknown optimizer {other:?}; expected adam or adamw")));
            }
        };
    }
    if let Some(lr) = a.lr {
        t.optimizer.adam_mut().lr = lr;
    }
    if let Some(wd) = a.weight_decay {
        t.optimizer.adam_mut().weight_decay = wd;
    }
    if let Some(spec) = &a.schedule {
        t.schedule.decay = parse_schedule(spec)?;
    }
    if let Some(w) = a.warmup_steps {
        t.schedule.warmup_steps = w;
    }
    if a.clip_grad_norm.is_some() {
        t.clip_grad_norm = a.clip_grad_norm;
    }
    if let Some(p) = a.early_stopping {
        t.early_stopping = Some(EarlyStopping { patience: p, ..t.early_stopping.clone().unwrap_or_default() });
    }
    Ok(cfg)
}

/// Parses `--schedule`: `constant`, `step:STEPS:GAMMA`, `exponential:GAMMA` or `cosine[:MIN_LR]`.
pub fn parse_schedule(spec: &str) -> anyhow::Result<Decay> {
    let bad = || {
        usage(format!(
            "--schedule: {spec:?} is not a schedule; expected constant, step:STEPS:GAMMA, exponential:GAMMA or cosine[:MIN_LR]"
        ))
    };
    let num = |s: &str| crate::args::finite_f64(s).map_err(|_| bad());
    let parts: Vec<&str> = spec.split(':').collect();
    Ok(match parts.as_slice() {
        ["constant"] => Decay::Constant,
        ["step", n, g] => Decay::Step { step_size: n.parse().map_err(|_| bad())?, gamma: num(g)? },
        ["exponential", g] => Decay::Exponential { gamma: num(g)? },
        ["cosine"] => Decay::Cosine { min_lr: 0.0 },
        ["cosine", m] => Decay::Cosine { min_lr: num(m)? },
        _ => return Err(bad()),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let file = RunConfig::default();
        let args = TrainArgs {
            hidden: Some(crate::args::Widths(vec![100])),
            code_dim: Some(8),
            lr: Some(0.01),
            schedule: Some("cosine:0.0001".into()),
            optimizer: Some("adamw".into()),
            ..Default::default()
        };
        let cfg = apply_flags(file, &args).unwrap();
        let ModelConfig::Stacked(m) = &cfg.model else { panic!("flags kept the default stacked model") };
        assert_eq!((m.hidden.clone(), m.code_dim), (vec![100], 8));
        assert!(cfg.train.optimizer.decoupled());
        assert_eq!(cfg.train.optimizer.adam().lr, 0.01);
        assert_eq!(cfg.train.schedule.decay, Decay::Cosine { min_lr: 0.0001 });
    }

    #[test]
    fn bad_specs_are_usage_errors() {
        for (args, want) in [
            (
                TrainArgs { model: Some("gan".into()), ..Default::default() },
                "--model: unknown kind \"gan\"; expected one of stacked, vae, denoising, sparse",
            ),
            (
                TrainArgs { schedule: Some("step:x:0.5".into()), ..Default::default() },
                "--schedule: \"step:x:0.5\" is not a schedule",
            ),
            (
                TrainArgs { optimizer: Some("sgd".into()), ..Default::default() },
                "--optimizer: unknown optimizer \"sgd\"",
            ),
        ] {
            let err = apply_flags(RunConfig::default(), &args).unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        }
    }

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
}
