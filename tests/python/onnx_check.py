"""Runs the ONNX files `ae export` wrote in onnxruntime and compares them with `ae encode`.

usage: onnx_check.py RUN_DIR ENCODED.safetensors AUTOENCODER.onnx ENCODER.onnx DECODER.onnx

`ae encode --reconstructions` gives the test images as the model sees them (normalised, where the
run normalises) with their codes and reconstructions; the ONNX files take and give data units, so
the images are taken back to data units before they go in and the outputs compared in the model's
units. Prints one JSON object of the largest differences; exits 1 if any exceeds the tolerance
(1e-5, for codes relative to their size).
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

run, encoded, ae_file, enc_file, dec_file = sys.argv[1:6]
t = load_file(encoded)
images, recon, codes = t["test.images"], t["test.reconstructions"], t["test.codes"]
offset, scale = np.zeros(images.shape[1], np.float32), np.ones(images.shape[1], np.float32)
norm_file = os.path.join(run, "normalization.json")
if os.path.exists(norm_file):
    n = json.load(open(norm_file))
    offset, scale = np.array(n["offset"], np.float32), np.array(n["scale"], np.float32)
raw = images * scale + offset
if os.path.exists(norm_file) and json.load(open(norm_file)).get("fill"):
    # `--missing mean` filled the missing cells with the training rows' means: give them back to
    # the file as missing (NaN), which its graph must fill the same way.
    fill = np.array(json.load(open(norm_file))["fill"], np.float32)
    gaps = np.isclose(raw, fill, rtol=0, atol=1e-4 * np.maximum(1, np.abs(fill)))
    raw = np.where(gaps, np.float32(np.nan), raw)


def session(path):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def run_one(s, feeds):
    feeds = {i.name: v.reshape([len(v)] + list(i.shape[1:])).astype(np.float32) for i, v in zip(s.get_inputs(), feeds)}
    return {o.name: out.reshape(len(out), -1) for o, out in zip(s.get_outputs(), s.run(None, feeds))}


ae = session(ae_file)
got = run_one(ae, [raw])["reconstruction"]
result = {"rows": int(len(images)), "input_shape": ae.get_inputs()[0].shape, "missing": int(np.isnan(raw).sum())}
result["autoencoder"] = float(np.abs((got - offset) / scale - recon).max())
enc = run_one(session(enc_file), [raw])
code = enc["mean"] if "mean" in enc else enc["code"]
result["encoder"] = float((np.abs(code - codes) / np.maximum(1.0, np.abs(codes))).max())
result["encoder_outputs"] = sorted(enc)
dec = run_one(session(dec_file), [codes])["reconstruction"]
result["decoder"] = float(np.abs((dec - offset) / scale - recon).max())
print(json.dumps(result))
sys.exit(0 if max(result["autoencoder"], result["encoder"], result["decoder"]) <= 1e-5 else 1)
