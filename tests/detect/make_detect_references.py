#!/usr/bin/python3
"""Reference inputs and outputs for lib/detect's parity tests, from torchvision.

  /usr/bin/python3 tests/detect/make_detect_references.py --out DIR [--force]

Writes DIR/<case>.<array>.npy (float32; indices and class ids as float32, exact below
2^24) and DIR/index.json, which names every case with its parameters and array files:
  {"version": V, "cases": {"<case>": {"op": ..., <parameters>, "arrays": {"<name>": "<file>"}}}}
The inputs are seeded random sets and edge cases (empty sets, one box, zero-area,
inverted and out-of-image boxes, exact score ties, 20k overlapping boxes); the outputs
come from torchvision.ops and torchvision.models.detection (nms, batched_nms, box_iou,
box_area, clip_boxes_to_image, remove_small_boxes, roi_align, roi_pool,
MultiScaleRoIAlign and its LevelMapper, BoxCoder, AnchorGenerator). Soft-NMS and
py-faster-rcnn's anchors have no torchvision op: they come from the direct
implementations of the published formulas below.

DIR/backbone/ holds the Faster R-CNN backbone case (op "resnet_fpn_backbone"): the
ResNet-50-FPN of fasterrcnn_resnet50_fpn with FrozenBatchNorm2d (eps 0, as torchvision
loads its COCO weights), seeded weights, randomised frozen statistics, random FPN biases
and weights calibrated so activations stay O(1) (tools/export_torchvision.py's
calibrate_weights); its safetensors file has the detector's state_dict keys
("backbone.body...", "backbone.fpn..."), the inputs are N(0, 1) ([2, 3, 256, 320], and
[1, 3, 250, 333] for sizes that do not halve evenly) and the outputs are the five FPN
levels '0', '1', '2', '3', 'pool'.
DIR/detector/ holds torchvision's fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
end to end (op "faster_rcnn"): FrozenBatchNorm2d (eps 0) with randomised statistics, random
FPN and RPN-head biases, weights calibrated on the two photos (darknet's dog.jpg and
person.jpg, tools/fetch_assets.sh, given as float tensors so decoding stays out of the
comparison) and cls_score scaled by CLS_SCORE_SCALE so that a few dozen detections pass
the 0.05 score threshold; min_size 512 / max_size 853 to keep both sides fast. Saved: the
images, the padded batch, the RPN head outputs per level, the proposals and their scores,
the box head outputs, the detections before and after mapping to the original sizes, and
the full state_dict as safetensors. Op "rcnn_transform" cases check
GeneralizedRCNNTransform at the default 800 / 1333 on a photo and synthetic sizes.
DIR/vgg16/ holds tools/reference_models.fasterrcnn_vgg16 (Ren et al. 2015: VGG16 C5, 9
anchors, RoI pooling, fc6 / fc7) end to end on dog.jpg (op "faster_rcnn_vgg16"): seeded
weights calibrated on the photo, cls_score scaled by VGG_CLS_SCORE_SCALE, min_size 384 /
max_size 640 and 300 proposals after NMS (the paper's test-time count) to stay fast; and the
same heads on given proposals (op "fast_rcnn_vgg16": Fast R-CNN, no RPN): the proposals in
input-image pixels are resized as torchvision's transform resizes target boxes, then run
through model.roi_heads and transform.postprocess.
DIR/detector_v2/ holds torchvision's fasterrcnn_resnet50_fpn_v2 (Li et al. 2021) end to end on
dog.jpg (op "faster_rcnn_v2"): BatchNorm2d with randomised statistics in the body, the FPN
and the box head, random RPN-head biases, weights calibrated on the photo, min_size 384 /
max_size 640; the same arrays as the fasterrcnn_resnet50_fpn case.
DIR/detector_mobilenet/ holds torchvision's fasterrcnn_mobilenet_v3_large_fpn end to end on
dog.jpg (op "faster_rcnn_mobilenet"): BatchNorm2d (eps 1e-5, as torchvision builds it with
weights=None) with randomised statistics, random conv biases (FPN, RPN head, squeeze-and-
excitation), weights calibrated on the photo, cls_score scaled by MOBILENET_CLS_SCORE_SCALE,
the RPN's objectness logits shifted by -MOBILENET_RPN_LOGIT_SHIFT so that rpn_score_thresh
0.05 (the family's) drops proposals, min_size 320 / max_size 533; the same arrays as the
fasterrcnn_resnet50_fpn case.
Skipped when DIR/index.json is newer than this script and the tools it imports
(--force regenerates).
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import boxes as box_ops
from torchvision.ops.misc import FrozenBatchNorm2d
from torchvision.ops.poolers import LevelMapper

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools")
sys.path.insert(0, TOOLS)
from export_torchvision import calibrate_weights  # noqa: E402
from safetensors_io import save_file  # noqa: E402
from reference_models import fasterrcnn_vgg16  # noqa: E402
# photo_paths and read_photo are also imported from here by tests/maskrcnn.
from reference_io import Writer, index_up_to_date, photo_paths, read_photo  # noqa: E402,F401

VERSION = 6
CLS_SCORE_SCALE = 0.6
# Files whose change invalidates existing references.
DEPENDENCIES = [os.path.abspath(__file__)] + [os.path.join(TOOLS, f) for f in ("export_torchvision.py", "safetensors_io.py", "reference_models.py", "reference_io.py")]


# ---------------------------------------------------------------- inputs

def random_boxes(g, n, width, height, min_size=1.0, max_size=100.0):
    """n boxes with top-left corners in the image and sizes in [min_size, max_size]."""
    xy = torch.rand(n, 2, generator=g) * torch.tensor([width, height])
    wh = min_size + torch.rand(n, 2, generator=g) * (max_size - min_size)
    return torch.cat([xy, xy + wh], dim=1)


def clustered_boxes(g, n, clusters, width, height):
    """n boxes jittered around `clusters` centres, so most of them overlap heavily."""
    centres = random_boxes(g, clusters, width, height, 20.0, 200.0)
    which = torch.randint(0, clusters, (n,), generator=g)
    base = centres[which]
    size = (base[:, 2:] - base[:, :2]).repeat(1, 2)
    return base + (torch.rand(n, 4, generator=g) - 0.5) * 0.3 * size


def edge_boxes():
    """Degenerate and awkward boxes: zero area, inverted, outside the image, duplicates."""
    return torch.tensor([
        [10, 10, 10, 10],      # a point
        [10, 10, 10, 50],      # zero width
        [10, 10, 60, 10],      # zero height
        [30, 30, 20, 20],      # inverted
        [-50, -40, -10, -5],   # fully outside (negative)
        [-20, -20, 40, 40],    # partly outside
        [380, 250, 450, 330],  # partly outside the far corner
        [500, 400, 600, 500],  # fully outside the far side
        [0, 0, 400, 300],      # the whole image
        [12, 14, 52, 64],
        [12, 14, 52, 64],      # duplicate
        [12.5, 14.25, 52.75, 64.5],
        [0.1, 0.2, 0.3, 0.4],  # tiny
    ], dtype=torch.float32)


def quantized_scores(g, n, levels):
    """Scores from a few distinct values, so many exact ties."""
    return (torch.randint(1, levels + 1, (n,), generator=g).float() / levels).to(torch.float32)


# ---------------------------------------------------------------- independent references

def soft_nms_reference(boxes, scores, method, sigma, iou_threshold, score_threshold):
    """Soft-NMS, Bodla et al. 2017, Algorithm 1, written from the paper in float64:
    take M = argmax s (first on ties), then s_i <- s_i * f(iou(M, b_i)) for the rest, with
      linear:   f = 1 - iou if iou >= N_t else 1
      gaussian: f = exp(-iou^2 / sigma);
    boxes whose score falls below score_threshold are dropped. IoU has no +1 and is 0 for a
    zero union."""
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64).copy()
    idx = np.arange(len(s))
    alive = s >= score_threshold
    idx, s, b = idx[alive], s[alive], b[alive]
    keep, kept_scores = [], []
    while len(idx):
        m = int(np.argmax(s))
        keep.append(int(idx[m]))
        kept_scores.append(s[m])
        M = b[m]
        rest = np.arange(len(idx)) != m
        idx, s, b = idx[rest], s[rest], b[rest]
        w = np.maximum(0.0, np.minimum(M[2], b[:, 2]) - np.maximum(M[0], b[:, 0]))
        h = np.maximum(0.0, np.minimum(M[3], b[:, 3]) - np.maximum(M[1], b[:, 1]))
        inter = w * h
        union = (M[2] - M[0]) * (M[3] - M[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
        iou = np.where((inter > 0) & (union > 0), inter / np.where(union > 0, union, 1.0), 0.0)
        if method == "linear":
            s = np.where(iou >= iou_threshold, s * (1.0 - iou), s)
        else:
            s = np.where(iou > 0, s * np.exp(-(iou * iou) / sigma), s)
        alive = s >= score_threshold
        idx, s, b = idx[alive], s[alive], b[alive]
    return np.array(keep, dtype=np.float32), np.array(kept_scores, dtype=np.float32)


def py_faster_rcnn_anchors(base_size=16, ratios=(0.5, 1, 2), scales=(8, 16, 32)):
    """generate_anchors of py-faster-rcnn (+1 convention, np.round), from its description."""
    def whctrs(a):
        w, h = a[2] - a[0] + 1, a[3] - a[1] + 1
        return w, h, a[0] + 0.5 * (w - 1), a[1] + 0.5 * (h - 1)

    def mk(ws, hs, cx, cy):
        ws, hs = np.asarray(ws, np.float64)[:, None], np.asarray(hs, np.float64)[:, None]
        return np.hstack([cx - 0.5 * (ws - 1), cy - 0.5 * (hs - 1), cx + 0.5 * (ws - 1), cy + 0.5 * (hs - 1)])

    base = np.array([1, 1, base_size, base_size], np.float64) - 1
    w, h, cx, cy = whctrs(base)
    ratios = np.asarray(ratios, np.float64)
    ws = np.round(np.sqrt(w * h / ratios))
    hs = np.round(ws * ratios)
    ratio_anchors = mk(ws, hs, cx, cy)
    out = []
    for a in ratio_anchors:
        w, h, cx, cy = whctrs(a)
        out.append(mk(w * np.asarray(scales, np.float64), h * np.asarray(scales, np.float64), cx, cy))
    return np.vstack(out)


# ---------------------------------------------------------------- cases

def box_cases(w):
    g = torch.Generator().manual_seed(1)
    a = torch.cat([random_boxes(g, 50, 400, 300), edge_boxes()])
    b = torch.cat([random_boxes(g, 40, 400, 300), edge_boxes()[:6]])
    w.case("box_iou", "box_iou", {"a": a, "b": b, "iou": box_ops.box_iou(a, b)})
    w.case("box_area", "box_area", {"boxes": a, "area": box_ops.box_area(a)})
    w.case("box_iou_empty", "box_iou", {"a": torch.zeros(0, 4), "b": b, "iou": box_ops.box_iou(torch.zeros(0, 4), b)})
    for h, wd in ((300, 400), (37, 53)):
        boxes = torch.cat([random_boxes(g, 40, 500, 400, 1, 200) - 50, edge_boxes()])
        w.case(f"clip_{h}x{wd}", "clip", {"boxes": boxes, "clipped": box_ops.clip_boxes_to_image(boxes, (h, wd))},
               height=h, width=wd)
    boxes = torch.cat([random_boxes(g, 60, 100, 100, 0.0, 6.0), edge_boxes(),
                       torch.tensor([[0, 0, 2.5, 2.5], [0, 0, 2.5, 2.4999], [1, 1, 3.5, 9]])])
    for min_size in (1e-3, 2.5):
        w.case(f"remove_small_{min_size}", "remove_small", {
            "boxes": boxes, "keep": box_ops.remove_small_boxes(boxes, min_size).float()}, min_size=min_size)


def nms_cases(w):
    g = torch.Generator().manual_seed(2)

    def nms_case(name, boxes, scores, iou):
        keep = box_ops.nms(boxes, scores, iou)
        w.case(name, "nms", {"boxes": boxes, "scores": scores, "keep": keep.float()}, iou_threshold=iou)

    nms_case("nms_empty", torch.zeros(0, 4), torch.zeros(0), 0.5)
    nms_case("nms_single", torch.tensor([[1.0, 2.0, 30.0, 40.0]]), torch.tensor([0.3]), 0.5)
    boxes = random_boxes(g, 500, 400, 300, 5, 120)
    nms_case("nms_random", boxes, torch.rand(500, generator=g), 0.5)
    nms_case("nms_random_iou0", boxes, torch.rand(500, generator=g), 0.0)
    nms_case("nms_random_iou1", boxes, torch.rand(500, generator=g), 1.0)
    boxes = clustered_boxes(g, 400, 12, 400, 300)
    nms_case("nms_ties", boxes, quantized_scores(g, 400, 4), 0.3)
    boxes = torch.cat([edge_boxes(), random_boxes(g, 30, 100, 100, 0, 40), edge_boxes()])
    nms_case("nms_degenerate", boxes, quantized_scores(g, len(boxes), 3), 0.5)
    boxes = clustered_boxes(g, 20000, 300, 1200, 900)
    scores = torch.round(torch.rand(20000, generator=g) * 1000) / 1000  # ties too
    nms_case("nms_20k", boxes, scores, 0.7)
    nms_case("nms_20k_iou03", boxes, scores, 0.3)

    def bnms_case(name, boxes, scores, ids, iou, extra=None, unstable_ties=False):
        keep = box_ops.batched_nms(boxes, scores, ids, iou)
        arrays = {"boxes": boxes, "scores": scores, "ids": ids.float(), "keep": keep.float()}
        arrays.update(extra or {})
        w.case(name, "batched_nms", arrays, iou_threshold=iou, unstable_ties=unstable_ties)

    bnms_case("bnms_empty", torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5)
    # up to 1000 boxes torchvision offsets the classes apart (the coordinate trick)
    boxes = torch.cat([clustered_boxes(g, 780, 20, 400, 300), edge_boxes()])
    ids = torch.randint(0, 5, (len(boxes),), generator=g)
    scores = quantized_scores(g, len(boxes), 10)
    per_class = box_ops._batched_nms_vanilla(boxes, scores, ids, 0.5)
    bnms_case("bnms_small", boxes, scores, ids, 0.5, {"keep_per_class": per_class.float()})
    # all coordinates negative: the offset (max + 1 = 0) does not separate the classes, so
    # torchvision lets class 0 suppress class 1; the per-class loop keeps both
    boxes = torch.tensor([[-10.0, -10, -2, -2], [-9, -9, -1, -1]])
    ids, scores = torch.tensor([0, 1]), torch.tensor([0.9, 0.8])
    bnms_case("bnms_negative", boxes, scores, ids, 0.5,
              {"keep_per_class": box_ops._batched_nms_vanilla(boxes, scores, ids, 0.5).float()})
    boxes = clustered_boxes(g, 1000, 30, 400, 300)
    ids = torch.randint(0, 91, (1000,), generator=g)
    bnms_case("bnms_1000_91_classes", boxes, torch.rand(1000, generator=g), ids, 0.5)
    # above 1000 boxes it loops over classes
    boxes = clustered_boxes(g, 3000, 60, 800, 600)
    ids = torch.randint(0, 20, (3000,), generator=g)
    scores = torch.rand(3000, generator=g)
    offset = box_ops._batched_nms_coordinate_trick(boxes, scores, ids, 0.5)
    bnms_case("bnms_large", boxes, scores, ids, 0.5, {"keep_offset": offset.float()})
    # ties above 1000 boxes: torchvision's final sort there is torch.sort (not stable), so
    # the order within equal scores is not checked (unstable_ties); Osprey's is stable
    bnms_case("bnms_large_ties", boxes, quantized_scores(g, 3000, 8), ids, 0.5, unstable_ties=True)


def soft_nms_cases(w):
    g = torch.Generator().manual_seed(3)
    boxes = torch.cat([clustered_boxes(g, 380, 15, 400, 300), edge_boxes()])
    scores = torch.rand(len(boxes), generator=g)
    tie_scores = quantized_scores(g, len(boxes), 5)
    f32 = lambda v: float(np.float32(v))  # the parameters as the C++ side holds them
    for name, method, sc, sigma, nt, thr in (
            ("soft_nms_linear", "linear", scores, 0.5, 0.3, 0.001),
            ("soft_nms_gaussian", "gaussian", scores, 0.5, 0.3, 0.001),
            ("soft_nms_gaussian_ties", "gaussian", tie_scores, 0.5, 0.3, 0.001),
            ("soft_nms_linear_ties", "linear", tie_scores, 0.5, 0.5, 0.05),
            ("soft_nms_gaussian_wide", "gaussian", scores, 0.1, 0.3, 0.01)):
        keep, kept = soft_nms_reference(boxes.numpy(), sc.numpy(), method, f32(sigma), f32(nt), f32(thr))
        w.case(name, "soft_nms", {"boxes": boxes, "scores": sc, "keep": keep, "kept_scores": kept},
               method=method, sigma=sigma, iou_threshold=nt, score_threshold=thr)
    keep, kept = soft_nms_reference(np.zeros((0, 4)), np.zeros(0), "gaussian", 0.5, 0.3, 0.001)
    w.case("soft_nms_empty", "soft_nms", {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "keep": keep,
                                          "kept_scores": kept},
           method="gaussian", sigma=0.5, iou_threshold=0.3, score_threshold=0.001)


def box_coder_cases(w):
    g = torch.Generator().manual_seed(4)
    for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
        tag = "rpn" if weights[0] == 1 else "head"
        coder = BoxCoder(weights)
        refs = random_boxes(g, 300, 800, 600, 2, 300)
        gt = random_boxes(g, 300, 800, 600, 2, 300)
        w.case(f"encode_{tag}", "encode", {"boxes": gt, "references": refs,
                                           "deltas": coder.encode_single(gt, refs)}, weights=list(weights))
        k = 1 if tag == "rpn" else 3
        codes = torch.randn(300, 4 * k, generator=g) * 2
        codes[::7, 2::4] = 8.0 * weights[2]  # beyond the exp clamp
        codes[::11, 3::4] = -6.0
        w.case(f"decode_{tag}", "decode", {"deltas": codes, "references": refs,
                                           "boxes": coder.decode_single(codes, refs).reshape(300, k, 4)},
               weights=list(weights), classes=k)
        # round trip through the coder
        w.case(f"decode_encoded_{tag}", "decode", {"deltas": coder.encode_single(gt, refs), "references": refs,
                                                   "boxes": coder.decode_single(coder.encode_single(gt, refs), refs)},
               weights=list(weights), classes=1)


def anchor_cases(w):
    configs = (
        ("anchors_fpn", ((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5, (512, 640),
         ((128, 160), (64, 80), (32, 40), (16, 20), (8, 10))),
        ("anchors_c4", ((128, 256, 512),), ((0.5, 1.0, 2.0),), (600, 1000), ((38, 63),)),
        ("anchors_odd", ((16, 40), (100,)), ((0.25, 0.7, 1.3), (1.0, 3.0)), (333, 500), ((21, 32), (11, 16))),
    )
    for name, sizes, ratios, image, feats in configs:
        gen = AnchorGenerator(sizes, ratios)
        images = ImageList(torch.zeros(1, 3, *image), [image])
        maps = [torch.zeros(1, 1, *f) for f in feats]
        anchors = gen(images, maps)[0]
        cells = torch.cat(gen.cell_anchors)
        w.case(name, "anchors", {"anchors": anchors, "cell_anchors": cells},
               sizes=[list(map(float, s)) for s in sizes], aspect_ratios=[list(r) for r in ratios],
               image=list(image), feature_maps=[list(f) for f in feats])
    cells = py_faster_rcnn_anchors()
    grid = (5, 7)
    sx, sy = np.meshgrid(np.arange(grid[1]) * 16, np.arange(grid[0]) * 16)
    shifts = np.stack([sx.ravel(), sy.ravel(), sx.ravel(), sy.ravel()], axis=1)
    anchors = (cells[None, :, :] + shifts[:, None, :]).reshape(-1, 4)
    w.case("anchors_faster_rcnn", "faster_rcnn_anchors", {"cell_anchors": cells, "anchors": anchors},
           grid=list(grid), stride=16)


def roi_boxes(g, n, width, height):
    boxes = torch.cat([random_boxes(g, n, width * 1.1, height * 1.1, 0.2, width * 0.8) - 0.05 * width,
                       torch.tensor([[5, 6, 5, 6], [8, 4, 3, 2], [-30, -30, -5, -5], [0, 0, width, height],
                                     [width - 3, height - 3, width + 40, height + 40], [2.2, 3.7, 2.9, 4.1],
                                     [width + 5, 2, width + 30, 20]], dtype=torch.float32)])
    ids = torch.randint(0, 2, (len(boxes), 1), generator=g).float()
    return torch.cat([ids, boxes], dim=1)


def roi_cases(w):
    g = torch.Generator().manual_seed(5)
    feats = torch.rand(2, 3, 24, 30, generator=g)
    rois = roi_boxes(g, 40, 60, 48)  # image 48x60 at stride 2
    variants = [(7, 7, 0.5, 0, False), (7, 7, 0.5, 0, True), (7, 7, 0.5, 2, False), (7, 7, 0.5, 2, True),
                (3, 5, 0.25, -1, True), (2, 2, 1.0, 1, False), (14, 14, 0.5, 0, True)]
    for oh, ow, scale, sr, aligned in variants:
        out = torchvision.ops.roi_align(feats, rois, (oh, ow), spatial_scale=scale, sampling_ratio=sr, aligned=aligned)
        w.case(f"roi_align_{oh}x{ow}_s{scale}_r{sr}_{'aligned' if aligned else 'legacy'}", "roi_align",
               {"features": feats, "rois": rois, "out": out},
               output=[oh, ow], spatial_scale=scale, sampling_ratio=sr, aligned=aligned)
    empty = torchvision.ops.roi_align(feats, torch.zeros(0, 5), (7, 7), 0.5, 2, True)
    w.case("roi_align_empty", "roi_align", {"features": feats, "rois": torch.zeros(0, 5), "out": empty},
           output=[7, 7], spatial_scale=0.5, sampling_ratio=2, aligned=True)
    for oh, ow, scale in ((5, 4, 0.5), (7, 7, 1.0), (2, 3, 0.25)):
        out = torchvision.ops.roi_pool(feats, rois, (oh, ow), spatial_scale=scale)
        w.case(f"roi_pool_{oh}x{ow}_s{scale}", "roi_pool", {"features": feats, "rois": rois, "out": out},
               output=[oh, ow], spatial_scale=scale)


def multiscale_cases(w):
    g = torch.Generator().manual_seed(6)
    configs = (
        ("msroi_fpn", (256, 320), [(256, 320), (240, 300)], [(64, 80), (32, 40), (16, 20), (8, 10)], 2, (7, 7)),
        ("msroi_odd", (250, 333), [(250, 333), (201, 300)], [(63, 84), (32, 42), (16, 21), (8, 11)], 0, (5, 3)),
        ("msroi_single", (256, 320), [(256, 320), (256, 320)], [(16, 20)], 2, (7, 7)),
        ("msroi_two_levels", (256, 320), [(256, 320), (256, 320)], [(32, 40), (16, 20)], 1, (4, 4)),
    )
    for name, image, image_sizes, feat_sizes, sr, out_size in configs:
        feats = {f"p{i}": torch.rand(2, 4, *s, generator=g) for i, s in enumerate(feat_sizes)}
        boxes = []
        for b in range(2):
            n = 25
            xy = torch.rand(n, 2, generator=g) * torch.tensor([image[1], image[0]]) * 0.8
            wh = torch.exp(torch.rand(n, 2, generator=g) * math.log(250.0)) + 1.0
            boxes.append(torch.cat([xy, xy + wh], dim=1))
        # inverted (negative area: torchvision pools it from no level), zero area, level edges
        boxes[0] = torch.cat([boxes[0], torch.tensor([[50, 50, 40, 80], [10, 10, 10, 30], [0, 0, 112, 112],
                                                      [0, 0, 224, 224], [5, 5, 453, 5 + 448 * 0.5]])])
        pooler = torchvision.ops.MultiScaleRoIAlign(list(feats.keys()), out_size, sr)
        out = pooler(feats, boxes, image_sizes)
        rois = torch.cat([torch.cat([torch.full((len(bx), 1), float(i)), bx], dim=1) for i, bx in enumerate(boxes)])
        arrays = {"rois": rois, "out": out}
        arrays.update({f"features{i}": f for i, f in enumerate(feats.values())})
        w.case(name, "multiscale_roi_align", arrays, levels=len(feat_sizes), image_sizes=[list(s) for s in image_sizes],
               output=list(out_size), sampling_ratio=sr, scales=pooler.scales)

    boxes = torch.cat([random_boxes(g, 200, 1000, 800, 0, 900),
                       torch.tensor([[0, 0, 112, 112], [0, 0, 224, 224], [0, 0, 448, 448], [0, 0, 56, 56],
                                     [0, 0, 896, 896], [0, 0, 111.99, 112], [3, 3, 3, 3], [0, 0, 1, 1]])])
    levels = LevelMapper(2, 5)([boxes])
    w.case("level_mapper", "level_mapper", {"boxes": boxes, "levels": levels.float()}, k_min=2, k_max=5)


def frozen_batchnorm(module, eps):
    """`module` with every BatchNorm2d replaced by a FrozenBatchNorm2d(eps): the backbone
    fasterrcnn_resnet50_fpn builds when it loads weights (weights=None gives BatchNorm2d)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm2d(child.num_features, eps=eps))
        else:
            frozen_batchnorm(child, eps)
    return module


def backbone_cases(w):
    """fasterrcnn_resnet50_fpn's backbone (ResNet-50 body with FrozenBatchNorm2d, FPN,
    LastLevelMaxPool) on seeded weights; files in DIR/backbone/."""
    seed = 2024
    eps = 0.0  # overwrite_eps(model, 0.0), as for the COCO weights
    torch.manual_seed(seed)
    detector = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    backbone = frozen_batchnorm(detector.backbone, eps).eval()
    g = torch.Generator().manual_seed(seed + 1)

    def u(lo, hi, t):
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    for m in backbone.modules():  # the ranges of export_torchvision.randomize_batchnorm
        if isinstance(m, FrozenBatchNorm2d):
            m.weight.copy_(u(0.5, 1.5, m.weight))
            m.bias.copy_(u(-0.2, 0.2, m.bias))
            m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
            m.running_var.copy_(u(0.5, 2.0, m.running_var))
    for m in backbone.fpn.modules():  # torchvision initialises them to 0
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            m.bias.copy_(u(-0.5, 0.5, m.bias))
    calibrate_weights(backbone, torch.randn(2, 3, 256, 320, generator=torch.Generator().manual_seed(seed + 2)))

    tensors = {"backbone." + k: v.detach().float().contiguous() for k, v in backbone.state_dict().items()}
    expected = {k for k in detector.state_dict() if k.startswith("backbone.") and not k.endswith("num_batches_tracked")}
    if set(tensors) != expected:
        raise SystemExit(f"backbone keys differ from the detector's: {sorted(set(tensors) ^ expected)[:10]}")
    sub = os.path.join(w.out_dir, "backbone")
    os.makedirs(sub, exist_ok=True)
    weights = "backbone/resnet50_fpn.safetensors"
    save_file(tensors, os.path.join(w.out_dir, weights),
              metadata={"model": "fasterrcnn_resnet50_fpn.backbone", "seed": str(seed), "bn_eps": str(eps),
                        "purpose": "detect parity reference"})
    names = ["0", "1", "2", "3", "pool"]
    for case, shape, input_seed in (("backbone_resnet50_fpn", (2, 3, 256, 320), seed + 3),
                                    ("backbone_resnet50_fpn_odd", (1, 3, 250, 333), seed + 4)):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(input_seed))
        out = backbone(x)
        if list(out.keys()) != names:
            raise SystemExit(f"unexpected backbone outputs {list(out.keys())}")
        arrays = {"input": x}
        arrays.update({f"out_{k}": v for k, v in out.items()})
        files = {}
        for key, value in arrays.items():
            fname = f"backbone/{case}.{key}.npy"
            np.save(os.path.join(w.out_dir, fname), np.ascontiguousarray(value.numpy(), dtype=np.float32))
            files[key] = fname
        w.cases[case] = dict(op="resnet_fpn_backbone", arrays=files, weights=weights, depth=50, bn_eps=eps,
                             out_channels=256, outputs=names,
                             output_shapes=[list(v.shape) for v in out.values()],
                             max_abs={k: float(v.abs().max()) for k, v in out.items()})


def save_arrays(w, sub, case, arrays):
    files = {}
    for key, value in arrays.items():
        fname = f"{sub}/{case}.{key}.npy"
        np.save(os.path.join(w.out_dir, fname), np.ascontiguousarray(np.asarray(value, dtype=np.float32)))
        files[key] = fname
    return files


def transform_cases(w):
    """GeneralizedRCNNTransform at the default 800 / 1333: one photo (shorter side rule) and
    synthetic images where the longer side caps the scale, or the size is kept."""
    from torchvision.models.detection.transform import GeneralizedRCNNTransform
    sub = "detector"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    transform = GeneralizedRCNNTransform(800, 1333, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).eval()
    g = torch.Generator().manual_seed(11)
    images = {"transform_dog": read_photo(photo_paths(["dog.jpg"])[0]),
              "transform_wide": torch.rand(3, 100, 417, generator=g),
              "transform_tall": torch.rand(3, 1500, 301, generator=g),
              "transform_same": torch.rand(3, 800, 1000, generator=g)}
    for case, image in images.items():
        out, _ = transform([image])
        files = save_arrays(w, sub, case, {"image": image, "batch": out.tensors})
        w.cases[case] = dict(op="rcnn_transform", arrays=files, min_size=800, max_size=1333,
                             image_size=list(out.image_sizes[0]))


def run_captured(model, images):
    """model(images) with what torchvision computed on the way: the transform's output, the
    RPN head outputs, the proposals, the box predictor outputs and roi_heads' raw results."""
    captured = {}

    def keep(name):
        def hook(module, inputs, output):
            captured[name] = output
        return hook

    handles = [model.transform.register_forward_hook(keep("transform")),
               model.rpn.head.register_forward_hook(keep("rpn_head")),
               model.roi_heads.box_predictor.register_forward_hook(keep("box_predictor")),
               model.roi_heads.register_forward_hook(keep("roi_heads"))]
    # transform.postprocess rescales the boxes of roi_heads' result dicts in place
    handles.append(model.roi_heads.register_forward_hook(
        lambda module, inputs, output: captured.update(raw=[{k: v.clone() for k, v in r.items()} for r in output[0]])))
    filter_proposals = model.rpn.filter_proposals

    def capture_proposals(*args):
        captured["proposals"] = filter_proposals(*args)
        return captured["proposals"]

    model.rpn.filter_proposals = capture_proposals
    try:
        result = model(images)
    finally:
        for h in handles:
            h.remove()
        del model.rpn.filter_proposals
    return result, captured


def detector_arrays(images, result, captured):
    """The arrays of an op "faster_rcnn" case, the ImageList and the number of levels."""
    image_list = captured["transform"][0]
    objectness, deltas = captured["rpn_head"]
    boxes, scores = captured["proposals"]
    class_logits, box_regression = captured["box_predictor"]
    raw = captured["raw"]
    arrays = {"batch": image_list.tensors, "class_logits": class_logits, "box_regression": box_regression}
    for i, image in enumerate(images):
        arrays[f"image{i}"] = image
        arrays[f"proposals{i}"] = boxes[i]
        arrays[f"proposal_scores{i}"] = scores[i]
        arrays[f"raw_boxes{i}"] = raw[i]["boxes"]
        arrays[f"boxes{i}"] = result[i]["boxes"]
        arrays[f"scores{i}"] = result[i]["scores"]
        arrays[f"labels{i}"] = result[i]["labels"].float()
    for l in range(len(objectness)):
        arrays[f"objectness{l}"] = objectness[l]
        arrays[f"deltas{l}"] = deltas[l]
    return arrays, image_list, len(objectness)


def detector_cases(w):
    """fasterrcnn_resnet50_fpn end to end on two photos, seeded weights; files in DIR/detector/."""
    seed = 2025
    eps = 0.0
    min_size, max_size = 512, 853  # smaller than 800 / 1333 to keep both sides fast on 2 cores
    cls_scale = CLS_SCORE_SCALE
    torch.manual_seed(seed)
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None,
                                                                 min_size=min_size, max_size=max_size)
    frozen_batchnorm(model.backbone, eps)
    model.eval()
    g = torch.Generator().manual_seed(seed + 1)

    def u(lo, hi, t):
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    for m in model.backbone.modules():
        if isinstance(m, FrozenBatchNorm2d):
            m.weight.copy_(u(0.5, 1.5, m.weight))
            m.bias.copy_(u(-0.2, 0.2, m.bias))
            m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
            m.running_var.copy_(u(0.5, 2.0, m.running_var))
    for m in list(model.backbone.fpn.modules()) + list(model.rpn.head.modules()):
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:  # torchvision initialises them to 0
            m.bias.copy_(u(-0.5, 0.5, m.bias))
    names = ["dog.jpg", "person.jpg"]
    images = [read_photo(p) for p in photo_paths(names)]
    calibrate_weights(model, images)
    # Calibrated logits (std 1 over 91 classes) leave almost every softmax score below
    # 0.05: sharpen them so that several dozen detections survive.
    for p in model.roi_heads.box_predictor.cls_score.parameters():
        p.mul_(cls_scale)

    result, captured = run_captured(model, images)

    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    sub = "detector"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    weights = f"{sub}/fasterrcnn_resnet50_fpn.safetensors"
    save_file(tensors, os.path.join(w.out_dir, weights),
              metadata={"model": "fasterrcnn_resnet50_fpn", "seed": str(seed), "bn_eps": str(eps),
                        "purpose": "detect parity reference"})
    arrays, image_list, levels = detector_arrays(images, result, captured)
    case = "fasterrcnn_resnet50_fpn"
    files = save_arrays(w, sub, case, arrays)
    w.cases[case] = dict(op="faster_rcnn", arrays=files, weights=weights, bn_eps=eps, num_classes=91,
                         photos=names, images=len(images), levels=levels,
                         min_size=min_size, max_size=max_size, image_sizes=[list(s) for s in image_list.image_sizes],
                         detections=[len(r["boxes"]) for r in result], cls_score_scale=cls_scale)


V2_CLS_SCORE_SCALE = 0.65


def detector_v2_cases(w):
    """fasterrcnn_resnet50_fpn_v2 (Li et al. 2021) end to end on dog.jpg, seeded weights:
    BatchNorm2d (eps 1e-5) in the body, the FPN blocks and the box head with randomised
    statistics, random conv biases, weights calibrated on the photo, cls_score scaled by
    V2_CLS_SCORE_SCALE; min_size 384 / max_size 640. Op "faster_rcnn_v2", files in DIR/detector_v2/."""
    seed = 2027
    min_size, max_size = 384, 640
    torch.manual_seed(seed)
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None,
                                                                    min_size=min_size, max_size=max_size).eval()
    g = torch.Generator().manual_seed(seed + 1)

    def u(lo, hi, t):
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.copy_(u(0.5, 1.5, m.weight))
            m.bias.copy_(u(-0.2, 0.2, m.bias))
            m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
            m.running_var.copy_(u(0.5, 2.0, m.running_var))
        elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:  # the RPN head's: torchvision sets 0
            m.bias.copy_(u(-0.5, 0.5, m.bias))
    names = ["dog.jpg"]
    images = [read_photo(p) for p in photo_paths(names)]
    calibrate_weights(model, images)
    for p in model.roi_heads.box_predictor.cls_score.parameters():
        p.mul_(V2_CLS_SCORE_SCALE)
    result, captured = run_captured(model, images)

    sub = "detector_v2"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    weights = f"{sub}/fasterrcnn_resnet50_fpn_v2.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()},
              os.path.join(w.out_dir, weights),
              metadata={"model": "fasterrcnn_resnet50_fpn_v2", "seed": str(seed), "purpose": "detect parity reference"})
    arrays, image_list, levels = detector_arrays(images, result, captured)
    case = "fasterrcnn_resnet50_fpn_v2"
    w.cases[case] = dict(op="faster_rcnn_v2", arrays=save_arrays(w, sub, case, arrays), weights=weights,
                         family="fasterrcnn_resnet50_fpn_v2", bn_eps=1e-5, num_classes=91, photos=names,
                         images=len(images), levels=levels, min_size=min_size, max_size=max_size,
                         image_sizes=[list(s) for s in image_list.image_sizes],
                         detections=[len(r["boxes"]) for r in result], cls_score_scale=V2_CLS_SCORE_SCALE)


MOBILENET_CLS_SCORE_SCALE = 0.4
MOBILENET_RPN_LOGIT_SHIFT = 2.0


def detector_mobilenet_cases(w):
    """fasterrcnn_mobilenet_v3_large_fpn on dog.jpg, seeded weights; DIR/detector_mobilenet/."""
    seed = 2028
    min_size, max_size = 320, 533
    torch.manual_seed(seed)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, min_size=min_size, max_size=max_size).eval()
    assert model.rpn.score_thresh == 0.05
    g = torch.Generator().manual_seed(seed + 1)

    def u(lo, hi, t):
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.eps == 1e-5
            m.weight.copy_(u(0.5, 1.5, m.weight))
            m.bias.copy_(u(-0.2, 0.2, m.bias))
            m.running_mean.copy_(u(-0.2, 0.2, m.running_mean))
            m.running_var.copy_(u(0.5, 2.0, m.running_var))
        elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:  # torchvision initialises them to 0
            m.bias.copy_(u(-0.5, 0.5, m.bias))
    names = ["dog.jpg"]
    images = [read_photo(p) for p in photo_paths(names)]
    calibrate_weights(model, images)
    for p in model.roi_heads.box_predictor.cls_score.parameters():
        p.mul_(MOBILENET_CLS_SCORE_SCALE)
    # Calibrated objectness keeps every sigmoid above 0.05: shift it so that the RPN's score
    # threshold drops a part of the proposals.
    model.rpn.head.cls_logits.bias.sub_(MOBILENET_RPN_LOGIT_SHIFT)
    result, captured = run_captured(model, images)

    sub = "detector_mobilenet"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    weights = f"{sub}/fasterrcnn_mobilenet_v3_large_fpn.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()},
              os.path.join(w.out_dir, weights),
              metadata={"model": "fasterrcnn_mobilenet_v3_large_fpn", "seed": str(seed),
                        "purpose": "detect parity reference"})
    arrays, image_list, levels = detector_arrays(images, result, captured)
    case = "fasterrcnn_mobilenet_v3_large_fpn"
    w.cases[case] = dict(op="faster_rcnn_mobilenet", arrays=save_arrays(w, sub, case, arrays), weights=weights,
                         family="fasterrcnn_mobilenet_v3_large_fpn", bn_eps=1e-5, num_classes=91, photos=names,
                         images=len(images), levels=levels, min_size=min_size, max_size=max_size,
                         image_sizes=[list(s) for s in image_list.image_sizes], rpn_score_thresh=0.05,
                         detections=[len(r["boxes"]) for r in result], cls_score_scale=MOBILENET_CLS_SCORE_SCALE)
    print(f"{case}: {len(captured['proposals'][0][0])} proposals, {len(result[0]['boxes'])} detections")


VGG_CLS_SCORE_SCALE = 1.0


def vgg16_detector_cases(w):
    """fasterrcnn_vgg16 (tools/reference_models.py) on dog.jpg, seeded weights; DIR/vgg16/."""
    from torchvision.models.detection.transform import resize_boxes
    seed = 2026
    min_size, max_size, post_nms = 384, 640, 300
    torch.manual_seed(seed)
    model = fasterrcnn_vgg16(num_classes=21, min_size=min_size, max_size=max_size,
                             rpn_post_nms_top_n_test=post_nms).eval()
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.rpn.head.modules():  # torchvision initialises them to 0
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
    names = ["dog.jpg"]
    images = [read_photo(p) for p in photo_paths(names)]
    calibrate_weights(model, images)
    for p in model.roi_heads.box_predictor.cls_score.parameters():
        p.mul_(VGG_CLS_SCORE_SCALE)

    result, captured = run_captured(model, images)

    sub = "vgg16"
    os.makedirs(os.path.join(w.out_dir, sub), exist_ok=True)
    weights = f"{sub}/fasterrcnn_vgg16.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()}, os.path.join(w.out_dir, weights),
              metadata={"model": "fasterrcnn_vgg16", "seed": str(seed), "purpose": "detect parity reference"})
    image_list = captured["transform"][0]
    objectness, deltas = captured["rpn_head"]
    boxes, scores = captured["proposals"]
    class_logits, box_regression = captured["box_predictor"]
    arrays = {"image0": images[0], "batch": image_list.tensors, "objectness0": objectness[0], "deltas0": deltas[0],
              "proposals0": boxes[0], "proposal_scores0": scores[0], "class_logits": class_logits,
              "box_regression": box_regression, "boxes0": result[0]["boxes"], "scores0": result[0]["scores"],
              "labels0": result[0]["labels"].float()}
    common = dict(weights=weights, num_classes=21, photos=names, images=1, min_size=min_size, max_size=max_size,
                  post_nms_top_n=post_nms, image_sizes=[list(s) for s in image_list.image_sizes],
                  cls_score_scale=VGG_CLS_SCORE_SCALE)
    case = "fasterrcnn_vgg16"
    w.cases[case] = dict(op="faster_rcnn_vgg16", arrays=save_arrays(w, sub, case, arrays),
                         detections=[len(r["boxes"]) for r in result], **common)

    # Fast R-CNN: the same heads on given proposals (input-image pixels), no RPN.
    h, wd = images[0].shape[1:]
    given = torch.cat([random_boxes(g, 150, wd - 40, h - 40, 16, 400),
                       torch.tensor([[0.0, 0.0, wd, h], [100.5, 120.25, 300.75, 420.5], [5.0, 5.0, 5.0, 5.0]])])
    given[:, 2:] = torch.minimum(given[:, 2:], torch.tensor([float(wd), float(h)]))
    image_list, _ = model.transform(images)
    features = model.backbone(image_list.tensors)
    if isinstance(features, torch.Tensor):
        features = {"0": features}
    resized = resize_boxes(given, (h, wd), image_list.image_sizes[0])
    detections, _ = model.roi_heads(features, [resized], image_list.image_sizes)
    detections = model.transform.postprocess(detections, image_list.image_sizes, [(h, wd)])
    case = "fast_rcnn_vgg16"
    arrays = {"image0": images[0], "given0": given, "boxes0": detections[0]["boxes"],
              "scores0": detections[0]["scores"], "labels0": detections[0]["labels"].float()}
    w.cases[case] = dict(op="fast_rcnn_vgg16", arrays=save_arrays(w, sub, case, arrays),
                         detections=[len(d["boxes"]) for d in detections], **common)


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
    torch.set_num_threads(1)
    start = time.time()
    w = Writer(args.out, VERSION)
    with torch.no_grad():
        for make in (box_cases, nms_cases, soft_nms_cases, box_coder_cases, anchor_cases, roi_cases, multiscale_cases,
                     backbone_cases, transform_cases, detector_cases, detector_v2_cases, detector_mobilenet_cases,
                     vgg16_detector_cases):
            make(w)
    w.finish()
    print(f"{len(w.cases)} cases in {args.out} ({time.time() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
