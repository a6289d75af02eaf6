#!/usr/bin/python3
"""Reference outputs for Osprey's Darknet import and YOLO v1 / v2 / v3 decoding, from
tools/yolo_reference.py (a PyTorch interpreter of Darknet cfgs written from Darknet's C).

  /usr/bin/python3 tests/yolo/make_yolo_references.py --out DIR [--force]

Per case (configs/darknet/<name>.cfg, Darknet's own files from the Debian package, with
the [net] size set to SIZE to keep the tests fast):
  DIR/<case>.cfg, DIR/<case>.weights   seeded weights in Darknet's format (batch norm
      statistics calibrated on the photos so activations stay O(1); the last conv (or
      connected) layer before each head rescaled per channel so a few dozen boxes pass
      Darknet's 0.25 threshold); DIR/<case>.json a model config using them
  DIR/<case>.<photo>.image.npy    the photo as float32 [3, H, W] RGB in [0, 1] (PIL decode)
  DIR/<case>.<photo>.input.npy    the network input (letterbox_image, or resize_image for v1)
  DIR/<case>.<photo>.head<i>.npy  raw head inputs [1, C, H, W] (or [1, F] for v1), computed in
      float64 and rounded to float32 (decoding runs on the float64 values)
  DIR/<case>.<photo>.{boxes,scores,labels}.npy  final detections in image pixels
  DIR/<case>.<photo>.net_boxes.npy              the same boxes in network pixels
Case "yolov1_family": the paper's YOLO v1 (tools/yolo_reference.YoloV1, Osprey's family
"yolov1") at 64x64 with a 512-wide FC, He-scaled seeded weights as float16 safetensors.
DIR/index.json lists the cases: {"version", "cases": {case: {"cfg", "weights", "config",
"photos": [...], "letterbox": bool, "candidates": {photo: n}, "geometry": {photo: {...}}}}}.
Skipped when DIR/index.json has this VERSION (--force regenerates).
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import yolo_reference as yr  # noqa: E402

VERSION = 9
MAX_DET = 1000  # no cap: near-equal scores at a cut could differ in float32
PHOTOS = os.path.join(ROOT, "assets", "photos", "darknet")

# name, cfg, size, photos, labels, head targets: (mean, std) per channel role
CASES = [
    ("yolov3_tiny", "yolov3-tiny.cfg", 320, ["dog", "horses"], "coco80.txt"),
    ("yolov3", "yolov3.cfg", 320, ["dog"], "coco80.txt"),
    ("yolov2_tiny", "yolov2-tiny.cfg", 320, ["dog"], "coco80.txt"),
    ("yolov2", "yolov2.cfg", 320, ["person"], "coco80.txt"),
    ("yolov1_tiny", "yolov1-tiny.cfg", 448, ["dog"], "voc20.txt"),
    ("mini", "inline", 32, ["eagle"], None),
]

# A small network for the layers and options the shipped cfgs leave out: maxpool size 3
# stride 2 (odd padding), mish, AlexeyAB's route groups, [local] (yolov1.cfg's layer, too big
# to test there), [dropout], and a [detection] head with softmax.
MINI_CFG = """[net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=3
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=mish

[route]
layers=-1
groups=2
group_id=1

[convolutional]
batch_normalize=1
filters=8
size=1
activation=leaky

[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=2

[local]
size=3
stride=1
pad=1
filters=8
activation=leaky

[dropout]
probability=.5

[connected]
output=637
activation=linear

[detection]
classes=3
coords=4
rescore=1
side=7
num=2
softmax=1
sqrt=1
"""

# Targets (mean, std) for the standardised raw head channels.
GRID_TARGETS = {"xy": (0.0, 1.0), "wh": (0.0, 0.5), "obj": (-3.0, 1.5), "cls_sigmoid": (-4.5, 1.5), "cls_softmax": (0.0, 3.0)}
V1_TARGETS = {"cls": (0.15, 0.25), "conf": (0.4, 0.3), "xy": (0.5, 0.2), "wh": (0.45, 0.12)}


def load_photo(name):
    im = np.asarray(Image.open(os.path.join(PHOTOS, name + ".jpg")).convert("RGB"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(im.transpose(2, 0, 1))


def network_input(net, image, letterbox):
    if letterbox:
        x, g = yr.letterbox_image(image, net.width, net.height)
    else:
        x, g = yr.resize_image(image, net.width, net.height), None
    return torch.from_numpy(x)[None], g


def role_targets(L, channels):
    """Per output channel of the layer feeding head L: (mean, std)."""
    t = []
    if L.kind in ("yolo", "region"):
        per = channels // (len(L.mask) if L.kind == "yolo" else L.num)
        cls = GRID_TARGETS["cls_softmax" if L.kind == "region" and L.softmax else "cls_sigmoid"]
        for c in range(channels):
            e = c % per
            t.append(GRID_TARGETS["xy"] if e < 2 else GRID_TARGETS["wh"] if e < 4 else GRID_TARGETS["obj"] if e == 4 else cls)
    else:
        S, C, B = L.side, L.classes, L.num
        for f in range(channels):
            t.append((0.0, 2.0) if f < S * S * C and L.softmax else V1_TARGETS["cls"] if f < S * S * C else V1_TARGETS["conf"] if f < S * S * (C + B)
                     else V1_TARGETS["xy"] if (f - S * S * (C + B)) % 4 < 2 else V1_TARGETS["wh"])
    return torch.tensor(t, dtype=torch.float32)


def rescale_heads(net, x):
    """Standardise each head's input channels on x, then give them the role targets."""
    heads = net(x)
    for L, out in zip(net.heads, heads):
        src = net.layers[L.index - 1]  # the linear conv / connected layer feeding the head
        assert src.kind in ("convolutional", "connected") and src.act == "linear" and not getattr(src, "bn", False), src.kind
        if out.dim() == 4:
            mean, std = out.mean(dim=(0, 2, 3)), out.std(dim=(0, 2, 3))
        else:  # one flat sample: the layer's overall spread
            mean, std = torch.full((out.shape[1],), float(out.mean())), torch.full((out.shape[1],), float(out.std()))
        target = role_targets(L, mean.numel())
        w, b = src.params["weights"], src.params["biases"]
        shape = (-1,) + (1,) * (w.dim() - 1)
        src.params["weights"] = w / std.view(shape) * target[:, 1].view(shape)
        src.params["biases"] = (b - mean) / std * target[:, 1] + target[:, 0]


def save(out_dir, name, array):
    np.save(os.path.join(out_dir, name), np.ascontiguousarray(np.asarray(array, dtype=np.float32)))


def make_case(out_dir, name, cfg_file, size, photos, labels, seed):
    if cfg_file == "inline":
        with open(os.path.join(out_dir, name + ".src.cfg"), "w") as f:
            f.write(MINI_CFG)
        sections = yr.parse_cfg(os.path.join(out_dir, name + ".src.cfg"))
    else:
        sections = yr.parse_cfg(os.path.join(ROOT, "configs", "darknet", cfg_file))
    sections[0][1]["width"] = str(size)
    sections[0][1]["height"] = str(size)
    cfg_path = os.path.join(out_dir, name + ".cfg")
    yr.write_cfg(sections, cfg_path)
    net = yr.DarknetNet(yr.parse_cfg(cfg_path))
    letterbox = net.heads[0].kind != "detection"
    yr.randomize(net, seed)
    images = {p: load_photo(p) for p in photos}
    x0 = torch.cat([network_input(net, images[p], letterbox)[0] for p in photos])
    with torch.no_grad():
        net(x0, calibrate=True)
        rescale_heads(net, x0)
    weights_path = os.path.join(out_dir, name + ".weights")
    yr.save_weights(net, weights_path)
    # the reference runs on what it reads back, as Osprey does
    net = yr.DarknetNet(yr.parse_cfg(cfg_path))
    yr.load_weights(net, weights_path)
    # The reference computes in float64 (the float32 weights exactly): on these deep seeded
    # networks torch's own float32 result is ~1e-4 off the exact one, so a float32 oracle
    # would blur what the comparison measures.
    for L in net.layers:
        for k in L.params:
            L.params[k] = L.params[k].double()
    config = {"name": name, "task": "detect", "architecture": {"darknet": name + ".cfg"},
              "weights": name + ".weights",
              "detector": {"kind": "yolo", "max_detections": MAX_DET}}
    if labels:
        config["labels"] = os.path.join(ROOT, "configs", "labels", labels)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(config, f, indent=2)
    entry = {"cfg": name + ".cfg", "weights": name + ".weights", "config": name + ".json", "photos": photos,
             "letterbox": letterbox, "heads": len(net.heads), "candidates": {}, "detections": {}, "geometry": {}}
    for p in photos:
        image = images[p]
        x, g = network_input(net, image, letterbox)
        with torch.no_grad():
            heads = net(x.double())
        boxes, scores, labels_, candidates = yr.decode(net, heads, thresh=0.25, nms=0.45, max_det=MAX_DET)
        h, w = image.shape[1:]
        mapped = yr.to_image(boxes, g, w, h) if letterbox else yr.stretch_to_image(boxes, net.width, net.height, w, h)
        prefix = "%s.%s." % (name, p)
        save(out_dir, prefix + "image.npy", image)
        save(out_dir, prefix + "input.npy", x.numpy())
        for i, o in enumerate(heads):
            save(out_dir, prefix + "head%d.npy" % i, o.float().numpy())
        save(out_dir, prefix + "boxes.npy", mapped.numpy().reshape(-1, 4))
        save(out_dir, prefix + "net_boxes.npy", boxes.numpy().reshape(-1, 4))
        save(out_dir, prefix + "scores.npy", scores.numpy())
        save(out_dir, prefix + "labels.npy", labels_.numpy())
        entry["candidates"][p] = candidates
        entry["detections"][p] = len(scores)
        entry["geometry"][p] = g
        print("%s %s: %d candidates above 0.25, %d detections after NMS" % (name, p, candidates, len(scores)))
    return entry


def save_half_safetensors(state, path):
    """safetensors with F16 tensors: an 8-byte header length, a JSON header, the raw data."""
    header, blobs, offset = {}, [], 0
    for k, v in state.items():
        data = v.detach().numpy().astype("<f2").tobytes()
        header[k] = {"dtype": "F16", "shape": list(v.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for b in blobs:
            f.write(b)


class _Net:
    """What yr.decode needs of a network: its heads and input size."""

    def __init__(self, heads, width, height):
        self.heads, self.width, self.height = heads, width, height


def make_family_case(out_dir, name, size, hidden, photos, seed):
    """The paper's YOLO v1 (tools/yolo_reference.YoloV1, family "yolov1") at a small input
    size and FC width, safetensors weights with its state_dict keys."""
    torch.manual_seed(seed)
    model = yr.YoloV1(image_size=size, fc_hidden=hidden).eval()
    with torch.no_grad():
        for m in model.modules():  # He-scaled so 24 leaky layers keep activations O(1)
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.normal_(0, (2.0 / m.weight[0].numel()) ** 0.5)
                m.bias.normal_(0, 0.01)
    images = {p: load_photo(p) for p in photos}
    x0 = torch.cat([torch.from_numpy(yr.resize_image(images[p], size, size))[None] for p in photos])
    with torch.no_grad():
        out = model(x0)
        last = model.classifier[4]
        target = role_targets(model, out.shape[1])
        last.weight.mul_((target[:, 1] / float(out.std())).view(-1, 1))
        last.bias.copy_((last.bias - float(out.mean())) / float(out.std()) * target[:, 1] + target[:, 0])
    # float16 on disk (the paper's network is 61M parameters); the reference computes with
    # exactly the rounded values
    with torch.no_grad():
        for v in model.state_dict().values():
            v.copy_(v.half().float())
    weights = name + ".safetensors"
    save_half_safetensors(model.state_dict(), os.path.join(out_dir, weights))
    config = {"name": name, "task": "detect",
              "architecture": {"family": "yolov1", "num_classes": 20, "grid": 7, "boxes_per_cell": 2, "image_size": size,
                               "fc_hidden": hidden},
              "labels": os.path.join(ROOT, "configs", "labels", "voc20.txt"), "weights": weights,
              "detector": {"kind": "yolo", "max_detections": MAX_DET}}
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(config, f, indent=2)
    entry = {"weights": weights, "config": name + ".json", "photos": photos, "letterbox": False, "heads": 1,
             "candidates": {}, "detections": {}, "geometry": {}}
    model = model.double()
    for p in photos:
        image = images[p]
        x = torch.from_numpy(yr.resize_image(image, size, size))[None]
        with torch.no_grad():
            head = model(x.double())
        boxes, scores, labels_, candidates = yr.decode(_Net([model], size, size), [head], thresh=0.25, nms=0.45, max_det=MAX_DET)
        h, w = image.shape[1:]
        mapped = yr.stretch_to_image(boxes, size, size, w, h)
        prefix = "%s.%s." % (name, p)
        save(out_dir, prefix + "image.npy", image)
        save(out_dir, prefix + "input.npy", x.numpy())
        save(out_dir, prefix + "head0.npy", head.float().numpy())
        save(out_dir, prefix + "boxes.npy", mapped.numpy().reshape(-1, 4))
        save(out_dir, prefix + "net_boxes.npy", boxes.numpy().reshape(-1, 4))
        save(out_dir, prefix + "scores.npy", scores.numpy())
        save(out_dir, prefix + "labels.npy", labels_.numpy())
        entry["candidates"][p] = candidates
        entry["detections"][p] = len(scores)
        print("%s %s: %d candidates above 0.25, %d detections after NMS" % (name, p, candidates, len(scores)))
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    index_path = os.path.join(args.out, "index.json")
    if not args.force and os.path.exists(index_path):
        try:
            if json.load(open(index_path)).get("version") == VERSION:
                print("yolo references up to date in", args.out)
                return
        except ValueError:
            pass
    torch.set_num_threads(2)
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".yolo_refs-")
    try:
        cases = {}
        for seed, (name, cfg, size, photos, labels) in enumerate(CASES):
            cases[name] = make_case(tmp, name, cfg, size, photos, labels, 1000 + seed)
        cases["yolov1_family"] = make_family_case(tmp, "yolov1_family", 64, 512, ["giraffe"], 2000)
        with open(os.path.join(tmp, "index.json"), "w") as f:
            json.dump({"version": VERSION, "torch": torch.__version__, "cases": cases}, f, indent=1)
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.replace(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


if __name__ == "__main__":
    main()
