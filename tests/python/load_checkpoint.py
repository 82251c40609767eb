"""Load an ae run's weights outside ae and check they rebuild the same images.

usage: python3 load_checkpoint.py RUN_DIR ENCODED.safetensors

RUN_DIR is a run made by `ae train` (stacked, denoising or vae, with a dense or a conv body);
ENCODED is what `ae encode --run RUN_DIR --reconstructions --out ENCODED` wrote. The model is
rebuilt from config.json and best.safetensors with numpy alone, layer by layer as PyTorch computes
nn.Linear (y = x W^T + b, weights stored (out_features, in_features)), nn.Conv2d (weights
(out, in, kh, kw)), nn.ConvTranspose2d (weights (in, out, kh, kw)), nn.GroupNorm and
nn.Upsample(mode="nearest"), so the same layers in torch are the equivalent nn.Module. Prints the largest absolute difference between its
reconstructions of test.images and ae's test.reconstructions; exits 1 above 1e-5.
"""
import json
import os
import struct
import sys

import numpy as np

TOLERANCE = 1e-5


def load_safetensors(path):
    """The tensors of a safetensors file, with the `safetensors` package when installed, else
    read directly (8-byte little-endian header length, JSON header, raw little-endian data)."""
    try:
        from safetensors.numpy import load_file

        return load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    dtypes = {"F32": "<f4", "F64": "<f8", "U8": "u1", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


def linear(w, name, x):
    return x @ w[name + ".weight"].astype(np.float64).T + w[name + ".bias"].astype(np.float64)


def stack(w, prefix, layers, x, act, last):
    """`layers` nn.Linear layers named prefix.layers.<i>, `act` between them, `last` after."""
    for i in range(layers):
        x = linear(w, f"{prefix}.layers.{i}", x)
        name = act if i + 1 < layers else last
        if name:
            x = ACTIVATIONS[name](x)
    return x


def conv2d(x, w, b, stride, pad):
    """nn.Conv2d: x (B, C, H, W), w (O, C, k, k)."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (xp.shape[2] - k) // stride + 1, (xp.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def conv_transpose2d(x, w, b, stride, pad, size):
    """nn.ConvTranspose2d: x (B, I, H, W), w (I, O, k, k), with the output padding giving `size`."""
    k = w.shape[2]
    h, wd = x.shape[2], x.shape[3]
    full = np.zeros((x.shape[0], w.shape[1], max((h - 1) * stride + k, pad + size[0]), max((wd - 1) * stride + k, pad + size[1])))
    for i in range(k):
        for j in range(k):
            full[:, :, i : i + stride * h : stride, j : j + stride * wd : stride] += np.einsum("bchw,co->bohw", x, w[:, :, i, j])
    return full[:, :, pad : pad + size[0], pad : pad + size[1]] + b[None, :, None, None]


def group_norm(x, w, b, groups):
    """nn.GroupNorm(groups, C), eps 1e-5."""
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + 1e-5)
    return g.reshape(x.shape) * w[None, :, None, None] + b[None, :, None, None]


def conv_layer(w, name, norm, x, act):
    """A convolution's output through its normalisation (`norms.<i>` beside `convs.<i>`) and `act`."""
    if norm != "none":
        x = group_norm(x, w[name.replace("convs", "norms") + ".weight"], w[name.replace("convs", "norms") + ".bias"], int(norm.split(":")[1]))
    return ACTIVATIONS[act](x) if act else x


def conv_reconstruct(model, w, x):
    """The conv body: strided stages down, the code, and the mirror image back up."""
    body, code = model["body"], model["bottleneck"]
    act, k, s, p, norm = body["activation"], body["kernel"], body["stride"], body["padding"], body["norm"]
    c, h, wd = body["input"]
    y = x.reshape(-1, c, h, wd)
    sizes = []
    for i in range(len(body["channels"])):
        sizes.append(y.shape[1:])
        name = f"encoder.convs.{i}"
        y = conv_layer(w, name, norm, conv2d(y, w[name + ".weight"], w[name + ".bias"], s, p), act)
    bottom = y.shape[1:]
    y = y.reshape(y.shape[0], -1)
    if code["kind"] == "plain":
        z = linear(w, "encoder.layers.0", y)
        if code.get("code_activation"):
            z = ACTIVATIONS[code["code_activation"]](z)
    elif code["kind"] == "gaussian":
        z = linear(w, "encoder.mean", y)
    else:
        sys.exit(f"{code['kind']}: this script rebuilds plain and gaussian bottlenecks")
    y = ACTIVATIONS[act](linear(w, "decoder.layers.0", z)).reshape(-1, *bottom)
    for j, (ch, sh, sw) in enumerate(reversed(sizes)):
        name = f"decoder.convs.{j}"
        last = j + 1 == len(sizes)
        if body["upsample"] == "transposed":
            y = conv_transpose2d(y, w[name + ".weight"], w[name + ".bias"], s, p, (sh, sw))
        else:
            y = np.repeat(np.repeat(y, s, axis=2), s, axis=3)
            y = conv2d(y, w[name + ".weight"], w[name + ".bias"], 1, (k - 1) // 2)
        y = y if last else conv_layer(w, name, norm, y, act)
    return y.reshape(y.shape[0], -1)


def reconstruct(model, w, x):
    """The model's reconstruction from its parts (config format 2: body, bottleneck, likelihood)."""
    body, code = model["body"], model["bottleneck"]
    if body["kind"] == "conv":
        out = conv_reconstruct(model, w, x)
        return ACTIVATIONS["sigmoid"](out) if model["likelihood"] == "bernoulli" else out
    hidden, act = body["hidden"], body["activation"]
    decoder = body.get("decoder_hidden") or list(reversed(hidden))
    if code["kind"] == "plain":
        z = stack(w, "encoder", len(hidden) + 1, x, act, code.get("code_activation"))
    elif code["kind"] == "gaussian":
        h = stack(w, "encoder", len(hidden), x, act, act)
        z = linear(w, "encoder.mean", h)  # the code at the posterior mean, as ae reconstructs
    else:
        sys.exit(f"{code['kind']}: this script rebuilds plain and gaussian bottlenecks")
    out = stack(w, "decoder", len(decoder) + 1, z, act, None)
    return ACTIVATIONS["sigmoid"](out) if model["likelihood"] == "bernoulli" else out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    run, encoded = sys.argv[1], sys.argv[2]
    with open(os.path.join(run, "config.json")) as f:
        model = json.load(f)["model"]
    weights_path = os.path.join(run, "best.safetensors")
    if not os.path.exists(weights_path):
        weights_path = os.path.join(run, "model.safetensors")
    w = load_safetensors(weights_path)
    data = load_safetensors(encoded)
    ours = reconstruct(model, w, data["test.images"].astype(np.float64))
    diff = float(np.max(np.abs(ours - data["test.reconstructions"].astype(np.float64))))
    print(json.dumps({"kind": model["preset"], "images": int(ours.shape[0]), "max_abs_diff": diff}))
    sys.exit(0 if diff <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
