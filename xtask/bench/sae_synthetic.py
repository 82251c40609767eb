"""Synthetic activations with a known dictionary, for `cargo xtask bench sae-synthetic`, and the
score of a learned dictionary against it.

    sae_synthetic.py make DIR --rows N --d-in D --features F --active A [--seed S]
        writes DIR/train.npy (N x D float32), DIR/test.npy (10,000 rows) and DIR/truth.npy
        (F x D, the true unit-norm directions). Each row is sum_i c_i f_i + noise: feature i
        fires with probability p_i proportional to (i + 1)^-0.7, scaled so A fire per row on
        average (a power law, as language-model features are); c_i ~ Exponential(1) when it
        fires; noise N(0, 0.01^2) per coordinate.
    sae_synthetic.py score DIR2 TRUTH.npy
        prints {"recovery_mean": ..., "recovery_above_0_9": ...} for the SAELens export in DIR2
        (sae_weights.safetensors, W_dec rows the learned directions).

Recovery: for each true feature, the best cosine similarity with any learned decoder direction;
its mean over the true features, and the share of them above 0.9.
"""

import json
import sys

import numpy as np


def recovery(learned, truth):
    """`learned` (latents x d) against `truth` (features x d), both any norm."""
    learned = learned / np.maximum(np.linalg.norm(learned, axis=1, keepdims=True), 1e-12)
    truth = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    best = np.zeros(truth.shape[0])
    for i in range(0, truth.shape[0], 512):
        best[i : i + 512] = (truth[i : i + 512] @ learned.T).max(axis=1)
    return {"recovery_mean": float(best.mean()), "recovery_above_0_9": float((best > 0.9).mean())}


def rows(rng, n, truth, p):
    out = np.empty((n, truth.shape[1]), np.float32)
    for i in range(0, n, 10000):
        m = min(10000, n - i)
        fires = rng.random((m, len(p)), dtype=np.float32) < p
        coef = np.where(fires, rng.exponential(1.0, (m, len(p))).astype(np.float32), 0)
        out[i : i + m] = coef @ truth + 0.01 * rng.standard_normal((m, truth.shape[1]), dtype=np.float32)
    return out


def make(argv):
    d = argv[0]
    opts = dict(zip(argv[1::2], argv[2::2]))
    n, d_in, f, active = (int(opts[k]) for k in ("--rows", "--d-in", "--features", "--active"))
    rng = np.random.default_rng(int(opts.get("--seed", 0)))
    truth = rng.standard_normal((f, d_in)).astype(np.float32)
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)
    p = (np.arange(f) + 1.0) ** -0.7
    p = np.minimum(p * active / p.sum(), 1.0).astype(np.float32)
    np.save(f"{d}/truth.npy", truth)
    np.save(f"{d}/train.npy", rows(rng, n, truth, p))
    np.save(f"{d}/test.npy", rows(rng, 10000, truth, p))


def f32_tensor(path, name):
    """One F32 tensor of a safetensors file (8-byte header length, JSON header, data), read with
    numpy alone so the benchmark needs nothing beyond torch's own numpy."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(size))[name]
        assert meta["dtype"] == "F32", meta
        f.seek(8 + size + meta["data_offsets"][0])
        count = int(np.prod(meta["shape"]))
        return np.frombuffer(f.read(4 * count), "<f4").reshape(meta["shape"])


def score(argv):
    w = f32_tensor(f"{argv[0]}/sae_weights.safetensors", "W_dec")
    print(json.dumps(recovery(w.astype(np.float64), np.load(argv[1]).astype(np.float64))))


if __name__ == "__main__":
    {"make": make, "score": score}[sys.argv[1]](sys.argv[2:])
