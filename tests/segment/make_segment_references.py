#!/usr/bin/python3
"""Reference inputs and outputs for lib/segment's parity tests, from PyTorch.

  /usr/bin/python3 tests/segment/make_segment_references.py --out DIR [--force]

Writes into DIR (atomically: a temporary folder renamed at the end; skipped when
DIR/VERSION holds this script's VERSION):
  photo.npy            darknet's dog.jpg resized (PIL, bilinear) to 320x240, float32 [3, 240, 320]
                       RGB in [0, 1]; photo_small.npy the same at 200x150 (for FCN-VGG16)
  fcn_resnet50.safetensors   torchvision fcn_resnet50(weights=None, weights_backbone=None,
                       num_classes=21, aux_loss=True), seed 0, BatchNorm2d statistics and affine
                       parameters randomised (export_torchvision.randomize_batchnorm), conv
                       weights calibrated on the photo so activations stay O(1)
  fcn_resnet50_native.json / _resized.json   configs (task segment, "segmenter":
                       {"resize_shorter": 0} / {"resize_shorter": 160}); aux_classifier.* in the
                       weights file is ignored ("aux" false)
  fcn_resnet50_native.logits.npy   model(normalize(photo))["out"][0]: [21, 240, 320]
  fcn_resnet50_resized.logits.npy  torchvision's SemanticSegmentation(resize_size=160) on the
                       tensor (F.resize = F.interpolate bilinear, align_corners False, no
                       antialias: 160x213), normalize, model, then F.interpolate (bilinear,
                       align_corners False) back to 240x320
  fcn_resnet101.safetensors / fcn_resnet101.json / .logits.npy   torchvision fcn_resnet101
                       (aux_loss=False), seeded, randomised BatchNorm2d, calibrated, on
                       photo_tiny.npy (dog.jpg at 160x120) at its own size
  fcn{32,16,8}s.safetensors / .json / .logits.npy   tools/reference_models.FCN32s/16s/8s
                       (fc_channels 256 to keep the files small), seeded and calibrated, on
                       photo_small in Caffe's preprocessing (BGR, 0..255 minus the ILSVRC mean),
                       zero-padded to 224x160 (a multiple of 32, as lib/segment pads) and the
                       logits cropped back to [21, 150, 200]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_torchvision import calibrate_weights, randomize_batchnorm, export_tensors  # noqa: E402
from safetensors_io import save_file  # noqa: E402
import reference_models  # noqa: E402

VERSION = "4"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
CAFFE_MEAN_BGR = torch.tensor([104.00698793, 116.66876762, 122.67891434]).view(3, 1, 1)


def photo(size):
    assets = os.environ.get("OSPREY_ASSETS", os.path.join(ROOT, "assets"))
    img = Image.open(os.path.join(assets, "photos", "darknet", "dog.jpg")).convert("RGB").resize(size, Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def save(out, name, t):
    np.save(os.path.join(out, name), np.ascontiguousarray(t.detach().numpy().astype(np.float32)))


def config(out, name, family, weights, segmenter, **arch):
    doc = {"name": name, "task": "segment", "architecture": dict(family=family, **arch),
           "weights": weights, "segmenter": segmenter}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)


@torch.no_grad()
def fcn_resnet(out, x):
    torch.manual_seed(0)
    model = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21,
                                                         aux_loss=True).eval()
    randomize_batchnorm(model, 0)
    norm = ((x - MEAN) / STD)[None]
    calibrate_weights(model, norm)
    save_file(export_tensors(model), os.path.join(out, "fcn_resnet50.safetensors"), metadata={"model": "fcn_resnet50"})
    save(out, "fcn_resnet50_native.logits.npy", model(norm)["out"][0])
    config(out, "fcn_resnet50_native", "fcn_resnet50", "fcn_resnet50.safetensors", {"resize_shorter": 0})
    small = F.interpolate(x[None], size=(160, 213), mode="bilinear", align_corners=False)
    y = model((small - MEAN) / STD)["out"]
    save(out, "fcn_resnet50_resized.logits.npy", F.interpolate(y, size=x.shape[1:], mode="bilinear", align_corners=False)[0])
    config(out, "fcn_resnet50_resized", "fcn_resnet50", "fcn_resnet50.safetensors", {"resize_shorter": 160})


@torch.no_grad()
def fcn_resnet101(out, x):
    torch.manual_seed(1)
    model = torchvision.models.segmentation.fcn_resnet101(weights=None, weights_backbone=None, num_classes=21).eval()
    randomize_batchnorm(model, 1)
    norm = ((x - MEAN) / STD)[None]
    calibrate_weights(model, norm)
    save_file(export_tensors(model), os.path.join(out, "fcn_resnet101.safetensors"), metadata={"model": "fcn_resnet101"})
    save(out, "fcn_resnet101.logits.npy", model(norm)["out"][0])
    config(out, "fcn_resnet101", "fcn_resnet101", "fcn_resnet101.safetensors", {"resize_shorter": 0})


@torch.no_grad()
def fcn_vgg(out, x):
    caffe = x.flip(0) * 255.0 - CAFFE_MEAN_BGR
    h, w = x.shape[1:]
    padded = F.pad(caffe, (0, 224 - w, 0, 160 - h))[None]
    for stride, cls in ((32, reference_models.FCN32s), (16, reference_models.FCN16s), (8, reference_models.FCN8s)):
        torch.manual_seed(stride)
        model = cls(21, fc_channels=256).eval()
        calibrate_weights(model, padded)
        name = f"fcn{stride}s"
        save_file(export_tensors(model), os.path.join(out, name + ".safetensors"), metadata={"model": name})
        save(out, name + ".logits.npy", model(padded)[0, :, :h, :w])
        config(out, name, f"fcn{stride}s_vgg16", name + ".safetensors", {}, fc_channels=256)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    stamp = os.path.join(args.out, "VERSION")
    if not args.force and os.path.exists(stamp) and open(stamp).read().strip() == VERSION:
        print(f"{args.out}: references are current")
        return
    torch.set_num_threads(2)
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".segment_refs-")
    x = photo((320, 240))
    save(tmp, "photo.npy", x)
    small = photo((200, 150))
    save(tmp, "photo_small.npy", small)
    fcn_resnet(tmp, x)
    fcn_vgg(tmp, small)
    tiny = photo((160, 120))
    save(tmp, "photo_tiny.npy", tiny)
    fcn_resnet101(tmp, tiny)
    with open(os.path.join(tmp, "VERSION"), "w") as f:
        f.write(VERSION + "\n")
    os.chmod(tmp, 0o755)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.replace(tmp, args.out)
    print(f"{args.out}: written")


if __name__ == "__main__":
    main()
