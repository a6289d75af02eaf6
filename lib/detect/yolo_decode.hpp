// Decoding Darknet's YOLO heads into candidate boxes (network-input pixels, x1 y1 x2 y2),
// as pjreddie/darknet computes them at test time:
//   - v1 [detection] (Redmon et al., "You Only Look Once", 2016; detection_layer.c
//     get_detection_detections): the flat output holds side^2 x classes class probabilities,
//     side^2 x num confidences, side^2 x num x 4 boxes; x, y are offsets in the cell, w, h
//     fractions of the image (squared when sqrt=1, as the paper predicts square roots);
//     score = confidence x class probability.
//   - v2 [region] (Redmon & Farhadi, "YOLO9000", 2017; region_layer.c): per anchor
//     (x, y, w, h, objectness, classes) planes; centre (cell + sigmoid) / grid, size
//     exp(t) x anchor / grid (anchors in grid cells), objectness sigmoid, classes softmax
//     (or sigmoid when softmax=0); score = objectness x class probability.
//   - v3 [yolo] (Redmon & Farhadi, "YOLOv3", 2018; yolo_layer.c get_yolo_detections): the
//     same planes; size exp(t) x anchor (network pixels, the head's masked anchors),
//     objectness and classes sigmoid; score = objectness x class.
// A (box, class) is a candidate when its score > thresh and, for v2 / v3, the box's
// objectness > thresh (Darknet's `prob > thresh ? prob : 0`). Darknet then suppresses per
// class (box.c do_nms_sort: greedy, IoU > nms), which is select_detections' per-class NMS.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"
#include "model/darknet/network.hpp"

namespace osprey::detect {

struct YoloCandidates {
  std::vector<Box> boxes;  // network-input pixels
  std::vector<float> scores;
  std::vector<int64_t> labels;
};

// Appends the candidates of one head for image `n` of a batched head output: [N, C, H, W]
// for region / yolo, [N, features] for detection. `net_height` / `net_width`: the network
// input size.
void decode_yolo_head(const darknet::Head& head, const Tensor& output, int64_t n, int64_t net_height, int64_t net_width,
                      float thresh, YoloCandidates& out);

}  // namespace osprey::detect
