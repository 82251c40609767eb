//! `ae train`'s flags on top of a run config ([`ae_run::RunConfig`]): resolution is defaults, then
//! `--config`, then flags; the result is validated once, before anything runs.

use ae_data::Noise;
use ae_models::ModelConfig;
use ae_run::RunConfig;
use ae_train::EarlyStopping;
use ae_train::config::OptimizerConfig;
use ae_train::schedule::Decay;

use crate::args::TrainArgs;
use crate::exit::usage;

/// The noise a denoising model trains with when neither `--noise` nor the config names one.
pub const DEFAULT_NOISE_SIGMA: f64 = 0.5;

/// Applies the flags of `ae train` on top of `cfg`.
pub fn apply_flags(mut cfg: RunConfig, a: &TrainArgs) -> anyhow::Result<RunConfig> {
    if let Some(kind) = &a.model
        && kind != cfg.model.kind()
    {
        cfg.model = ModelConfig::default_for(kind).ok_or_else(|| {
            usage(format!("--model: unknown kind {kind:?}; expected one of {}", ModelConfig::kinds().join(", ")))
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
    if let Some(c) = &a.train_class {
        cfg.data.train_class = Some(ae_data::ClassRef::Name(c.clone()));
    }
    if a.dataset.is_some() && a.own.data.is_none() {
        cfg.data.path = None;
        cfg.data.test_path = None;
    }
    a.own.apply(&mut cfg.data);
    crate::model_flags::apply(&mut cfg.model, a)?;
    if let Some(n) = a.noise {
        cfg.train.noise = Some(n);
    }
    if cfg.model.kind() == "denoising" {
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
        assert_eq!(cfg.model.kind(), "stacked", "flags kept the default stacked model");
        assert_eq!((cfg.model.dense().unwrap().hidden.clone(), cfg.model.bottleneck.code_dim()), (vec![100], 8));
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
}
