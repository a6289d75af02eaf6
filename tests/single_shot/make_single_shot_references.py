#!/usr/bin/python3
"""References for the single-shot detectors (lib/detect/letterbox, yolo_onnx, db_text).

  /usr/bin/python3 tests/single_shot/make_single_shot_references.py --out DIR [--force]

Writes DIR/index.json and .npy arrays (float32):
  - letterbox: Ultralytics' LetterBox (ultralytics/data/augment.py, auto=False, pad 114)
    and Darknet's letterbox_image (src/image.c: resize_image's two-pass corner-aligned
    bilinear, 0.5 canvas) of a photo, re-implemented below.
  - yolov5 / yolov8: tiny conv nets exported with torch.onnx.export whose heads emit the
    exact Ultralytics export layouts ([N, boxes, 5 + 80] and [N, 4 + 80, boxes]), weights
    calibrated on the photos so that real detections appear; run on the six darknet photos
    through the reference pipeline: letterbox (LetterBox), the network in PyTorch,
    non_max_suppression (YOLOv5's utils/general.py for v5, ultralytics/utils/ops.py for
    v8) with torchvision.ops.nms, scale_boxes + clip_boxes (ultralytics/utils/ops.py).
  - db_text: PaddleOCR's PP-OCRv4 detector on the three scene-text photos: DetResizeForTest
    (limit_side_len 960, limit_type 'max', sides rounded to multiples of 32; the resize is
    the float bilinear one Osprey uses, see below) + NormalizeImage (BGR, ImageNet
    mean/std on /255), the probability map from ONNX Runtime (tools/onnx/ort_run.mjs), and
    DBPostProcess (ppocr/postprocess/db_postprocess.py, quad boxes, score_mode fast;
    thresh 0.3, box_thresh 0.6, unclip_ratio 1.5, max_candidates 1000) with cv2 and
    pyclipper, re-implemented below.
Images are saved decoded (float32 [3, H, W] RGB in [0, 1]) so JPEG decoding stays out of
the comparison. Skipped when DIR/index.json carries this VERSION (--force regenerates).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image

VERSION = 4
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "assets", "photos", "darknet")
TEXT_PHOTOS = os.path.join(ROOT, "assets", "photos", "text")
NC = 80
MAX_WH = 7680  # Ultralytics' class offset in non_max_suppression


def load_rgb(path):
    """float32 [3, H, W] RGB in [0, 1] (PIL and OpenCV decode these JPEGs identically)."""
    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"), np.float32).transpose(2, 0, 1) / 255.0)


def py_round(v):
    return int(round(v))  # Python's round: halves to even, as Ultralytics uses it


# ---------------------------------------------------------------- letterboxes

def letterbox_ultralytics(img, new_h, new_w, pad=114.0 / 255.0):
    """LetterBox(new_shape, auto=False, scaleup=True): resize with cv2.resize INTER_LINEAR,
    which on float input is the bilinear formula of F.interpolate(align_corners=False,
    antialias=False); pads split round(d - 0.1) / round(d + 0.1)."""
    _, h, w = img.shape
    r = min(new_h / h, new_w / w)
    unpad_w, unpad_h = py_round(w * r), py_round(h * r)
    dw, dh = (new_w - unpad_w) / 2, (new_h - unpad_h) / 2
    x = torch.from_numpy(img)[None]
    if (unpad_h, unpad_w) != (h, w):
        x = F.interpolate(x, size=(unpad_h, unpad_w), mode="bilinear", align_corners=False)
    top, bottom = py_round(dh - 0.1), py_round(dh + 0.1)
    left, right = py_round(dw - 0.1), py_round(dw + 0.1)
    x = F.pad(x, (left, right, top, bottom), value=pad)
    assert x.shape[2:] == (new_h, new_w)
    return x[0].numpy()


def darknet_resize(img, w, h):
    """src/image.c resize_image in float32: columns first (sx = c * (im.w-1)/(w-1)), then rows;
    the last column copies the source's last, the last row takes (1 - dy) of its row only."""
    c, ih, iw = img.shape
    f = np.float32
    w_scale = f(iw - 1) / f(w - 1)
    h_scale = f(ih - 1) / f(h - 1)
    part = np.empty((c, ih, w), np.float32)
    for col in range(w):
        if col == w - 1 or iw == 1:
            part[:, :, col] = img[:, :, iw - 1]
        else:
            sx = f(col) * w_scale
            ix = int(sx)
            dx = f(sx - f(ix))
            part[:, :, col] = (f(1) - dx) * img[:, :, ix] + dx * img[:, :, ix + 1]
    out = np.empty((c, h, w), np.float32)
    for r in range(h):
        sy = f(r) * h_scale
        iy = int(sy)
        dy = f(sy - f(iy))
        out[:, r, :] = (f(1) - dy) * part[:, iy, :]
        if r == h - 1 or ih == 1:
            continue
        out[:, r, :] += dy * part[:, iy + 1, :]
    return out


def letterbox_darknet(img, net_h, net_w):
    _, h, w = img.shape
    if np.float32(net_w) / np.float32(w) < np.float32(net_h) / np.float32(h):
        new_w, new_h = net_w, (h * net_w) // w
    else:
        new_h, new_w = net_h, (w * net_h) // h
    resized = darknet_resize(img, new_w, new_h)
    boxed = np.full((img.shape[0], net_h, net_w), 0.5, np.float32)
    dx, dy = (net_w - new_w) // 2, (net_h - new_h) // 2
    boxed[:, dy:dy + new_h, dx:dx + new_w] = resized
    return boxed


# ---------------------------------------------------------------- tiny YOLO-layout nets

class TinyYolo(nn.Module):
    """Three strides (8, 16, 32) like YOLO's P3-P5, a 1x1 head per level decoded in the
    network as the exports do: xy = (grid + 0.5 + tanh) * stride, wh = sigmoid * 8 * stride,
    scores = sigmoid. v8: [N, 4 + C, boxes]; v5: [N, boxes, 5 + C] with objectness."""

    def __init__(self, v5, h, w):
        super().__init__()
        self.v5 = v5
        act = nn.SiLU
        self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), act())
        self.c2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), act())
        self.c3 = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), act())
        self.c4 = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), act())
        self.c5 = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), act())
        self.no = 4 + (1 if v5 else 0) + NC
        self.heads = nn.ModuleList(nn.Conv2d(32, self.no, 1) for _ in range(3))
        self.strides = [8, 16, 32]
        for i, s in enumerate(self.strides):
            gy, gx = torch.meshgrid(torch.arange(h // s, dtype=torch.float32), torch.arange(w // s, dtype=torch.float32), indexing="ij")
            self.register_buffer(f"grid{i}", torch.stack([gx, gy])[None] + 0.5)
        self.raw = False

    def forward(self, x):
        p3 = self.c3(self.c2(self.c1(x)))
        p4 = self.c4(p3)
        p5 = self.c5(p4)
        outs = []
        for i, (f, s) in enumerate(zip((p3, p4, p5), self.strides)):
            o = self.heads[i](f)
            if self.raw:
                outs.append(o.flatten(2))
                continue
            xy = (getattr(self, f"grid{i}") + torch.tanh(o[:, 0:2])) * s
            wh = torch.sigmoid(o[:, 2:4]) * (8.0 * s)
            outs.append(torch.cat([xy, wh, torch.sigmoid(o[:, 4:])], 1).flatten(2))
        y = torch.cat(outs, 2)
        return y if (self.raw or not self.v5) else y.permute(0, 2, 1)


def calibrate(model, batch, rate):
    """Standardise each head channel over the calibration batch, then shift the score
    channels so that about `rate` of the boxes score above 0.25."""
    model.raw = True
    with torch.no_grad():
        raw = model(batch)  # [N, no, boxes]
        first = 5 if model.v5 else 4
        mean = raw.mean((0, 2))
        std = raw.std((0, 2)) + 1e-6
        gain = torch.ones(model.no)
        gain[:4] = 1.0
        gain[4:] = 2.5
        for h in model.heads:
            h.weight.mul_((gain / std)[:, None, None, None])
            h.bias.sub_(mean).mul_(gain / std)
        raw = model(batch)

        def frac(shift):
            z = raw.clone()
            z[:, first:] += shift
            cls = torch.sigmoid(z[:, first:]).amax(1)
            if model.v5:
                cls = cls * torch.sigmoid(z[:, 4])
            return (cls > 0.25).float().mean().item()

        lo, hi = -20.0, 5.0
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if frac(mid) < rate else (lo, mid)
        for h in model.heads:
            h.bias[first:] += hi
    model.raw = False


def xywh2xyxy(x):
    y = x.clone()
    y[:, 0] = x[:, 0] - x[:, 2] / 2
    y[:, 1] = x[:, 1] - x[:, 3] / 2
    y[:, 2] = x[:, 0] + x[:, 2] / 2
    y[:, 3] = x[:, 1] + x[:, 3] / 2
    return y


def nms_v5(pred, conf_thres=0.25, iou_thres=0.45, max_det=300, max_nms=30000, agnostic=False):
    """YOLOv5 utils/general.py non_max_suppression (multi_label False, no masks), one image:
    pred [boxes, 5 + C]."""
    x = pred[pred[:, 4] > conf_thres]
    x = x.clone()
    x[:, 5:] *= x[:, 4:5]
    box = xywh2xyxy(x[:, :4])
    conf, j = x[:, 5:].max(1, keepdim=True)
    x = torch.cat((box, conf, j.float()), 1)[conf.view(-1) > conf_thres]
    x = x[x[:, 4].argsort(descending=True, stable=True)[:max_nms]]
    c = x[:, 5:6] * (0 if agnostic else MAX_WH)
    i = torchvision.ops.nms(x[:, :4] + c, x[:, 4], iou_thres)[:max_det]
    return x[i], len(x)


def nms_v8(pred, conf_thres=0.25, iou_thres=0.7, max_det=300, max_nms=30000, agnostic=False):
    """ultralytics/utils/ops.py non_max_suppression (multi_label False, nm 0), one image:
    pred [4 + C, boxes]."""
    xc = pred[4:].amax(0) > conf_thres
    x = pred.transpose(0, 1)[xc]
    box = xywh2xyxy(x[:, :4])
    conf, j = x[:, 4:].max(1, keepdim=True)
    x = torch.cat((box, conf, j.float()), 1)[conf.view(-1) > conf_thres]
    if x.shape[0] > max_nms:
        x = x[x[:, 4].argsort(descending=True, stable=True)[:max_nms]]
    c = x[:, 5:6] * (0 if agnostic else MAX_WH)
    i = torchvision.ops.nms(x[:, :4] + c, x[:, 4], iou_thres)[:max_det]
    return x[i], len(x)


def scale_boxes(img1_shape, boxes, img0_shape):
    """ultralytics/utils/ops.py scale_boxes (ratio_pad None, padding True) + clip_boxes."""
    gain = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
    pad = (round((img1_shape[1] - img0_shape[1] * gain) / 2 - 0.1), round((img1_shape[0] - img0_shape[0] * gain) / 2 - 0.1))
    boxes = boxes.clone()
    boxes[:, [0, 2]] -= pad[0]
    boxes[:, [1, 3]] -= pad[1]
    boxes[:, :4] /= gain
    boxes[:, 0] = boxes[:, 0].clamp(0, img0_shape[1])
    boxes[:, 1] = boxes[:, 1].clamp(0, img0_shape[0])
    boxes[:, 2] = boxes[:, 2].clamp(0, img0_shape[1])
    boxes[:, 3] = boxes[:, 3].clamp(0, img0_shape[0])
    return boxes


def make_yolo(out, index, v5, h, w, images, names, batch_dynamic):
    tag = "yolov5" if v5 else "yolov8"
    torch.manual_seed(5 if v5 else 8)
    model = TinyYolo(v5, h, w).eval()
    lb = torch.stack([torch.from_numpy(letterbox_ultralytics(im, h, w)) for im in images])
    calibrate(model, lb, rate=0.004)
    onnx_path = os.path.join(out, tag + ".onnx")
    dyn = {"images": {0: "batch"}, "output0": {0: "batch"}} if batch_dynamic else None
    torch.onnx.export(model, lb[:1], onnx_path, input_names=["images"], output_names=["output0"], opset_version=12,
                      dynamic_axes=dyn)
    # The 5-line config a user writes.
    with open(os.path.join(out, tag + ".json"), "w") as f:
        json.dump({"name": "my_" + tag, "task": "detect", "architecture": {"onnx": tag + ".onnx"},
                   "detector": {"kind": tag}, "labels": os.path.join(ROOT, "configs", "labels", "coco80.txt")}, f)
    case = {"op": tag, "config": tag + ".json", "input_size": [h, w], "images": []}
    with torch.no_grad():
        pred = model(lb)
    for k, (im, name) in enumerate(zip(images, names)):
        det, cands = (nms_v5 if v5 else nms_v8)(pred[k])
        # Exact score ties among candidates would make the kept set depend on float noise.
        s = det[:, 4].sort().values
        assert len(s) < 2 or (s[1:] - s[:-1]).min() > 1e-6, f"{tag} {name}: tied scores"
        boxes = scale_boxes((h, w), det[:, :4], im.shape[1:])
        dets = torch.cat([boxes, det[:, 4:6]], 1).numpy().astype(np.float32)
        np.save(os.path.join(out, f"{tag}.{name}.dets.npy"), dets)
        case["images"].append({"name": name, "image": f"image.{name}.npy", "dets": f"{tag}.{name}.dets.npy",
                               "candidates": cands})
        print(f"{tag} {name}: {cands} candidates, {len(dets)} detections")
    index["cases"][tag] = case


# ---------------------------------------------------------------- PP-OCR DB text boxes

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def det_resize_size(h, w, limit_side_len=960):
    """DetResizeForTest resize_image_type0, limit_type 'max'."""
    ratio = float(limit_side_len) / (h if h > w else w) if max(h, w) > limit_side_len else 1.0
    rh, rw = int(h * ratio), int(w * ratio)
    return max(int(round(rh / 32) * 32), 32), max(int(round(rw / 32) * 32), 32)


def db_input(img):
    """The resized image (float bilinear, as Osprey resizes) in BGR, (x - mean) / std."""
    _, h, w = img.shape
    rh, rw = det_resize_size(h, w)
    x = F.interpolate(torch.from_numpy(img)[None], size=(rh, rw), mode="bilinear", align_corners=False)[0].numpy()
    x = x[::-1]  # BGR
    x = (x - MEAN[:, None, None]) / STD[:, None, None]
    return np.ascontiguousarray(x[None].astype(np.float32))


def get_mini_boxes(cv2, contour):
    bounding_box = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(bounding_box)), key=lambda x: x[0])
    if points[1][1] > points[0][1]:
        i1, i4 = 0, 1
    else:
        i1, i4 = 1, 0
    if points[3][1] > points[2][1]:
        i2, i3 = 2, 3
    else:
        i2, i3 = 3, 2
    return [points[i1], points[i2], points[i3], points[i4]], min(bounding_box[1])


def box_score_fast(cv2, bitmap, _box):
    h, w = bitmap.shape[:2]
    box = _box.copy()
    xmin = np.clip(np.floor(box[:, 0].min()).astype(int), 0, w - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype(int), 0, w - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype(int), 0, h - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype(int), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    box[:, 0] = box[:, 0] - xmin
    box[:, 1] = box[:, 1] - ymin
    cv2.fillPoly(mask, box.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(bitmap[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip(pyclipper, box, unclip_ratio):
    # shapely's Polygon area and length of the quad, in double.
    b = np.asarray(box, np.float64)
    x, y = b[:, 0], b[:, 1]
    area = abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2
    length = np.sqrt(((b - np.roll(b, -1, 0)) ** 2).sum(1)).sum()
    distance = area * unclip_ratio / length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance))


def db_postprocess(cv2, pyclipper, pred, dest_h, dest_w, thresh=0.3, box_thresh=0.6, unclip_ratio=1.5, max_candidates=1000):
    """DBPostProcess.boxes_from_bitmap (quad, score_mode 'fast', no dilation)."""
    bitmap = pred > thresh
    height, width = bitmap.shape
    contours, _ = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[:max_candidates]:
        points, sside = get_mini_boxes(cv2, contour)
        if sside < 3:
            continue
        points = np.array(points)
        score = box_score_fast(cv2, pred, points.reshape(-1, 2))
        if box_thresh > score:
            continue
        box = unclip(pyclipper, points, unclip_ratio).reshape(-1, 1, 2)
        box, sside = get_mini_boxes(cv2, box)
        if sside < 3 + 2:
            continue
        box = np.array(box)
        box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_w), 0, dest_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_h), 0, dest_h)
        boxes.append(box.astype(np.int16))
        scores.append(score)
    return boxes, scores


def make_db_text(out, index):
    try:
        import cv2  # python3-opencv: the same OpenCV 4.6 Osprey links
        import pyclipper  # python3-pyclipper: PaddleOCR's unclip
    except ImportError as e:
        sys.exit(f"make_single_shot_references.py: {e}: DBPostProcess needs python3-opencv and python3-pyclipper "
                 "(tools/install_deps.sh test)")
    det = os.path.join(ROOT, "assets", "ocr", "ch_PP-OCRv4_det_infer.onnx")
    ort_dir = os.environ.get("OSPREY_ORT_DIR", os.path.join(os.path.dirname(os.path.abspath(out)), "ort"))
    subprocess.run([os.path.join(ROOT, "tools", "onnx", "setup_ort.sh"), ort_dir], check=True, stdout=subprocess.DEVNULL)
    case = {"op": "db_text", "model": det, "images": []}
    for name in ["scenetext01", "scenetext02", "scenetext05"]:
        img = load_rgb(os.path.join(TEXT_PHOTOS, name + ".jpg"))
        np.save(os.path.join(out, f"image.{name}.npy"), img)
        x = db_input(img)
        inp = os.path.join(out, f"db.{name}.input.npy")
        np.save(inp, x)
        ort_out = os.path.join(out, f"db.{name}.ort")
        subprocess.run(["node", os.path.join(ROOT, "tools", "onnx", "ort_run.mjs"), "--model", det, "--input", inp,
                        "--output-dir", ort_out, "--threads", "2"], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, OSPREY_ORT_DIR=ort_dir))
        maps = [f for f in os.listdir(ort_out) if f.endswith(".npy")]
        assert len(maps) == 1, maps
        prob = np.load(os.path.join(ort_out, maps[0])).astype(np.float32)  # [1, 1, H, W]
        os.remove(inp)  # only ORT needs the network input
        shutil.rmtree(ort_out)
        np.save(os.path.join(out, f"db.{name}.prob.npy"), prob[0, 0])
        boxes, scores = db_postprocess(cv2, pyclipper, prob[0, 0], img.shape[1], img.shape[2])
        arr = np.array([np.concatenate([b.reshape(-1).astype(np.float32), [s]]) for b, s in zip(boxes, scores)],
                       np.float32).reshape(-1, 9)
        np.save(os.path.join(out, f"db.{name}.boxes.npy"), arr)
        case["images"].append({"name": name, "image": f"image.{name}.npy", "prob": f"db.{name}.prob.npy", "boxes": f"db.{name}.boxes.npy"})
        print(f"db_text {name}: input {x.shape}, {len(boxes)} boxes")
    index["cases"]["db_text"] = case


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    stamp = os.path.join(out, "index.json")
    if not args.force and os.path.exists(stamp):
        with open(stamp) as f:
            if json.load(f).get("version") == VERSION:
                print("single-shot references up to date")
                return
    torch.set_num_threads(2)
    # The photos and PP-OCR's model (idempotent; quiet when they are there).
    subprocess.run([os.path.join(ROOT, "tools", "fetch_assets.sh"), os.path.join(ROOT, "assets")], check=True)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    index = {"version": VERSION, "cases": {}}
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(PHOTOS) if f.endswith(".jpg"))
    images = [load_rgb(os.path.join(PHOTOS, n + ".jpg")) for n in names]
    for n, im in zip(names, images):
        np.save(os.path.join(tmp, f"image.{n}.npy"), im)
    # Letterboxes of dog.jpg (768x576) and person.jpg (640x424) to 416x416 and 320x480.
    lb = {"op": "letterbox", "images": []}
    for n in ["dog", "person"]:
        im = images[names.index(n)]
        for (h, w) in [(416, 416), (320, 480)]:
            u = f"letterbox.{n}.{h}x{w}.ultralytics.npy"
            d = f"letterbox.{n}.{h}x{w}.darknet.npy"
            np.save(os.path.join(tmp, u), letterbox_ultralytics(im, h, w))
            np.save(os.path.join(tmp, d), letterbox_darknet(im, h, w))
            lb["images"].append({"name": n, "image": f"image.{n}.npy", "size": [h, w], "ultralytics": u, "darknet": d})
    index["cases"]["letterbox"] = lb
    make_yolo(tmp, index, v5=True, h=320, w=480, images=images, names=names, batch_dynamic=True)
    make_yolo(tmp, index, v5=False, h=640, w=640, images=images, names=names, batch_dynamic=False)
    make_db_text(tmp, index)
    with open(os.path.join(tmp, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
