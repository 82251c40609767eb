"""Load an ae run's weights outside ae and check they rebuild the same images.

usage: python3 load_checkpoint.py RUN_DIR ENCODED.safetensors

RUN_DIR is a run made by `ae train` (stacked, denoising or vae); ENCODED is what
`ae encode --run RUN_DIR --reconstructions --out ENCODED` wrote. The model is rebuilt from
config.json and best.safetensors with numpy alone, layer by layer as PyTorch's nn.Linear computes
(y = x W^T + b, weights stored (out_features, in_features)), so the same code with torch.tensor in
place of np.array is the equivalent nn.Module. Prints the largest absolute difference between its
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


def reconstruct(model, w, x):
    """The model's reconstruction from its parts (config format 2: body, bottleneck, likelihood)."""
    body, code = model["body"], model["bottleneck"]
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
