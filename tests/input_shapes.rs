//! Every entry point of every model checks the shape and dtype of what it is given, on the fused
//! CPU paths (the default) as on autograd: a wider batch used to train on misread rows and return
//! `Ok`, a narrower one panicked in the matrix product, and f64 failed deep inside candle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ae::core::rng::{Purpose, stream};
use ae::core::{Autoencoder, Batch, Params, StepContext, fused::FusedScratch};
use ae::data::Split;
use ae::models::{SparseAe, SparseConfig, StackedAe, StackedConfig, Vae, VaeConfig};
use ae::train::{Fit, RunDir, TrainConfig, TrainError, evaluate};
use candle_core::{DType, Device, Tensor};

const WIDTH: usize = 20;

/// The three model types, each at input width 20 and on its fused path (BCE, Bernoulli, L1).
fn models() -> Vec<(&'static str, Box<dyn Autoencoder>, Params)> {
    let dev = Device::Cpu;
    let vb = |p: &Params| p.var_builder(stream(0, Purpose::Init, 0), &dev);
    let (a, b, c) = (Params::new(), Params::new(), Params::new());
    let stacked = StackedConfig { input_dim: WIDTH, hidden: vec![8], code_dim: 4, ..Default::default() };
    let vae = VaeConfig { input_dim: WIDTH, hidden: vec![8], code_dim: 2, ..Default::default() };
    let sparse = SparseConfig { input_dim: WIDTH, hidden: vec![], code_dim: 16, ..Default::default() };
    vec![
        ("stacked", Box::new(StackedAe::new(&stacked, vb(&a)).unwrap()) as Box<dyn Autoencoder>, a),
        ("vae", Box::new(Vae::new(&vae, vb(&b)).unwrap()), b),
        ("sparse", Box::new(SparseAe::new(&sparse, vb(&c)).unwrap()), c),
    ]
}

fn rows(n: usize, width: usize, dtype: DType) -> Tensor {
    let v: Vec<f32> = (0..n * width).map(|i| (i % 7) as f32 / 7.0).collect();
    Tensor::from_vec(v, (n, width), &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

#[test]
fn inference_entry_points_refuse_wrong_widths_and_dtypes() {
    for (name, model, _) in models() {
        let good = rows(5, WIDTH, DType::F32);
        assert_eq!(model.embed(&good).unwrap().dims(), &[5, model.code_dim()], "{name}");
        assert_eq!(model.reconstruct(&good).unwrap().dims(), &[5, WIDTH], "{name}");
        for (what, xs) in [("wider", rows(5, WIDTH + 1, DType::F32)), ("narrower", rows(5, WIDTH - 1, DType::F32))] {
            let want = format!("wrong encoder input shape, expected: [5, {WIDTH}], got: [5, {}]", xs.dim(1).unwrap());
            for (call, result) in
                [("embed", model.embed(&xs)), ("reconstruct", model.reconstruct(&xs)), ("encode", model.encode(&xs))]
            {
                let err = result.expect_err(&format!("{name} {call} accepted a {what} batch"));
                assert_eq!(err.to_string(), want, "{name} {call}");
            }
        }
        let f64s = rows(5, WIDTH, DType::F64);
        for result in [model.embed(&f64s), model.reconstruct(&f64s)] {
            assert_eq!(result.unwrap_err().to_string(), "encoder input, expected: F32, got: F64", "{name}");
        }
        let codes = rows(3, model.code_dim() + 1, DType::F32);
        let err = model.decode(&codes).unwrap_err().to_string();
        assert!(err.starts_with("wrong decoder input (codes) shape"), "{name}: {err}");
    }
}

#[test]
fn training_steps_refuse_batches_of_the_wrong_width() {
    for (name, model, _) in models() {
        let mut rng = stream(0, Purpose::Shuffle, 0);
        let mut scratch = FusedScratch::default();
        let good = Batch::plain(rows(4, WIDTH, DType::F32));
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        assert!(model.fused_step(&good, &mut ctx, &mut scratch).unwrap().is_some(), "{name} has a fused step");
        let wide = Batch::plain(rows(4, WIDTH + 1, DType::F32));
        let err = model.fused_step(&wide, &mut ctx, &mut scratch).unwrap_err().to_string();
        assert_eq!(err, format!("wrong batch input shape, expected: [4, {WIDTH}], got: [4, 21]"), "{name}");
        let err = model.loss(&wide, &mut ctx).unwrap_err().to_string();
        assert!(err.starts_with("wrong batch input shape"), "{name}: {err}");
        let mismatched = Batch { input: rows(4, WIDTH, DType::F32), target: rows(3, WIDTH, DType::F32) };
        assert!(model.fused_step(&mismatched, &mut ctx, &mut scratch).is_err(), "{name}: 4 inputs, 3 targets");
    }
}

#[test]
fn fit_and_evaluate_refuse_data_of_another_width_before_training() {
    for (name, model, params) in models() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        let split = Split::new(rows(30, WIDTH + 1, DType::F32), None).unwrap();
        let cfg = TrainConfig { epochs: 1, batch_size: 8, ..Default::default() };
        let err = Fit::new(&*model, &params, &split).config(&cfg).run_dir(&run).run().unwrap_err();
        assert!(matches!(err, TrainError::DataShape { split: "training", expected: WIDTH, .. }), "{name}: {err}");
        assert_eq!(
            err.to_string(),
            "the training examples are F32 of shape [30, 21], but the model takes f32 rows of 20 features"
        );
        assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "{name}: nothing written for refused data");
        let f64s = Split::new(rows(30, WIDTH, DType::F64), None).unwrap();
        let err = evaluate(&*model, &f64s, 8, 0).unwrap_err();
        assert!(matches!(err, TrainError::DataShape { split: "evaluation", .. }), "{name}: {err}");
    }
}

#[test]
fn decode_output_maps_codes_to_input_space() {
    for (name, model, _) in models() {
        let zs = rows(3, model.code_dim(), DType::F32);
        let out = model.decode_output(&zs).unwrap();
        assert_eq!(out.dims(), &[3, WIDTH], "{name}");
        let want = model.recon_loss().to_output(&model.decode(&zs).unwrap()).unwrap();
        let diff = (out - want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-6, "{name}: decode_output is the output map of decode ({diff})");
        assert!(model.decode_output(&rows(3, model.code_dim() + 1, DType::F32)).is_err(), "{name}");
    }
}
