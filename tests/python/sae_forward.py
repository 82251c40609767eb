"""Runs exported or imported sparse-autoencoder files with numpy alone, as SAELens and sparsify
define the forward pass, and compares with ae's codes and reconstructions.

usage: sae_forward.py saelens|sparsify DIR TEST.npy CODES.safetensors [NORMALIZATION.json]

CODES.safetensors is `ae encode --reconstructions` output (test.codes, test.reconstructions);
reconstructions are in the run's normalised units, mapped back with NORMALIZATION.json when
given. Prints the largest differences; exits 1 when a code or reconstruction differs by more
than 1e-4 relative to the codes' or the data's scale, or when fewer than 90% of rows have a clear TopK choice.
"""

import json
import sys

import numpy as np
from safetensors.numpy import load_file


def topk_relu(pre, k):
    """SAELens's TopK: the k largest per row through a ReLU, the rest zero."""
    idx = np.argpartition(-pre, k - 1, axis=1)[:, :k]
    out = np.zeros_like(pre)
    rows = np.arange(pre.shape[0])[:, None]
    out[rows, idx] = np.maximum(pre[rows, idx], 0)
    return out


def clear_rows(pre, k):
    """Rows whose k-th and (k+1)-th pre-activations differ by more than rounding."""
    s = -np.sort(-pre, axis=1)
    return (s[:, k - 1] - s[:, k]) > 1e-4 * np.abs(s[:, 0]).max()


def saelens(folder, x):
    cfg = json.load(open(f"{folder}/cfg.json"))
    w = load_file(f"{folder}/sae_weights.safetensors")
    w = {n: t.astype(np.float64) for n, t in w.items()}
    assert w["W_enc"].shape == (cfg["d_in"], cfg["d_sae"]), w["W_enc"].shape
    assert w["W_dec"].shape == (cfg["d_sae"], cfg["d_in"]), w["W_dec"].shape
    assert cfg["normalize_activations"] == "none"
    sae_in = x - w["b_dec"] if cfg.get("apply_b_dec_to_input", True) else x
    pre = sae_in @ w["W_enc"] + w["b_enc"]
    rescale = cfg.get("rescale_acts_by_decoder_norm", False)
    norms = np.linalg.norm(w["W_dec"], axis=1)
    if rescale:
        pre = pre * norms
    if cfg["architecture"] == "topk":
        k = cfg["k"]
        acts, clear = topk_relu(pre, k), clear_rows(pre, k)
    else:
        assert cfg["architecture"] == "standard", cfg["architecture"]
        acts, clear = np.maximum(pre, 0), np.ones(len(x), bool)
    dec_in = acts / norms if rescale else acts
    return acts, dec_in @ w["W_dec"] + w["b_dec"], clear


def sparsify(folder, x):
    cfg = json.load(open(f"{folder}/cfg.json"))
    w = {n: t.astype(np.float64) for n, t in load_file(f"{folder}/sae.safetensors").items()}
    pre = np.maximum((x - w["b_dec"]) @ w["encoder.weight"].T + w["encoder.bias"], 0)
    k = cfg["k"]
    acts = topk_relu(pre, k)
    return acts, acts @ w["W_dec"] + w["b_dec"], clear_rows(pre, k)


def main():
    kind, folder, test_npy, codes_file = sys.argv[1:5]
    x = np.load(test_npy).astype(np.float64)
    ours = load_file(codes_file)
    codes = ours["test.codes"].astype(np.float64)
    recon = ours["test.reconstructions"].astype(np.float64)
    if len(sys.argv) > 5:
        n = json.load(open(sys.argv[5]))
        recon = recon * np.array(n["scale"]) + np.array(n["offset"])
    acts, out, clear = {"saelens": saelens, "sparsify": sparsify}[kind](folder, x)
    share = clear.mean()
    scale = np.abs(x).max()
    code_diff = np.abs(acts[clear] - codes[clear]).max()
    recon_diff = np.abs(out[clear] - recon[clear]).max()
    active = (acts[clear] > 0).sum(axis=1).mean()
    print(f"{kind}: {clear.sum()}/{len(x)} rows with a clear choice; max |code diff| {code_diff:.3g}, "
          f"max |reconstruction diff| {recon_diff:.3g} (data scale {scale:.3g}); {active:.2f} active per row")
    code_scale = max(1.0, np.abs(codes).max())
    ok = share >= 0.9 and code_diff <= 1e-4 * code_scale and recon_diff <= 1e-4 * scale and active > 0
    sys.exit(0 if ok else 1)


main()
