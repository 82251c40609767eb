//! `ae train`'s model flags, each set on the part of the model that owns it: the body's
//! (`--body` and its flags, in `body_flags.rs`), the bottleneck's (`--code-dim` for every
//! one; `--sparsity`, `--aux-k`, `--unit-norm-decoder` and `--dead-window` for the sparse code,
//! `--beta` for the Gaussian one) and the likelihood's (`--likelihood`, alias `--loss`). A flag
//! the model has no part for is refused in one way, naming the presets it applies to.

use ae_models::{BottleneckSpec, ModelConfig};

use crate::args::TrainArgs;
use crate::body_flags::set;
use crate::exit::usage;

/// A flag that only some bottlenecks take.
struct PartFlag {
    name: &'static str,
    given: fn(&TrainArgs) -> bool,
    /// The bottleneck kinds (`BottleneckSpec::kind`) that take it.
    bottlenecks: &'static [&'static str],
}

/// Every flag some bottleneck lacks; the others (the body's, `--code-dim` and the likelihood's)
/// apply to every model.
const PART_FLAGS: [PartFlag; 5] = [
    PartFlag { name: "--beta", given: |a| a.beta.is_some(), bottlenecks: &["gaussian"] },
    PartFlag { name: "--sparsity", given: |a| a.sparsity.is_some(), bottlenecks: &["sparse"] },
    PartFlag { name: "--aux-k", given: |a| a.aux_k.is_some(), bottlenecks: &["sparse"] },
    PartFlag { name: "--unit-norm-decoder", given: |a| a.unit_norm_decoder, bottlenecks: &["sparse"] },
    PartFlag { name: "--dead-window", given: |a| a.dead_window.is_some(), bottlenecks: &["sparse"] },
];

/// Applies the model flags of `a` to the parts of `model`, refusing any its bottleneck lacks.
pub fn apply(model: &mut ModelConfig, a: &TrainArgs) -> anyhow::Result<()> {
    let kind = model.bottleneck.kind();
    if let Some(flag) = PART_FLAGS.iter().find(|f| (f.given)(a) && !f.bottlenecks.contains(&kind)) {
        // Named by the presets whose bottleneck takes it, as the user chose one with --model.
        let presets: Vec<&str> = ModelConfig::kinds()
            .into_iter()
            .filter(|p| ModelConfig::default_for(p).is_some_and(|m| flag.bottlenecks.contains(&m.bottleneck.kind())))
            .collect();
        return Err(usage(format!(
            "{} does not apply to --model {} ({} code); it applies to --model {}",
            flag.name,
            model.kind(),
            kind,
            presets.join(", ")
        )));
    }
    crate::body_flags::apply(model, a)?;
    set(model.bottleneck.code_dim_mut(), a.code_dim);
    match &mut model.bottleneck {
        BottleneckSpec::Plain(_) => {}
        BottleneckSpec::Gaussian(g) => set(&mut g.beta, a.beta),
        BottleneckSpec::Sparse(s) => {
            set(&mut s.sparsity, a.sparsity);
            set(&mut s.aux_k, a.aux_k.map(Some));
            set(&mut s.unit_norm_decoder, a.unit_norm_decoder.then_some(true));
            set(&mut s.dead_window, a.dead_window);
        }
    }
    set(&mut model.likelihood, a.likelihood);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_without_its_part_is_refused_naming_the_kinds_it_applies_to() {
        for (kind, args, want) in [
            (
                "stacked",
                TrainArgs { beta: Some(2.0), ..Default::default() },
                "--beta does not apply to --model stacked (plain code); it applies to --model vae",
            ),
            (
                "vae",
                TrainArgs { sparsity: Some(ae_models::Sparsity::TopK { k: 3 }), ..Default::default() },
                "--sparsity does not apply to --model vae (gaussian code); it applies to --model sparse",
            ),
            (
                "denoising",
                TrainArgs { dead_window: Some(8), ..Default::default() },
                "--dead-window does not apply to --model denoising (plain code); it applies to --model sparse",
            ),
        ] {
            let mut model = ModelConfig::default_for(kind).unwrap();
            let err = apply(&mut model, &args).unwrap_err();
            assert_eq!(err.to_string(), want);
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        }
    }
}
