#!/usr/bin/python3
"""Faster R-CNN ResNet-50 FPN at 800 px: Osprey next to PyTorch and ONNX Runtime.

  tools/bench_detect.py [--build build] [--threads 2] [--repeat 3]

Same seeded weights everywhere (torchvision's model, exported once to safetensors for
Osprey and to ONNX, opset 11, for ONNX Runtime), same photo (darknet's dog.jpg, resized
by each runtime's own torchvision-style transform to 800x1066). Prints the median
milliseconds per image of each runtime and the ratios. A benchmark, not a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torchvision
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from safetensors_io import save_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = os.path.join(a.build, "bench_detect")
    os.makedirs(out, exist_ok=True)
    assets = os.path.join(ROOT, "assets")
    subprocess.run(["bash", os.path.join(ROOT, "tools", "fetch_assets.sh"), assets], check=True)
    photo = os.path.join(assets, "photos", "darknet", "dog.jpg")

    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None).eval()
    weights = os.path.join(out, "fasterrcnn_resnet50_fpn.safetensors")
    onnx_path = os.path.join(out, "fasterrcnn_resnet50_fpn.onnx")
    image = torch.from_numpy(np.asarray(Image.open(photo).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    if not os.path.exists(onnx_path):
        save_file({k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}, weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, ([image],), onnx_path, opset_version=11, input_names=["image"],
                              output_names=["boxes", "labels", "scores"])
    results = {}

    with torch.no_grad():
        model([image])
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            model([image])
            times.append((time.perf_counter() - t) * 1000)
    results["PyTorch " + torch.__version__] = statistics.median(times)

    npy = os.path.join(out, "dog.npy")
    np.save(npy, image.numpy())
    ort = subprocess.run(["node", os.path.join(ROOT, "tools", "onnx", "ort_run.mjs"), "--model", onnx_path, "--input",
                          "image=" + npy, "--output-dir", os.path.join(out, "ort"), "--threads", str(a.threads),
                          "--repeat", str(a.repeat)], check=True, capture_output=True, text=True,
                         env=dict(os.environ, OSPREY_ORT_DIR=os.path.join(a.build, "ort")))
    report = json.loads(ort.stdout.strip().splitlines()[-1])
    results["ONNX Runtime " + report["ort_version"]] = report["median_ms"]

    # Osprey: the same photo under several names (inputs are de-duplicated); the first
    # run plans for the image size, the others are timed.
    names = []
    for i in range(a.repeat + 1):
        p = os.path.join(out, f"dog{i}.jpg")
        if not os.path.exists(p):
            os.symlink(photo, p)
        names.append(p)
    run = subprocess.run([os.path.join(a.build, "osprey-detect"), "-m", os.path.join(ROOT, "configs", "fasterrcnn_resnet50_fpn.json"),
                          "--weights", weights, "--threads", str(a.threads), "--no-progress"] + names,
                         check=True, capture_output=True, text=True)
    infer = [json.loads(l)["ms"]["infer"] for l in run.stdout.splitlines() if l.strip()]
    results["Osprey"] = statistics.median(infer[1:])

    print(f"fasterrcnn_resnet50_fpn, dog.jpg at 800x1066, {a.threads} threads, median of {a.repeat}")
    osprey = results["Osprey"]
    for name, ms in results.items():
        print(f"  {name:24s} {ms:8.0f} ms   Osprey/this {osprey / ms:5.2f}")


if __name__ == "__main__":
    main()
