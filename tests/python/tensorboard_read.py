"""Reads a run's TensorBoard folder with TensorBoard's own EventAccumulator and prints, as JSON,
each scalar tag's steps and values and each image tag's steps and sizes.

usage: tensorboard_read.py RUN_DIR/tensorboard
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
out = {
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "images": {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)] for t in tags["images"]},
}
print(json.dumps(out))
