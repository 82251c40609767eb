//! `ae train`'s body flags: `--body` picks the body, then each body's own flags set it
//! (`--hidden` and `--decoder-hidden` for the dense body; `--conv-channels`, `--kernel`,
//! `--stride`, `--padding`, `--upsample` and `--norm` for the convolutional one; `--activation`
//! for both). A flag the body has no use for is refused, naming the body it applies to.

use ae_models::{BodySpec, ConvSpec, DenseSpec, ModelConfig};

use crate::args::TrainArgs;
use crate::exit::usage;

/// A flag that only one body takes.
struct BodyFlag {
    name: &'static str,
    given: fn(&TrainArgs) -> bool,
    /// The body (`BodySpec::kind`) that takes it.
    body: &'static str,
}

const BODY_FLAGS: [BodyFlag; 8] = [
    BodyFlag { name: "--hidden", given: |a| a.hidden.is_some(), body: "dense" },
    BodyFlag { name: "--decoder-hidden", given: |a| a.decoder_hidden.is_some(), body: "dense" },
    BodyFlag { name: "--conv-channels", given: |a| a.conv_channels.is_some(), body: "conv" },
    BodyFlag { name: "--kernel", given: |a| a.kernel.is_some(), body: "conv" },
    BodyFlag { name: "--stride", given: |a| a.stride.is_some(), body: "conv" },
    BodyFlag { name: "--padding", given: |a| a.padding.is_some(), body: "conv" },
    BodyFlag { name: "--upsample", given: |a| a.upsample.is_some(), body: "conv" },
    BodyFlag { name: "--norm", given: |a| a.norm.is_some(), body: "conv" },
];

/// Applies `--body` and the body's flags to `model`, refusing flags of another body.
pub fn apply(model: &mut ModelConfig, a: &TrainArgs) -> anyhow::Result<()> {
    match a.body.as_deref() {
        Some("conv") if !matches!(model.body, BodySpec::Conv(_)) => {
            let activation = model.dense().map(|d| d.activation).unwrap_or_default();
            model.body = BodySpec::Conv(ConvSpec { activation, ..Default::default() });
        }
        Some("dense") if !matches!(model.body, BodySpec::Dense(_)) => {
            model.body = BodySpec::Dense(DenseSpec::default());
        }
        _ => {}
    }
    let kind = model.body.kind();
    if let Some(flag) = BODY_FLAGS.iter().find(|f| (f.given)(a) && f.body != kind) {
        return Err(usage(format!(
            "{} does not apply to the {kind} body; it applies to --body {}",
            flag.name, flag.body
        )));
    }
    match &mut model.body {
        BodySpec::Dense(d) => {
            set(&mut d.hidden, a.hidden.as_ref().map(|h| h.0.clone()));
            set(&mut d.decoder_hidden, a.decoder_hidden.as_ref().map(|h| Some(h.0.clone())));
            set(&mut d.activation, a.activation);
        }
        BodySpec::Conv(c) => {
            set(&mut c.channels, a.conv_channels.as_ref().map(|h| h.0.clone()));
            set(&mut c.kernel, a.kernel);
            set(&mut c.stride, a.stride);
            set(&mut c.padding, a.padding);
            set(&mut c.upsample, a.upsample);
            set(&mut c.norm, a.norm);
            set(&mut c.activation, a.activation);
        }
    }
    Ok(())
}

/// `value` into `slot` when the flag was given.
pub fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_flags_set_their_body_and_are_refused_on_another() {
        let mut model = ModelConfig::default_for("vae").unwrap();
        let args = TrainArgs { body: Some("conv".into()), kernel: Some(5), padding: Some(2), ..Default::default() };
        apply(&mut model, &args).unwrap();
        let BodySpec::Conv(c) = &model.body else { panic!("{:?}", model.body) };
        assert_eq!((c.kernel, c.padding, c.channels.clone()), (5, 2, vec![32, 64]));
        let mut dense = ModelConfig::default();
        let err = apply(&mut dense, &TrainArgs { stride: Some(1), ..Default::default() }).unwrap_err();
        assert_eq!(err.to_string(), "--stride does not apply to the dense body; it applies to --body conv");
        let err = apply(&mut model, &TrainArgs { hidden: Some(crate::args::Widths(vec![8])), ..Default::default() })
            .unwrap_err();
        assert_eq!(err.to_string(), "--hidden does not apply to the conv body; it applies to --body dense");
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
    }
}
