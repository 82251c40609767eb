//! `ae train`'s model flags, each set on the part of the model that owns it: the body's
//! (`--hidden`, `--decoder-hidden`, `--activation`), the bottleneck's (`--code-dim` for every
//! kind; `--sparsity`, `--aux-k`, `--unit-norm-decoder` and `--dead-window` for the sparse code,
//! `--beta` for the Gaussian one) and the likelihood's (`--likelihood`, alias `--loss`). A flag
//! the chosen kind has no part for is refused in one way, naming the kinds it applies to.

use ae_models::ModelConfig;

use crate::args::TrainArgs;
use crate::exit::usage;

/// A flag that only some kinds take.
struct KindFlag {
    name: &'static str,
    given: fn(&TrainArgs) -> bool,
    kinds: &'static [&'static str],
}

/// Every flag some kind lacks the part for; the others apply to every kind.
const KIND_FLAGS: [KindFlag; 6] = [
    KindFlag {
        name: "--decoder-hidden",
        given: |a| a.decoder_hidden.is_some(),
        kinds: &["stacked", "denoising", "vae"],
    },
    KindFlag { name: "--beta", given: |a| a.beta.is_some(), kinds: &["vae"] },
    KindFlag { name: "--sparsity", given: |a| a.sparsity.is_some(), kinds: &["sparse"] },
    KindFlag { name: "--aux-k", given: |a| a.aux_k.is_some(), kinds: &["sparse"] },
    KindFlag { name: "--unit-norm-decoder", given: |a| a.unit_norm_decoder, kinds: &["sparse"] },
    KindFlag { name: "--dead-window", given: |a| a.dead_window.is_some(), kinds: &["sparse"] },
];

/// Applies the model flags of `a` to `model`, refusing any its kind has no part for.
pub fn apply(model: &mut ModelConfig, a: &TrainArgs) -> anyhow::Result<()> {
    let kind = model.kind();
    if let Some(flag) = KIND_FLAGS.iter().find(|f| (f.given)(a) && !f.kinds.contains(&kind)) {
        return Err(usage(format!(
            "{} does not apply to --model {kind}; it applies to --model {}",
            flag.name,
            flag.kinds.join(", ")
        )));
    }
    let body = |hidden: &mut Vec<usize>, activation: &mut ae_core::Activation| {
        if let Some(h) = &a.hidden {
            *hidden = h.0.clone();
        }
        if let Some(act) = a.activation {
            *activation = act;
        }
    };
    match model {
        ModelConfig::Stacked(m) | ModelConfig::Denoising(m) => {
            body(&mut m.hidden, &mut m.activation);
            set(&mut m.decoder_hidden, a.decoder_hidden.as_ref().map(|h| Some(h.0.clone())));
            set(&mut m.code_dim, a.code_dim);
            set(&mut m.loss, a.likelihood);
        }
        ModelConfig::Vae(m) => {
            body(&mut m.hidden, &mut m.activation);
            set(&mut m.decoder_hidden, a.decoder_hidden.as_ref().map(|h| Some(h.0.clone())));
            set(&mut m.code_dim, a.code_dim);
            set(&mut m.beta, a.beta);
            set(&mut m.likelihood, a.likelihood);
        }
        ModelConfig::Sparse(m) => {
            body(&mut m.hidden, &mut m.activation);
            set(&mut m.code_dim, a.code_dim);
            set(&mut m.sparsity, a.sparsity);
            set(&mut m.aux_k, a.aux_k.map(Some));
            set(&mut m.unit_norm_decoder, a.unit_norm_decoder.then_some(true));
            set(&mut m.dead_window, a.dead_window);
            set(&mut m.loss, a.likelihood);
        }
    }
    Ok(())
}

/// `value` into `slot` when the flag was given.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
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
                "--beta does not apply to --model stacked; it applies to --model vae",
            ),
            (
                "vae",
                TrainArgs { sparsity: Some(ae_models::Sparsity::TopK { k: 3 }), ..Default::default() },
                "--sparsity does not apply to --model vae; it applies to --model sparse",
            ),
            (
                "sparse",
                TrainArgs { decoder_hidden: Some(crate::args::Widths(vec![8])), ..Default::default() },
                "--decoder-hidden does not apply to --model sparse; it applies to --model stacked, denoising, vae",
            ),
        ] {
            let mut model = ModelConfig::default_for(kind).unwrap();
            let err = apply(&mut model, &args).unwrap_err();
            assert_eq!(err.to_string(), want);
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        }
    }
}
