#!/usr/bin/python3
"""Test data for the end-to-end Fashion-MNIST check.

  make_fashion_mnist.py --out DIR

Writes the 10,000 test images as PNGs (DIR/images/<index>.png, DIR/images/labels.txt)
and what PyTorch predicts for each with the LeNet-5 weights that ship in weights/
(DIR/torch_predictions.json: accuracy and the top-1 class of every image). Osprey's
CLI is then run over the PNGs and compared with both. Skips work already done.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from fashion_mnist import MEAN, STD, load_split  # noqa: E402
from reference_models import LeNet5  # noqa: E402
from safetensors_io import load_file  # noqa: E402

WEIGHTS = os.path.join(ROOT, "weights", "lenet5_fashion_mnist.safetensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    images_dir = os.path.join(out, "images")
    labels_file = os.path.join(images_dir, "labels.txt")
    images, labels = load_split("test")
    if not (os.path.exists(labels_file) and sum(1 for _ in open(labels_file)) == len(images)):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fashion_mnist_images.py"),
                        "--split", "test", "--out", images_dir], check=True)

    model = LeNet5()
    state = {k: torch.from_numpy(v) for k, v in load_file(WEIGHTS).items()}
    model.load_state_dict(state)
    model.eval()
    # Same float32 arithmetic as torchvision's ToTensor + Normalize.
    x = torch.from_numpy(np.array(images)).float().div(255).unsqueeze(1)
    x = (x - MEAN) / STD
    with torch.no_grad():
        predicted = model(x).argmax(1).numpy()
    accuracy = float((predicted == labels).mean())
    result = {"weights": WEIGHTS, "accuracy": accuracy, "predictions": {f"{i:05d}.png": int(p) for i, p in enumerate(predicted)}}
    tmp = os.path.join(out, "torch_predictions.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, os.path.join(out, "torch_predictions.json"))
    print(f"PyTorch LeNet-5 test accuracy {accuracy * 100:.2f}%")
    # The same network as an ONNX file, for running a bare .onnx through the CLI.
    onnx_path = os.path.join(out, "lenet5_fashion_mnist.onnx")
    if not os.path.exists(onnx_path) or os.path.getmtime(onnx_path) < os.path.getmtime(WEIGHTS):
        torch.onnx.export(model, x[:1], onnx_path + ".tmp", opset_version=13, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.replace(onnx_path + ".tmp", onnx_path)


if __name__ == "__main__":
    main()
