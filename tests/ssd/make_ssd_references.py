#!/usr/bin/python3
"""Reference outputs for Osprey's SSD detectors, from torchvision 0.14.

  /usr/bin/python3 tests/ssd/make_ssd_references.py --out DIR [--force]

Writes DIR/index.json: {"version": V, "cases": {"<case>": {"op": ..., <parameters>,
"arrays": {"<name>": "<file>.npy"}}}} and the arrays (float32; labels as float32).

Op "ssd" (one case per model): torchvision's ssd300_vgg16 and ssdlite320_mobilenet_v3_large
(weights=None, weights_backbone=None: ssdlite then has the reduced tail, as its COCO
checkpoint), and SSD512 = torchvision's SSD class on _vgg_extractor(vgg16, highres=True)
with the paper's SSD512 default boxes (scales 0.07 .. 1.05 of 512, no steps;
tools/export_torchvision.ssd512_vgg16, lib/model/families/ssd.cpp). Seeded weights: random conv biases (torchvision's init zeroes
them), randomised BatchNorm statistics (ssdlite), every conv calibrated on the photos
(tools/export_torchvision.calibrate_weights) so activations stay O(1), then the
class logits of every map scaled to unit standard deviation and the background logit raised
by BACKGROUND_BIAS[model], so that a few dozen to ~150 detections per photo clear the
family's score threshold (a random head gives near-uniform scores, ~1/91: all of them
would pass 0.01 and the detections_per_img cap would decide, or none would). The inputs are
darknet's photos (tools/fetch_assets.sh) given as float tensors in [0, 1], so JPEG decoding
stays out of the comparison. Saved: images, the transformed batch, the head outputs
flattened to [N, anchors, classes] / [N, anchors, 4], the default boxes, the detections
(boxes in the original image pixels, scores, labels) and the state_dict as safetensors
(DIR/<model>.safetensors, without num_batches_tracked).

Op "default_boxes": DefaultBoxGenerator alone for each family's settings at its size and
for a custom setting (non-square image, min/max ratios, no steps, no clip): grid sizes,
_grid_default_boxes (normalised cx, cy, w, h) and forward()'s pixel boxes.

Skipped when DIR/index.json has this VERSION and is newer than this script and the tools it
imports (--force regenerates).
"""
import argparse
import os
import sys
import time

import torch
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
from export_torchvision import calibrate_weights, randomize_batchnorm, ssd512_vgg16  # noqa: E402
from safetensors_io import save_file  # noqa: E402
from reference_io import Writer, index_up_to_date, photo_paths, read_photo  # noqa: E402

VERSION = 1
DEPENDENCIES = [os.path.abspath(__file__)] + [os.path.join(TOOLS, f) for f in ("export_torchvision.py", "safetensors_io.py", "reference_io.py")]
# Background logit offset per model, added after each map's class logits are scaled to unit
# standard deviation: most default boxes become background and a few dozen to ~150
# detections per photo clear the family's score threshold, below the detections_per_img cap
# (a random head gives near-uniform scores, ~1/91, all above 0.01 or 0.001).
BACKGROUND_BIAS = {"ssd300_vgg16": 9.0, "ssd512_vgg16": 9.5, "ssdlite320_mobilenet_v3_large": 12.5}
PHOTOS = {"ssd300_vgg16": ["dog.jpg", "person.jpg"], "ssd512_vgg16": ["dog.jpg"],
          "ssdlite320_mobilenet_v3_large": ["dog.jpg", "horses.jpg"]}

SSD512_RATIOS = [[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]]
SSD512_SCALES = [0.07, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05]


def build(name):
    from torchvision.models.detection import ssd as tv_ssd
    if name == "ssd300_vgg16":
        return tv_ssd.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91)
    if name == "ssdlite320_mobilenet_v3_large":
        from torchvision.models.detection import ssdlite320_mobilenet_v3_large
        return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
    assert name == "ssd512_vgg16"
    return ssd512_vgg16()


def seeded_model(name, seed, images):
    torch.manual_seed(seed)
    model = build(name).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
        randomize_batchnorm(model, seed)
        calibrate_weights(model, images)
        image_list, _ = model.transform(images)
        features = list(model.backbone(image_list.tensors).values())
        num_classes = model.head.classification_head.num_columns
        for k, block in enumerate(model.head.classification_head.module_list):
            last = block if isinstance(block, torch.nn.Conv2d) else block[-1]
            f = 1.0 / block(features[k]).std().item()
            last.weight.mul_(f)
            last.bias.mul_(f)
            last.bias[0::num_classes] += BACKGROUND_BIAS[name]
    return model, image_list, features


def run_ssd(model, images, image_list, features):
    """SSD.forward at inference, step by step (the intermediates are the test's too), from
    the transformed images and backbone features (computed once, before the head was set)."""
    original_sizes = [tuple(img.shape[-2:]) for img in images]
    head = model.head(features)
    anchors = model.anchor_generator(image_list, features)
    detections = model.postprocess_detections(head, anchors, image_list.image_sizes)
    detections = model.transform.postprocess(detections, image_list.image_sizes, original_sizes)
    return image_list, features, head, anchors, detections


def detector_case(w, name, seed):
    photos = PHOTOS[name]
    images = [read_photo(p) for p in photo_paths(photos)]
    model, image_list, features = seeded_model(name, seed, images)
    image_list, features, head, anchors, detections = run_ssd(model, images, image_list, features)
    weights = f"{name}.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")},
              os.path.join(w.out_dir, weights),
              metadata={"model": name, "seed": str(seed), "purpose": "ssd parity reference"})
    arrays = {"batch": image_list.tensors, "cls_logits": head["cls_logits"], "bbox_regression": head["bbox_regression"],
              "priors": anchors[0]}
    for i, (img, det) in enumerate(zip(images, detections)):
        arrays[f"image{i}"] = img
        arrays[f"boxes{i}"] = det["boxes"]
        arrays[f"scores{i}"] = det["scores"]
        arrays[f"labels{i}"] = det["labels"].float()
    # How far the scores that decide inclusion sit from the threshold (a near-tie would make
    # the candidate set depend on rounding).
    scores = torch.softmax(head["cls_logits"], -1)[..., 1:]
    margin = (scores - model.score_thresh).abs().min().item()
    w.case(name, "ssd", arrays, family=name, weights=weights, photos=photos, images=len(images),
           grids=[list(f.shape[-2:]) for f in features], detections=[len(d["boxes"]) for d in detections],
           score_thresh=model.score_thresh, nms_thresh=model.nms_thresh, topk_candidates=model.topk_candidates,
           detections_per_img=model.detections_per_img, background_bias=BACKGROUND_BIAS[name], threshold_margin=margin)
    above = int((scores > model.score_thresh).sum())
    print(f"{name}: {above} class scores above {model.score_thresh}, detections {[len(d['boxes']) for d in detections]}, "
          f"closest score to the threshold {margin:.2e}")


def default_box_cases(w):
    settings = {
        "ssd300_vgg16": dict(gen=DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]],
                                                     scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                                                     steps=[8, 16, 32, 64, 100, 300]),
                             size=[300, 300], grids=[[38, 38], [19, 19], [10, 10], [5, 5], [3, 3], [1, 1]]),
        "ssd512_vgg16": dict(gen=DefaultBoxGenerator(SSD512_RATIOS, scales=SSD512_SCALES, steps=None),
                             size=[512, 512], grids=[[64, 64], [32, 32], [16, 16], [8, 8], [6, 6], [4, 4], [1, 1]]),
        "ssdlite320_mobilenet_v3_large": dict(gen=DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95),
                                              size=[320, 320], grids=[[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]]),
        "custom": dict(gen=DefaultBoxGenerator([[2], [3, 0.5], [1.5]], min_ratio=0.1, max_ratio=0.8, clip=False),
                       size=[240, 320], grids=[[15, 20], [8, 10], [3, 4]]),
        "custom_steps": dict(gen=DefaultBoxGenerator([[2, 3], [2]], scales=[0.3, 0.6, 1.2], steps=[16, 48], clip=True),
                             size=[200, 280], grids=[[13, 18], [5, 6]]),
    }
    for name, s in settings.items():
        gen, (h, wd), grids = s["gen"], s["size"], s["grids"]
        feats = [torch.zeros(1, 1, gh, gw) for gh, gw in grids]
        image_list = ImageList(torch.zeros(1, 3, h, wd), [(h, wd)])
        pixels = gen(image_list, feats)[0]
        normalised = gen._grid_default_boxes(grids, [h, wd])
        w.case(f"default_boxes_{name}", "default_boxes", {"pixels": pixels, "normalised": normalised},
               family=name, size=[h, wd], grids=grids, aspect_ratios=gen.aspect_ratios, scales=gen.scales,
               steps=gen.steps, clip=gen.clip)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    index = os.path.join(args.out, "index.json")
    if not args.force and index_up_to_date(index, VERSION, DEPENDENCIES):
        print(f"{index}: up to date")
        return 0
    torch.set_num_threads(2)
    start = time.time()
    w = Writer(args.out, VERSION)
    with torch.no_grad():
        default_box_cases(w)
        for seed, name in enumerate(("ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "ssd512_vgg16")):
            detector_case(w, name, 2026 + seed)
    w.finish()
    print(f"{len(w.cases)} cases in {args.out} ({time.time() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
