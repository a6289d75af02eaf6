#!/usr/bin/python3
"""PyTorch reference for Darknet networks and YOLO v1 / v2 / v3 decoding.

Written from pjreddie/darknet's C sources (src/parser.c, convolutional_layer.c,
batchnorm_layer.c, maxpool_layer.c, route_layer.c, shortcut_layer.c, upsample_layer.c,
reorg_layer.c + blas.c reorg_cpu, connected_layer.c, detection_layer.c, region_layer.c,
yolo_layer.c, box.c do_nms_sort, image.c letterbox_image) independently of Osprey's C++
(lib/model/darknet, lib/detect/yolo_*), so agreement between the two means something.

  net = DarknetNet(parse_cfg("yolov3.cfg"), height=320, width=320)
  load_weights(net, "yolov3.weights")
  heads = net(x)                 # raw inputs of the [yolo]/[region]/[detection] layers
  dets = decode(net, heads, ...) # candidates -> per-class NMS -> image pixels

Also writes .weights files (write_weights) with seeded random values whose batch norm
statistics are calibrated on an input (calibrate), so a deep network stays O(1).
"""
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torchvision


def parse_cfg(path):
    """[(type, {key: value}, line)] as Darknet's read_cfg: whitespace removed, # and ; comments."""
    sections = []
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = "".join(raw.split())
            if not line or line[0] in "#;":
                continue
            if line[0] == "[":
                sections.append([line[1:-1], {}, number])
            else:
                key, value = line.split("=", 1)
                sections[-1][1].setdefault(key, value)
    return sections


def write_cfg(sections, path):
    with open(path, "w") as f:
        for kind, options, _ in sections:
            f.write("[%s]\n" % kind)
            for k, v in options.items():
                f.write("%s=%s\n" % (k, v))
            f.write("\n")


def _int(opts, key, default):
    return int(opts[key]) if key in opts else default


def _float(opts, key, default):
    return float(opts[key]) if key in opts else default


def _ints(opts, key):
    return [int(v) for v in opts[key].split(",") if v] if key in opts else []


def _floats(opts, key):
    return [float(v) for v in opts[key].split(",") if v] if key in opts else []


def activate(x, name):
    if name == "linear":
        return x
    if name == "leaky":
        return torch.where(x > 0, x, 0.1 * x)
    if name == "relu":
        return torch.clamp(x, min=0)
    if name == "logistic":
        return 1 / (1 + torch.exp(-x))
    if name == "mish":
        return x * torch.tanh(F.softplus(x))
    raise ValueError("activation " + name)


def reorg(x, stride):
    """blas.c reorg_cpu with forward = 0, as reorg_layer.c calls it: a literal gather."""
    b, c, h, w = x.shape
    out_c = c // (stride * stride)
    k, j, i = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    c2 = k % out_c
    offset = k // out_c
    w2 = i * stride + offset % stride
    h2 = j * stride + offset // stride
    src = w2 + w * stride * (h2 + h * stride * c2)
    flat = x.reshape(b, -1)[:, torch.from_numpy(src.reshape(-1))]
    return flat.reshape(b, c * stride * stride, h // stride, w // stride)


class Layer:
    def __init__(self, kind, opts, index):
        self.kind, self.opts, self.index = kind, opts, index
        self.params = {}  # Darknet field -> tensor, in file order


class DarknetNet(torch.nn.Module):
    def __init__(self, sections, height=None, width=None):
        super().__init__()
        net = sections[0][1]
        self.height = height or int(net["height"])
        self.width = width or int(net["width"])
        self.channels = int(net.get("channels", 3))
        self.layers = []
        shapes = []  # per layer: (c, h, w) or (n,) for flat
        shape = (self.channels, self.height, self.width)
        for index, (kind, o, _) in enumerate(sections[1:]):
            L = Layer(kind, o, index)
            if kind == "convolutional":
                n, size, stride = _int(o, "filters", 1), _int(o, "size", 1), _int(o, "stride", 1)
                pad = size // 2 if _int(o, "pad", 0) else _int(o, "padding", 0)
                L.bn, L.pad, L.stride = bool(_int(o, "batch_normalize", 0)), pad, stride
                L.act = o.get("activation", "logistic")
                c = shape[0]
                L.params["biases"] = torch.zeros(n)
                if L.bn:
                    L.params["scales"] = torch.ones(n)
                    L.params["rolling_mean"] = torch.zeros(n)
                    L.params["rolling_variance"] = torch.ones(n)
                L.params["weights"] = torch.zeros(n, c, size, size)
                shape = (n, (shape[1] + 2 * pad - size) // stride + 1, (shape[2] + 2 * pad - size) // stride + 1)
            elif kind == "maxpool":
                stride = _int(o, "stride", 1)
                size = _int(o, "size", stride)
                L.size, L.stride, L.padding = size, stride, _int(o, "padding", size - 1)
                shape = (shape[0], (shape[1] + L.padding - size) // stride + 1, (shape[2] + L.padding - size) // stride + 1)
            elif kind == "route":
                L.sources = [i if i >= 0 else index + i for i in _ints(o, "layers")]
                L.groups, L.group_id = _int(o, "groups", 1), _int(o, "group_id", 0)
                srcs = [shapes[i] for i in L.sources]
                shape = (sum(s[0] // L.groups for s in srcs),) + srcs[0][1:]
            elif kind == "shortcut":
                f = _ints(o, "from")[0]
                L.source = f if f >= 0 else index + f
                L.act = o.get("activation", "linear")
            elif kind == "upsample":
                L.stride = _int(o, "stride", 2)
                shape = (shape[0], shape[1] * L.stride, shape[2] * L.stride)
            elif kind == "reorg":
                L.stride = _int(o, "stride", 1)
                s = L.stride
                shape = (shape[0] * s * s, shape[1] // s, shape[2] // s)
            elif kind == "connected":
                n = _int(o, "output", 1)
                inputs = int(np.prod(shape))
                L.act = o.get("activation", "logistic")
                L.params["biases"] = torch.zeros(n)
                L.params["weights"] = torch.zeros(n, inputs)
                shape = (n,)
            elif kind == "local":
                n, size, stride, pad = _int(o, "filters", 1), _int(o, "size", 1), _int(o, "stride", 1), _int(o, "pad", 0)
                c, h, w = shape
                out_h = (h - (1 if pad else size)) // stride + 1  # local_layer.c local_out_height
                out_w = (w - (1 if pad else size)) // stride + 1
                L.size, L.stride, L.pad, L.act = size, stride, pad, o.get("activation", "logistic")
                L.params["biases"] = torch.zeros(n, out_h, out_w)
                L.params["weights"] = torch.zeros(out_h * out_w, n, c * size * size)
                shape = (n, out_h, out_w)
            elif kind in ("dropout", "yolo", "region", "detection", "cost"):
                pass
            else:
                raise ValueError("layer type " + kind)
            if kind == "yolo":
                total = _int(o, "num", 1)
                L.mask = _ints(o, "mask") or list(range(total))
                a = _floats(o, "anchors")
                L.anchors = [(a[2 * m], a[2 * m + 1]) for m in L.mask]
                L.classes = _int(o, "classes", 20)
            elif kind == "region":
                L.num, L.classes = _int(o, "num", 1), _int(o, "classes", 20)
                a = _floats(o, "anchors")
                L.anchors = [(a[2 * n], a[2 * n + 1]) for n in range(L.num)]
                L.softmax = bool(_int(o, "softmax", 0))
            elif kind == "detection":
                L.num, L.classes, L.side = _int(o, "num", 1), _int(o, "classes", 1), _int(o, "side", 7)
                L.sqrt, L.softmax = bool(_int(o, "sqrt", 0)), bool(_int(o, "softmax", 0))
            L.out_shape = shape
            self.layers.append(L)
            shapes.append(shape)
        self.heads = [L for L in self.layers if L.kind in ("yolo", "region", "detection")]

    def forward(self, x, calibrate=False):
        outs, heads = [], []
        for L in self.layers:
            p = L.params
            if L.kind == "convolutional":
                x = F.conv2d(x, p["weights"], None if L.bn else p["biases"], stride=L.stride, padding=L.pad)
                if L.bn:
                    if calibrate:  # data-dependent statistics: each channel ~ N(0, 1) before scaling
                        p["rolling_mean"] = x.mean(dim=(0, 2, 3))
                        p["rolling_variance"] = x.var(dim=(0, 2, 3))
                    # batchnorm_layer.c normalize_cpu: (x - mean) / (sqrt(var) + .000001f)
                    x = (x - p["rolling_mean"].view(1, -1, 1, 1)) / (p["rolling_variance"].sqrt().view(1, -1, 1, 1) + 1e-6)
                    x = x * p["scales"].view(1, -1, 1, 1) + p["biases"].view(1, -1, 1, 1)
                x = activate(x, L.act)
            elif L.kind == "maxpool":
                before = L.padding // 2
                x = F.pad(x, (before, L.padding - before, before, L.padding - before), value=-math.inf)
                x = F.max_pool2d(x, L.size, L.stride)
            elif L.kind == "route":
                # AlexeyAB's route groups: the group_id-th contiguous part of each input
                parts = [outs[i].reshape(outs[i].shape[0], L.groups, -1)[:, L.group_id] for i in L.sources]
                x = torch.cat([p.reshape(p.shape[0], -1, *outs[i].shape[2:]) for p, i in zip(parts, L.sources)], 1)
            elif L.kind == "shortcut":
                x = activate(x + outs[L.source], L.act)
            elif L.kind == "upsample":
                x = x.repeat_interleave(L.stride, 2).repeat_interleave(L.stride, 3)
            elif L.kind == "reorg":
                x = reorg(x, L.stride)
            elif L.kind == "local":
                # im2col_cpu rows are (channel, kh, kw), F.unfold's too; one weight matrix per location
                cols = F.unfold(x, L.size, padding=L.pad, stride=L.stride)  # [B, c*k*k, locations]
                y = torch.einsum("jfq,bqj->bfj", p["weights"], cols)
                x = activate(y.reshape(x.shape[0], *p["biases"].shape) + p["biases"], L.act)
            elif L.kind == "connected":
                x = activate(x.reshape(x.shape[0], -1) @ p["weights"].t() + p["biases"], L.act)
            elif L.kind in ("yolo", "region", "detection"):
                heads.append(x)
            outs.append(x)
        return heads if heads else [x]


def weight_order(net):
    """(layer, field) in .weights file order."""
    order = []
    for L in net.layers:
        if L.kind == "convolutional":
            fields = ["biases"] + (["scales", "rolling_mean", "rolling_variance"] if L.bn else []) + ["weights"]
        elif L.kind in ("connected", "local"):
            fields = ["biases", "weights"]
        else:
            continue
        order += [(L, f) for f in fields]
    return order


def load_weights(net, path):
    data = open(path, "rb").read()
    major, minor, _ = struct.unpack("<3i", data[:12])
    offset = 20 if major * 10 + minor >= 2 else 16
    floats = np.frombuffer(data[offset:], dtype="<f4")
    pos = 0
    for L, field in weight_order(net):
        t = L.params[field]
        n = t.numel()
        if pos + n > floats.size:
            raise ValueError("truncated")
        L.params[field] = torch.from_numpy(floats[pos:pos + n].copy()).reshape(t.shape)
        pos += n
    if pos != floats.size:
        raise ValueError("%d extra floats" % (floats.size - pos))


def save_weights(net, path, seen=32013312, version=(0, 2, 0)):
    with open(path, "wb") as f:
        f.write(struct.pack("<3i", *version))
        f.write(struct.pack("<q", seen) if version[0] * 10 + version[1] >= 2 else struct.pack("<i", seen))
        for L, field in weight_order(net):
            f.write(L.params[field].detach().numpy().astype("<f4").tobytes())


def randomize(net, seed):
    """Seeded weights: He-scaled convs and FCs, BN scales in [0.5, 1.5], biases N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    for L in net.layers:
        for field, t in L.params.items():
            if field == "weights":
                fan_in = t.shape[-1] if L.kind == "local" else t[0].numel()
                L.params[field] = torch.randn(t.shape, generator=g) * math.sqrt(2.0 / fan_in)
            elif field == "scales":
                L.params[field] = 0.5 + torch.rand(t.shape, generator=g)
            elif field == "biases":
                L.params[field] = torch.randn(t.shape, generator=g) * 0.1
            elif field == "rolling_mean":
                L.params[field] = torch.randn(t.shape, generator=g) * 0.1
            elif field == "rolling_variance":
                L.params[field] = 0.5 + torch.rand(t.shape, generator=g)


# ---------------------------------------------------------------------------------------
# Decoding. Boxes are (x1, y1, x2, y2) in network-input pixels, then mapped to the image.

def letterbox_geometry(img_w, img_h, net_w, net_h):
    """image.c letterbox_image's size (float32 ratio test, integer new size) and
    yolo_layer.c correct_yolo_boxes' mapping back: pads (net - new) / 2. (float), scales
    new / image per axis."""
    if np.float32(net_w) / np.float32(img_w) < np.float32(net_h) / np.float32(img_h):
        new_w, new_h = net_w, (img_h * net_w) // img_w
    else:
        new_w, new_h = (img_w * net_h) // img_h, net_h
    return dict(new_w=new_w, new_h=new_h, pad_left=(net_w - new_w) / 2.0, pad_top=(net_h - new_h) / 2.0,
                scale_x=new_w / img_w, scale_y=new_h / img_h)


def _corners(cx, cy, w, h):
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def yolo_candidates(L, out, net_w, net_h, thresh):
    """yolo_layer.c forward (logistic on x, y, objectness, classes) + get_yolo_detections."""
    n, H, W = len(L.mask), out.shape[2], out.shape[3]
    p = out[0].reshape(n, 5 + L.classes, H, W).double()
    s = torch.sigmoid(p)
    row, col = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    boxes, scores, labels = [], [], []
    for a in range(n):
        cx = (col + s[a, 0]) / W * net_w
        cy = (row + s[a, 1]) / H * net_h
        w = torch.exp(p[a, 2]) * L.anchors[a][0]
        h = torch.exp(p[a, 3]) * L.anchors[a][1]
        obj = s[a, 4]
        prob = obj.unsqueeze(0) * s[a, 5:]
        keep = (obj.unsqueeze(0) > thresh) & (prob > thresh)
        k, yy, xx = torch.nonzero(keep, as_tuple=True)
        boxes.append(_corners(cx[yy, xx], cy[yy, xx], w[yy, xx], h[yy, xx]))
        scores.append(prob[k, yy, xx])
        labels.append(k)
    return torch.cat(boxes), torch.cat(scores), torch.cat(labels)


def region_candidates(L, out, net_w, net_h, thresh):
    """region_layer.c forward (logistic x, y, objectness; softmax over classes) + get_region_detections."""
    n, H, W = L.num, out.shape[2], out.shape[3]
    p = out[0].reshape(n, 5 + L.classes, H, W).double()
    s = torch.sigmoid(p)
    cls = torch.softmax(p[:, 5:], 1) if L.softmax else s[:, 5:]
    row, col = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    boxes, scores, labels = [], [], []
    for a in range(n):
        cx = (col + s[a, 0]) / W * net_w
        cy = (row + s[a, 1]) / H * net_h
        w = torch.exp(p[a, 2]) * L.anchors[a][0] / W * net_w
        h = torch.exp(p[a, 3]) * L.anchors[a][1] / H * net_h
        obj = s[a, 4]
        prob = obj.unsqueeze(0) * cls[a]
        keep = (obj.unsqueeze(0) > thresh) & (prob > thresh)
        k, yy, xx = torch.nonzero(keep, as_tuple=True)
        boxes.append(_corners(cx[yy, xx], cy[yy, xx], w[yy, xx], h[yy, xx]))
        scores.append(prob[k, yy, xx])
        labels.append(k)
    return torch.cat(boxes), torch.cat(scores), torch.cat(labels)


def detection_candidates(L, out, net_w, net_h, thresh):
    """detection_layer.c get_detection_detections: [side^2 x classes][side^2 x num conf][side^2 x num x 4]."""
    S, C, B = L.side, L.classes, L.num
    v = out[0].reshape(-1).double()
    probs = v[:S * S * C].reshape(S * S, C)
    if L.softmax:
        probs = torch.softmax(probs, 1)
    conf = v[S * S * C:S * S * (C + B)].reshape(S * S, B)
    coords = v[S * S * (C + B):].reshape(S * S, B, 4)
    cell = torch.arange(S * S)
    row, col = (cell // S).double(), (cell % S).double()
    power = 2 if L.sqrt else 1
    cx = (coords[..., 0] + col[:, None]) / S * net_w
    cy = (coords[..., 1] + row[:, None]) / S * net_h
    w = coords[..., 2] ** power * net_w
    h = coords[..., 3] ** power * net_h
    prob = conf[:, :, None] * probs[:, None, :]  # [cells, B, C]
    keep = prob > thresh
    i, b, k = torch.nonzero(keep, as_tuple=True)
    return _corners(cx[i, b], cy[i, b], w[i, b], h[i, b]), prob[i, b, k], k


def decode(net, heads, thresh=0.25, nms=0.45, max_det=100):
    """Candidates of every head, per-class NMS (do_nms_sort keeps what greedy per-class NMS
    keeps), best max_det. Boxes in network pixels (float32), scores, labels."""
    parts = []
    for L, out in zip(net.heads, heads):
        fn = {"yolo": yolo_candidates, "region": region_candidates, "detection": detection_candidates}[L.kind]
        parts.append(fn(L, out, net.width, net.height, thresh))
    boxes = torch.cat([p[0] for p in parts]).float()
    scores = torch.cat([p[1] for p in parts]).float()
    labels = torch.cat([p[2] for p in parts])
    keep = torchvision.ops.batched_nms(boxes, scores, labels, nms)[:max_det]
    return boxes[keep], scores[keep], labels[keep], len(scores)


def to_image(boxes, geometry, img_w, img_h):
    """Network pixels -> image pixels: undo the letterbox's padding and scale, clip."""
    b = boxes.double()
    x = (b[:, [0, 2]] - geometry["pad_left"]) / geometry["scale_x"]
    y = (b[:, [1, 3]] - geometry["pad_top"]) / geometry["scale_y"]
    return torch.stack([x[:, 0].clamp(0, img_w), y[:, 0].clamp(0, img_h), x[:, 1].clamp(0, img_w), y[:, 1].clamp(0, img_h)], 1)


def stretch_to_image(boxes, net_w, net_h, img_w, img_h):
    """YOLO v1 stretches the image to the network: scale each axis back, clip."""
    sx, sy = img_w / net_w, img_h / net_h
    boxes = boxes.double()
    return torch.stack([(boxes[:, 0] * sx).clamp(0, img_w), (boxes[:, 1] * sy).clamp(0, img_h),
                        (boxes[:, 2] * sx).clamp(0, img_w), (boxes[:, 3] * sy).clamp(0, img_h)], 1)


# ---------------------------------------------------------------------------------------
# Darknet's image preprocessing (image.c), in float32 as Darknet computes it.

def resize_image(im, w, h):
    """image.c resize_image: im float32 [c, H, W] -> [c, h, w] (two linear passes)."""
    c, ih, iw = im.shape
    im = im.astype(np.float32)
    w_scale = np.float32(iw - 1) / np.float32(w - 1) if w > 1 else np.float32(0)
    h_scale = np.float32(ih - 1) / np.float32(h - 1) if h > 1 else np.float32(0)
    part = np.empty((c, ih, w), np.float32)
    for x in range(w):
        if x == w - 1 or iw == 1:
            part[:, :, x] = im[:, :, iw - 1]
        else:
            sx = np.float32(x) * w_scale
            ix = int(sx)
            dx = np.float32(sx - np.float32(ix))
            part[:, :, x] = (np.float32(1) - dx) * im[:, :, ix] + dx * im[:, :, ix + 1]
    out = np.empty((c, h, w), np.float32)
    for y in range(h):
        sy = np.float32(y) * h_scale
        iy = int(sy)
        dy = np.float32(sy - np.float32(iy))
        out[:, y] = (np.float32(1) - dy) * part[:, iy]
        if y == h - 1 or ih == 1:
            continue
        out[:, y] += dy * part[:, iy + 1]
    return out


def letterbox_image(im, net_w, net_h):
    """image.c letterbox_image: resize_image to the fitting size, centred on grey 0.5."""
    c, ih, iw = im.shape
    g = letterbox_geometry(iw, ih, net_w, net_h)
    boxed = np.full((c, net_h, net_w), 0.5, np.float32)
    top, left = (net_h - g["new_h"]) // 2, (net_w - g["new_w"]) // 2
    boxed[:, top:top + g["new_h"], left:left + g["new_w"]] = resize_image(im, g["new_w"], g["new_h"])
    return boxed, g


# ---------------------------------------------------------------------------------------
# YOLO v1 as the paper draws it (Redmon et al. 2016, figure 3), for the yolov1 family.

class YoloV1(torch.nn.Module):
    """24 convs (leaky 0.1, 'same' padding, with bias, no batch norm) + FC fc_hidden + FC
    S*S*(C + 5B) in Darknet's [detection] layout. state_dict keys: features.<i>.weight/bias
    (Sequential indices: conv, LeakyReLU, max pools in between), classifier.1 / classifier.4."""

    def __init__(self, num_classes=20, grid=7, boxes_per_cell=2, image_size=448, fc_hidden=4096):
        super().__init__()
        nn = torch.nn
        plan = [(7, 64, 2), "M", (3, 192, 1), "M", (1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M"]
        plan += [(1, 256, 1), (3, 512, 1)] * 4 + [(1, 512, 1), (3, 1024, 1), "M"]
        plan += [(1, 512, 1), (3, 1024, 1)] * 2 + [(3, 1024, 1), (3, 1024, 2), (3, 1024, 1), (3, 1024, 1)]
        layers, c = [], 3
        for p in plan:
            if p == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                k, out, s = p
                layers += [nn.Conv2d(c, out, k, s, k // 2), nn.LeakyReLU(0.1)]
                c = out
        self.features = nn.Sequential(*layers)
        side = image_size // 64
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(1024 * side * side, fc_hidden), nn.LeakyReLU(0.1),
                                        nn.Dropout(0.5), nn.Linear(fc_hidden, grid * grid * (num_classes + 5 * boxes_per_cell)))
        # what detection_candidates reads
        self.kind, self.side, self.classes, self.num, self.sqrt, self.softmax = "detection", grid, num_classes, boxes_per_cell, True, False

    def forward(self, x):
        return self.classifier(self.features(x))
