// Text detection with Differentiable Binarization (Liao et al., "Real-time Scene Text
// Detection with Differentiable Binarization", AAAI 2020) as PaddleOCR runs its PP-OCR
// detectors (tools/infer/predict_det.py defaults):
//   DetResizeForTest (limit_type 'max', limit_side_len 960: the longer side shrunk to 960
//   at most, then each side rounded to a multiple of 32) -> NormalizeImage (BGR, ImageNet
//   mean / std on / 255) -> the network's probability map -> DBPostProcess
//   (ppocr/postprocess/db_postprocess.py, quad boxes, score_mode 'fast'):
//     bitmap = map > thresh; per contour (cv::findContours, RETR_LIST, CHAIN_APPROX_SIMPLE;
//     the first max_candidates): its minimum-area rectangle (get_mini_boxes: corners
//     ordered top-left, top-right, bottom-right, bottom-left) with shorter side >= 3; mean
//     probability inside it (box_score_fast) >= box_thresh; unclip: offset by area *
//     unclip_ratio / perimeter with round joins (pyclipper's ClipperOffset, ported for
//     the quad below) and its minimum-area rectangle again, shorter side >= 5; corners
//     scaled to the original image, rounded and clipped.
// The resize is bilinear on the float image (cv2.resize INTER_LINEAR on 8-bit BGR differs
// from it by at most one 8-bit level).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/detector.hpp"
#include "model/model.hpp"

namespace osprey::detect {

struct DbParams {
  float thresh = 0.3f;         // probability -> text pixel
  double box_thresh = 0.6;     // mean probability a box needs
  double unclip_ratio = 1.5;   // PaddleOCR's inference default (its class default is 2.0)
  int max_candidates = 1000;   // contours looked at
  int limit_side_len = 960;
  bool limit_max = true;       // limit_type 'max' (else 'min': the shorter side grown to the limit)
  int64_t max_detections = 1000;
};

struct TextBox {
  std::array<Keypoint, 4> corners;  // top-left, top-right, bottom-right, bottom-left (image pixels)
  float score = 0;
};

// DetResizeForTest's network input size for an image of height x width: {h, w}.
std::array<int64_t, 2> db_input_size(int64_t height, int64_t width, const DbParams& params);

// DBPostProcess.boxes_from_bitmap of one probability map [map_h, map_w] (row-major), boxes
// scaled to an image of dest_h x dest_w; in contour order.
std::vector<TextBox> db_text_boxes(std::span<const float> prob, int64_t map_h, int64_t map_w, int64_t dest_h, int64_t dest_w,
                                   const DbParams& params);

// pyclipper's PyclipperOffset (Clipper 6.4: JT_ROUND, ET_CLOSEDPOLYGON, ArcTolerance 0.25)
// of one polygon whose coordinates are truncated to integers, by `delta` > 0: the offset
// polygon's integer vertices (before Clipper's union clean-up, which only drops duplicate
// and collinear vertices).
std::vector<std::array<int64_t, 2>> clipper_offset_round(std::span<const std::array<float, 2>> polygon, double delta);

class DbText : public Detector {
 public:
  // `overrides`: the tools' --labels ("input" keys are not used: each image runs at its own size).
  static std::unique_ptr<DbText> load(const std::string& config, const DbParams& params, const LoadOptions& overrides = {});

  // Boxes as Detections: label 0 ("text"), box = the corners' bounds, keypoints = the 4
  // corners; by decreasing score.
  std::vector<Detections> detect(std::span<const Tensor> images) override;
  const ModelConfig& config() const override { return config_; }

  // The text boxes of one image (float32 [3, H, W] RGB in [0, 1]), in contour order; the
  // probability map it came from in `map` when given.
  std::vector<TextBox> text_boxes(const Tensor& image, Tensor* map = nullptr);

 private:
  DbText(std::unique_ptr<Model> model, const DbParams& params);

  std::unique_ptr<Model> model_;
  ModelConfig config_;
  DbParams params_;
};

}  // namespace osprey::detect
