"""The GPU check, in one call on the device machine (an H200 with PyTorch's CUDA wheels and no
Rust toolchain). Build first, here: `cargo xtask cuda-build`; then on the device, carrying
`target/cuda/dist`:

    python3 xtask/device/check.py            # writes $OUT/summary.md and $OUT/summary.json

1. Parity: each preset trains a few hundred steps with the same seed on `--device cuda` and on
   `--device cpu` (the same binary), and the test losses are compared.
2. Speed: ae on the GPU against PyTorch on the same GPU (`xtask/bench/pytorch_reference.py
   --device cuda`), the same networks, data, batch size and Adam: dense models at batch 128 and
   4,096, the convolutional body, and a TopK sparse autoencoder (d_in 768, 16,384 latents, k 32,
   batch 4,096) on synthetic activations. Seconds per epoch are the median after the first
   (warm-up) epoch.

`--device cpu --quick` runs the same script on a machine without a GPU (tiny sizes), to check the
script itself; `--ae PATH` names another ae binary (default: xtask/device/ae-cuda).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORCH_REF = os.path.join(ROOT, "xtask", "bench", "pytorch_reference.py")
DIGITS = os.path.join(ROOT, "crates", "ae-data", "data", "digits", "t10k-images-idx3-ubyte.gz")

# (name, ae flags) trained on the bundled digits for the parity check.
PARITY = [
    ("stacked", ["--model", "stacked"]),
    ("vae", ["--model", "vae"]),
    ("denoising", ["--model", "denoising"]),
    ("sparse", ["--model", "sparse"]),
    ("conv stacked", ["--model", "stacked", "--body", "conv", "--code-dim", "16"]),
]

DENSE = ["--hidden", "512,256", "--code-dim", "64", "--activation", "relu", "--loss", "bce"]
# (name, data, batch, ae flags, PyTorch flags): the speed rows.
SPEED = [
    ("stacked 512,256/64", "digits", 128, ["--model", "stacked", *DENSE], ["--model", "stacked"]),
    ("stacked 512,256/64", "digits", 4096, ["--model", "stacked", *DENSE], ["--model", "stacked"]),
    ("vae 400/20", "digits", 128,
     ["--model", "vae", "--hidden", "400", "--code-dim", "20", "--activation", "relu"],
     ["--model", "vae", "--hidden", "400", "--code-dim", "20"]),
    ("conv stacked /16", "digits", 128,
     ["--model", "stacked", "--body", "conv", "--code-dim", "16", "--loss", "bce"],
     ["--model", "stacked", "--body", "conv", "--code-dim", "16"]),
    ("topk sae 768->16384 k32", "acts", 4096,
     ["--model", "sparse", "--hidden", "", "--code-dim", "16384", "--sparsity", "topk:32", "--loss", "mse"],
     ["--model", "topk", "--code-dim", "16384", "--k", "32"]),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout, env=None):
    """Runs `cmd`; returns (ok, stdout, stderr, seconds). A failure is recorded, not raised."""
    log("$ " + " ".join(cmd))
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
        ok, out, err = p.returncode == 0, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        ok, out, err = False, e.stdout or "", (e.stderr or "") + f"\ntimed out after {timeout} s"
    except OSError as e:
        ok, out, err = False, "", f"{cmd[0]}: {e}"
    if not ok:
        log(err[-2000:] if isinstance(err, str) else err)
    return ok, out if isinstance(out, str) else out.decode(), err if isinstance(err, str) else err.decode(), time.perf_counter() - start


def write_data(work, quick):
    """The tiled digits (60,000 rows of real pixels, and the 10,000 as test rows) and synthetic
    activations from a known dictionary, as .npy files both tools read."""
    import gzip

    import numpy as np

    with gzip.open(DIGITS, "rb") as f:
        raw = f.read()
    digits = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 784).astype(np.float32) / 255.0
    reps = 1 if quick else 6
    paths = {}
    # (n, 28, 28): ae reads them as grey images (the conv body needs that), PyTorch as rows.
    np.save(os.path.join(work, "digits-train.npy"), np.tile(digits, (reps, 1)).reshape(-1, 28, 28))
    np.save(os.path.join(work, "digits-test.npy"), digits[-1000:].reshape(-1, 28, 28))
    paths["digits"] = (os.path.join(work, "digits-train.npy"), os.path.join(work, "digits-test.npy"))
    # Activations: unit-norm true features, power-law firing, a few active per row, noise.
    rows, d, n_true = (4096, 768, 1024) if quick else (200_000, 768, 4096)
    rng = np.random.default_rng(0)
    dictionary = rng.standard_normal((n_true, d)).astype(np.float32)
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    freq = (np.arange(1, n_true + 1) ** -0.8).astype(np.float32)
    freq *= 16.0 / freq.sum()
    out = np.empty((rows, d), dtype=np.float32)
    for i in range(0, rows, 8192):
        n = min(8192, rows - i)
        active = rng.random((n, n_true), dtype=np.float32) < freq
        codes = active * rng.exponential(1.0, (n, n_true)).astype(np.float32)
        out[i : i + n] = codes @ dictionary + 0.05 * rng.standard_normal((n, d)).astype(np.float32)
    split = rows - rows // 20
    np.save(os.path.join(work, "acts-train.npy"), out[:split])
    np.save(os.path.join(work, "acts-test.npy"), out[split:])
    paths["acts"] = (os.path.join(work, "acts-train.npy"), os.path.join(work, "acts-test.npy"))
    return paths


def ae_train(a, run_dir, flags, device, epochs, extra, timeout):
    cmd = [*a.ae, "train", *flags, "--epochs", str(epochs), "--seed", "0", "--device", device,
           "--run-dir", run_dir, "--overwrite", "--progress", "lines", *extra]
    ok, _, err, wall = run(cmd, timeout)
    if not ok:
        return None, err.strip().splitlines()[-1:] or ["failed"]
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        seconds = [json.loads(line)["seconds"] for line in f if line.strip()]
    ok, out, err, _ = run([*a.ae, "eval", "--run", run_dir, "--checkpoint", "last", "--json", "--device", device], timeout)
    if not ok:
        return None, err.strip().splitlines()[-1:] or ["eval failed"]
    return {"epoch_seconds": seconds, "wall_seconds": wall, "eval": json.loads(out)}, None


def loss_of(ev):
    return ev.get("neg_elbo", ev["loss"])


def median_after_first(seconds):
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def parity(a, work):
    rows = []
    epochs = 1 if a.quick else 4  # of 8,100 digits at batch 128: 64 steps each
    extra = ["--train-limit", "600", "--test-limit", "200"] if a.quick else []
    for name, flags in PARITY:
        got = {}
        for device in ("cpu", a.device):
            res, err = ae_train(a, os.path.join(work, f"parity-{name.replace(' ', '-')}-{device}"), flags, device,
                                epochs, extra, 300)
            got[device] = res["eval"] if res else {"error": err}
        cpu, gpu = got["cpu"], got[a.device]
        if "error" in cpu or "error" in gpu:
            rows.append({"model": name, "error": cpu.get("error") or gpu.get("error")})
            continue
        lc, lg = loss_of(cpu), loss_of(gpu)
        rows.append({"model": name, "steps": gpu["step"], "cpu_loss": lc, "gpu_loss": lg,
                     "relative_difference": abs(lg - lc) / abs(lc)})
    return rows


def speed(a, work, data):
    rows = []
    epochs = 2 if a.quick else 3
    for name, source, batch, ae_flags, torch_flags in SPEED:
        train, test = data[source]
        if a.quick and "topk" in name:
            ae_flags = [f if f != "16384" else "2048" for f in ae_flags]
            torch_flags = [f if f != "16384" else "2048" for f in torch_flags]
        row = {"model": name, "batch": batch, "data": source}
        res, err = ae_train(a, os.path.join(work, f"speed-{len(rows)}"), ae_flags, a.device, epochs,
                            ["--data", train, "--test-data", test, "--val-fraction", "0", "--batch-size", str(batch)], 400)
        if res:
            row["ae_seconds_per_epoch"] = median_after_first(res["epoch_seconds"])
            row["ae_test_loss"] = loss_of(res["eval"])
        else:
            row["ae_error"] = err
        cmd = [sys.executable, TORCH_REF, "--data-dir", work, "--train-npy", train, "--test-npy", test,
               "--device", a.device, "--epochs", str(epochs), "--batch-size", str(batch), "--threads", str(os.cpu_count()),
               *torch_flags]
        ok, out, err, _ = run(cmd, 400)
        if ok:
            lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            row["torch_seconds_per_epoch"] = median_after_first([v["seconds"] for v in lines if "seconds" in v])
            row["torch_test_loss"] = lines[-1]["test_loss"]
            row["torch_peak_gpu_mib"] = lines[-1].get("peak_gpu_mib")
        else:
            row["torch_error"] = err.strip().splitlines()[-1:]
        if "ae_seconds_per_epoch" in row and "torch_seconds_per_epoch" in row:
            row["ae_over_torch"] = row["ae_seconds_per_epoch"] / row["torch_seconds_per_epoch"]
        rows.append(row)
    return rows


def environment(a):
    env = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for key, cmd in (("gpu", ["nvidia-smi", "-L"]), ("ae", [*a.ae, "--version"]),
                     ("torch", [sys.executable, "-c", "import torch; print(torch.__version__, torch.version.cuda)"])):
        ok, out, err, _ = run(cmd, 60)
        env[key] = out.strip() if ok else f"unavailable: {err.strip()[-200:]}"
    return env


def markdown(env, par, spd):
    f = lambda v, p=4: "—" if v is None else f"{v:.{p}f}"  # noqa: E731
    lines = [f"GPU check, {env['date']}: {env['gpu']}; {env['ae']}; torch {env['torch']}", "",
             "| model (digits, seed 0) | steps | CPU test loss | GPU test loss | relative difference |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in par:
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {' '.join(r['error'])} | | | |")
        else:
            lines.append(f"| {r['model']} | {r['steps']} | {f(r['cpu_loss'])} | {f(r['gpu_loss'])} | {f(r['relative_difference'] * 100, 2)}% |")
    lines += ["", "| model | data | batch | ae s/epoch | PyTorch s/epoch | ae / PyTorch | ae test loss | PyTorch test loss |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in spd:
        err = r.get("ae_error") or r.get("torch_error")
        note = f" (failed: {' '.join(err)})" if err else ""
        lines.append(f"| {r['model']}{note} | {r['data']} | {r['batch']} | {f(r.get('ae_seconds_per_epoch'), 3)} | "
                     f"{f(r.get('torch_seconds_per_epoch'), 3)} | {f(r.get('ae_over_torch'), 2)} | "
                     f"{f(r.get('ae_test_loss'))} | {f(r.get('torch_test_loss'))} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", help="the device under test (cpu only to check this script)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script itself")
    p.add_argument("--ae", default=None, help="the ae binary (default: xtask/device/ae-cuda)")
    p.add_argument("--out", default=os.environ.get("OUT", os.path.join(tempfile.gettempdir(), "ae-device-check")))
    a = p.parse_args()
    a.ae = [a.ae] if a.ae else ["bash", os.path.join(ROOT, "xtask", "device", "ae-cuda")]
    os.makedirs(a.out, exist_ok=True)
    start = time.perf_counter()
    env = environment(a)
    with tempfile.TemporaryDirectory() as work:
        data = write_data(work, a.quick)
        par = parity(a, work)
        spd = speed(a, work, data)
    report = markdown(env, par, spd)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(report)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"environment": env, "parity": par, "speed": spd, "seconds": time.perf_counter() - start}, f, indent=1)
    print(report)
    failed = [r for r in par if "error" in r] + [r for r in spd if "ae_error" in r or "torch_error" in r]
    log(f"check: {time.perf_counter() - start:.0f} s, {len(failed)} failed row(s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
