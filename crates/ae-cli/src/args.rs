//! Command-line arguments. Numbers are parsed strictly: NaN and infinities are refused here
//! (Rust's float parser accepts "nan"), ranges are checked when the config is validated.

use std::path::PathBuf;

use ae_core::{Activation, DeviceSpec};
use ae_data::DatasetName;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Train and use autoencoders.
#[derive(Debug, Parser)]
#[command(name = "ae", version = version(), about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `ae --version`: the version and the matrix-product backend this build chose, since the same
/// source trains at different speeds with OpenBLAS and without it.
fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| format!("{} ({})", env!("CARGO_PKG_VERSION"), ae_core::fused::gemm::describe()))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model into a run directory.
    Train(Box<TrainArgs>),
    /// Print the test metrics of a trained run.
    Eval(EvalArgs),
    /// Time encoding and reconstruction of a trained run's test images.
    Throughput(ThroughputArgs),
    /// Decode codes drawn from a VAE's prior into a grid of new images.
    Sample(SampleArgs),
    /// Decode along the line between the codes of two test images.
    Interpolate(InterpolateArgs),
    /// Clean grayscale images with a trained model.
    Denoise(DenoiseArgs),
    /// Export the codes of a dataset's train and test splits, with labels, as safetensors.
    Encode(EncodeArgs),
    /// Train a linear softmax classifier on frozen codes and on raw pixels; report test accuracy.
    Probe(ProbeArgs),
    /// List the runs in a folder with their kind, dataset, progress and best validation loss.
    Runs(RunsArgs),
    /// Score test images by how badly the model explains them; report ROC AUC against a
    /// normal class.
    Anomaly(AnomalyArgs),
    /// Store images or table rows as their quantised codes in one .aec file.
    Compress(CompressArgs),
    /// Rebuild the images of an .aec file as PNGs.
    Decompress(DecompressArgs),
    /// Write a trained sparse autoencoder in another tool's format (SAELens, sparsify).
    Export(ExportArgs),
    /// Read a sparse autoencoder saved by another tool into a new run directory.
    Import(ImportArgs),
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProgressMode {
    /// A bar on a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// Always a bar.
    Bar,
    /// One line per epoch.
    Lines,
    /// Nothing but the final summary.
    None,
}

/// `ae train`.
#[derive(Debug, Args, Default)]
pub struct TrainArgs {
    /// Kind of autoencoder [default: stacked].
    #[arg(long, value_name = "KIND")]
    pub model: Option<String>,
    /// Dataset [default: digits].
    #[arg(long, value_name = "NAME", value_parser = parse_dataset)]
    pub dataset: Option<DatasetName>,
    /// Directory holding the dataset's IDX files [default: data/<dataset>].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Your own data instead of a named dataset.
    #[command(flatten)]
    pub own: crate::data_flags::DataFlags,
    /// A JSON run config; flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// The encoder and decoder networks: dense (fully-connected) or conv (strided convolutions)
    /// [default: dense].
    #[arg(long, value_name = "dense|conv", value_parser = ["dense", "conv"])]
    pub body: Option<String>,
    /// Conv: output channels of each encoder stage, input side first [default: 32,64].
    #[arg(long, value_name = "C,C,...", value_parser = parse_widths)]
    pub conv_channels: Option<Widths>,
    /// Conv: kernel side of every convolution [default: 3].
    #[arg(long, value_name = "N")]
    pub kernel: Option<usize>,
    /// Conv: stride of every encoder convolution [default: 2].
    #[arg(long, value_name = "N")]
    pub stride: Option<usize>,
    /// Conv: zero padding of every convolution [default: 1].
    #[arg(long, value_name = "N")]
    pub padding: Option<usize>,
    /// Conv: how the decoder upsamples, transposed (ConvTranspose2d) or nearest (nearest-neighbour
    /// upsampling, then a convolution) [default: transposed].
    #[arg(long, value_name = "transposed|nearest", value_parser = parse_upsample)]
    pub upsample: Option<ae_models::Upsample>,
    /// Conv: normalisation after each convolution, none or group:G [default: none].
    #[arg(long, value_name = "SPEC", value_parser = parse_norm)]
    pub norm: Option<ae_models::Norm>,
    /// Encoder hidden widths, input side first, e.g. 512,256 (empty for none).
    #[arg(long, value_name = "W,W,...", value_parser = parse_widths)]
    pub hidden: Option<Widths>,
    /// Decoder hidden widths, code side first [default: the encoder's, mirrored].
    #[arg(long, value_name = "W,W,...", value_parser = parse_widths)]
    pub decoder_hidden: Option<Widths>,
    /// Width of the code.
    #[arg(long, value_name = "N")]
    pub code_dim: Option<usize>,
    /// Hidden-layer activation: relu, leaky_relu, tanh, sigmoid or gelu.
    #[arg(long, value_name = "NAME", value_parser = parse_activation)]
    pub activation: Option<Activation>,
    /// Sparse: l1[:WEIGHT], kl:RHO:WEIGHT or topk:K [default: l1 at its default weight].
    #[arg(long, value_name = "SPEC", value_parser = parse_sparsity)]
    pub sparsity: Option<ae_models::Sparsity>,
    /// Sparse, topk: the auxiliary loss over the N largest dead units (Gao et al.).
    #[arg(long, value_name = "N")]
    pub aux_k: Option<usize>,
    /// Sparse: keep each code unit's decoder weights at unit L2 norm after every step.
    #[arg(long)]
    pub unit_norm_decoder: bool,
    /// Sparse: a unit is dead when it has not fired over this many training examples [default: 10000].
    #[arg(long, value_name = "N")]
    pub dead_window: Option<usize>,
    /// Denoising: the noise that corrupts each training input, gaussian:SIGMA, masking:P or
    /// salt-pepper:P [default: gaussian:0.5].
    #[arg(long, value_name = "SPEC", value_parser = parse_noise)]
    pub noise: Option<ae_data::Noise>,
    /// The likelihood (any model; --loss is the same flag): bce or bernoulli (inputs in [0, 1]),
    /// mse, gaussian:SIGMA or gaussian-learned [default: bce].
    #[arg(long, visible_alias = "loss", value_name = "SPEC", value_parser = parse_likelihood)]
    pub likelihood: Option<ae_models::Likelihood>,
    /// VAE: weight on the KL term (beta-VAE; 1 is the true ELBO).
    #[arg(long, value_name = "X", value_parser = finite_f64, allow_negative_numbers = true)]
    pub beta: Option<f64>,
    /// Ramp the KL weight linearly from 0 to beta over this many steps.
    #[arg(long, value_name = "STEPS")]
    pub kl_warmup_steps: Option<u64>,
    /// Passes over the training set.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Examples per step.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Base learning rate.
    #[arg(long, value_name = "X", value_parser = finite_f64, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Optimizer: adam or adamw.
    #[arg(long, value_name = "adam|adamw")]
    pub optimizer: Option<String>,
    /// L2 penalty (adam) or decoupled decay (adamw).
    #[arg(long, value_name = "X", value_parser = finite_f64, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// LR decay: constant, step:STEPS:GAMMA, exponential:GAMMA or cosine[:MIN_LR].
    #[arg(long, value_name = "SPEC")]
    pub schedule: Option<String>,
    /// Linear LR warm-up over this many steps.
    #[arg(long, value_name = "N")]
    pub warmup_steps: Option<u64>,
    /// Clip the global gradient norm to this value.
    #[arg(long, value_name = "X", value_parser = finite_f64, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long, value_name = "EPOCHS")]
    pub early_stopping: Option<usize>,
    /// Fraction of the training split held out for validation.
    #[arg(long, value_name = "X", value_parser = finite_f64, allow_negative_numbers = true)]
    pub val_fraction: Option<f64>,
    /// Train on the first N training examples only.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Test on the first N test examples only.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Train (and validate) on this class only, by label value or class name (or index): the
    /// normal class of anomaly detection.
    #[arg(long, value_name = "CLASS")]
    pub train_class: Option<String>,
    /// Differentiate with candle's autograd instead of the model's fused CPU step (the slower
    /// reference path; same numbers).
    #[arg(long)]
    pub autograd: bool,
    /// Run seed; every random stream derives from it.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run directory [default: runs/<model>-<dataset or data file>-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --run-dir from its last checkpoint (raise --epochs to train longer).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace the run in a non-empty --run-dir.
    #[arg(long)]
    pub overwrite: bool,
    /// cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceSpec,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// `ae eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
    /// Score only the first N test examples.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Also report `nll_iw`, the importance-weighted negative log-likelihood with K posterior
    /// draws per example (VAE only; 5000, as in Burda et al. 2015, when K is left out; at most
    /// 100000, since the time grows with K for every test image).
    #[arg(long, value_name = "K", num_args = 0..=1, default_missing_value = "5000", value_parser = count_up_to::<100_000>)]
    pub iw_samples: Option<usize>,
    /// Score denoising on test images corrupted with this noise instead of the run's
    /// (any model: a plain stacked one can be fed noisy images too).
    #[arg(long, value_name = "SPEC", value_parser = parse_noise)]
    pub noise: Option<ae_data::Noise>,
    /// PSNR against the noise level for the run's (or --noise's) kind, printed and saved as
    /// sweep.csv and sweep.png in the run directory.
    #[arg(long)]
    pub sweep: bool,
    /// Bytes per test image as codes (f32, f16, 8-bit) against raw pixels, PNG and gzip, with
    /// the PSNR each code quantisation keeps.
    #[arg(long)]
    pub compression: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ae denoise`.
#[derive(Debug, Args)]
pub struct DenoiseArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// A PNG as the run was trained on (its size and colour), or a directory of them.
    #[arg(long, value_name = "FILE.png|DIR", required_unless_present = "data", conflicts_with = "data")]
    pub input: Option<PathBuf>,
    /// Every image of an image folder (`--data` and its reading options), class subfolders
    /// kept in --output, instead of --input.
    #[command(flatten)]
    pub data: crate::data_flags::DataFlags,
    /// Where to write: a PNG for one input, a directory (created if missing) for a directory.
    #[arg(long, value_name = "FILE.png|DIR")]
    pub output: PathBuf,
}

/// `ae encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
    /// The safetensors file to write.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Also store the test images (`test.images`) and their reconstructions in input space
    /// (`test.reconstructions`), e.g. to check the weights elsewhere.
    #[arg(long)]
    pub reconstructions: bool,
}

/// `ae probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
    /// Passes of the classifier over the training codes (at most 10000).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = count_up_to::<10_000>)]
    pub epochs: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `ae throughput`.
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    /// The run directory whose last weights are timed.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Images per batch.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
    /// Timed passes over the test split (at most 1000).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = count_up_to::<1000>)]
    pub repeats: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceSpec,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
}

/// `ae export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// onnx (one file), saelens or sparsify (a folder).
    #[arg(long, value_name = "FORMAT", value_parser = parse_export_format)]
    pub format: &'static dyn ae_run::ExportFormat,
    /// The file (onnx) or folder (saelens, sparsify; created if missing) to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// What the ONNX file computes: autoencoder (inputs to reconstructions), encoder (inputs to
    /// codes, or a Gaussian code's mean and log-variance) or decoder (codes to reconstructions).
    #[arg(long, value_name = "PART", default_value = "autoencoder", value_parser = parse_part)]
    pub part: ae_core::graph::Part,
}

/// `--format` of `ae export`: a registered export format.
fn parse_export_format(s: &str) -> Result<&'static dyn ae_run::ExportFormat, String> {
    ae_run::export_format(s)
}

/// `--part`.
fn parse_part(s: &str) -> Result<ae_core::graph::Part, String> {
    s.parse()
}

/// `ae import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// saelens or sparsify.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: &'static dyn ae_run::DictionaryFormat,
    /// The folder the other tool saved.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The new run directory (must not hold a run).
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// The seed the run records (its validation and test split, evaluation noise).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The activations the dictionary reads (--data is required).
    #[command(flatten)]
    pub data: crate::data_flags::DataFlags,
}

/// `--format`: a registered dictionary format.
fn parse_format(s: &str) -> Result<&'static dyn ae_run::DictionaryFormat, String> {
    ae_run::dictionary_format(s)
}

/// `ae anomaly`.
#[derive(Debug, Args)]
pub struct AnomalyArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
    /// The class counted as normal: its index (0-9 for the bundled datasets) or its name, such
    /// as trouser (default: the class the run trained on, --train-class); every other test image
    /// is an anomaly.
    #[arg(long, value_name = "CLASS")]
    pub normal: Option<String>,
    /// Score only the first N test examples.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `ae compress`.
#[derive(Debug, Args)]
pub struct CompressArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// PNGs as the run was trained on (their size and colour), or folders of them.
    #[arg(long, value_name = "FILE.png|DIR", num_args = 1.., required_unless_present = "data", conflicts_with = "data")]
    pub input: Vec<PathBuf>,
    /// Every row or image of a table, array or image folder (`--data` and its reading options),
    /// instead of --input.
    #[command(flatten)]
    pub data: crate::data_flags::DataFlags,
    /// The .aec file to write.
    #[arg(long, value_name = "FILE.aec")]
    pub out: PathBuf,
    /// How each code value is stored: f32 (exact), f16 or u8 (256 steps per dimension).
    #[arg(long, value_enum, default_value_t = ae_run::aec::Quant::U8)]
    pub quant: ae_run::aec::Quant,
}

/// `ae decompress`.
#[derive(Debug, Args)]
pub struct DecompressArgs {
    /// The run whose model wrote the codes (the same weights: checked by fingerprint).
    #[command(flatten)]
    pub on: RunSelect,
    /// The .aec file.
    #[arg(long, value_name = "FILE.aec")]
    pub input: PathBuf,
    /// The folder to write the PNGs into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `ae runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The folder holding run directories.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub dir: PathBuf,
    /// Print one JSON object per run, one per line.
    #[arg(long)]
    pub json: bool,
}

/// `ae sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Images to draw (shown in a square grid: 64 gives 8x8).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub n: usize,
    /// The PNG to write [default: <run>/samples.png].
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
    /// Seed of the draws [default: the run's seed].
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `ae interpolate`.
#[derive(Debug, Args)]
pub struct InterpolateArgs {
    /// The trained run, its weights and the device.
    #[command(flatten)]
    pub on: RunSelect,
    /// Index of the first test image.
    #[arg(long, value_name = "I")]
    pub from: usize,
    /// Index of the second test image.
    #[arg(long, value_name = "J")]
    pub to: usize,
    /// Points decoded along the line, both ends included.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub steps: usize,
    /// The PNG to write [default: <run>/interp.png].
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
    /// Another dataset than the run's, or another directory for it.
    #[command(flatten)]
    pub data: DataSelect,
}

/// The trained run a command reads: its directory, which weights and the device.
#[derive(Debug, Args)]
pub struct RunSelect {
    /// The run directory (made by `ae train`).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Which weights: best (lowest validation loss) or last.
    #[arg(long, value_enum, default_value_t = Weights::Best)]
    pub checkpoint: Weights,
    /// cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "cpu", value_parser = parse_device)]
    pub device: DeviceSpec,
}

/// The data a command reads instead of the run's own (`--dataset`, `--data-dir`, or `--data`
/// and its options, as `ae train` takes them).
#[derive(Debug, Args)]
pub struct DataSelect {
    /// Use this dataset instead of the run's.
    #[arg(long, value_name = "NAME", value_parser = parse_dataset)]
    pub dataset: Option<DatasetName>,
    /// Directory holding that dataset's IDX files.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Your own data instead of the run's.
    #[command(flatten)]
    pub own: crate::data_flags::DataFlags,
}

impl DataSelect {
    /// Applies the flags to a run's data config: another dataset drops the run's directory
    /// (it held the run's dataset), and `--data-dir` sets it.
    pub fn apply(&self, cfg: &mut ae_data::DataConfig) {
        if let Some(d) = self.dataset {
            if d != cfg.dataset || cfg.path.is_some() {
                cfg.data_dir = None;
            }
            cfg.dataset = d;
            cfg.path = None;
            cfg.test_path = None;
        }
        if let Some(dir) = &self.data_dir {
            cfg.data_dir = Some(dir.clone());
        }
        self.own.apply(cfg);
    }
}

/// Which weights a command loads (`--checkpoint`).
pub use ae_run::Weights;

/// A list of layer widths (a newtype so clap parses it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(pub Vec<usize>);

fn parse_widths(s: &str) -> Result<Widths, String> {
    if s.trim().is_empty() {
        return Ok(Widths(Vec::new()));
    }
    s.split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{w:?} is not a positive whole number; expected widths like 512,256")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Widths)
}

/// Parses a count from 1 to `MAX`: the ceiling of a flag whose work grows with it, so a typo
/// such as `1e8` is refused instead of running for days.
fn count_up_to<const MAX: usize>(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a whole number from 1 to {MAX}")),
    }
}

/// Parses a float, refusing NaN and infinities.
pub fn finite_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a finite number")),
    }
}

fn parse_dataset(s: &str) -> Result<DatasetName, String> {
    s.parse()
}

fn parse_activation(s: &str) -> Result<Activation, String> {
    s.parse()
}

fn parse_device(s: &str) -> Result<DeviceSpec, String> {
    s.parse().map_err(|e: ae_core::CoreError| e.to_string())
}

fn parse_upsample(s: &str) -> Result<ae_models::Upsample, String> {
    match s {
        "transposed" => Ok(ae_models::Upsample::Transposed),
        "nearest" => Ok(ae_models::Upsample::Nearest),
        _ => Err(format!("{s:?} is not an upsampling; expected transposed or nearest")),
    }
}

fn parse_norm(s: &str) -> Result<ae_models::Norm, String> {
    s.parse()
}

/// `--sparsity`: `l1[:WEIGHT]`, `kl:RHO:WEIGHT` or `topk:K`.
fn parse_sparsity(s: &str) -> Result<ae_models::Sparsity, String> {
    s.parse()
}

/// `--noise`: `gaussian:SIGMA`, `masking:P` or `salt-pepper:P`.
fn parse_noise(s: &str) -> Result<ae_data::Noise, String> {
    s.parse()
}

/// `--likelihood`: `bernoulli`, `gaussian:SIGMA` or `gaussian-learned`.
fn parse_likelihood(s: &str) -> Result<ae_models::Likelihood, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn floats_refuse_nan_and_infinity() {
        assert_eq!(finite_f64("1e-3"), Ok(1e-3));
        for bad in ["nan", "NaN", "inf", "-inf", "x"] {
            assert!(finite_f64(bad).unwrap_err().contains("not a finite number"));
        }
    }

    #[test]
    fn widths_parse_and_refuse_zero() {
        assert_eq!(parse_widths("512,256"), Ok(Widths(vec![512, 256])));
        assert_eq!(parse_widths(""), Ok(Widths(vec![])));
        assert!(parse_widths("512,0").unwrap_err().contains("\"0\" is not a positive whole number"));
    }
}
