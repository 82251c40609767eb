"""PyTorch reference for `cargo xtask bench`: the same model, data, batch size, optimizer and
loss reduction as ae, so the two can be timed side by side.

Loss: BCE from logits summed over the 784 pixels (plus the KL term for `--model vae`, as in
pytorch/examples), averaged over the batch (ae's reduction).
Reported: seconds per epoch (training loop only), and test loss per example and per pixel after
the last epoch. Prints one JSON object per epoch and a final summary object, one per line.
Inference speed is timed apart, on the weights a run saved with `--save`: `--infer-only WEIGHTS`
prints images per second through the encoder and through reconstruction.

    python3 xtask/bench/pytorch_reference.py --data-dir /usr/share/datasets/fashion-mnist \
        --epochs 10 --threads 2

On a GPU (`xtask/device/check.sh`): `--device cuda`, with the rows from `--train-npy` and
`--test-npy` (float32, one example per leading index, flattened) instead of IDX files, and `--model topk` for a TopK sparse
autoencoder with a squared-error loss (summed over features, averaged over the batch, as ae's
`mse`).
"""

import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    """Reads an IDX file (raw or gzip) into a uint8 tensor with its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4 : 4 + 4 * ndims])
    return torch.frombuffer(bytearray(data[4 + 4 * ndims :]), dtype=torch.uint8).reshape(dims)


def load(data_dir, name):
    for suffix in (".gz", ""):
        path = os.path.join(data_dir, name + suffix)
        if os.path.exists(path):
            return read_idx(path)
    raise SystemExit(f"{data_dir}: no {name}[.gz]")


def mlp(widths):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def conv_features(channels, side=28):
    """Features after stride-2 stages of 3x3 convolutions with padding 1 on `side`x`side` maps."""
    for _ in channels:
        side = (side + 2 - 3) // 2 + 1
    return channels[-1] * side * side, side


def conv_encoder_body(channels, in_channels=1, side=28):
    """ae's conv body's encoder up to the head: Conv2d(3x3, stride 2, padding 1) - ReLU per stage,
    flattened."""
    layers, c = [nn.Unflatten(1, (in_channels, side, side))], in_channels
    for out in channels:
        layers += [nn.Conv2d(c, out, 3, stride=2, padding=1), nn.ReLU()]
        c = out
    return nn.Sequential(*layers, nn.Flatten())


def conv_decoder(channels, code_dim, in_channels=1, side=28):
    """ae's conv body's decoder: Linear - ReLU - reshape, then ConvTranspose2d(3x3, stride 2,
    padding 1, output padding restoring each stage's size) - ReLU per stage, logits last."""
    sizes = [side]
    for _ in channels:
        sizes.append((sizes[-1] + 2 - 3) // 2 + 1)
    features = channels[-1] * sizes[-1] ** 2
    layers = [nn.Linear(code_dim, features), nn.ReLU(), nn.Unflatten(1, (channels[-1], sizes[-1], sizes[-1]))]
    outs = [in_channels, *channels[:-1]]
    for j, (cin, cout) in enumerate(zip(reversed(channels), reversed(outs))):
        size_in, size_out = sizes[len(channels) - j], sizes[len(channels) - j - 1]
        op = size_out - ((size_in - 1) * 2 - 2 + 3)
        layers.append(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=op))
        if j + 1 < len(channels):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers, nn.Flatten())


class ConvAe(nn.Module):
    """ae's `--body conv` with a plain code."""

    def __init__(self, channels, code_dim):
        super().__init__()
        self.encoder = nn.Sequential(conv_encoder_body(channels), nn.Linear(conv_features(channels)[0], code_dim))
        self.decoder = conv_decoder(channels, code_dim)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class StackedAe(nn.Module):
    def __init__(self, hidden, code_dim, input_dim=784, l1=None):
        super().__init__()
        self.encoder = mlp([input_dim, *hidden, code_dim])
        if l1 is not None:
            # The sparse autoencoder's ReLU code with an L1 activity penalty.
            self.encoder = nn.Sequential(self.encoder, nn.ReLU())
        self.l1 = l1
        self.decoder = mlp([code_dim, *reversed(hidden), input_dim])

    def forward(self, x):
        return self.decoder(self.encoder(x))


class TopKSae(nn.Module):
    """ae's `--model sparse --hidden "" --sparsity topk:K --loss mse`: one linear encoder, the K
    largest pre-activations through a ReLU (the rest zeroed), one linear decoder, all computed
    densely as SAELens does."""

    def __init__(self, input_dim, code_dim, k):
        super().__init__()
        self.enc, self.dec, self.k = nn.Linear(input_dim, code_dim), nn.Linear(code_dim, input_dim), k

    def encoder(self, x):
        pre = self.enc(x)
        top = pre.topk(self.k, dim=1)
        return torch.zeros_like(pre).scatter(1, top.indices, top.values.relu())

    def forward(self, x):
        return self.dec(self.encoder(x))


class Vae(nn.Module):
    """pytorch/examples' VAE (fc1, fc21, fc22, fc3, fc4 for hidden [400], code 20), any widths."""

    def __init__(self, hidden, code_dim, input_dim=784):
        super().__init__()
        self.body = nn.Sequential(mlp([input_dim, *hidden]), nn.ReLU())
        self.mean = nn.Linear(hidden[-1], code_dim)
        self.log_var = nn.Linear(hidden[-1], code_dim)
        self.decoder = mlp([code_dim, *reversed(hidden), input_dim])

    def encoder(self, x):
        return self.mean(self.body(x))

    def forward(self, x):
        """Decoder logits of the posterior mean (what reconstruction uses)."""
        return self.decoder(self.encoder(x))

    def elbo_terms(self, x):
        h = self.body(x)
        mu, log_var = self.mean(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(1)
        kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(1)
        return recon, kl


class ConvVae(Vae):
    """ae's `--model vae --body conv`: the VAE's heads and ELBO on the conv body."""

    def __init__(self, channels, code_dim):
        nn.Module.__init__(self)
        features = conv_features(channels)[0]
        self.body = conv_encoder_body(channels)
        self.mean = nn.Linear(features, code_dim)
        self.log_var = nn.Linear(features, code_dim)
        self.decoder = conv_decoder(channels, code_dim)


def loss_fn(model, x, target=None, penalty=True):
    """Per-example loss averaged over the batch: BCE summed over pixels (against `target`, the
    clean images, when `x` is corrupted), plus the KL for the VAE."""
    if isinstance(model, (Vae, ConvVae)):
        recon, kl = model.elbo_terms(x)
        return (recon + kl).mean()
    if isinstance(model, TopKSae):
        return (model(x) - x).pow(2).sum(1).mean()
    if getattr(model, "l1", None) is not None:
        z = model.encoder(x)
        recon = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(1).mean()
        return recon + model.l1 * z.abs().sum(1).mean() if penalty else recon
    logits = model(x)
    return F.binary_cross_entropy_with_logits(logits, x if target is None else target, reduction="none").sum(1).mean()


def sae_metrics(model, train, test, truth):
    """ae's sparse diagnostics (docs/sparse.md) for a TopK SAE: `test_fvu`, `test_l0`, and
    `test_dead_fraction` over the last 10,000 training rows (ae's default dead window), with the
    dictionary's recovery of `truth` when given."""
    with torch.no_grad():
        err = var = active = 0.0
        mean = test.mean(0)
        for i in range(0, test.shape[0], 1000):
            x = test[i : i + 1000]
            z = model.encoder(x)
            err += (model.dec(z) - x).pow(2).sum().item()
            var += (x - mean).pow(2).sum().item()
            active += (z > 0).sum().item()
        fired = torch.zeros(model.enc.out_features, dtype=torch.bool, device=train.device)
        tail = train[-10000:]
        for i in range(0, tail.shape[0], 1000):
            fired |= (model.encoder(tail[i : i + 1000]) > 0).any(0)
    out = {"test_fvu": err / var, "test_l0": active / test.shape[0], "test_dead_fraction": 1 - fired.float().mean().item()}
    if truth:
        import numpy as np

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from sae_synthetic import recovery

        out.update(recovery(model.dec.weight.detach().cpu().numpy().T, np.load(truth)))
    return out


def corrupt(x, sigma):
    """Additive Gaussian noise clipped to [0, 1], as ae's `gaussian:SIGMA`."""
    return (x + sigma * torch.randn_like(x)).clamp(0.0, 1.0)


def psnr(a, b):
    """Mean over images of 10 log10(1 / per-image MSE), MSE floored at 1e-10, as ae's."""
    mse = (a - b).pow(2).mean(1).clamp_min(1e-10)
    return (-10.0 * torch.log10(mse)).mean().item()


def throughput(model, test, a):
    """Images per second through the encoder and through reconstruction (sigmoid of the decoder's
    logits), in batches of `--infer-batch`, over `--infer-repeats` passes after a warm-up pass."""
    batches = [test[i : i + a.infer_batch] for i in range(0, test.shape[0], a.infer_batch)]
    rates = {}
    with torch.no_grad():
        for name, fn in (("encode", model.encoder), ("reconstruct", lambda x: torch.sigmoid(model(x)))):
            for x in batches:
                fn(x)
            start = time.perf_counter()
            for _ in range(a.infer_repeats):
                for x in batches:
                    fn(x)
            rates[name] = a.infer_repeats * test.shape[0] / (time.perf_counter() - start)
    return rates


def gemm_rate(n=2048, repeats=5):
    """Best sustained f32 GEMM rate (GFLOP/s) of torch and, where present, numpy at this thread count."""
    best = 0.0
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    try:
        import numpy as np

        x, y = a.numpy(), b.numpy()
        x @ y
        for _ in range(repeats):
            start = time.perf_counter()
            x @ y
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    except ImportError:
        pass
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", choices=("stacked", "vae", "topk"), default="stacked")
    p.add_argument("--k", type=int, default=32, help="active latents per row for --model topk")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--train-npy", help="training rows, (n, d) float32, instead of the IDX files")
    p.add_argument("--test-npy", help="test rows, (n, d) float32, with --train-npy")
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--body", choices=("dense", "conv"), default="dense")
    p.add_argument("--conv-channels", default="32,64")
    p.add_argument("--code-dim", type=int, default=64)
    p.add_argument("--noise-sigma", type=float, default=None, help="train as a denoising autoencoder")
    p.add_argument("--l1", type=float, default=None, help="train as a sparse autoencoder with this L1 weight")
    p.add_argument("--infer-batch", type=int, default=1000)
    p.add_argument("--infer-repeats", type=int, default=3)
    p.add_argument("--save", help="write the trained weights (a state dict) here")
    p.add_argument("--truth", help="--model topk: the true dictionary (.npy, features x d) to score recovery against")
    p.add_argument("--infer-only", metavar="WEIGHTS", help="skip training: load these weights, time inference only")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    if a.train_npy:
        import numpy as np

        test = torch.from_numpy(np.load(a.test_npy)).float().flatten(1)
    else:
        test = load(a.data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784).float() / 255.0
    test = test.to(device)
    width = test.shape[1]
    hidden = [int(h) for h in a.hidden.split(",") if h]
    if a.body == "conv":
        channels = [int(c) for c in a.conv_channels.split(",")]
        model = ConvVae(channels, a.code_dim) if a.model == "vae" else ConvAe(channels, a.code_dim)
    elif a.model == "topk":
        model = TopKSae(width, a.code_dim, a.k)
    elif a.model == "vae":
        model = Vae(hidden, a.code_dim, input_dim=width)
    else:
        model = StackedAe(hidden, a.code_dim, input_dim=width, l1=a.l1)
    model = model.to(device)
    if a.infer_only:
        model.load_state_dict(torch.load(a.infer_only))
        rates = throughput(model, test, a)
        print(json.dumps({f"{k}_images_per_second": v for k, v in rates.items()}), flush=True)
        return
    if a.train_npy:
        train = torch.from_numpy(np.load(a.train_npy)).float().flatten(1)
    else:
        train = load(a.data_dir, "train-images-idx3-ubyte").reshape(-1, 784).float() / 255.0
    train = train.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    n = train.shape[0]
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, device=device)
        total = 0.0
        for i in range(0, n, a.batch_size):
            x = train[order[i : i + a.batch_size]]
            loss = loss_fn(model, x) if a.noise_sigma is None else loss_fn(model, corrupt(x, a.noise_sigma), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "seconds": seconds, "train_loss": total / n}), flush=True)
    with torch.no_grad():
        if a.noise_sigma is None:
            noisy_test = None
            # The reconstruction term only (a sparse model's penalty is left out, as in ae's recon).
            test_loss = sum(loss_fn(model, test[i : i + 1000], penalty=False).item() * test[i : i + 1000].shape[0] for i in range(0, test.shape[0], 1000)) / test.shape[0]
        else:
            noisy_test = corrupt(test, a.noise_sigma)
            test_loss = loss_fn(model, noisy_test, test).item()
        psnr_noisy = None if noisy_test is None else psnr(noisy_test, test)
        psnr_denoised = None if noisy_test is None else psnr(torch.sigmoid(model(noisy_test)), test)
    sae = sae_metrics(model, train, test, a.truth) if a.model == "topk" else {}
    if a.save:
        torch.save(model.state_dict(), a.save)
    print(json.dumps({
        "test_loss": test_loss,
        "test_recon_per_pixel": test_loss / width,
        "test_neg_elbo": test_loss if a.model == "vae" else None,
        "test_psnr_noisy": psnr_noisy,
        "test_psnr_denoised": psnr_denoised,
        "gemm_gflops": gemm_rate() if device.type == "cpu" else None,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        **sae,
    }), flush=True)


if __name__ == "__main__":
    main()
