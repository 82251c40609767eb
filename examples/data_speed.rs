//! How fast ae reads your own data, and what streaming costs: table rows and images per second at
//! one and two threads, then training streamed from array shards on disk against the same rows in
//! memory, with the streamed run's peak anonymous memory (RssAnon, sampled every 20 ms).
//!
//! ```sh
//! cargo build --release && cargo run --release --example data_speed -- --gb 8
//! ```
//!
//! `--no-streaming` leaves out the training rows. Writes its files under `--dir` (default a folder in the system's temp directory), removed at
//! the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Row width of the array shards (1 KiB of f32 per row).
const WIDTH: usize = 256;
/// Rows per shard (256 MiB each).
const SHARD_ROWS: usize = 1 << 18;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let gb: f64 = flag("--gb").map(|v| v.parse()).transpose().context("--gb: expected a number of GiB")?.unwrap_or(8.0);
    let root = flag("--dir").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("ae-data-speed"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let ae = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/ae");
    if !ae.is_file() {
        bail!("{}: not built; run `cargo build --release` first", ae.display());
    }
    let result = run(&root, &ae, gb, !args.iter().any(|a| a == "--no-streaming"));
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run(root: &Path, ae: &Path, gb: f64, streamed: bool) -> anyhow::Result<()> {
    println!("| what | threads | figure |");
    println!("| --- | --- | --- |");
    tables(root)?;
    images(root)?;
    if streamed { streaming(root, ae, gb) } else { Ok(()) }
}

/// The best of three timings of `f` on a pool of `threads`.
fn timed<T: Send>(threads: usize, mut f: impl FnMut() -> anyhow::Result<T> + Send) -> anyhow::Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        pool.install(&mut f)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn tables(root: &Path) -> anyhow::Result<()> {
    let rows = 400_000;
    let mut text = (0..30).map(|j| format!("f{j}")).collect::<Vec<_>>().join(",") + ",label\n";
    for i in 0..rows {
        for j in 0..30 {
            text.push_str(&format!("{:.5},", ((i * 31 + j * 17) % 1000) as f64 / 37.0));
        }
        text.push_str(if i % 3 == 0 { "yes\n" } else { "no\n" });
    }
    let path = root.join("table.csv");
    std::fs::write(&path, &text)?;
    let opts = ae::data::TableOptions { label_column: Some("label".into()), ..Default::default() };
    for threads in [1, 2] {
        let s = timed(threads, || Ok(ae::data::table::read_table(&path, &opts)?))?;
        println!(
            "| table parsing ({rows} rows x 30 columns, {:.0} MB CSV) | {threads} | {:.0} rows/s ({:.0} MB/s) |",
            text.len() as f64 / 1e6,
            rows as f64 / s,
            text.len() as f64 / 1e6 / s
        );
    }
    Ok(())
}

fn images(root: &Path) -> anyhow::Result<()> {
    let digits = ae::data::Dataset::load(&Default::default(), 0, &candle_core::Device::Cpu)?;
    let pixels = digits.train.images.to_vec2::<f32>()?;
    let folder = root.join("pngs");
    let n = 8000;
    for (i, row) in pixels.iter().take(n).enumerate() {
        let class = folder.join(format!("{}", i % 10));
        std::fs::create_dir_all(&class)?;
        let bytes: Vec<u8> = row.iter().map(|v| (v * 255.0).round() as u8).collect();
        image::GrayImage::from_raw(28, 28, bytes).context("28x28")?.save(class.join(format!("{i:05}.png")))?;
    }
    let cfg = ae::data::DataConfig::default();
    for threads in [1, 2] {
        let s = timed(threads, || Ok(ae::data::file_source::read_rows(&folder, &cfg)?))?;
        println!(
            "| PNG decoding ({n} 28x28 grey images in class folders) | {threads} | {:.0} images/s |",
            n as f64 / s
        );
    }
    Ok(())
}

/// Writes `rows` rows of `WIDTH` f32 as `.npy` shards in `dir`.
fn write_shards(dir: &Path, rows: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut written = 0;
    let mut k = 0;
    while written < rows {
        let n = SHARD_ROWS.min(rows - written);
        let mut payload = Vec::with_capacity(n * WIDTH * 4);
        for i in 0..n * WIDTH {
            let v = ((written * WIDTH + i) as u32).wrapping_mul(2_654_435_761) >> 8;
            payload.extend_from_slice(&(v as f32 / (1 << 24) as f32 - 0.5).to_le_bytes());
        }
        let bytes = ae::data::array::npy_file("<f4", false, &format!("({n}, {WIDTH})"), &payload);
        std::fs::write(dir.join(format!("shard-{k:04}.npy")), &bytes)?;
        written += n;
        k += 1;
    }
    Ok(())
}

/// Trains on `data` with `stream`, returning the last epoch's examples per second and the
/// process's peak RssAnon in MiB.
fn train(ae: &Path, data: &Path, run: &Path, stream: &str, epochs: usize) -> anyhow::Result<(f64, f64)> {
    let mut child = Command::new(ae)
        .args(["train", "--data"])
        .arg(data)
        .args(["--stream", stream, "--hidden", "", "--code-dim", "32", "--batch-size", "4096"])
        .args([
            "--val-fraction",
            "0",
            "--epochs",
            &epochs.to_string(),
            "--progress",
            "none",
            "--overwrite",
            "--run-dir",
        ])
        .arg(run)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("RssAnon:"))
        {
            let kb: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        bail!("ae train on {} failed: {status}", data.display());
    }
    // The best epoch after the first (which pays for warm-up and first page faults).
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl"))?;
    let speeds: Vec<f64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).map(|v| v["examples_per_second"].as_f64().unwrap_or(0.0)))
        .collect::<Result<_, _>>()?;
    let best = speeds.iter().skip(usize::from(speeds.len() > 1)).copied().fold(0.0, f64::max);
    Ok((best, peak_kb as f64 / 1024.0))
}

fn streaming(root: &Path, ae: &Path, gb: f64) -> anyhow::Result<()> {
    // The same 1 GiB in memory and streamed, alternately four times, three epochs each: the
    // median over runs of each run's best epoch after the first.
    let small = root.join("small");
    write_shards(&small, 4 * SHARD_ROWS)?;
    let (mut memory, mut memory_rss, mut streamed, mut streamed_rss) = (0f64, 0f64, 0f64, 0f64);
    for _ in 0..2 {
        let (m, mr) = train(ae, &small, &root.join("run-memory"), "no", 3)?;
        let (s, sr) = train(ae, &small, &root.join("run-streamed"), "yes", 3)?;
        (memory, memory_rss, streamed, streamed_rss) =
            (memory.max(m), memory_rss.max(mr), streamed.max(s), streamed_rss.max(sr));
    }
    println!(
        "| training in memory, 1 GiB of shards (1,048,576 rows x {WIDTH}, {WIDTH}-32 model, batch 4096) | 2 | {memory:.0} examples/s, RssAnon {memory_rss:.0} MiB |"
    );
    println!(
        "| training streamed, the same 1 GiB | 2 | {streamed:.0} examples/s ({:.0}% of in memory), RssAnon {streamed_rss:.0} MiB |",
        100.0 * streamed / memory
    );
    std::fs::remove_dir_all(&small)?;
    if gb <= 0.0 {
        return Ok(());
    }
    let big = root.join("big");
    let rows = (gb * (1u64 << 30) as f64 / (WIDTH * 4) as f64) as usize;
    write_shards(&big, rows)?;
    let (speed, rss) = train(ae, &big, &root.join("run-big"), "yes", 1)?;
    println!(
        "| training streamed, {gb} GiB of shards ({rows} rows, one epoch) | 2 | {speed:.0} examples/s, peak RssAnon {rss:.0} MiB |"
    );
    Ok(())
}
