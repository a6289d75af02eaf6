#!/usr/bin/python3
"""Reference inputs and outputs for the Mask R-CNN tests, from torchvision 0.14.

  /usr/bin/python3 tests/maskrcnn/make_maskrcnn_references.py --out DIR [--force]

Writes DIR/<sub>/<case>.<array>.npy (float32; class ids as float32) and DIR/index.json:
  {"version": V, "cases": {"<case>": {"op": ..., <parameters>, "arrays": {"<name>": "<file>"}}}}

Op "paste_masks": torchvision.models.detection.roi_heads.paste_masks_in_image (the eval
path: expand_masks with padding 1, expand_boxes, int64 boxes, bilinear resize, clipped copy)
on seeded random 28 x 28 (and 14 x 14) masks with boxes inside the image, partly outside on
every side, tiny (under a pixel, zero width), and the whole image; arrays "masks" [K, M, M],
"boxes" [K, 4], "pasted" [K, H, W].
Op "mask_rcnn": torchvision's maskrcnn_resnet50_fpn (FrozenBatchNorm2d, eps 0, as it loads
its COCO weights) and maskrcnn_resnet50_fpn_v2 (BatchNorm2d everywhere, mask head included)
end to end on darknet's dog.jpg (given as a float tensor), seeded weights with randomised
batch norm statistics and conv biases, calibrated (tools/export_torchvision.calibrate_weights)
on the photo: first without the mask branch, then the mask head on the RoI features of the
final detections, each class's mask logits centred on them; cls_score scaled so a few dozen detections pass 0.05; min_size 320 /
max_size 533 to stay fast. Arrays: image0, boxes0 / scores0 / labels0 (original pixels),
raw_boxes0 (resized pixels), mask_probs0 [K, 28, 28] (maskrcnn_inference), masks0 [K, H, W]
(pasted float probabilities), and the state_dict as safetensors.
Skipped when DIR/index.json is newer than this script and the tools it imports and has the
same version (--force regenerates).
"""
import argparse
import os
import sys
import time

import torch
import torchvision
from torchvision.models.detection.roi_heads import paste_masks_in_image
from torchvision.ops.misc import FrozenBatchNorm2d

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
DETECT = os.path.join(ROOT, "tests", "detect")
sys.path.insert(0, TOOLS)
sys.path.insert(0, DETECT)
from export_torchvision import calibrate_weights  # noqa: E402
from safetensors_io import save_file  # noqa: E402
from make_detect_references import frozen_batchnorm, run_captured, save_arrays  # noqa: E402
from reference_io import Writer, index_up_to_date, photo_paths, read_photo  # noqa: E402

VERSION = 1
DEPENDENCIES = [os.path.abspath(__file__), os.path.join(DETECT, "make_detect_references.py")] + [
    os.path.join(TOOLS, f) for f in ("export_torchvision.py", "safetensors_io.py", "reference_io.py")]


def paste_cases(w):
    g = torch.Generator().manual_seed(31)
    sub = "paste"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)

    def case(name, masks, boxes, h, wd):
        pasted = paste_masks_in_image(masks[:, None], boxes, (h, wd))[:, 0]
        arrays = {"masks": masks, "boxes": boxes, "pasted": pasted}
        w.cases[name] = dict(op="paste_masks", arrays=save_arrays(w, sub, name, arrays), height=h, width=wd,
                             mask_size=int(masks.shape[-1]), count=int(len(boxes)))

    h, wd = 57, 83
    n = 40
    xy = torch.rand(n, 2, generator=g) * torch.tensor([wd, h])
    size = 0.5 + torch.rand(n, 2, generator=g) * 40
    inside = torch.cat([xy, torch.minimum(xy + size, torch.tensor([wd, h]).float())], 1)
    edges = torch.tensor([
        [-12.3, 5.5, 20.25, 30.0],     # past the left side
        [60.0, -9.75, 95.5, 20.0],     # past the top and the right
        [10.0, 40.0, 50.5, 70.0],      # past the bottom
        [-20.0, -20.0, 100.0, 80.0],   # around the whole image
        [0.0, 0.0, 83.0, 57.0],        # the whole image
        [5.2, 7.9, 5.6, 8.1],          # under a pixel
        [30.0, 30.0, 30.0, 30.0],      # a point
        [12.0, 3.0, 12.0, 20.0],       # zero width
        [0.4, 0.3, 1.2, 0.9],          # a tiny one at the corner
        [82.5, 56.5, 83.0, 57.0],      # a tiny one at the far corner
        [40.999, 20.001, 41.001, 60.0],
        [17.5, 9.5, 52.5, 44.5],       # half-pixel corners
    ])
    boxes = torch.cat([inside, edges])
    case("paste_small_image", torch.rand(len(boxes), 28, 28, generator=g), boxes, h, wd)
    # A larger image, logits-like probabilities (smooth blobs) and 14 x 14 masks.
    h, wd = 300, 400
    xy = torch.rand(20, 2, generator=g) * torch.tensor([wd - 50, h - 50])
    boxes = torch.cat([xy, xy + 10 + torch.rand(20, 2, generator=g) * 250], 1)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 14), torch.linspace(-1, 1, 14), indexing="ij")
    blobs = torch.sigmoid(4 * (0.6 - (xx[None] ** 2 + yy[None] ** 2)) + torch.randn(20, 14, 14, generator=g))
    case("paste_large_image", blobs, boxes, h, wd)


def randomize(model, g, frozen):
    def u(lo, hi, t):
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    norm = FrozenBatchNorm2d if frozen else torch.nn.BatchNorm2d
    for m in model.modules():
        if isinstance(m, norm):
            m.weight.copy_(u(0.5, 1.5, m.weight))
            m.bias.copy_(u(-0.2, 0.2, m.bias))
            m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
            m.running_var.copy_(u(0.5, 2.0, m.running_var))
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and m.bias is not None:
            m.bias.copy_(u(-0.5, 0.5, m.bias))  # torchvision initialises most of them to 0


def mask_rcnn_case(w, name, seed, cls_scale, frozen):
    min_size, max_size = 320, 533
    torch.manual_seed(seed)
    builder = getattr(torchvision.models.detection, name)
    model = builder(weights=None, weights_backbone=None, min_size=min_size, max_size=max_size)
    if frozen:
        frozen_batchnorm(model.backbone, 0.0)
    model.eval()
    randomize(model, torch.Generator().manual_seed(seed + 1), frozen)
    images = [read_photo(p) for p in photo_paths(["dog.jpg"])]
    heads = model.roi_heads
    # Calibrate without the mask branch (with no detections it would see empty tensors),
    # then the mask head on the RoI features of the detections the scaled classifier keeps.
    mask_pool = heads.mask_roi_pool
    heads.mask_roi_pool = None
    mask_modules = (heads.mask_head, heads.mask_predictor)
    heads.mask_head = heads.mask_predictor = None
    calibrate_weights(model, images)
    for p in heads.box_predictor.cls_score.parameters():
        p.mul_(cls_scale)
    heads.mask_roi_pool = mask_pool
    heads.mask_head, heads.mask_predictor = mask_modules
    pooled = {}
    handle = mask_pool.register_forward_hook(lambda module, inputs, output: pooled.update(x=output))
    model(images)
    handle.remove()
    mask_branch = torch.nn.Sequential(heads.mask_head, heads.mask_predictor).eval()  # v2's BatchNorm2d: eval
    calibrate_weights(mask_branch, pooled["x"])
    # Centre each class's logits so that masks are part foreground, part background (random
    # biases alone fill or empty whole masks), with many boundary pixels.
    heads.mask_predictor.mask_fcn_logits.bias.sub_(mask_branch(pooled["x"]).mean(dim=(0, 2, 3)))
    assert not any(m.training for m in model.modules())
    result, captured = run_captured(model, images)

    sub = name
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    weights = f"{sub}/{name}.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")},
              os.path.join(w.out_dir, weights),
              metadata={"model": name, "seed": str(seed), "purpose": "mask rcnn parity reference"})
    raw = captured["raw"][0]
    arrays = {"image0": images[0], "boxes0": result[0]["boxes"], "scores0": result[0]["scores"],
              "labels0": result[0]["labels"].float(), "raw_boxes0": raw["boxes"], "mask_probs0": raw["masks"][:, 0],
              "masks0": result[0]["masks"][:, 0]}
    image_list = captured["transform"][0]
    w.cases[name] = dict(op="mask_rcnn", arrays=save_arrays(w, sub, name, arrays), weights=weights, family=name,
                         bn_eps=0.0 if frozen else 1e-5, num_classes=91, photos=["dog.jpg"], images=1,
                         min_size=min_size, max_size=max_size,
                         image_sizes=[list(s) for s in image_list.image_sizes],
                         detections=[len(r["boxes"]) for r in result], cls_score_scale=cls_scale)
    print(f"{name}: {len(result[0]['boxes'])} detections")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--only", choices=["paste", "v1", "v2"], action="append", help="(debugging) these cases only")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    index = os.path.join(args.out, "index.json")
    if not args.force and not args.only and index_up_to_date(index, VERSION, DEPENDENCIES):
        print(f"{index}: up to date")
        return 0
    torch.set_num_threads(2)
    start = time.time()
    w = Writer(args.out, VERSION)
    only = set(args.only or ["paste", "v1", "v2"])
    with torch.no_grad():
        if "paste" in only:
            paste_cases(w)
        if "v1" in only:
            mask_rcnn_case(w, "maskrcnn_resnet50_fpn", 2031, CLS_SCORE_SCALE, frozen=True)
        if "v2" in only:
            mask_rcnn_case(w, "maskrcnn_resnet50_fpn_v2", 2032, V2_CLS_SCORE_SCALE, frozen=False)
    w.finish()
    print(f"{len(w.cases)} cases in {args.out} ({time.time() - start:.1f} s)")
    return 0


CLS_SCORE_SCALE = 0.6
V2_CLS_SCORE_SCALE = 0.5

if __name__ == "__main__":
    sys.exit(main())
