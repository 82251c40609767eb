//! `cargo xtask bench`: ae against the PyTorch reference script on the same data, model, batch
//! size, optimizer and thread count, run in turn (ae, PyTorch, ae, PyTorch, ...). For each row and
//! thread count it reports the median seconds per epoch after the first (warm-up) epoch, the
//! ratio ae/PyTorch, each process's peak RSS (VmHWM, polled from /proc) and the test loss each
//! reached, then writes the table into docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{root, sh, usage};

/// One benchmarked configuration: the same model given to both programs.
struct Row {
    name: &'static str,
    /// ae's flags for the kind of model.
    ae: &'static [&'static str],
    /// ae's flags for its shape.
    shape: &'static [&'static str],
    torch: &'static [&'static str],
    /// `(in, out)` of every matrix product of one forward pass, for the FLOP floor.
    products: &'static [(usize, usize)],
    /// The test figure compared: its key in `ae eval --json` (the script prints it as `test_<key>`).
    metric: &'static str,
    /// A second figure shown beside it in parentheses, where the row has one.
    context: Option<&'static str>,
}

impl Row {
    /// A test figure as shown in the table: the metric named, PSNRs in dB to 2 places, losses to 5.
    fn figure(&self, value: f64, context: Option<f64>) -> String {
        let show = |key: &str, v: f64| {
            if key.starts_with("psnr") { format!("{key} {v:.2} dB") } else { format!("{key} {v:.5}") }
        };
        match (self.context, context) {
            (Some(key), Some(c)) => format!("{} ({})", show(self.metric, value), show(key, c)),
            _ => show(self.metric, value),
        }
    }

    /// Multiply-add FLOPs of one forward pass of one example through the matrix products.
    fn forward_flops(&self) -> f64 {
        self.products.iter().map(|&(a, b)| 2.0 * (a * b) as f64).sum()
    }
}

/// The 784-512-256-64 ReLU shape the stacked, denoising and sparse rows share, as ae's flags.
const STACKED_SHAPE: &[&str] = &["--hidden", "512,256", "--code-dim", "64", "--activation", "relu", "--loss", "bce"];
/// Its matrix products.
const STACKED_PRODUCTS: &[(usize, usize)] = &[(784, 512), (512, 256), (256, 64), (64, 256), (256, 512), (512, 784)];

/// The default conv body's products per example: each convolution as the matrix product of its
/// patches (`in_channels x k x k`) with its output map (`out_channels x positions`).
const CONV_PRODUCTS: &[(usize, usize)] =
    &[(9, 32 * 196), (288, 64 * 49), (3136, 16), (16, 3136), (288, 64 * 49), (9, 32 * 196)];

/// Adding a row (a new kind of autoencoder) is one entry here plus its branch in the script.
const ROWS: [Row; 6] = [
    Row {
        name: "stacked 784-512-256-64 ReLU, BCE",
        ae: &["--model", "stacked"],
        shape: STACKED_SHAPE,
        torch: &["--model", "stacked", "--hidden", "512,256", "--code-dim", "64"],
        products: STACKED_PRODUCTS,
        metric: "recon_per_pixel",
        context: None,
    },
    Row {
        name: "vae 784-400-20 ReLU, Bernoulli",
        ae: &["--model", "vae"],
        shape: &["--hidden", "400", "--code-dim", "20", "--activation", "relu"],
        torch: &["--model", "vae", "--hidden", "400", "--code-dim", "20"],
        // The two 400 -> 20 heads count as one 400 -> 40 product.
        products: &[(784, 400), (400, 40), (20, 400), (400, 784)],
        metric: "neg_elbo",
        context: None,
    },
    Row {
        name: "denoising 784-512-256-64 ReLU, BCE, gaussian:0.5",
        ae: &["--model", "denoising", "--noise", "gaussian:0.5"],
        shape: STACKED_SHAPE,
        torch: &["--model", "stacked", "--hidden", "512,256", "--code-dim", "64", "--noise-sigma", "0.5"],
        products: STACKED_PRODUCTS,
        metric: "psnr_denoised",
        context: Some("psnr_noisy"),
    },
    Row {
        name: "sparse 784-512-256-64 ReLU, BCE, l1:0.1",
        ae: &["--model", "sparse", "--sparsity", "l1:0.1"],
        shape: STACKED_SHAPE,
        torch: &["--model", "stacked", "--hidden", "512,256", "--code-dim", "64", "--l1", "0.1"],
        products: STACKED_PRODUCTS,
        metric: "recon_per_pixel",
        context: None,
    },
    Row {
        name: "conv stacked 1-32-64 (3x3, stride 2), code 16, BCE",
        ae: &["--model", "stacked", "--body", "conv"],
        shape: &["--code-dim", "16", "--loss", "bce"],
        torch: &["--model", "stacked", "--body", "conv", "--code-dim", "16"],
        products: CONV_PRODUCTS,
        metric: "recon_per_pixel",
        context: None,
    },
    Row {
        name: "conv vae 1-32-64 (3x3, stride 2), code 16, Bernoulli",
        ae: &["--model", "vae", "--body", "conv"],
        shape: &["--code-dim", "16"],
        torch: &["--model", "vae", "--body", "conv", "--code-dim", "16"],
        // The two 3136 -> 16 heads count as one 3136 -> 32 product.
        products: &[(9, 32 * 196), (288, 64 * 49), (3136, 32), (16, 3136), (288, 64 * 49), (9, 32 * 196)],
        metric: "neg_elbo",
        context: None,
    },
];

/// Training examples per epoch (Fashion-MNIST's training split, no validation).
const EPOCH_EXAMPLES: f64 = 60_000.0;

/// One program's figures for one row and thread count.
#[derive(Debug, Clone)]
struct Figures {
    epoch_seconds: Vec<f64>,
    peak_rss_mib: f64,
    test_loss: f64,
    /// The row's second figure, where it has one.
    test_context: Option<f64>,
}

impl Figures {
    /// Median epoch time, leaving out the first (warm-up) epoch when there are several.
    fn median_epoch(&self) -> f64 {
        median(if self.epoch_seconds.len() > 1 { &self.epoch_seconds[1..] } else { &self.epoch_seconds })
    }
}

struct Args {
    epochs: usize,
    threads: Vec<usize>,
    data_dir: PathBuf,
    write: bool,
    /// `AE_MATMUL` for the build measured: auto (what this machine's build picks), openblas, rust.
    backend: String,
    /// `--rows TEXT`: only the rows whose name starts with it, written to a section of their own.
    rows: Option<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let default_dir = ["/usr/share/datasets/fashion-mnist", "data/fashion-mnist"]
        .into_iter()
        .map(|d| root().join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root().join("data/fashion-mnist"));
    let mut a = Args {
        epochs: 10,
        threads: vec![1, 2],
        data_dir: default_dir,
        write: true,
        backend: "auto".into(),
        rows: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().map_or_else(|| usage(format!("bench: {flag} needs a value")), Ok);
        match flag.as_str() {
            "--epochs" => {
                a.epochs = match value()?.parse() {
                    Ok(n) if n >= 2 => n,
                    _ => {
                        return usage("bench: --epochs expects a whole number >= 2 (the first epoch is warm-up)");
                    }
                }
            }
            "--threads" => {
                a.threads = value()?
                    .split(',')
                    .map(|t| t.parse::<usize>().ok().filter(|&n| n > 0))
                    .collect::<Option<Vec<_>>>()
                    .map_or_else(|| usage("bench: --threads expects a list like 1,2"), Ok)?
            }
            "--data-dir" => a.data_dir = PathBuf::from(value()?),
            "--no-write" => a.write = false,
            "--rows" => {
                let prefix = value()?;
                if !ROWS.iter().any(|r| r.name.starts_with(&prefix)) {
                    let names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
                    return usage(format!("bench: --rows {prefix:?} names no row; rows begin: {}", names.join("; ")));
                }
                a.rows = Some(prefix);
            }
            "--backend" => {
                a.backend = value()?;
                if !["auto", "openblas", "rust"].contains(&a.backend.as_str()) {
                    return usage(format!("bench: --backend {:?}: expected auto, openblas or rust", a.backend));
                }
            }
            other => {
                return usage(format!(
                    "bench: unknown flag {other:?}; expected --epochs, --threads, --data-dir, --backend, --rows or --no-write"
                ));
            }
        }
    }
    Ok(a)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) == Some("anomaly") {
        return crate::bench_anomaly::run(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("sae-synthetic") {
        return crate::bench_sae::run(&args[1..]);
    }
    let a = parse(args)?;
    let python = python_with_torch()?;
    if !a.data_dir.join("train-images-idx3-ubyte.gz").is_file() && !a.data_dir.join("train-images-idx3-ubyte").is_file()
    {
        bail!(
            "{}: no Fashion-MNIST there; `apt-get install dataset-fashion-mnist` or `cargo xtask download fashion-mnist`, or pass --data-dir",
            a.data_dir.display()
        );
    }
    sh(Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "ae"])
        .env("AE_MATMUL", &a.backend))?;
    let version = Command::new(crate::release_ae()).arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let pure_rust = version.contains("pure Rust");
    let mut train_lines = Vec::new();
    let mut infer_lines = Vec::new();
    let mut torch_version = String::new();
    for row in ROWS.iter().filter(|r| a.rows.as_ref().is_none_or(|p| r.name.starts_with(p.as_str()))) {
        for &threads in &a.threads {
            let run_dir = std::env::temp_dir().join(format!("ae-bench-{}-{threads}", std::process::id()));
            let weights = run_dir.with_extension("pt");
            let trained = run_ae(row, threads, &a, &run_dir).and_then(|ours| {
                let (theirs, version, gemm) = run_torch(&python, row, threads, &a, &weights)?;
                let speed = infer_rounds(&python, row, threads, &a, &run_dir, &weights)?;
                Ok((ours, theirs, version, gemm, speed))
            });
            let _ = std::fs::remove_dir_all(&run_dir);
            let _ = std::fs::remove_file(&weights);
            let (ours, theirs, version, gemm, speed) = trained?;
            torch_version = version;
            let floor = 3.0 * row.forward_flops() * EPOCH_EXAMPLES / (gemm * 1e9);
            let line = format!(
                "| {} | {threads} | {:.2} | {:.2} | **{:.2}** | {:.0} | {:.0} | {} | {} | {:.2} ({:.0} GFLOP/s) | {:.1} |",
                row.name,
                ours.median_epoch(),
                theirs.median_epoch(),
                ours.median_epoch() / theirs.median_epoch(),
                ours.peak_rss_mib,
                theirs.peak_rss_mib,
                row.figure(ours.test_loss, ours.test_context),
                row.figure(theirs.test_loss, theirs.test_context),
                floor,
                gemm,
                ours.median_epoch() / floor,
            );
            println!("{line}");
            train_lines.push(line);
            let line = format!(
                "| {} | {threads} | {:.0} | {:.0} | **{:.2}** | {:.0} | {:.0} | **{:.2}** |",
                row.name,
                speed.ours.encode,
                speed.theirs.encode,
                speed.ours.encode / speed.theirs.encode,
                speed.ours.reconstruct,
                speed.theirs.reconstruct,
                speed.ours.reconstruct / speed.theirs.reconstruct,
            );
            println!("{line}");
            infer_lines.push(line);
        }
    }
    let table = render(&train_lines, &infer_lines, &a, &torch_version, &version);
    println!("\n{table}");
    if a.write {
        // One section per backend, so the figures of the build a fresh machine gets (pure Rust)
        // and those of the OpenBLAS build stand side by side.
        let base = if pure_rust { "xtask-bench-pure-rust" } else { "xtask-bench" };
        // A subset of rows gets a section of its own, leaving the full table as it was.
        let section = match &a.rows {
            Some(p) => format!("{base}-{}", p.split_whitespace().next().unwrap_or("rows")),
            None => base.to_string(),
        };
        let section = section.as_str();
        write_section(&root().join("docs/benchmarks.md"), section, &table)?;
        eprintln!("wrote the {section} section of docs/benchmarks.md");
    }
    Ok(())
}

fn render(lines: &[String], infer: &[String], a: &Args, torch_version: &str, ae_version: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let threads: Vec<String> = a.threads.iter().map(usize::to_string).collect();
    format!(
        "Measured {date} on {cpu} ({cores} cores), {rustc}, candle 0.11.1, `{ae_version}`, PyTorch {torch_version}.\n\
         Command: `cargo xtask bench --epochs {} --threads {} --backend {}{}` (data: `{}`).\n\n\
         Fashion-MNIST, 60,000 training images (no validation split), batch 128, Adam 1e-3, {} epochs. \
         Seconds per epoch: median over epochs 2..{} (epoch 1 is warm-up), training loop only. \
         Peak RSS: the process's VmHWM. Test loss on the 10,000 test images after the last epoch: `recon_per_pixel` (BCE per pixel, the penalty left out) for the stacked and sparse rows, \
         `neg_elbo` (nats per example, one posterior sample per image) for the VAE rows, \
         `psnr_denoised` (dB, the test images corrupted with the row's noise, rebuilt; `psnr_noisy` of the corrupted images beside it) \
         for the denoising rows (each program draws its own noise). \
         FLOP floor: 3 x the forward pass's matrix-product FLOPs x 60,000 examples / the best GEMM rate measured on \
         this machine at that thread count (2048x2048 f32, torch or numpy).\n\n\
         | model | threads | ae s/epoch | PyTorch s/epoch | ae / PyTorch | ae peak RSS MiB | PyTorch peak RSS MiB | ae test loss | PyTorch test loss | FLOP floor s/epoch | ae / floor |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n{}\n\n\
         Inference on the 10,000 test images in batches of 1,000 (`ae throughput`; PyTorch under `no_grad`, the \
         weights it trained loaded by `--infer-only`), images per second over 3 passes after a warm-up pass: the median \
         of {INFER_ROUNDS} rounds, the two programs taking turns (ae, PyTorch, ae, ...):\n\n\
         | model | threads | ae encode | PyTorch encode | ae / PyTorch | ae reconstruct | PyTorch reconstruct | ae / PyTorch |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n{}\n",
        a.epochs,
        threads.join(","),
        a.backend,
        a.rows.as_ref().map(|r| format!(" --rows {r:?}")).unwrap_or_default(),
        a.data_dir.display(),
        a.epochs,
        a.epochs,
        lines.join("\n"),
        infer.join("\n")
    )
}

/// Replaces the text between the markers `<!-- NAME:start -->` and `<!-- NAME:end -->` in
/// `path` (or appends a marked section).
pub(crate) fn write_section(path: &Path, name: &str, table: &str) -> anyhow::Result<()> {
    let (start, end) = (format!("<!-- {name}:start -->"), format!("<!-- {name}:end -->"));
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let new = match (old.find(&start), old.find(&end)) {
        (Some(s), Some(e)) if s < e => format!("{}{start}\n{table}{}", &old[..s], &old[e..]),
        _ => format!("{old}\n{start}\n{table}{end}\n"),
    };
    std::fs::write(path, new).with_context(|| format!("{}: cannot write", path.display()))
}

/// The first Python that imports torch, or an error saying how to get one.
pub(crate) fn python_with_torch() -> anyhow::Result<String> {
    // `AE_BENCH_PYTHON` names an interpreter (a venv's, say) before the ones on PATH.
    let named = std::env::var("AE_BENCH_PYTHON").ok();
    for py in named.iter().map(String::as_str).chain(["python3", "python"]) {
        let ok = Command::new(py)
            .args(["-c", "import torch"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(py.to_string());
        }
    }
    bail!(
        "the benchmark compares with PyTorch, which is not installed: `pip install torch`, or point AE_BENCH_PYTHON \
         at an interpreter that has it (the tests never need it)"
    )
}

/// Runs `cmd`, polling its peak RSS; returns stdout and the peak in MiB.
pub(crate) fn run_measured(cmd: &mut Command) -> anyhow::Result<(String, f64)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(mut s) = stdout {
            let _ = std::io::Read::read_to_string(&mut s, &mut out);
        }
        out
    });
    let mut peak_kib = 0f64;
    let status = loop {
        let vm_hwm_kib = std::fs::read_to_string(&status_path).ok().and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        });
        peak_kib = peak_kib.max(vm_hwm_kib.unwrap_or(0.0));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("`{}` failed with {status}", crate::format_cmd(cmd));
    }
    Ok((out, peak_kib / 1024.0))
}

/// Trains the row with ae into `run_dir` (left there for [`infer_rounds`]) and evaluates it.
fn run_ae(row: &Row, threads: usize, a: &Args, run_dir: &Path) -> anyhow::Result<Figures> {
    let dir = run_dir.to_string_lossy().into_owned();
    let data = a.data_dir.to_string_lossy().into_owned();
    let epochs = a.epochs.to_string();
    eprintln!("ae: {} at {threads} thread(s)", row.name);
    let (_, rss) = run_measured(
        Command::new(crate::release_ae())
            .args([
                "train",
                "--dataset",
                "fashion-mnist",
                "--data-dir",
                &data,
                "--val-fraction",
                "0",
                "--epochs",
                &epochs,
            ])
            .args(row.ae)
            .args(row.shape)
            .args(["--run-dir", &dir, "--overwrite", "--progress", "lines"])
            .env("RAYON_NUM_THREADS", threads.to_string()),
    )?;
    let metrics = std::fs::read_to_string(run_dir.join("metrics.jsonl"))?;
    let epoch_seconds = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seconds"].as_f64())
        .collect();
    let eval = ae_json(&["eval", "--run", &dir, "--checkpoint", "last", "--json"], threads)?;
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok(Figures {
        epoch_seconds,
        peak_rss_mib: rss,
        test_loss: num(&eval, row.metric),
        test_context: row.context.map(|k| num(&eval, k)),
    })
}

/// `ae ARGS --json` on `threads` threads, its output parsed.
fn ae_json(args: &[&str], threads: usize) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(crate::release_ae()).args(args).env("RAYON_NUM_THREADS", threads.to_string()).output()?;
    if !out.status.success() {
        bail!("`ae {}` failed with {}: {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("ae {} output", args[0]))
}

/// Rounds of inference timing per row; the table shows each program's median. Nine, as five
/// had left single figures of the same build 5-10% apart between runs in a noisy hour.
const INFER_ROUNDS: usize = 9;

/// Images per second through encoding and through reconstruction.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Speed {
    encode: f64,
    reconstruct: f64,
}

/// Each program's median [`Speed`] over the rounds.
struct Speeds {
    ours: Speed,
    theirs: Speed,
}

/// Times inference of the two trained models in [`INFER_ROUNDS`] rounds, the programs taking
/// turns, so that a slow spell of the machine hits both rather than one.
fn infer_rounds(
    python: &str,
    row: &Row,
    threads: usize,
    a: &Args,
    run_dir: &Path,
    weights: &Path,
) -> anyhow::Result<Speeds> {
    let speed = |v: &serde_json::Value| Speed {
        encode: v["encode_images_per_second"].as_f64().unwrap_or(f64::NAN),
        reconstruct: v["reconstruct_images_per_second"].as_f64().unwrap_or(f64::NAN),
    };
    let dir = run_dir.to_string_lossy().into_owned();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..INFER_ROUNDS {
        ours.push(speed(&ae_json(&["throughput", "--run", &dir, "--batch-size", "1000", "--json"], threads)?));
        let out = torch_command(python, row, threads, a)
            .arg("--infer-only")
            .arg(weights)
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            bail!("the PyTorch reference's --infer-only failed with {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().rev().find_map(|l| serde_json::from_str(l).ok()).unwrap_or_default();
        theirs.push(speed(&last));
    }
    Ok(Speeds { ours: median_speed(&ours), theirs: median_speed(&theirs) })
}

/// The median of each figure on its own.
fn median_speed(rounds: &[Speed]) -> Speed {
    let of = |f: fn(&Speed) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
    Speed { encode: of(|s| s.encode), reconstruct: of(|s| s.reconstruct) }
}

/// The median of `values` (the mean of the middle two for an even count; NaN for none).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// Trains the row with the PyTorch reference, which saves its weights to `weights`.
fn run_torch(
    python: &str,
    row: &Row,
    threads: usize,
    a: &Args,
    weights: &Path,
) -> anyhow::Result<(Figures, String, f64)> {
    eprintln!("PyTorch: {} at {threads} thread(s)", row.name);
    let (out, rss) = run_measured(
        torch_command(python, row, threads, a).args(["--epochs", &a.epochs.to_string()]).arg("--save").arg(weights),
    )?;
    let values: Vec<serde_json::Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let epoch_seconds = values.iter().filter_map(|v| v["seconds"].as_f64()).collect();
    let last = values.last().cloned().unwrap_or_default();
    let num = |k: &str| last[k].as_f64().unwrap_or(f64::NAN);
    Ok((
        Figures {
            epoch_seconds,
            peak_rss_mib: rss,
            test_loss: num(&format!("test_{}", row.metric)),
            test_context: row.context.map(|k| num(&format!("test_{k}"))),
        },
        last["torch"].as_str().unwrap_or("?").to_string(),
        num("gemm_gflops"),
    ))
}

/// The reference script for `row` on `threads` threads (every thread pool it may use capped).
fn torch_command(python: &str, row: &Row, threads: usize, a: &Args) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(root().join("xtask/bench/pytorch_reference.py"))
        .args(["--data-dir", &a.data_dir.to_string_lossy(), "--threads", &threads.to_string()])
        .args(row.torch)
        .env("OMP_NUM_THREADS", threads.to_string())
        .env("OPENBLAS_NUM_THREADS", threads.to_string())
        .env("PYTHONWARNINGS", "ignore");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_skips_the_warm_up_epoch() {
        let f = |t: Vec<f64>| Figures { epoch_seconds: t, peak_rss_mib: 0.0, test_loss: 0.0, test_context: None };
        assert_eq!(f(vec![100.0, 3.0, 1.0, 2.0]).median_epoch(), 2.0);
        assert_eq!(f(vec![100.0, 4.0, 2.0]).median_epoch(), 3.0);
        assert_eq!(ROWS[0].forward_flops(), 2.0 * 2.0 * (784.0 * 512.0 + 512.0 * 256.0 + 256.0 * 64.0));
    }

    #[test]
    fn inference_rounds_take_each_figures_median() {
        let s = |encode, reconstruct| Speed { encode, reconstruct };
        assert_eq!(median_speed(&[s(3.0, 10.0), s(1.0, 30.0), s(2.0, 20.0)]), s(2.0, 20.0));
        assert_eq!(median_speed(&[s(1.0, 1.0), s(3.0, 5.0)]), s(2.0, 3.0));
    }

    #[test]
    fn the_section_is_replaced_between_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.md");
        std::fs::write(&path, "# B\n\nintro\n").unwrap();
        write_section(&path, "xtask-bench", "one\n").unwrap();
        write_section(&path, "xtask-bench", "two\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# B\n\nintro\n"));
        assert!(text.contains("two\n") && !text.contains("one\n"), "{text}");
    }
}
