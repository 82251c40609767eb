//! `cargo xtask bench sae-synthetic`: a ground-truth benchmark for sparse autoencoders. Rows are
//! drawn from a known dictionary (`xtask/bench/sae_synthetic.py`: unit directions, power-law
//! firing frequencies, a few active per row, noise); ae and the PyTorch reference train the same
//! TopK SAE on them with Adam, in turn, and the table gives each one's epoch time, peak memory,
//! test FVU and L0, dead fraction, and how much of the true dictionary its decoder recovers.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::bench::{median, python_with_torch, run_measured, write_section};
use crate::{root, sh, usage};

struct Args {
    rows: usize,
    d_in: usize,
    latents: Vec<usize>,
    k: usize,
    batch: usize,
    epochs: usize,
    threads: Vec<usize>,
    features: usize,
    active: usize,
    write: bool,
}

fn list(flag: &str, v: &str) -> anyhow::Result<Vec<usize>> {
    v.split(',')
        .map(|t| t.parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>()
        .map_or_else(|| usage(format!("bench sae-synthetic: {flag} {v:?}: expected whole numbers >= 1 like 1,2")), Ok)
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut a = Args {
        rows: 200_000,
        d_in: 512,
        latents: vec![8192, 16384],
        k: 32,
        batch: 4096,
        epochs: 3,
        threads: vec![1, 2],
        features: 4096,
        active: 16,
        write: true,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--no-write" {
            a.write = false;
            continue;
        }
        let Some(v) = it.next() else { return usage(format!("bench sae-synthetic: {flag} needs a value")) };
        let one = |v: &str| -> anyhow::Result<usize> { Ok(list(flag, v)?[0]) };
        match flag.as_str() {
            "--rows" => a.rows = one(v)?,
            "--d-in" => a.d_in = one(v)?,
            "--latents" => a.latents = list(flag, v)?,
            "--k" => a.k = one(v)?,
            "--batch-size" => a.batch = one(v)?,
            "--epochs" => a.epochs = one(v)?.max(2),
            "--threads" => a.threads = list(flag, v)?,
            "--features" => a.features = one(v)?,
            "--active" => a.active = one(v)?,
            other => {
                return usage(format!(
                    "bench sae-synthetic: unknown flag {other:?}; expected --rows, --d-in, --latents, --k, --batch-size, \
                     --epochs, --threads, --features, --active or --no-write"
                ));
            }
        }
    }
    Ok(a)
}

/// One program's figures for one dictionary size and thread count.
struct Figures {
    epoch_seconds: f64,
    peak_rss_mib: f64,
    fvu: f64,
    l0: f64,
    dead: f64,
    recovery_mean: f64,
    recovery_above: f64,
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let a = parse(args)?;
    let python = python_with_torch()?;
    sh(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "ae"]))?;
    let dir = root().join("target/bench-sae");
    std::fs::create_dir_all(&dir)?;
    let script = root().join("xtask/bench/sae_synthetic.py");
    eprintln!(
        "drawing {} rows of {} from {} true features ({} active per row on average)",
        a.rows, a.d_in, a.features, a.active
    );
    sh(Command::new(&python).arg(&script).args(["make", &dir.to_string_lossy()]).args([
        "--rows",
        &a.rows.to_string(),
        "--d-in",
        &a.d_in.to_string(),
        "--features",
        &a.features.to_string(),
        "--active",
        &a.active.to_string(),
    ]))?;
    let mut lines = Vec::new();
    for &latents in &a.latents {
        for &threads in &a.threads {
            let ours = run_ae(&a, &dir, latents, threads, &python, &script)?;
            let theirs = run_torch(&a, &dir, latents, threads, &python)?;
            for (name, f) in [("ae", &ours), ("PyTorch", &theirs)] {
                lines.push(format!(
                    "| {latents} | {threads} | {name} | {:.2} | {} | {:.0} | {:.4} | {:.2} | {:.4} | {:.4} | {:.3} |",
                    f.epoch_seconds,
                    if name == "ae" {
                        format!("{:.2}x", ours.epoch_seconds / theirs.epoch_seconds)
                    } else {
                        "1".into()
                    },
                    f.peak_rss_mib,
                    f.fvu,
                    f.l0,
                    f.dead,
                    f.recovery_mean,
                    f.recovery_above
                ));
                println!("{}", lines.last().map(String::as_str).unwrap_or(""));
            }
        }
    }
    let table = format!(
        "## Sparse autoencoders on synthetic activations with a known dictionary\n\n\
         `cargo xtask bench sae-synthetic --rows {} --d-in {} --latents {} --k {} --batch-size {} --epochs {} --threads {}`: \
         {} true unit-norm features in R^{}, firing with power-law frequencies ({} per row on average), exponential \
         magnitudes, noise 0.01 (`xtask/bench/sae_synthetic.py`); a TopK SAE (k {}, one linear encoder and decoder, \
         MSE summed over features, Adam 1e-3, batch {}) trained by each program on the same rows for the same steps, \
         in turn. Epoch: median seconds of the epochs after the first. Peak RSS: VmHWM. FVU and L0 on 10,000 test rows, \
         dead fraction over the last 10,000 training rows (docs/sparse.md); recovery: for each true feature the best \
         cosine similarity with a decoder direction, its mean and the share above 0.9.\n\n\
         | latents | threads | program | s/epoch | ae/PyTorch | peak RSS MiB | FVU | L0 | dead | recovery mean | recovery > 0.9 |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n{}\n\n",
        a.rows,
        a.d_in,
        a.latents.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(","),
        a.k,
        a.batch,
        a.epochs,
        a.threads.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","),
        a.features,
        a.d_in,
        a.active,
        a.k,
        a.batch,
        lines.join("\n")
    );
    if a.write {
        write_section(&root().join("docs/benchmarks.md"), "sae-synthetic", &table)?;
        eprintln!("wrote the table into docs/benchmarks.md");
    }
    Ok(())
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Median of the epoch times after the first.
fn after_warm_up(seconds: &[f64]) -> f64 {
    median(if seconds.len() > 1 { &seconds[1..] } else { seconds })
}

fn run_ae(
    a: &Args,
    dir: &Path,
    latents: usize,
    threads: usize,
    python: &str,
    script: &Path,
) -> anyhow::Result<Figures> {
    let run: PathBuf = dir.join(format!("ae-{latents}-{threads}"));
    eprintln!("ae: TopK SAE with {latents} latents at {threads} thread(s)");
    let (_, rss) = run_measured(
        Command::new(crate::release_ae())
            .args(["train", "--model", "sparse", "--hidden", "", "--loss", "mse", "--val-fraction", "0"])
            .args(["--data", &s(&dir.join("train.npy")), "--test-data", &s(&dir.join("test.npy"))])
            .args(["--code-dim", &latents.to_string(), "--sparsity", &format!("topk:{}", a.k)])
            .args(["--batch-size", &a.batch.to_string(), "--epochs", &a.epochs.to_string()])
            .args(["--run-dir", &s(&run), "--overwrite", "--progress", "lines"])
            .env("RAYON_NUM_THREADS", threads.to_string()),
    )?;
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl"))?;
    let seconds: Vec<f64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seconds"].as_f64())
        .collect();
    let eval =
        json_of(Command::new(crate::release_ae()).args(["eval", "--run", &s(&run), "--checkpoint", "last", "--json"]))?;
    let export = dir.join(format!("ae-{latents}-{threads}-saelens"));
    sh(Command::new(crate::release_ae()).args([
        "export",
        "--run",
        &s(&run),
        "--checkpoint",
        "last",
        "--format",
        "saelens",
        "--out",
        &s(&export),
    ]))?;
    let rec = json_of(Command::new(python).arg(script).args(["score", &s(&export), &s(&dir.join("truth.npy"))]))?;
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok(Figures {
        epoch_seconds: after_warm_up(&seconds),
        peak_rss_mib: rss,
        fvu: num(&eval, "fvu"),
        l0: num(&eval, "l0"),
        dead: num(&eval, "dead_fraction"),
        recovery_mean: num(&rec, "recovery_mean"),
        recovery_above: num(&rec, "recovery_above_0_9"),
    })
}

fn run_torch(a: &Args, dir: &Path, latents: usize, threads: usize, python: &str) -> anyhow::Result<Figures> {
    eprintln!("PyTorch: TopK SAE with {latents} latents at {threads} thread(s)");
    let (out, rss) = run_measured(
        Command::new(python)
            .arg(root().join("xtask/bench/pytorch_reference.py"))
            .args(["--data-dir", ".", "--model", "topk", "--k", &a.k.to_string()])
            .args(["--train-npy", &s(&dir.join("train.npy")), "--test-npy", &s(&dir.join("test.npy"))])
            .args(["--truth", &s(&dir.join("truth.npy")), "--code-dim", &latents.to_string()])
            .args([
                "--batch-size",
                &a.batch.to_string(),
                "--epochs",
                &a.epochs.to_string(),
                "--threads",
                &threads.to_string(),
            ])
            .env("OMP_NUM_THREADS", threads.to_string())
            .env("OPENBLAS_NUM_THREADS", threads.to_string())
            .env("PYTHONWARNINGS", "ignore"),
    )?;
    let values: Vec<serde_json::Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let seconds: Vec<f64> = values.iter().filter_map(|v| v["seconds"].as_f64()).collect();
    let last = values.last().cloned().unwrap_or_default();
    let num = |k: &str| last[k].as_f64().unwrap_or(f64::NAN);
    Ok(Figures {
        epoch_seconds: after_warm_up(&seconds),
        peak_rss_mib: rss,
        fvu: num("test_fvu"),
        l0: num("test_l0"),
        dead: num("test_dead_fraction"),
        recovery_mean: num("recovery_mean"),
        recovery_above: num("recovery_above_0_9"),
    })
}

/// The JSON a command prints on stdout.
fn json_of(cmd: &mut Command) -> anyhow::Result<serde_json::Value> {
    let out = cmd.output()?;
    if !out.status.success() {
        anyhow::bail!(
            "`{}` failed with {}: {}",
            crate::format_cmd(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("`{}` output", crate::format_cmd(cmd)))
}
