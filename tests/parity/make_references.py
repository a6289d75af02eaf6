#!/usr/bin/python3
"""Generate PyTorch reference outputs for Osprey's C++ parity tests.

  /usr/bin/python3 tests/parity/make_references.py --out DIR [--models a,b,c] [--force]

For each model: DIR/<name>.safetensors (seeded random weights, random BatchNorm
statistics, conv/linear weights rescaled so activations stay O(1)), DIR/<name>.input.npy (float32 NCHW, batch 2, N(0,1)) and
DIR/<name>.logits.npy (float32 [2, classes], eval mode, no_grad).
A model is skipped when its three files are newer than this script and the
Python modules it depends on.
"""
import argparse
import os
import sys
import tempfile
import time
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools")
sys.path.insert(0, TOOLS)
from export_torchvision import (build_model, calibrate_weights, default_num_classes, export,  # noqa: E402
                                input_shape)

DEFAULT_MODELS = [
    "lenet5", "alexnet", "alexnet_lrn", "zfnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "googlenet", "inception_v3", "inception_v4",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
]
BATCH = 2

# Files whose change invalidates existing references.
DEPENDENCIES = [os.path.abspath(__file__)] + [
    os.path.join(TOOLS, f) for f in ("reference_models.py", "export_torchvision.py", "safetensors_io.py")]


def model_seed(name):
    """Fixed, name-derived seed (stable across runs and independent of list order)."""
    return zlib.crc32(name.encode()) % 100000


def save_npy_atomic(arr, path):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def outputs(out_dir, name):
    return [os.path.join(out_dir, f"{name}{ext}")
            for ext in (".safetensors", ".input.npy", ".logits.npy")]


def up_to_date(paths):
    newest_dep = max(os.path.getmtime(p) for p in DEPENDENCIES)
    return all(os.path.exists(p) and os.path.getmtime(p) > newest_dep for p in paths)


def make_one(name, out_dir):
    weights_path, input_path, logits_path = outputs(out_dir, name)
    seed = model_seed(name)
    model = build_model(name, default_num_classes(name), seed=seed, randomize_bn=True)
    shape = (BATCH,) + tuple(input_shape(name))
    # Rescale weights on a separate random batch so activations stay O(1) and the
    # logits really depend on the input (see calibrate_weights).
    calibrate_weights(model, torch.randn(shape, generator=torch.Generator().manual_seed(seed + 2)))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float32)
    with torch.no_grad():
        logits = model(x)
    export(model, name, weights_path, {"seed": str(seed), "randomize_bn": "true", "calibrated": "true",
                                       "purpose": "parity reference"})
    save_npy_atomic(x.numpy(), input_path)
    # Logits last: their presence marks a complete set.
    save_npy_atomic(logits.numpy().astype(np.float32), logits_path)
    return logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated names")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = ap.parse_args()

    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    t_all = time.time()
    for name in names:
        paths = outputs(args.out, name)
        if not args.force and up_to_date(paths):
            print(f"{name:14s} up to date, skipped")
            continue
        t0 = time.time()
        logits = make_one(name, args.out)
        size = sum(os.path.getsize(p) for p in paths)
        print(f"{name:14s} {time.time() - t0:6.1f}s  {size / 1e6:7.1f} MB  "
              f"logits {tuple(logits.shape)} |max| {logits.abs().max().item():.3g} "
              f"std {logits.std().item():.3g}", flush=True)
    total = sum(os.path.getsize(p) for n in names for p in outputs(args.out, n) if os.path.exists(p))
    print(f"total {time.time() - t_all:.1f}s, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
